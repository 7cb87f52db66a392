"""The settings table of docs/settings.md is the one the declarations render; regenerating it touches nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.settings import Settings
from tests.conftest import ROOT
from tools import settings_table

STALE = """# App

## Every setting

Some words, kept.

| Key | Default | Meaning |
|---|---|---|
| `stage` | `dev` | An old meaning. |

More words, kept.

## Next

| Other | Table |
|---|---|
| kept | too |
"""


def _rows(table: str) -> dict[str, tuple[str, str]]:
    """Key -> (default, meaning) for each row of a rendered table."""
    rows = {}
    for line in table.splitlines()[2:]:
        key, default, meaning = (cell.strip() for cell in line.strip("|").split(" | "))
        rows[key.strip("`")] = (default, meaning)
    return rows


def test_the_settings_table_in_the_docs_is_the_one_the_declarations_render() -> None:
    document = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert settings_table.table_in(document) == settings_table.render(), "run `make settings-table`"


def test_every_setting_has_one_row_in_declared_order_with_its_meaning() -> None:
    rows = _rows(settings_table.render())
    assert tuple(rows) == Settings.setting_names()
    assert all(meaning for _, meaning in rows.values())


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("stage", "`dev`"),
        ("account", "unset"),
        ("repository_name", "`inbox-mailer-<stage>`"),
        ("recipients", '`["ops@example.com"]`'),
        ("memory_mib", "`512`"),
        ("max_message_bytes", "`10485760` (10 MiB)"),
        ("reserved_concurrency", "`none`"),
        ("create_sender_identity", "`false`"),
        ("alarm_emails", "`[]`"),
    ],
)
def test_a_default_is_shown_as_a_user_would_write_it(key: str, shown: str) -> None:
    assert _rows(settings_table.render())[key][0] == shown


def test_regenerating_replaces_the_settings_table_and_nothing_else(tmp_path: Path) -> None:
    # GIVEN a document whose settings table is stale, with text around it and another table after it
    readme = tmp_path / "settings.md"
    readme.write_text(STALE, encoding="utf-8")

    # WHEN the table is regenerated
    assert settings_table.main(readme) == 0

    # THEN the table is the rendered one and every other line is as it was
    text = readme.read_text(encoding="utf-8")
    assert settings_table.table_in(text) == settings_table.render()
    before, _, after = STALE.partition(settings_table.table_in(STALE))
    assert text == before + settings_table.render() + after

    # AND a second run changes nothing
    settings_table.main(readme)
    assert readme.read_text(encoding="utf-8") == text


def test_a_document_without_the_table_is_refused_rather_than_written() -> None:
    with pytest.raises(ValueError, match="no table under '## Every setting'"):
        settings_table.with_table("# App\n\n## Every setting\n\nNo table.\n\n## Next\n\n| a |\n", "| b |\n")
    with pytest.raises(ValueError, match="no '## Every setting' section"):
        settings_table.table_in("# App\n")
