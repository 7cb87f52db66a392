"""The summary after the tests lists every line the tests reported, once and in the tests' order, also when
pytest-xdist workers ran them (`make test` does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Two groups, so that each worker runs every other test: a line's worker says nothing about its place.
TESTS = """
import pytest

@pytest.mark.xdist_group("a")
def test_one(report):
    report("line 1")

@pytest.mark.xdist_group("b")
def test_two(report):
    report("line 2")
    report("line 3")

@pytest.mark.xdist_group("a")
def test_three(report):
    report("line 4")

@pytest.mark.xdist_group("b")
def test_four(report):
    report("line 5")

def test_five():
    pass
"""


def _summary(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "checked before deploy" in line) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("="))
    return lines[start:end]


@pytest.mark.parametrize("workers", [["-n", "2", "--dist", "loadgroup"], ["-p", "no:xdist"]], ids=["xdist", "one"])
def test_the_summary_lists_each_reported_line_once_in_the_tests_order(tmp_path: Path, workers: list[str]) -> None:
    # GIVEN five tests, four of which report lines
    (tmp_path / "test_lines.py").write_text(TESTS, encoding="utf-8")

    # WHEN they run with the summary's plugin, in two workers or in one process
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.summary", "-p", "no:cacheprovider", *workers, "test_lines.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )

    # THEN all pass and the summary holds every line once, in the order the tests were collected
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    assert _summary(result.stdout) == ["line 1", "line 2", "line 3", "line 4", "line 5"]
