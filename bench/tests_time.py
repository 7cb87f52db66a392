"""Figure 2: wall time of the whole pytest suite, and how many times it synthesizes the infrastructure."""

from __future__ import annotations

import json
import re
import shlex

from bench.common import OUT_DIR, ROOT, VENV_BIN, Figure, timed_run
from checks.cdk_cli import cdk_env
from tools.dev import PYTEST

GOAL_SECONDS = 90.0


def make_test_pytest() -> list[str]:
    """The pytest command `make test` runs (tools/dev.py's test command): the figure times what `make test` runs."""
    return list(PYTEST)


def measure() -> Figure:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    count_file = OUT_DIR / "synth-count.json"
    count_file.unlink(missing_ok=True)
    python, *arguments = make_test_pytest()
    # Plus the synth counter, a plugin only the bench loads.
    arguments += ["-q", "-p", "bench.synth_counter", "-p", "no:cacheprovider"]
    elapsed, result = timed_run(
        [str(VENV_BIN / python), *arguments], cwd=ROOT, env=cdk_env(BENCH_SYNTH_COUNT_FILE=str(count_file))
    )
    counts: dict[str, int] = json.loads(count_file.read_text(encoding="utf-8"))
    summary = re.findall(r"(\d+) passed", result.stdout)
    return Figure(
        name="tests",
        value=elapsed,
        reference=GOAL_SECONDS,
        unit="s",
        goal=f"<= {GOAL_SECONDS:.0f} s, bounded number of synths",
        met=elapsed <= GOAL_SECONDS,
        detail={
            "passed": int(summary[-1]) if summary else None,
            "synths_in_process": counts["in_process"],
            "synths_cli": counts["cli"],
            "command": f"{shlex.join([python, *arguments])} (make test's pytest, without lint and types)",
        },
    )
