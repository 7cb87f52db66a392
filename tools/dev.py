#!/usr/bin/env python3
"""One runner for every platform: set up, synthesize, test and run the operator tools (docs/setup.md).

`make synth` on Linux and macOS and `py tools/dev.py synth` in PowerShell run the same steps. Standard library
only, and written so that any Python 3.8 or newer parses it: it must be able to say which Python it needs.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
MINIMUM_PYTHON = (3, 11)
# What the installed Node must be able to do is run `npm ci`; the CLI then runs on the Node LTS pinned in package.json.
MINIMUM_NODE = 20
NODE_URL = "https://nodejs.org/"
VENV = ".venv"
# checkov's dependencies clash with the project's pins: it gets a venv of its own.
CHECKOV_VENV = ".venv-checkov"
# Another CDK CLI than the pinned one (`make deploy CDK=...`, which make passes on in the environment).
CDK_OVERRIDE = "CDK"
# Written by the Makefile: its PYTHON, so that a message can name the interpreter and the make way to change it.
MAKE_PYTHON = "MAKE_PYTHON"

# A word of a step that stands for the extra words of the command line (CDK options such as -c stage=prod).
ARGS = "{args}"
# A word that stands for the words after `--`: a tool's own options, which the CDK CLI must not see
# (`py tools/dev.py cost -c stage=prod -- --files-per-day 1000`).
TOOL_ARGS = "{tool-args}"
# `make test` and `make bench` (bench/tests_time.py) run this same pytest command: one worker per core.
PYTEST = ("python", "-m", "pytest", "-n", "auto")
# The CDK prints this after a quiet synth of several stacks; the plan printed next says more.
CDK_NOISE = re.compile(r"^Supply a stack id \(.*\) to display its template\.?\s*$")
# CDK stack names and patterns: a word on the command line that is none of these is a setting split by the shell.
STACK_PATTERN = re.compile(r"^[A-Za-z0-9*][A-Za-z0-9*/_-]*$")
YES = ("1", "yes", "true")


class Install(NamedTuple):
    """One installation step: the stamp that records it, the files it installs from and its one line."""

    stamp: str
    sources: tuple[str, ...]
    message: str


APP_PACKAGES = Install(
    f"{VENV}/.installed-app",
    ("requirements.txt",),
    "Installing the CDK app's Python packages (aws-cdk-lib, cdk-nag, boto3, rich), about 30 s the first time",
)
DEV_PACKAGES = Install(
    f"{VENV}/.installed-dev",
    ("requirements.txt", "requirements-dev.txt", "requirements-demo.txt", "lambda_image/requirements.txt"),
    "Installing the test tools (pytest, hypothesis, moto, ruff, mypy, cfn-lint, ...), about 90 s the first time",
)
DEMO_PACKAGES = Install(
    f"{VENV}/.installed-demo",
    ("requirements.txt", "requirements-demo.txt", "lambda_image/requirements.txt"),
    "Installing the local stand-in for AWS (moto) and the Lambda runtime client, about 30 s the first time",
)
CHECKOV_PACKAGES = Install(
    f"{CHECKOV_VENV}/.installed",
    ("checks/requirements-checkov.txt",),
    "Installing checkov in a venv of its own (its pins clash with the project's), about 60 s the first time",
)
NODE_PACKAGES = Install(
    "node_modules/.installed",
    ("package.json", "package-lock.json"),
    "Installing the pinned CDK CLI and Node LTS from package.json (npm ci), about 15 s the first time",
)
INSTALLS = {"app": (APP_PACKAGES,), "demo": (DEMO_PACKAGES,), "dev": (DEV_PACKAGES, CHECKOV_PACKAGES)}


class Command(NamedTuple):
    """A command of this runner: what it installs first ("app" or "dev"), its steps and its line of help."""

    needs: str
    steps: tuple[tuple[str, ...], ...]
    help: str


SYNTH = ("cdk", "synth", "--quiet", ARGS)
PREFLIGHT = (SYNTH, ("python", "-m", "tools.preflight", ARGS))
# One line per command. The steps run with the venv and node_modules/.bin first on PATH.
COMMANDS = {
    "setup": Command("app", (), "install what synth and the operator tools need"),
    "setup-dev": Command("dev", (), "install the test tools as well"),
    "synth": Command("app", (SYNTH, ("python", "tools/show_plan.py", "cdk.out")), "synthesize offline, show the plan"),
    "test": Command(
        "dev", (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",), PYTEST), "lint, types, tests"
    ),
    "preflight": Command("app", PREFLIGHT, "check this machine and the AWS account can deploy"),
    "deploy": Command("app", (*PREFLIGHT, ("cdk", "deploy", "--all", ARGS)), "preflight, deploy (--no-preflight)"),
    "diff": Command("app", (("cdk", "diff", "--all", ARGS),), "compare with what is deployed"),
    "bootstrap": Command("app", (("cdk", "bootstrap", ARGS),), "once per account and region"),
    "destroy": Command("app", (("cdk", "destroy", "--all", ARGS),), "delete the stacks"),
    "status": Command("app", (("python", "-m", "tools.status", ARGS),), "one screen of the deployed app"),
    "redrive": Command("app", (("python", "-m", "tools.redrive", ARGS),), "move failed files back (--dry-run)"),
    "diff-local": Command("dev", (("python", "-m", "checks.diff_local"),), "what changed since the reviewed templates"),
    "images": Command("app", (("python", "-m", "tools.images", ARGS),), "the registry's images, marks and findings"),
    "demo": Command("demo", (SYNTH, ("python", "-m", "tools.demo", ARGS)), "see it work here, no AWS account"),
    "cost": Command(
        "app", (SYNTH, ("python", "-m", "tools.cost", ARGS, TOOL_ARGS)), "a month's cost (-- --files-per-day N ...)"
    ),
}
# Left behind by synth and the tests; `clean` removes these, `reset` the installed tools as well.
BUILT = ("cdk.out", "bench/out", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".cache")
INSTALLED = (VENV, CHECKOV_VENV, "node_modules")


class SetupError(Exception):
    """Something the user must fix before the command can run; its text is the one line that says what."""


# The interpreter, checked before anything else


def interpreter_problem(
    version: tuple[int, ...], name: str, command: str, make_python: str | None, windows: bool
) -> str | None:
    """The one line to print when `version` (the running Python, called `name`) is too old, else None."""
    if tuple(version[:2]) >= MINIMUM_PYTHON:
        return None
    wanted = "{}.{}".format(*MINIMUM_PYTHON)
    found = "{}.{}".format(*version[:2])
    if make_python is not None:
        hint = f"make {command} PYTHON={_newer_python()}"
    elif windows:
        hint = f"py -{wanted} tools/dev.py {command}"
    else:
        hint = f"{_newer_python()} tools/dev.py {command}"
    return f"error: needs Python {wanted} or newer, found {found} ({make_python or name}); try {hint}"


# Not functools.cache: this module must import on Python 3.8 to say which Python it needs.
@functools.lru_cache(maxsize=None)  # noqa: UP033
def _newer_python() -> str:
    # The newest suitable interpreter on PATH, else the usual name of one to install.
    for minor in range(14, MINIMUM_PYTHON[1] - 1, -1):
        candidate = f"python3.{minor}"
        found = shutil.which(candidate)
        # A version manager's shim may exist for a version that is not selected: ask it.
        if found and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    return "python3.12"


# Venvs


def venv_python(venv: Path, windows: bool | None = None) -> Path:
    """The venv's interpreter: Scripts\\python.exe on Windows, bin/python elsewhere."""
    return venv_scripts(venv, windows) / ("python.exe" if _is_windows(windows) else "python")


