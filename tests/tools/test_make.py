"""`make status` and `make redrive` pass ARGS (the CDK options) to the tools, and DRY_RUN=1 becomes --dry-run."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _commands(*arguments: str) -> list[str]:
    # -n prints the commands without running them; setup is up to date once the venv exists.
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line for line in result.stdout.splitlines() if "tools." in line]


def test_status_gets_the_cdk_options_from_args() -> None:
    assert _commands("status", "ARGS=-c stage=prod --profile ops") == [
        "python -m tools.status -c stage=prod --profile ops"
    ]


def test_redrive_is_a_dry_run_only_when_asked() -> None:
    assert _commands("redrive", "ARGS=-c stage=prod") == ["python -m tools.redrive -c stage=prod "]
    assert _commands("redrive", "DRY_RUN=1", "ARGS=-c stage=prod") == [
        "python -m tools.redrive -c stage=prod --dry-run"
    ]
