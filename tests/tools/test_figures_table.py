"""docs/performance.md shows the figures of bench/results.json and bench/mutation.json; regenerating touches nothing
else."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from tools import figures_table
from tools.figures_table import BEGIN, END, blocks_in, render_figures, render_mutation, rendered, with_blocks

RESULTS: dict[str, Any] = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
MUTATION: dict[str, Any] = json.loads((ROOT / "bench" / "mutation.json").read_text(encoding="utf-8"))


def _block(name: str, body: str) -> str:
    return f"{BEGIN.format(name=name)}\n{body}{END.format(name=name)}"


OLD_TABLE = "| old | table |\n"
STALE = f"""# Performance

Words before, kept.

{_block("figures", OLD_TABLE)}

Words between, kept.

{_block("mutation", "")}

Words after, kept.
"""


def test_the_figures_in_the_docs_are_the_ones_the_results_render() -> None:
    document = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert blocks_in(document) == rendered(), "run `.venv/bin/python -m tools.figures_table`"


def test_regenerating_replaces_the_blocks_and_nothing_else(tmp_path: Path) -> None:
    # GIVEN a document whose two generated blocks are stale, one of them empty, with words around them
    document = tmp_path / "performance.md"
    document.write_text(STALE, encoding="utf-8")

    # WHEN the figures are regenerated
    assert figures_table.main(document) == 0

    # THEN each block holds the rendered figures and every other line is as it was
    text = document.read_text(encoding="utf-8")
    assert blocks_in(text) == rendered()
    expected = STALE.replace(_block("figures", OLD_TABLE), _block("figures", rendered()["figures"]))
    assert text == expected.replace(_block("mutation", ""), _block("mutation", rendered()["mutation"]))

    # AND a second run changes nothing
    figures_table.main(document)
    assert document.read_text(encoding="utf-8") == text


def test_a_document_without_a_block_is_refused_with_the_lines_to_add() -> None:
    with pytest.raises(ValueError, match="no generated block mutation: add the lines <!-- BEGIN GENERATED mutation"):
        with_blocks(f"# Performance\n\n{_block('figures', '')}\n", {"figures": "x\n", "mutation": "y\n"})


@given(value=st.floats(min_value=0.01, max_value=10_000), met=st.booleans())
def test_a_new_result_changes_the_table(value: float, met: bool) -> None:
    # GIVEN the latest results with another synth time, met or not
    results = copy.deepcopy(RESULTS)
    results["synth"].update(value=value, ratio=value / results["synth"]["reference"], met=met)

    # WHEN the figures are rendered
    (row,) = [line for line in render_figures(results).splitlines() if line.startswith("| `synth` |")]

    # THEN the synth row shows the new value, its ratio and whether the goal was met
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells[1] == f"{value:.2f} s"
    assert cells[3] == f"{value / results['synth']['reference']:.2f}"
    assert cells[5] == ("yes" if met else "**NO**")


def test_every_figure_every_case_and_every_burst_scenario_has_a_row() -> None:
    text = render_figures(RESULTS)
    for name, figure in RESULTS.items():
        if isinstance(figure, dict) and "value" in figure:
            assert f"| `{name}` |" in text
    for case in RESULTS["per_file_memory_20MB"]["detail"]["cases"]:
        assert f"| {case['case']} | {case['outcome']} |" in text
    for scenario in RESULTS["burst_drain"]["detail"]["scenarios"]:
        assert f"| {scenario['scenario']} | {scenario['files']} |" in text
    assert f"{RESULTS['tests']['detail']['passed']:,} tests passed" in text
    assert f"Run of {RESULTS['date']}" in text


@given(killed=st.integers(0, 500), survived=st.integers(0, 500), excused=st.integers(0, 50))
def test_a_mutation_score_shows_killed_of_what_counts(killed: int, survived: int, excused: int) -> None:
    total = killed + survived + excused
    score = 100 * killed / (total - excused) if total > excused else 0.0
    mutation = {
        "targets": {
            "mailer": {
                "mode": "sample of N mutants, seed S",
                "duration_s": 3725.0,
                "mutants_generated": 2613,
                "overall": {
                    "killed": killed,
                    "survived": survived,
                    "excused": excused,
                    "total": total,
                    "score": score,
                    "interval_95": [1.0, 99.0],
                },
            }
        }
    }
    (row,) = render_mutation(mutation).splitlines()[2:]
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells == [
        "`mailer`",
        "sample of N mutants, seed S",
        f"**{score:.1f} %**",
        f"{killed} of {total - excused}",
        str(excused),
        "1.0-99.0 %",
        "2,613",
        "62 min 5 s",
    ]
