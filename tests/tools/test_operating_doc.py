"""docs/operating.md shows what `make status` and `make redrive` print at 80 columns, not a hand-typed copy."""

from __future__ import annotations

import pytest

from tests.tools import operating_example


@pytest.mark.parametrize("name", ["status", "redrive"])
def test_the_example_in_the_doc_is_what_the_tool_prints(name: str) -> None:
    printed = operating_example.examples()[name]
    shown = operating_example.in_doc(name, operating_example.DOC.read_text(encoding="utf-8"))
    assert shown is not None, f"docs/operating.md has no '{name}' example: run python -m tests.tools.operating_example"
    assert operating_example.without_times(shown) == operating_example.without_times(printed), (
        "docs/operating.md is out of date: run python -m tests.tools.operating_example"
    )
    assert max(len(line) for line in shown.splitlines()) <= 80
