"""Figures of a newcomer's first hour: `make synth` from a fresh clone, and `make demo` after it.

`python -m bench.first_hour` measures both and writes them into bench/results.json beside the other figures (which
it keeps); `make bench` measures them with the rest. The fresh clone is of the committed HEAD, set up with the
machine's pip and npm caches as a second project on the same machine would be; its venv and node_modules are new.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, ROOT, VENV_BIN, Figure, timed_run
from checks.cdk_cli import cdk_env

RESULTS = BENCH_DIR / "results.json"
# Issue goals: a fresh clone's `make synth` in at most 60 s on 2 cores, and the demo in at most about 60 s after it.
FRESH_SYNTH_GOAL_S = 60.0
DEMO_GOAL_S = 60.0


def _clean_env() -> dict[str, str]:
    # The clone must find its own venv and node_modules, never this project's.
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL")}
    here = {str(VENV_BIN), str(ROOT / "node_modules" / ".bin")}
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part not in here)
    return env


def fresh_synth() -> Figure:
    """Wall time of `make synth` in a fresh clone: the interpreter check, the app's install, npm ci, synth, plan."""
    with tempfile.TemporaryDirectory(prefix="fresh-clone-") as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        elapsed, result = timed_run(["make", "synth"], cwd=clone, env=_clean_env())
        installed = [line for line in result.stdout.splitlines() if line.startswith("Installing")]
    return Figure(
        name="fresh_synth",
        value=elapsed,
        reference=FRESH_SYNTH_GOAL_S,
        unit="s",
        goal=f"<= {FRESH_SYNTH_GOAL_S:.0f} s from a fresh clone",
        met=elapsed <= FRESH_SYNTH_GOAL_S,
        detail={"command": "git clone <this repository> && make synth", "install_steps": installed},
    )


def demo() -> Figure:
    """Wall time of the demo's whole story (`python -m tools.demo`) on the assembly `make synth` wrote."""
    subprocess.run(["make", "--no-print-directory", "synth"], cwd=ROOT, env=cdk_env(), check=True, capture_output=True)
    elapsed, result = timed_run([str(VENV_BIN / "python"), "-m", "tools.demo"], cwd=ROOT, env=cdk_env())
    summary = [line for line in result.stdout.splitlines() if line.lstrip("> ").startswith("Done in")]
    return Figure(
        name="demo",
        value=elapsed,
        reference=DEMO_GOAL_S,
        unit="s",
        goal=f"<= {DEMO_GOAL_S:.0f} s after make synth",
        met=elapsed <= DEMO_GOAL_S,
        detail={"command": "python -m tools.demo (make demo after make synth)", "summary": " ".join(summary)},
    )


def record(figures: list[Figure]) -> dict[str, Any]:
    """Writes the figures into bench/results.json, keeping the others, each marked with the day it was measured."""
    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for figure in figures:
        entry = figure.as_dict()
        entry["detail"]["measured"] = f"{today}, on its own (the other figures are from the run dated above)"
        results[figure.name] = entry
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def main() -> None:
    print("fresh clone, make synth ...", flush=True)
    synth_figure = fresh_synth()
    print(f"  {synth_figure.value:.1f} s (goal {FRESH_SYNTH_GOAL_S:.0f} s)", flush=True)
    print("make demo ...", flush=True)
    demo_figure = demo()
    print(f"  {demo_figure.value:.1f} s (goal {DEMO_GOAL_S:.0f} s)", flush=True)
    record([synth_figure, demo_figure])
    print(f"Written: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
