"""tools/dev.py, the runner every platform sets up, synthesizes and tests with: it checks the interpreter, the venv
and Node before installing anything, finds a Windows venv, installs per command, and filters the CDK's noise."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from tools import dev

# A stand-in for macOS's python3: the real interpreter, reporting 3.9 to the script it runs.
FAKE_PYTHON = """#!/bin/sh
exec "{real}" -c 'import runpy, sys; sys.version_info = (3, 9, 18, "final", 0); sys.argv = sys.argv[1:]; \
runpy.run_path(sys.argv[0], run_name="__main__")' "$@"
"""
# What the runner reads: a copy of these is a project it can be pointed at without touching this checkout.
PROJECT_FILES = (
    "Makefile",
    "tools/dev.py",
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-demo.txt",
    "lambda_image/requirements.txt",
    "checks/requirements-checkov.txt",
    "package.json",
    "package-lock.json",
)
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
unix_only = pytest.mark.skipif(os.name == "nt", reason="the fake interpreter is a shell script")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in PROJECT_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    return root


def _installed(root: Path) -> list[str]:
    return sorted(name for name in dev.INSTALLED if (root / name).exists())


def _fake_python(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fake = directory / "python3"
    fake.write_text(FAKE_PYTHON.format(real=sys.executable))
    fake.chmod(0o755)
    return fake


def _fake_venv(venv: Path, *, home: str, version: str, windows: bool = False) -> None:
    scripts = venv / ("Scripts" if windows else "bin")
    scripts.mkdir(parents=True)
    (scripts / ("python.exe" if windows else "python")).write_text("")
    (venv / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n")


def _current_venv(venv: Path, windows: bool = False) -> None:
    home, version = dev._base_interpreter()
    _fake_venv(venv, home=home, version=f"{version}.1", windows=windows)


class Recorder:
    """Stands in for subprocess in the runner: records each command, makes the venvs it is asked to make."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def run(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append([str(word) for word in command])
        if command[1:3] == ["-m", "venv"]:
            _current_venv(Path(command[3]))
        return subprocess.CompletedProcess(command, 0, "", "")

    def installed_from(self) -> list[str]:
        return [command[command.index("-r") + 1] for command in self.commands if "pip" in command]

    def compiled(self) -> bool:
        return any("compileall" in " ".join(command) for command in self.commands)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    monkeypatch.setattr(subprocess, "run", recording.run)
    return recording


# The interpreter


def test_the_runner_parses_as_python_3_8() -> None:
    # It has to run far enough on an old Python to say which one it needs.
    ast.parse((ROOT / "tools" / "dev.py").read_text(encoding="utf-8"), feature_version=(3, 8))


@given(minor=st.integers(min_value=0, max_value=10), command=st.sampled_from(sorted(dev.COMMANDS)))
def test_a_python_older_than_3_11_gets_one_line_with_the_fix_for_each_shell(minor: int, command: str) -> None:
    version = (3, minor, 4)
    via_make = dev.interpreter_problem(version, "python3", command, "python3", windows=False)
    powershell = dev.interpreter_problem(version, "python.exe", command, None, windows=True)
    assert via_make is not None
    assert re.fullmatch(
        rf"error: needs Python 3\.11 or newer, found 3\.{minor} \(python3\); try make {command} PYTHON=python3\.1\d",
        via_make,
    )
    assert powershell == (
        f"error: needs Python 3.11 or newer, found 3.{minor} (python.exe); try py -3.11 tools/dev.py {command}"
    )


@given(minor=st.integers(min_value=11, max_value=30))
def test_python_3_11_or_newer_is_accepted(minor: int) -> None:
    assert dev.interpreter_problem((3, minor, 0), "python3", "synth", None, windows=False) is None


@unix_only
@needs_make
def test_make_synth_with_a_too_old_python_says_so_and_installs_nothing(project: Path, tmp_path: Path) -> None:
    fake = _fake_python(tmp_path / "old-bin")
    # Not the settings of a make that runs these tests (`make test PYTHON=...`).
    outer = (dev.MAKE_PYTHON, "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHON")
    env = {key: value for key, value in os.environ.items() if key not in outer}
    env["PATH"] = f"{fake.parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(["make", "-s", "synth"], cwd=project, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    first, *rest = result.stderr.splitlines()
    assert re.fullmatch(
        r"error: needs Python 3\.11 or newer, found 3\.9 \(python3\); try make synth PYTHON=python3\.1\d", first
    )
    assert all(line.startswith("make: ***") for line in rest)
    assert _installed(project) == []


