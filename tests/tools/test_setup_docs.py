"""docs/setup.md names only commands that exist, and CI runs its synth pair on Windows (PowerShell, no make) and
macOS as documented."""

from __future__ import annotations

import re
from typing import Any

from checks.workflows import WORKFLOWS, load_workflow
from tests.conftest import ROOT
from tools import dev

SETUP = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _job(runner: str) -> dict[str, Any]:
    jobs = load_workflow(WORKFLOWS / "ci.yml")["jobs"]
    (job,) = [job for job in jobs.values() if str(job["runs-on"]).startswith(runner)]
    found: dict[str, Any] = job
    return found


def test_every_documented_runner_command_exists() -> None:
    named = set(re.findall(r"tools/dev\.py (\w[\w-]*)", SETUP))
    assert {"synth", "test", "clean", "reset", "status", "redrive", "deploy"} <= named
    assert named <= {*dev.COMMANDS, "clean", "reset"}


def test_every_documented_make_target_exists() -> None:
    targets = set(re.findall(r"^([\w-]+):", MAKEFILE, re.M))
    named = set(re.findall(r"`?make ([a-z][\w-]*)", SETUP))
    assert {"synth", "test", "clean", "distclean", "status", "redrive", "deploy"} <= named
    assert named <= targets


def test_ci_synthesizes_on_windows_in_powershell_without_make() -> None:
    job = _job("windows")
    assert job["defaults"]["run"]["shell"] == "pwsh"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ["py -3.11 tools/dev.py synth"]
    assert "py -3.11 tools/dev.py synth" in SETUP


def test_ci_synthesizes_on_macos_with_make() -> None:
    runs = [step["run"] for step in _job("macos")["steps"] if "run" in step]
    assert runs == ["make synth"]
    assert "make synth    #" in SETUP
