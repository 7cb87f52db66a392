"""The Makefile hands its targets to tools/dev.py, so that make and PowerShell run the same steps: ARGS reach the
tools, DRY_RUN=1 (or yes, true) is a dry run and anything else a real one, PREFLIGHT=0 skips the preflight."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.infra.conftest import ROOT
from tools import dev

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*arguments: str) -> list[str]:
    """The runner's command line for `make arguments...` (-n prints the recipe without running it)."""
    # Not the settings of a make that runs these tests (`make test PYTHON=...`).
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHON")}
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (line,) = result.stdout.splitlines()
    python, script, *words = shlex.split(line)
    assert (python, script) == ("python3", "tools/dev.py")
    return words


def _steps(*arguments: str) -> list[str]:
    """The steps `make arguments...` runs: make's runner line, shown by the runner without running it."""
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "--print", *_make(*arguments)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("target", ["setup", "synth", "test", "clean", *sorted(set(dev.COMMANDS) - {"setup-dev"})])
def test_make_targets_run_the_runner_s_command_of_the_same_name(target: str) -> None:
    assert _make(target)[0] == target


def test_distclean_is_the_runner_s_reset() -> None:
    assert _make("distclean") == ["reset"]


def test_synth_runs_the_quiet_synth_then_the_plan() -> None:
    assert _steps("synth", "ARGS=-c stage=prod") == [
        "cdk synth --quiet -c stage=prod",
        "python tools/show_plan.py cdk.out",
    ]


def test_cost_gives_the_usage_to_the_estimator_and_never_to_the_cdk_cli() -> None:
    # GIVEN a stage for both steps and a usage profile for the estimator alone
    steps = _steps("cost", "ARGS=-c stage=prod", "USAGE=--files-per-day 1000 --recipients-note x")

    # THEN the synth sees only the CDK options, the estimator both
    assert steps == [
        "cdk synth --quiet -c stage=prod",
        "python -m tools.cost -c stage=prod --files-per-day 1000 --recipients-note x",
    ]
    assert _steps("cost") == ["cdk synth --quiet", "python -m tools.cost"]


@pytest.mark.parametrize("command", sorted(name for name, c in dev.COMMANDS.items() if dev.TOOL_ARGS not in str(c)))
def test_a_command_without_a_tool_s_own_options_refuses_words_after_the_separator(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "--print", command, "--", "--files-per-day", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {command} takes no options after --; pass CDK options such as -c stage=prod alone"
    )


def test_status_gets_the_cdk_options_from_args() -> None:
    assert _steps("status", "ARGS=-c stage=prod --profile ops") == [
        "python -m tools.status -c stage=prod --profile ops"
    ]


@pytest.mark.parametrize("value", ["1", "yes", "true", "TRUE", "Yes"])
def test_redrive_is_a_dry_run_when_asked(value: str) -> None:
    assert _steps("redrive", f"DRY_RUN={value}", "ARGS=-c stage=prod") == [
        "python -m tools.redrive -c stage=prod --dry-run"
    ]


@settings(max_examples=10, deadline=None)
@given(value=st.sampled_from(["0", "no", "false", "off", "2", "n"]) | st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True))
def test_redrive_with_any_other_dry_run_value_is_a_real_run(value: str) -> None:
    expected = "python -m tools.redrive -c stage=prod" + (" --dry-run" if value.lower() in dev.YES else "")
    assert _steps("redrive", f"DRY_RUN={value}", "ARGS=-c stage=prod") == [expected]


def test_redrive_without_dry_run_is_a_real_run() -> None:
    assert _steps("redrive", "ARGS=-c stage=prod") == ["python -m tools.redrive -c stage=prod"]


def test_deploy_runs_the_preflight_unless_preflight_is_0() -> None:
    with_preflight = _steps("deploy", "ARGS=-c stage=prod")
    assert with_preflight == [
        "cdk synth --quiet -c stage=prod",
        "python -m tools.preflight -c stage=prod",
        "cdk deploy --all -c stage=prod",
    ]
    assert _steps("deploy", "PREFLIGHT=0", "ARGS=-c stage=prod") == with_preflight[-1:]


def test_a_list_split_by_make_s_shell_gets_one_line_saying_how_to_quote_it() -> None:
    words = _make("synth", "ARGS=-c recipients=alice@example.com, bob@example.com")
    result = subprocess.run(
        [sys.executable, "tools/dev.py", "--print", *words], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        'error: "bob@example.com" is not a CDK option or stack: quote the whole setting, in bash/zsh '
        "make synth ARGS='-c \"recipients=alice@example.com, bob@example.com\"', "
        'in PowerShell py tools/dev.py synth -c "recipients=alice@example.com, bob@example.com"\n'
    )
    # The bash/zsh form it gives keeps the list one word through make.
    assert _make("synth", 'ARGS=-c "recipients=alice@example.com, bob@example.com"') == [
        "synth",
        "-c",
        "recipients=alice@example.com, bob@example.com",
    ]


def test_the_cdk_app_command_is_python_which_every_venv_has() -> None:
    assert json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["app"] == "python app.py"


def test_the_app_outside_the_venv_names_the_fix_in_one_line() -> None:
    # -S leaves out site-packages: a Python without the CDK, as `npx cdk synth` meets outside the venv.
    result = subprocess.run([sys.executable, "-S", "app.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {sys.executable} cannot import aws_cdk: run `make synth` (Windows: py tools/dev.py synth), "
        "or activate the venv first (source .venv/bin/activate; Windows: .venv\\Scripts\\Activate.ps1)\n"
    )
