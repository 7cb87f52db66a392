"""Run the project's pinned CDK CLI the way `make` does, from Python (tests, checks and the bench)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from checks import ROOT

NODE_BIN = ROOT / "node_modules" / ".bin"


def cdk_env(**extra: str) -> dict[str, str]:
    """The environment `make` gives tools: the pinned Node and CDK CLI first, then this Python's venv."""
    path = os.pathsep.join([str(NODE_BIN), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "CDK_DISABLE_VERSION_CHECK": "1", **extra}


def run_cdk(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`cdk ARGS --no-notices` through the pinned CLI; the caller decides what a failure means."""
    if not (NODE_BIN / "cdk").exists():
        raise FileNotFoundError("the pinned CDK CLI is missing: run `make setup` (npm ci) first")
    return subprocess.run(
        [str(NODE_BIN / "cdk"), *args, "--no-notices"],
        cwd=cwd,
        env=cdk_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
