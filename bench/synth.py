"""Figure 1: `cdk synth` of the whole app against a one-function reference app, same CLI, alternating runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.common import BENCH_DIR, OUT_DIR, ROOT, Figure, alternating, median, timed_run
from checks.cdk_cli import NODE_BIN, cdk_env

GOAL_RATIO = 1.5
REFERENCE_APP = BENCH_DIR / "reference_app"
APP_OUT = OUT_DIR / "synth-app"
REFERENCE_OUT = OUT_DIR / "synth-reference"


def _synth(cwd: Path, outdir: Path) -> float:
    command = [str(NODE_BIN / "cdk"), "synth", "--quiet", "--no-notices", "-o", str(outdir)]
    elapsed, _ = timed_run(command, cwd=cwd, env=cdk_env())
    return elapsed


def measure(runs: int) -> Figure:
    for outdir in (APP_OUT, REFERENCE_OUT):
        shutil.rmtree(outdir, ignore_errors=True)
    app_times, reference_times = alternating(
        lambda: _synth(ROOT, APP_OUT), lambda: _synth(REFERENCE_APP, REFERENCE_OUT), runs
    )
    app, reference = median(app_times), median(reference_times)
    return Figure(
        name="synth",
        value=app,
        reference=reference,
        unit="s",
        goal=f"ratio <= {GOAL_RATIO} (every cdk-nag pack on)",
        met=app / reference <= GOAL_RATIO,
        detail={
            "runs": runs,
            "app_runs_s": [round(t, 3) for t in app_times],
            "reference_runs_s": [round(t, 3) for t in reference_times],
            "command": "cdk synth --quiet --no-notices (pinned CLI, node_modules/.bin)",
        },
    )
