"""README.md and docs/: every link reaches a file or a heading, no prose states a measured figure, every `make`
target the README names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from tools import dev, docs_check
from tools.docs_check import anchors, broken_links, documents, measured_figures, slug

# --- the repository's own documents ----------------------------------------------------------------------------


def test_every_link_of_the_readme_and_the_docs_resolves() -> None:
    problems = broken_links(documents())
    assert not problems, "\n".join(map(str, problems))


def test_no_prose_of_the_readme_or_the_docs_states_a_measured_figure() -> None:
    problems = measured_figures(documents())
    assert not problems, "\n".join(map(str, problems))


def test_the_docs_are_the_readme_and_every_file_of_docs() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in documents()}
    assert {"README.md", "docs/runbook.md", "docs/settings.md", "docs/performance.md"} <= names


def test_every_make_target_the_readme_names_exists_in_the_makefile() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", readme))
    assert named, "the README should name its make targets"
    assert named <= targets, f"the README names targets the Makefile lacks: {sorted(named - targets)}"


def test_every_make_target_the_readme_names_has_its_powershell_form() -> None:
    # GIVEN the make targets the README names (make's `distclean` is the runner's `reset`)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", readme)) - {"distclean"}
    # THEN tools/dev.py, which PowerShell users run, has a command of each name
    assert named <= set(dev.COMMANDS), f"no `py tools/dev.py` form for: {sorted(named - set(dev.COMMANDS))}"


def test_the_front_door_fits_one_screen_and_about_three_hundred_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    first_screen = "\n".join(lines[:40])
    for needed in ("make synth", "make test", "py tools/dev.py synth", "py tools/dev.py test", "make preflight"):
        assert needed in first_screen, f"{needed} should be on the README's first screen"
    assert re.search(r"^5\. .*\n.*\n\s*aws s3 cp ", first_screen, re.M), "step 5 should upload with `aws s3 cp`"
    assert "## Contents" in "\n".join(lines)


# --- links -----------------------------------------------------------------------------------------------------

README = """# App

## Start here

