"""The settings table of docs/settings.md, rendered from each setting's one declaration in `stacks/settings.py`.

`make settings-table` (`python -m tools.settings_table`) rewrites the table under "## Every setting" in
docs/settings.md after a setting is added or its default or meaning changes; nothing else in the file changes. A
test fails while the file's table is not the one rendered here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from stacks.settings import Setting, Settings
from tools.generated import rewrite

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
SECTION = "## Every setting"
HEADER = "| Key | Default | Meaning |\n|---|---|---|\n"


def render() -> str:
    """One row per setting, in declared order: its key, its default as a user would write it, its meaning."""
    rows = []
    for declared in fields(Settings):
        setting = Setting.of(declared)
        default = setting.shown_default or _shown(declared.default)
        rows.append(f"| `{declared.name}` | {default} | {setting.meaning} |\n")
    return HEADER + "".join(rows)


def table_in(document: str) -> str:
    lines = document.splitlines(keepends=True)
    start, end = _table_lines(lines)
    return "".join(lines[start:end])


def with_table(document: str, table: str) -> str:
    """The document with its settings table replaced by `table`."""
    lines = document.splitlines(keepends=True)
    start, end = _table_lines(lines)
    return "".join([*lines[:start], table, *lines[end:]])


def main(document: Path = DOCUMENT) -> int:
    updated = with_table(document.read_text(encoding="utf-8"), render())
    rewrite(document, updated, what="the settings table is", source="stacks/settings.py")
    return 0


def _shown(default: Any) -> str:
    if default is None:
        return "unset"
    if isinstance(default, str):
        return f"`{default}`"
    # Numbers, true/false and lists as cdk.json spells them.
    return f"`{json.dumps(list(default) if isinstance(default, tuple) else default)}`"


def _table_lines(lines: list[str]) -> tuple[int, int]:
    """The first run of table lines ('|') in the section, as [start, end) line numbers."""
    section = next((n for n, line in enumerate(lines) if line.rstrip("\n") == SECTION), None)
    if section is None:
        raise ValueError(f"{DOCUMENT.name} has no '{SECTION}' section")
    start = section + 1
    while start < len(lines) and not lines[start].startswith(("|", "## ")):
        start += 1
    if start == len(lines) or not lines[start].startswith("|"):
        raise ValueError(f"{DOCUMENT.name} has no table under '{SECTION}'")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


if __name__ == "__main__":
    sys.exit(main())