def venv_scripts(venv: Path, windows: bool | None = None) -> Path:
    return venv / ("Scripts" if _is_windows(windows) else "bin")


def _is_windows(windows: bool | None) -> bool:
    return os.name == "nt" if windows is None else windows


def _venv_config(venv: Path) -> dict[str, str]:
    config: dict[str, str] = {}
    path = venv / "pyvenv.cfg"
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            config[key.strip()] = value.strip()
    return config


def _base_interpreter() -> tuple[str, str]:
    """The folder and major.minor version of the interpreter a venv made by this process records."""
    base = getattr(sys, "_base_executable", sys.executable)
    return os.path.dirname(os.path.abspath(base)), "{}.{}".format(*sys.version_info[:2])


def venv_mismatch(venv: Path, windows: bool | None = None) -> str | None:
    """Why the existing `venv` must be rebuilt for this interpreter (one line), or None when it fits."""
    if not venv.exists() and not venv.is_symlink():
        return None
    config = _venv_config(venv)
    version = config.get("version_info") or config.get("version") or ""
    made_by = "{} ({})".format(".".join(version.split(".")[:2]) or "an unknown Python", config.get("home", "?"))
    home, current = _base_interpreter()
    if not venv_python(venv, windows).exists():
        return f"{venv.name} has no interpreter; rebuilding it with Python {current} ({home})"
    if ".".join(version.split(".")[:2]) != current or os.path.normcase(config.get("home", "")) != os.path.normcase(
        home
    ):
        return f"{venv.name} was made by Python {made_by}; rebuilding it with Python {current} ({home})"
    return None


