"""pytest plugin loaded by the benchmark (`-p bench.synth_counter`): counts how often the suite synthesizes.

In-process synths are calls of `aws_cdk.App.synth`; CLI synths are `cdk synth` subprocesses (each runs
app.py once in its own interpreter). The counts are written to the file named by BENCH_SYNTH_COUNT_FILE; under
pytest-xdist each worker counts its own and hands them to the main process, which adds them up and writes them.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

COUNT_FILE_VARIABLE = "BENCH_SYNTH_COUNT_FILE"
_WORKER_OUTPUT_KEY = "synth_counts"
_counts = {"in_process": 0, "cli": 0}


def _is_cli_synth(args: Any) -> bool:
    if isinstance(args, str) or not isinstance(args, Sequence):
        return False
    words = [str(word) for word in args]
    return bool(words) and Path(words[0]).name == "cdk" and "synth" in words


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(COUNT_FILE_VARIABLE):
        return
    from aws_cdk import App

    original_synth = App.synth
    original_run = subprocess.run

    @functools.wraps(original_synth)
    def counting_synth(self: App, *args: Any, **kwargs: Any) -> Any:
        _counts["in_process"] += 1
        return original_synth(self, *args, **kwargs)

    @functools.wraps(original_run)
    def counting_run(*args: Any, **kwargs: Any) -> Any:
        if _is_cli_synth(args[0] if args else kwargs.get("args")):
            _counts["cli"] += 1
        return original_run(*args, **kwargs)

    App.synth = counting_synth  # type: ignore[method-assign]
    subprocess.run = counting_run


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT_KEY] = dict(_counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for kind, count in getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY, {}).items():
        _counts[kind] += count


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(COUNT_FILE_VARIABLE)
    # A worker's counts reach the file through the main process.
    if path and not hasattr(config, "workerinput"):
        Path(path).write_text(json.dumps(_counts), encoding="utf-8")
