"""The stacks read the function's metric names from the function's own code."""

from __future__ import annotations

from inbox_mailer import metric_names as handler_names
from stacks import metric_names as stack_names


def test_stacks_see_exactly_the_metrics_the_function_emits() -> None:
    # GIVEN the names the handler emits and the names the stacks loaded by path
    # THEN they are the same names with the same values, in the same order
    assert [(m.name, m.value) for m in stack_names.Metric] == [(m.name, m.value) for m in handler_names.Metric]
    assert [m.value for m in stack_names.UNEXPECTED_SKIPS] == ["SkippedDeleted", "SkippedSuperseded"]
    assert stack_names.SOURCE.is_file()
