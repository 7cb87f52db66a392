"""Helpers shared by the figures: paths, timing, medians and the machine description."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.cdk_cli import cdk_env

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
OUT_DIR = BENCH_DIR / "out"
LAMBDA_IMAGE = ROOT / "lambda_image"
VENV_BIN = ROOT / ".venv" / "bin"


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One line of the table: a measurement beside its reference and the goal it answers."""

    name: str
    value: float
    reference: float | None
    unit: str
    goal: str
    met: bool | None
    detail: dict[str, Any]

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": round(self.value, 4),
            "reference": None if self.reference is None else round(self.reference, 4),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
            "detail": self.detail,
        }


def timed_run(args: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed, result


def run_case_in_fresh_interpreter(module: str, case: str) -> dict[str, Any]:
    """Runs `python -m <module> <case> <output>` (a fresh interpreter per case) and returns the JSON it wrote."""
    output = OUT_DIR / f"{module.rpartition('.')[2]}-{case}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(VENV_BIN / "python"), "-m", module, case, str(output)], cwd=ROOT, env=cdk_env(), check=True)
    result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def alternating(
    subject: Callable[[], float], reference: Callable[[], float], runs: int
) -> tuple[list[float], list[float]]:
    """One untimed run of each (warms the file cache alike), then `runs` timings of each, taken in turns."""
    subject()
    reference()
    subject_times: list[float] = []
    reference_times: list[float] = []
    for _ in range(runs):
        subject_times.append(subject())
        reference_times.append(reference())
    return subject_times, reference_times


def machine() -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
    total_kib = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:")), 0)
    cpu_model = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    node = shutil.which("node", path=cdk_env()["PATH"])
    version = subprocess.run([node or "node", "--version"], capture_output=True, text=True, check=False).stdout
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total_kib / 1024 / 1024, 1),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "node": version.strip(),
        "os": platform.platform(),
    }