# Stamps: an installation is current while the files it installed from have the same content


def _fingerprint(root: Path, install: Install) -> str:
    digest = hashlib.sha256()
    for source in install.sources:
        digest.update(source.encode())
        digest.update((root / source).read_bytes())
    return digest.hexdigest()


def is_current(root: Path, install: Install) -> bool:
    stamp = root / install.stamp
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == _fingerprint(root, install)


def _write_stamp(root: Path, install: Install) -> None:
    (root / install.stamp).write_text(_fingerprint(root, install) + "\n", encoding="utf-8")


# Node


def node_problem(env: dict[str, str]) -> str | None:
    """The one line to print when npm is missing or the Node on PATH is too old to run it, else None."""
    need = f"Node.js {MINIMUM_NODE} or newer with npm"
    tail = "; the project then installs its own pinned Node LTS from package.json"
    if shutil.which("npm", path=env["PATH"]) is None:
        return f"error: needs {need}, none found on PATH; install it from {NODE_URL}{tail}"
    node = shutil.which("node", path=env["PATH"])
    if node is None:
        return f"error: needs {need}, npm found but no node; install Node from {NODE_URL}{tail}"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    major = re.match(r"v?(\d+)", version)
    if major is None or int(major[1]) < MINIMUM_NODE:
        return (
            f"error: needs {need}, found {version or 'an unknown version'}; install a newer one from {NODE_URL}{tail}"
        )
    return None


# Words on the command line


def stray_word(words: list[str], command: str) -> str | None:
    """The one line to print when a setting was split by the shell (a word that is neither an option nor a stack)."""
    previous = ""
    for index, word in enumerate(words):
        is_value = index > 0 and words[index - 1] in ("-c", "--context")
        if not word.startswith("-") and not is_value:
            split_list = previous.endswith((",", ";"))
            if "@" in word or split_list or (previous and not STACK_PATTERN.match(word)):
                whole = f"{previous} {word}" if previous else word
                return _quote_advice(word, whole, command)
        previous = word if is_value and "=" in word else ""
    return None


def _quote_advice(word: str, example: str, command: str) -> str:
    # make hands ARGS to a shell again: the inner quotes keep the list one word there.
    return (
        f'error: "{word}" is not a CDK option or stack: quote the whole setting, in bash/zsh '
        f'make {command} ARGS=\'-c "{example}"\', in PowerShell py tools/dev.py {command} -c "{example}"'
    )


def runner_options(words: list[str]) -> tuple[list[str], bool]:
    """The words for the steps, and whether to skip the preflight; --dry-run=VALUE becomes --dry-run or nothing."""
    kept: list[str] = []
    skip_preflight = False
    for word in words:
        if word == "--no-preflight":
            skip_preflight = True
        elif word.startswith("--dry-run="):
            # Only an explicit yes is a dry run: DRY_RUN=0 must never be mistaken for one.
            if word.partition("=")[2].strip().lower() in YES:
                kept.append("--dry-run")
        else:
            kept.append(word)
    return kept, skip_preflight


# Running


