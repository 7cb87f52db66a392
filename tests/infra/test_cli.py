"""The real, pinned CDK CLI synthesizes the app: this catches a CLI that cannot read the library's assembly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from checks.cdk_cli import run_cdk


def _cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    return run_cdk("synth", "--quiet", "-o", str(outdir), *args, timeout=300)


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    outdir = tmp_path_factory.mktemp("cli.out")
    return _cdk(outdir=outdir), outdir


def test_pinned_cli_synthesizes_both_stacks(cli_synth: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, outdir = cli_synth
    assert result.returncode == 0, result.stderr
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"]
    assert stacks == ["inbox-mailer-dev-registry", "inbox-mailer-dev-function"]


def test_pinned_cli_uses_a_supported_node(cli_synth: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, _ = cli_synth
    assert "end-of-life" not in result.stdout + result.stderr


def test_bad_setting_on_the_command_line_stops_synth_with_one_clear_line(tmp_path: Path) -> None:
    result = _cdk("-c", "timeout_seconds=901", outdir=tmp_path)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        "error: Invalid setting 'timeout_seconds' = '901': expected a whole number of seconds from 1 to 900" in output
    )
    assert "Traceback" not in output