See [the guide](docs/guide.md), [its setup](docs/guide.md#setting-it-up), [twice](docs/guide.md#setting-it-up-1),
[the alarm](docs/guide.md#alarm-deadletterqueue), [the picture](docs/email.png), [here](#start-here),
[the web](https://example.com/nowhere.md), [mail](mailto:ops@example.com) and docs/setup.md [soon](docs/setup.md).

```text
[inside a code block](docs/nowhere.md)
```

And `[inside a code span](docs/nowhere.md)`.

Broken: [a file](docs/missing.md), [a heading](docs/guide.md#no-such-heading), [here too](#nowhere),
[a folder](missing/).
"""

GUIDE = """# Guide

## Setting it up

## Setting it up

### Alarm `DeadLetterQueue`

```text
# Not a heading
```

Back to [the README](../README.md#start-here).
"""


def _write(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_broken_links_and_anchors_are_each_reported_with_their_line(tmp_path: Path) -> None:
    # GIVEN a README with good links of every kind and four broken ones, and the guide it links to
    readme, guide = _write(tmp_path, {"README.md": README, "docs/guide.md": GUIDE})
    (tmp_path / "docs" / "email.png").write_bytes(b"\x89PNG")

    # WHEN the links are checked, docs/setup.md being a file that arrives later
    problems = broken_links([readme, guide], root=tmp_path, arriving=frozenset({"docs/setup.md"}))

    # THEN exactly the broken ones are reported, each on its line with what is missing
    assert [(problem.path.name, problem.line, problem.message) for problem in problems] == [
        ("README.md", 15, "links to docs/missing.md, but docs/missing.md does not exist"),
        ("README.md", 15, "links to docs/guide.md#no-such-heading, but docs/guide.md has no heading #no-such-heading"),
        ("README.md", 15, "links to #nowhere, but README.md has no heading #nowhere"),
        ("README.md", 16, "links to missing/, but missing does not exist"),
    ]
    assert str(problems[0]).startswith(f"{readme}:15: ")


def test_a_link_to_a_file_that_arrives_later_is_broken_once_it_is_no_longer_expected(tmp_path: Path) -> None:
    (readme,) = _write(tmp_path, {"README.md": "[setup](docs/setup.md)\n"})
    assert broken_links([readme], root=tmp_path, arriving=frozenset({"docs/setup.md"})) == []
    (problem,) = broken_links([readme], root=tmp_path, arriving=frozenset())
    assert problem.message == "links to docs/setup.md, but docs/setup.md does not exist"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Alarm `DeadLetterQueue`", "alarm-deadletterqueue"),
        ("Costs, in plain words", "costs-in-plain-words"),
        ("Quick start: your first mail", "quick-start-your-first-mail"),
        ("Look first: `make status` and the dashboard", "look-first-make-status-and-the-dashboard"),
        ("`ModuleNotFoundError: No module named 'aws_cdk'`", "modulenotfounderror-no-module-named-aws_cdk"),
        ("The deploy fails on `ReservedConcurrentExecutions`", "the-deploy-fails-on-reservedconcurrentexecutions"),
        ("Two  spaces - and a dash", "two--spaces---and-a-dash"),
        ("Ünïcode café 2", "ünïcode-café-2"),
        ("A [link](x.md) inside", "a-link-inside"),
    ],
)
def test_a_heading_gets_githubs_anchor(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_an_anchor_is_lowercase_and_holds_only_word_characters_and_hyphens(heading: str) -> None:
    anchor = slug(heading)
    assert anchor == anchor.lower() or not anchor.isascii()
    assert all(char == "-" or char == "_" or char.isalnum() or not char.isascii() for char in anchor)
    assert " " not in anchor


def test_repeated_headings_are_numbered_and_headings_in_code_blocks_do_not_count() -> None:
    text = "# Same\n\n## Same\n\n### Same\n\n```\n# Fenced\n```\n\n#NotAHeading\n"
    assert anchors(text) == {"same", "same-1", "same-2"}


# --- measured figures ------------------------------------------------------------------------------------------

_WORDS = st.lists(st.sampled_from(["the", "suite", "here", "on", "two", "cores", "and", "then", "it"]), max_size=6)


@st.composite
def _measured(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=2, max_value=99_999))
    whole = draw(st.integers(min_value=0, max_value=999))
    tenths = draw(st.integers(min_value=0, max_value=99))
    return draw(
        st.sampled_from(
            [
                f"{count:,} tests",
                f"{count} mutants",
                f"{whole}.{tenths} s",
                f"{whole}.{tenths} minutes",
                f"{whole} min {tenths} s",
                f"took {whole} s",
                f"takes about {whole} minutes",
                f"scored {whole}.{tenths} %",
                f"a score of {whole} %",
            ]
        )
    )


@given(before=_WORDS, figure=_measured(), after=_WORDS)
def test_a_measured_figure_in_prose_is_reported(
    tmp_path_factory: pytest.TempPathFactory, before: list[str], figure: str, after: list[str]
) -> None:
    path = tmp_path_factory.mktemp("docs") / "page.md"
    path.write_text("# Page\n\n" + " ".join([*before, figure, *after]) + ".\n", encoding="utf-8")
    (problem,) = measured_figures([path])
    assert problem.line == 3
    assert "written by hand" in problem.message
    assert "tools.figures_table" in problem.message


@pytest.mark.parametrize(
    "sentence",
    [
        "Every 30 s the framework's waiter asks whether the build is over.",
        "A file that fails 5 times waits in the dead-letter queue.",
        "more than 2 % of the account's mail bounces; AWS reviews at 0.1 % and pauses around 0.5 %.",
        "A build queued for 5 minutes or running for 15 is stopped.",
        "a sampled score also gets its 95 % interval (Wilson).",
        "The function timeout is 60 s and the queue keeps messages 4 days.",
        "make status shows the last ten failures.",
        "Use Python 3.11 or newer; boto3-stubs 1.43 types the clients.",
        "200 files to 10 recipients in the sandbox need 2,000 s at least.",
    ],
)
def test_a_design_constant_is_not_a_measured_figure(tmp_path: Path, sentence: str) -> None:
    path = tmp_path / "page.md"
    path.write_text(f"# Page\n\n{sentence}\n", encoding="utf-8")
    assert measured_figures([path]) == []


def test_figures_in_code_generated_blocks_and_code_spans_are_not_prose(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text(
        "# Page\n\n```text\n1,487 tests passed in 88.10 s\n```\n\n"
        "<!-- BEGIN GENERATED figures: python -m tools.figures_table, do not edit -->\n"
        "| `tests` | 88.10 s |\n<!-- END GENERATED figures -->\n\n"
        "Run `pytest --durations 3.5 s` to see it.\n\nBut 1,487 tests here.\n",
        encoding="utf-8",
    )
    (problem,) = measured_figures([path])
    assert (problem.line, "'1,487 tests'" in problem.message) == (13, True)


def test_the_command_line_reports_each_problem_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (readme,) = _write(tmp_path, {"README.md": "# App\n\n[gone](docs/gone.md) after 12.5 s.\n"})
    monkeypatch.setattr(docs_check, "documents", lambda: [readme])
    monkeypatch.setattr(docs_check, "ROOT", tmp_path)
    assert docs_check.main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "README.md:3: links to docs/gone.md, but docs/gone.md does not exist",
        "README.md:3: '12.5 s' reads as a timing read off a clock written by hand: put it in bench/*.json and show "
        "it with `python -m tools.figures_table`, or say it without the number",
    ]