def step_env(root: Path, windows: bool | None = None) -> dict[str, str]:
    """The environment of every step: the venv, then the pinned Node and CDK CLI, first on PATH."""
    env = dict(os.environ)
    first = [str(venv_scripts(root / VENV, windows)), str(root / "node_modules" / ".bin")]
    env["PATH"] = os.pathsep.join([*first, env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(root / VENV)
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    # The plan and the operator screens print UTF-8; a Windows console would otherwise encode them as cp1252.
    env.setdefault("PYTHONUTF8", "1")
    return env


def expand(steps: tuple[tuple[str, ...], ...], words: list[str], tool_words: tuple[str, ...] = ()) -> list[list[str]]:
    given = {ARGS: list(words), TOOL_ARGS: list(tool_words)}
    return [[part for word in step for part in given.get(word, [word])] for step in steps]


def split_tool_words(name: str, words: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """CDK options before `--`, the tool's own after it; a command whose steps take no tool options refuses them."""
    if "--" not in words:
        return words, ()
    at = words.index("--")
    if not any(TOOL_ARGS in step for step in COMMANDS[name].steps):
        raise SetupError(f"error: {name} takes no options after --; pass CDK options such as -c stage=prod alone")
    return words[:at], tuple(words[at + 1 :])


def _executable(root: Path, word: str, env: dict[str, str]) -> str:
    if word == "python":
        return str(venv_python(root / VENV))
    if word == "cdk" and env.get(CDK_OVERRIDE):
        return env[CDK_OVERRIDE]
    found = shutil.which(word, path=env["PATH"])
    if found is None:
        raise SetupError(f"error: {word} not found; run `python3 tools/dev.py setup` (Windows: py tools/dev.py setup)")
    return found


def run_step(root: Path, argv: list[str], env: dict[str, str]) -> int:
    """Run one step from `root`; a quiet synth's output loses the CDK's "Supply a stack id" line."""
    command = [_executable(root, argv[0], env), *argv[1:]]
    if argv[:2] != ["cdk", "synth"]:
        return subprocess.run(command, cwd=root, env=env, check=False).returncode
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert process.stdout is not None
    for line in process.stdout:
        if not CDK_NOISE.match(line):
            sys.stdout.write(line)
            sys.stdout.flush()
    return process.wait()


def _say(line: str) -> None:
    print(line, flush=True)


# pip compiles every module it installs, and aws-cdk-lib has thousands: about 50 of the 60 s its install takes on 2
# cores. The app's packages install without that; then the modules synth and the operator tools import (a fraction)
# are compiled once, here, so that no later run compiles them again (even where PYTHONDONTWRITEBYTECODE is set).
COMPILE_IMPORTED = """
import compileall, sys, sysconfig
import stacks.app, stacks.compliance, tools.preflight, tools.redrive, tools.status
site = sysconfig.get_paths()["purelib"]
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(site) and path.endswith(".py"):
        compileall.compile_file(path, quiet=2)
"""


def _pip_install(root: Path, install: Install, requirements: str) -> None:
    _say(install.message)
    python = str(venv_python(root / install.stamp.split("/")[0]))
    compile_imported = install is APP_PACKAGES
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pip += ["--no-compile"] if compile_imported else []
    if subprocess.run([*pip, "-r", requirements], cwd=root, check=False).returncode != 0:
        raise SetupError(f"error: pip could not install {requirements}; see pip's message above")
    if compile_imported:
        # Only a head start: whatever fails here, synth reports itself.
        compiling = [python, "-c", COMPILE_IMPORTED]
        subprocess.run(compiling, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    _write_stamp(root, install)


def _make_venv(root: Path, name: str) -> None:
    venv = root / name
    reason = venv_mismatch(venv)
    if reason is not None:
        if venv.is_symlink():
            raise SetupError(
                f"error: {reason.split(';')[0]}, and it is a link to {os.readlink(venv)}: rebuild that one"
            )
        _say(reason)
        shutil.rmtree(venv)
    if not venv.exists():
        _say(f"Creating {name} with Python {sys.version.split()[0]} ({sys.executable}), about 5 s")
        if subprocess.run([sys.executable, "-m", "venv", str(venv)], cwd=root, check=False).returncode != 0:
            # Debian and Ubuntu ship the venv module separately.
            raise SetupError(
                f"error: {sys.executable} could not make {name} (see above); on Debian or Ubuntu install "
                f"python{sys.version_info[0]}.{sys.version_info[1]}-venv"
            )


def setup(root: Path, needs: str) -> None:
    """Install what `needs` ("app", "demo" or "dev") requires; check Node first, so that a failure installs nothing."""
    env = step_env(root)
    pending = [install for install in (APP_PACKAGES, NODE_PACKAGES, *INSTALLS[needs]) if not is_current(root, install)]
    stale_venvs = [name for name in (VENV, CHECKOV_VENV) if venv_mismatch(root / name) is not None]
    if NODE_PACKAGES in pending:
        problem = node_problem(env)
        if problem is not None:
            raise SetupError(problem)
    for name in stale_venvs:
        # A rebuilt venv has nothing installed, whatever its stamps say.
        pending += [i for i in (APP_PACKAGES, *INSTALLS[needs]) if i.stamp.startswith(name + "/") and i not in pending]
    npm = None
    if NODE_PACKAGES in pending:
        # npm and pip download in parallel: the first setup takes as long as the slower of the two.
        _say(NODE_PACKAGES.message)
        npm_command = [shutil.which("npm", path=env["PATH"]) or "npm", "ci", "--no-audit", "--no-fund"]
        npm = subprocess.Popen([*npm_command, "--loglevel=error"], cwd=root, env=env)
    started = time.monotonic()
    if any(install.stamp.startswith(VENV + "/") for install in pending):
        _make_venv(root, VENV)
    if APP_PACKAGES in pending:
        _pip_install(root, APP_PACKAGES, "requirements.txt")
    if DEMO_PACKAGES in pending:
        _pip_install(root, DEMO_PACKAGES, "requirements-demo.txt")
    if DEV_PACKAGES in pending:
        _pip_install(root, DEV_PACKAGES, "requirements-dev.txt")
    if CHECKOV_PACKAGES in pending:
        _make_venv(root, CHECKOV_VENV)
        _pip_install(root, CHECKOV_PACKAGES, "checks/requirements-checkov.txt")
    if npm is not None:
        if npm.wait() != 0:
            raise SetupError("error: npm ci failed; see npm's message above")
        _write_stamp(root, NODE_PACKAGES)
    if pending:
        _say(f"Set up in {time.monotonic() - started:.0f} s")


def remove(root: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


USAGE = "usage: tools/dev.py [--print] COMMAND [CDK options...]\n" + "\n".join(
    [f"  {name:<10} {command.help}" for name, command in COMMANDS.items()]
    + [f"  {'clean':<10} remove what synth and the tests leave behind (keeps the venvs)"]
    + [f"  {'reset':<10} clean, and remove the venvs and node_modules: the next setup starts over"]
)


def main(argv: list[str], root: Path = ROOT) -> int:
    """Run `argv` (COMMAND and its words); --print shows the steps without setting up or running them."""
    show_only = bool(argv) and argv[0] == "--print"
    if show_only:
        argv = argv[1:]
    if not argv or argv[0] not in (*COMMANDS, "clean", "reset"):
        print(USAGE, file=sys.stderr)
        return 2
    name, words = argv[0], argv[1:]
    windows = os.name == "nt"
    problem = interpreter_problem(
        sys.version_info[:3], Path(sys.executable).name, name, os.environ.get(MAKE_PYTHON), windows
    )
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    if name in ("clean", "reset"):
        remove(root, BUILT + (INSTALLED if name == "reset" else ()))
        return 0
    command = COMMANDS[name]
    words, skip_preflight = runner_options(words)
    steps = command.steps[len(PREFLIGHT) :] if name == "deploy" and skip_preflight else command.steps
    try:
        words, tool_words = split_tool_words(name, words)
        stray = stray_word(words, name)
        if stray is not None:
            raise SetupError(stray)
        if show_only:
            for step in expand(steps, words, tool_words):
                print(shlex.join(step))
            return 0
        setup(root, command.needs)
        env = step_env(root)
        for step in expand(steps, words, tool_words):
            code = run_step(root, step, env)
            if code != 0:
                return code
    except SetupError as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        # The step was told too and says what it left undone; a traceback of the runner adds nothing.
        sys.exit(130)
