"""`make mutation`'s own glue: the score, the seeded sample, the equivalent mutants file, the survivors' lines.

mutmut itself is not run here (a run takes minutes): these pin what the glue makes of its results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.mutation import (
    EQUIVALENT_MUTANTS_FILE,
    EquivalentMutantsError,
    changed_line,
    function_lines,
    interval,
    load_equivalent_mutants,
    merged_results,
    sample,
    score,
    tally,
)
from checks.mutation_plugin import covering_functions, fastest_modules_first, module_durations

NAMES = [f"inbox_mailer.processing.x_mail__mutmut_{number}" for number in range(1, 101)]


def test_score_counts_only_what_is_not_excused() -> None:
    # GIVEN 10 mutants of which 2 are excused as equivalent
    # WHEN 6 are killed THEN the score is 6 of the 8 that count
    assert score(killed=6, total=10, excused=2) == 75.0
    assert score(killed=0, total=0, excused=0) is None


def test_tally_counts_timeouts_as_killed_and_leaves_out_mutants_that_did_not_run() -> None:
    # GIVEN mutmut's exit codes: a failure, a timeout, a survivor, an excused survivor and one not run
    codes: dict[str, int | None] = {"a": 1, "b": 36, "c": 0, "d": 0, "e": None}
    # WHEN they are tallied with "d" excused
    counts = tally(codes, excused={"d": "Same value either way."})
    # THEN only what ran counts, and the excused survivor neither kills nor survives
    assert counts == {"killed": 2, "survived": 1, "excused": 1, "total": 4, "score": 66.7}


def test_an_excused_mutant_that_a_test_kills_still_counts_as_killed() -> None:
    counts = tally({"a": 1, "b": 0}, excused={"a": "Thought equivalent, but a test sees it."})
    assert (counts["killed"], counts["excused"], counts["score"]) == (1, 0, 50.0)


def test_a_sample_is_the_same_for_the_same_seed_whatever_the_order() -> None:
    # GIVEN the same mutant names listed in two orders
    # WHEN a sample of 10 is drawn with one seed
    first = sample(NAMES, 10, seed=12)
    # THEN it is the same sample, of distinct listed names, and another seed draws another one
    assert first == sample(list(reversed(NAMES)), 10, seed=12)
    assert len(set(first)) == 10
    assert set(first) <= set(NAMES)
    assert first != sample(NAMES, 10, seed=13)


def test_a_sample_larger_than_the_mutants_takes_them_all() -> None:
    assert sample(NAMES[:3], 40, seed=12) == sorted(NAMES[:3])


def test_the_reviewed_equivalent_mutants_file_reads() -> None:
    # Every entry the project excuses has a name and a reason, or this fails.
    assert all(reason for reason in load_equivalent_mutants(EQUIVALENT_MUTANTS_FILE).values())


def test_an_equivalent_mutant_is_read_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "equivalent_mutants.toml"
    path.write_text('[[mutant]]\nname = "m__mutmut_1"\nreason = "The logger ignores the level it is given."\n')
    assert load_equivalent_mutants(path) == {"m__mutmut_1": "The logger ignores the level it is given."}


@pytest.mark.parametrize(
    "entry",
    ['name = "m__mutmut_1"', 'name = "m__mutmut_1"\nreason = "  "', 'reason = "No name given."'],
    ids=["no reason", "blank reason", "no name"],
)
def test_an_equivalent_mutant_without_name_or_reason_is_refused(tmp_path: Path, entry: str) -> None:
    # GIVEN an entry that does not say which mutant or why it is equivalent
    path = tmp_path / "equivalent_mutants.toml"
    path.write_text(f"[[mutant]]\n{entry}\n")
    # WHEN the file is read THEN it is refused in one line naming the file
    with pytest.raises(EquivalentMutantsError, match=r"^equivalent_mutants\.toml: every \[\[mutant\]\] needs a name"):
        load_equivalent_mutants(path)


def test_a_survivor_is_placed_on_its_line_of_the_file() -> None:
    # GIVEN mutmut's diff of a function whose third line changed, and the function starting on line 5
    diff = "--- a.py\n+++ a.py\n@@ -1,4 +1,4 @@\n def f():\n     x = 1\n-    return x + 1\n+    return x - 1\n"
    source = "import os\n\n\nclass C:\n    def f(self):\n        return 1\n\n\ndef g():\n    pass\n"
    # WHEN the changed line is found THEN it is line 3 of the function, shown as old → new
    assert changed_line(diff) == (3, "return x + 1 → return x - 1")
    assert function_lines(source) == {"xǁCǁf": 5, "x_g": 9}


def test_mutmuts_test_ids_lose_their_parameters_and_are_selected_once() -> None:
    # GIVEN two cases of one parametrized test, one with an escaped character pytest cannot select again
    args = ["-x", "tests/a.py::test_one[\\x00]", "tests/a.py::test_one[b]", "tests/b.py::test_two", "tests/infra"]
    # THEN the test function is selected once, and the other arguments are kept in order
    assert covering_functions(args) == ["-x", "tests/a.py::test_one", "tests/b.py::test_two", "tests/infra"]


def test_a_mutants_tests_run_fastest_module_first_keeping_each_modules_order() -> None:
    # GIVEN mutmut's clean-run durations: module b took 1 s in all, module a 5 s, module c was not timed
    durations = module_durations({"t/a.py::one": 2.0, "t/a.py::two[x]": 3.0, "t/b.py::one": 1.0})
    assert durations == {"t/a.py": 5.0, "t/b.py": 1.0}
    ids = ["t/a.py::one", "t/c.py::one", "t/a.py::two[x]", "t/b.py::one", "t/b.py::two"]
    # WHEN the selected tests are ordered
    order = [ids[position] for position in fastest_modules_first(ids, durations)]
    # THEN b's tests come first, then a's, then the untimed module, each module in its own order
    assert order == ["t/b.py::one", "t/b.py::two", "t/a.py::one", "t/a.py::two[x]", "t/c.py::one"]


def test_a_sampled_score_comes_with_the_range_the_whole_score_lies_in_and_a_full_run_with_none() -> None:
    # GIVEN 170 of 200 sampled mutants killed (85 %)
    low, high = interval(170, 200, sampled=True) or (0.0, 0.0)
    # THEN the 95 % Wilson interval is about 79.4 to 89.3 %, around but not centred on 85 %
    assert (low, high) == (79.4, 89.3)
    # AND a larger sample narrows it, a full run is exact, and nothing counted has no interval
    wide, narrow = interval(17, 20, sampled=True), interval(850, 1000, sampled=True)
    assert wide is not None
    assert narrow is not None
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert interval(170, 200, sampled=False) is None
    assert interval(0, 0, sampled=True) is None


def test_running_one_target_keeps_the_other_targets_last_results() -> None:
    # GIVEN results of both targets from one earlier sampled run
    previous = {"mode": "sample of 20", "targets": {"mailer": {"score": 80.0}, "stacks": {"score": 90.0}}}
    # WHEN the mailer alone is run again
    merged = merged_results(previous, {"mailer": {"mode": "full", "score": 95.0}})
    # THEN the mailer's entry is the new one and the stacks keep theirs, with the mode they were run in
    assert merged == {
        "targets": {"mailer": {"mode": "full", "score": 95.0}, "stacks": {"mode": "sample of 20", "score": 90.0}}
    }
