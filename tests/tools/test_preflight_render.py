"""The preflight's lines on a standard terminal: a long detail or fix wraps under itself, the names stay a column."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from tools.preflight.render import print_result
from tools.preflight.results import Result

WORDS = st.text(alphabet="abcdefghij", min_size=1, max_size=14)
SENTENCES = st.lists(WORDS, min_size=1, max_size=60).map(" ".join)


@given(
    check=st.sampled_from(["SES sender", "SES sandbox", "CDK bootstrap", "AWS credentials"]),
    passed=st.sampled_from([True, False, None]),
    detail=SENTENCES,
    fix=st.one_of(st.just(""), SENTENCES),
)
def test_a_check_fits_80_columns_with_its_detail_and_fix_under_themselves(
    check: str, passed: bool | None, detail: str, fix: str
) -> None:
    # GIVEN a check whose detail and fix may be far longer than a terminal
    name_width = len("Lambda concurrency")
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)

    # WHEN the preflight prints it on an 80-column terminal
    print_result(console, Result(check, passed, detail, fix), name_width=name_width)
    lines = out.getvalue().splitlines()

    # THEN no line is wider than 80, the first starts with the check's name, and every other line starts in the
    # detail's column
    indent = name_width + 4
    assert all(len(line) <= 80 for line in lines)
    assert lines[0][2:].startswith(check)
    assert all(line[:indent].strip() == "" and line[indent:] for line in lines[1:])
    # AND nothing is lost: the words of the detail and the fix, in order
    shown = " ".join(line[indent:].strip() for line in lines[1:])
    assert " ".join(lines[0][indent:].split() + shown.split()) == " ".join(
        detail.split() + (["fix:", *fix.split()] if fix else [])
    )