@unix_only
def test_the_runner_itself_with_a_too_old_python_says_so_and_installs_nothing(project: Path, tmp_path: Path) -> None:
    fake = _fake_python(tmp_path / "old-bin")
    env = {key: value for key, value in os.environ.items() if key != dev.MAKE_PYTHON}
    result = subprocess.run(
        [str(fake), "tools/dev.py", "test"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert re.fullmatch(
        r"error: needs Python 3\.11 or newer, found 3\.9 \(\S+\); try python3\.1\d tools/dev.py test\n", result.stderr
    )
    assert _installed(project) == []


# Venvs


def test_a_venv_made_by_another_python_is_rebuilt_saying_so_in_one_line(
    project: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_venv(project / ".venv", home="/opt/python3.10/bin", version="3.10.12")
    (project / ".venv" / "leftover").write_text("from the old venv")
    _stamp(project, dev.NODE_PACKAGES)

    dev.setup(project, "app")

    home, version = dev._base_interpreter()
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == f".venv was made by Python 3.10 (/opt/python3.10/bin); rebuilding it with Python {version} ({home})"
    )
    assert not (project / ".venv" / "leftover").exists()
    assert recorder.commands[0] == [sys.executable, "-m", "venv", str(project / ".venv")]
    assert recorder.installed_from() == ["requirements.txt"]


def test_a_python_without_its_venv_module_gets_one_line_naming_the_package(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian and Ubuntu: "ensurepip is not available" until python3.x-venv is installed.
    failed = subprocess.CompletedProcess[str]([], 1, "", "")
    monkeypatch.setattr(subprocess, "run", lambda *_, **__: failed)
    _stamp(project, dev.NODE_PACKAGES)
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    with pytest.raises(dev.SetupError, match=rf"^error: .* could not make \.venv .*install python{minor}-venv$"):
        dev.setup(project, "app")
    assert not (project / ".venv").exists()


def test_a_venv_of_this_python_is_kept(project: Path, recorder: Recorder) -> None:
    _current_venv(project / ".venv")
    assert dev.venv_mismatch(project / ".venv") is None
    _stamp(project, dev.NODE_PACKAGES)
    _stamp(project, dev.APP_PACKAGES)
    dev.setup(project, "app")
    assert recorder.commands == []


def test_the_windows_layout_is_found(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    _current_venv(venv, windows=True)
    assert dev.venv_python(venv, windows=True) == venv / "Scripts" / "python.exe"
    assert dev.venv_python(venv, windows=True).is_file()
    assert dev.venv_mismatch(venv, windows=True) is None
    # The same venv read as a Unix one has no interpreter, so it would be rebuilt.
    assert dev.venv_mismatch(venv, windows=False) == (
        ".venv has no interpreter; rebuilding it with Python {1} ({0})".format(*dev._base_interpreter())
    )
    first = dev.step_env(tmp_path, windows=True)["PATH"].split(os.pathsep)[:2]
    assert first == [str(venv / "Scripts"), str(tmp_path / "node_modules" / ".bin")]


def test_the_unix_layout_is_found(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    _current_venv(venv)
    assert dev.venv_python(venv, windows=False) == venv / "bin" / "python"
    assert dev.venv_mismatch(venv, windows=False) is None
    assert dev.step_env(tmp_path, windows=False)["PATH"].split(os.pathsep)[0] == str(venv / "bin")


# Installs per command


def _stamp(root: Path, install: dev.Install) -> None:
    (root / install.stamp).parent.mkdir(parents=True, exist_ok=True)
    dev._write_stamp(root, install)


def test_synth_installs_only_the_app_and_test_adds_the_test_tools(
    project: Path, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    _stamp(project, dev.NODE_PACKAGES)
    dev.setup(project, "app")
    assert recorder.installed_from() == ["requirements.txt"]
    # Without compiling all of aws-cdk-lib; only what the app imports is compiled afterwards.
    assert "--no-compile" in recorder.commands[1]
    assert recorder.compiled()

    # The demo adds its stand-in for AWS, not the test tools
    recorder.commands.clear()
    dev.setup(project, "demo")
    assert recorder.installed_from() == ["requirements-demo.txt"]

    recorder.commands.clear()
    dev.setup(project, "dev")
    assert recorder.installed_from() == ["requirements-dev.txt", "checks/requirements-checkov.txt"]
    out = capsys.readouterr().out
    # Every install says what it does and about how long it takes, in one line.
    for install in (dev.APP_PACKAGES, dev.DEMO_PACKAGES, dev.DEV_PACKAGES, dev.CHECKOV_PACKAGES):
        assert install.message in out.splitlines()
        assert re.search(r"about \d+ s the first time$", install.message)


def test_a_changed_requirements_file_installs_again(project: Path, recorder: Recorder) -> None:
    _current_venv(project / ".venv")
    _stamp(project, dev.NODE_PACKAGES)
    _stamp(project, dev.APP_PACKAGES)
    with (project / "requirements.txt").open("a") as requirements:
        requirements.write("six==1.17.0\n")
    dev.setup(project, "app")
    assert recorder.installed_from() == ["requirements.txt"]


def test_the_app_requirements_pin_the_image_s_aws_sdk() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^(boto3|botocore)==(\S+)", path.read_text(encoding="utf-8"), re.M)
        return dict(found)

    app = pins(ROOT / "requirements.txt")
    assert set(app) == {"boto3", "botocore"}
    assert app == pins(ROOT / "lambda_image" / "requirements.txt")


# Node


def test_without_npm_one_line_names_nodejs_org_and_nothing_is_installed(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert dev.main(["synth"], root=project) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: needs Node.js 20 or newer with npm, none found on PATH; install it from https://nodejs.org/; "
        "the project then installs its own pinned Node LTS from package.json\n"
    )
    assert _installed(project) == []


@unix_only
def test_a_node_older_than_20_gets_one_line(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "old-node"
    bin_dir.mkdir()
    for name, output in (("node", "v18.19.0"), ("npm", "10.2.3")):
        (bin_dir / name).write_text(f"#!/bin/sh\necho {output}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(
        dev.SetupError, match=r"^error: needs Node\.js 20 or newer with npm, found v18\.19\.0; .*nodejs"
    ):
        dev.setup(project, "app")
    assert _installed(project) == []


# Starting over


def test_clean_keeps_the_venvs_and_reset_removes_them(project: Path) -> None:
    for name in (*dev.BUILT, *dev.INSTALLED):
        (project / name).mkdir(parents=True, exist_ok=True)
        (project / name / "file").write_text("")
    assert dev.main(["clean"], root=project) == 0
    assert [name for name in dev.BUILT if (project / name).exists()] == []
    assert _installed(project) == sorted(dev.INSTALLED)
    assert dev.main(["reset"], root=project) == 0
    assert _installed(project) == []


# Words on the command line

address = st.from_regex(r"[a-z][a-z0-9.+]{0,8}@[a-z]{1,8}\.(com|org|de)", fullmatch=True)
addresses = st.lists(address, min_size=2, max_size=4)


@given(recipients=addresses, separator=st.sampled_from([", ", "; ", " ,", " "]))
def test_a_list_split_by_the_shell_is_caught_with_the_quoting_for_each_shell(
    recipients: list[str], separator: str
) -> None:
    typed = f"recipients={separator.join(recipients)}"
    words = ["-c", "stage=dev", "-c", *typed.split()]
    line = dev.stray_word(words, "synth")
    assert line is not None
    assert "\n" not in line
    assert "bash/zsh make synth ARGS='-c \"recipients=" in line
    assert 'in PowerShell py tools/dev.py synth -c "recipients=' in line


@given(
    stacks=st.lists(st.sampled_from(["inbox-mailer-dev-function", "inbox-mailer-*", "Stage/Stack"]), max_size=2),
    recipients=addresses,
)
def test_options_stack_names_and_a_quoted_list_pass(stacks: list[str], recipients: list[str]) -> None:
    words = ["-c", f"recipients={', '.join(recipients)}", "--profile", "ops", *stacks]
    assert dev.stray_word(words, "deploy") is None


@given(value=st.text(max_size=6))
def test_only_an_explicit_yes_is_a_dry_run(value: str) -> None:
    words, _ = dev.runner_options(["-c", "stage=dev", f"--dry-run={value}"])
    assert ("--dry-run" in words) == (value.strip().lower() in {"1", "yes", "true"})
    assert words[:2] == ["-c", "stage=dev"]


def test_every_command_runs_the_steps_of_the_table() -> None:
    for name, command in dev.COMMANDS.items():
        assert command.needs in dev.INSTALLS, name
        for step in dev.expand(command.steps, ["-c", "stage=prod"]):
            assert dev.ARGS not in step
    assert dev.expand(dev.COMMANDS["status"].steps, ["-c", "stage=prod"]) == [
        ["python", "-m", "tools.status", "-c", "stage=prod"]
    ]
    assert ("python", "-m", "pytest", "-n", "auto") in dev.COMMANDS["test"].steps
    assert dev.COMMANDS["deploy"].steps[: len(dev.PREFLIGHT)] == dev.PREFLIGHT


# The CDK's noise


@unix_only
def test_the_quiet_synth_loses_the_supply_a_stack_id_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdk = tmp_path / "node_modules" / ".bin" / ("cdk.cmd" if os.name == "nt" else "cdk")
    cdk.parent.mkdir(parents=True)
    cdk.write_text(
        "#!/bin/sh\necho 'Successfully synthesized to /p/cdk.out' >&2\n"
        "echo 'Supply a stack id (inbox-mailer-dev-registry, inbox-mailer-dev-function) to display its template.' >&2\n"
    )
    cdk.chmod(0o755)
    assert dev.run_step(tmp_path, ["cdk", "synth", "--quiet"], dev.step_env(tmp_path)) == 0
    assert capsys.readouterr().out == "Successfully synthesized to /p/cdk.out\n"
