"""The function image: hadolint, base image and handler, dependencies as wheels; each proven to fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checks import IMAGE_DIRECTORY
from checks.image import (
    LAMBDA_PYTHON_GLIBC,
    WHEEL_CACHE,
    WheelError,
    download_wheels,
    read_recipe,
    recipe_problems,
    requirement_paths,
    run_hadolint,
    unpacked_size,
    wheel_target,
)
from stacks.mailer import ARCHITECTURE

BAD_IMAGE = Path(__file__).parent / "fixtures" / "bad_image"
Report = Callable[[str], None]


def test_hadolint_finds_nothing_at_warning_level_or_above() -> None:
    assert [str(f) for f in run_hadolint(IMAGE_DIRECTORY / "Dockerfile")] == []


def test_hadolint_fails_a_bad_dockerfile_and_ignores_inline_pragmas() -> None:
    codes = {f.code for f in run_hadolint(BAD_IMAGE / "Dockerfile")}
    # DL3026: not from public.ecr.aws; DL3007: `latest`; DL3020: ADD, despite the pragma above it;
    # DL3013/DL3042: unpinned pip install with a cache.
    assert {"DL3026", "DL3007", "DL3020", "DL3013", "DL3042"} <= codes


def test_the_function_image_starts_from_a_supported_base_and_names_an_existing_handler() -> None:
    recipe = read_recipe()
    assert recipe_problems(recipe) == []
    assert recipe.python_version in LAMBDA_PYTHON_GLIBC
    assert recipe.handler is not None
    assert recipe.handler.rpartition(".")[0].replace(".", "/") + ".py" in recipe.files


def test_lambda_python_versions_supported_today() -> None:
    assert list(LAMBDA_PYTHON_GLIBC) == ["3.10", "3.11", "3.12", "3.13", "3.14"]


def test_the_bad_fixture_image_has_every_problem_found() -> None:
    assert recipe_problems(read_recipe(BAD_IMAGE)) == [
        "COPY source missing.py does not exist in lambda_image/",
        "FROM 'python:latest' is not a Lambda Python base image (public.ecr.aws/lambda/python:X.Y)",
        'CMD must be the exec form with one handler: CMD ["module.function"]',
    ]


HANDLER = "def handler(event, context):\n    return None\n"
FROM = "FROM public.ecr.aws/lambda/python:3.13\n"
COPY = "COPY lambda_function.py ${LAMBDA_TASK_ROOT}/\n"
BAD_RECIPES: list[tuple[str, str, str, str]] = [
    # (id, Dockerfile, lambda_function.py, the problem expected)
    (
        "python-3.9",
        FROM.replace("3.13", "3.9") + COPY + 'CMD ["lambda_function.handler"]',
        HANDLER,
        "Python 3.9 is not a version Lambda supports",
    ),
    (
        "no-such-function",
        FROM + COPY + 'CMD ["lambda_function.main"]',
        HANDLER,
        "CMD names lambda_function.main: no function main at the top level",
    ),
    (
        "nested-function",
        FROM + COPY + 'CMD ["lambda_function.inner"]',
        "def outer():\n    def inner():\n        pass\n",
        "no function inner at the top level",
    ),
    (
        "async-handler",
        FROM + COPY + 'CMD ["lambda_function.handler"]',
        "async def handler(event, context):\n    pass\n",
        "async function",
    ),
    (
        "handler-not-copied",
        FROM + 'COPY requirements.txt ${LAMBDA_TASK_ROOT}/\nCMD ["lambda_function.handler"]',
        HANDLER,
        "no COPY puts lambda_function.py into the task root",
    ),
    (
        "copied-elsewhere",
        FROM + 'COPY lambda_function.py /opt/\nCMD ["lambda_function.handler"]',
        HANDLER,
        "no COPY puts lambda_function.py into the task root",
    ),
    (
        "requirements-not-copied",
        FROM + "RUN pip install --no-cache-dir -r requirements.txt\n" + COPY + 'CMD ["lambda_function.handler"]',
        HANDLER,
        "pip installs from requirements.txt, which no COPY puts into the image before",
    ),
    (
        "two-handlers",
        FROM + COPY + 'CMD ["a.handler", "b.handler"]',
        HANDLER,
        'CMD must be the exec form with one handler: CMD ["module.function"]',
    ),
]


@pytest.mark.parametrize(
    ("dockerfile", "handler_source", "problem"), [r[1:] for r in BAD_RECIPES], ids=[r[0] for r in BAD_RECIPES]
)
def test_a_bad_image_recipe_is_refused(tmp_path: Path, dockerfile: str, handler_source: str, problem: str) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile + "\n")
    (tmp_path / "lambda_function.py").write_text(handler_source)
    (tmp_path / "requirements.txt").write_text("")
    problems = recipe_problems(read_recipe(tmp_path))
    assert any(problem in p for p in problems), problems


def test_a_handler_in_a_copied_package_and_a_multi_line_instruction_are_understood(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(HANDLER)
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "Dockerfile").write_text(
        "FROM --platform=linux/arm64 public.ecr.aws/lambda/python:3.12 AS final\n"
        "COPY requirements.txt .\n"
        "RUN pip install --no-cache-dir \\\n    -r requirements.txt \\\n    --target ${LAMBDA_TASK_ROOT}\n"
        "COPY app/ ${LAMBDA_TASK_ROOT}/app/\n"
        'CMD [ "app.main.handler" ]\n'
    )
    recipe = read_recipe(tmp_path)
    assert recipe_problems(recipe) == []
    assert recipe.python_version == "3.12"
    assert requirement_paths(recipe) == [tmp_path / "requirements.txt"]


def test_the_wheel_check_takes_its_python_version_from_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM public.ecr.aws/lambda/python:3.11\n")
    version, platforms = wheel_target(read_recipe(tmp_path), "arm64")
    # Python 3.11 runs on Amazon Linux 2: glibc 2.26 at most, down to manylinux2014.
    assert (version, platforms[0], platforms[-1]) == ("3.11", "manylinux_2_26_aarch64", "manylinux2014_aarch64")
    version, _ = wheel_target(read_recipe(), ARCHITECTURE.name)
    assert version == read_recipe().python_version


def test_the_image_dependencies_exist_as_wheels_for_the_image(report: Report) -> None:
    recipe = read_recipe()
    version, platforms = wheel_target(recipe, ARCHITECTURE.name)
    requirements = requirement_paths(recipe)
    wheels = download_wheels(requirements, version, platforms, WHEEL_CACHE)
    count, size = unpacked_size(wheels)
    assert count >= len([line for r in requirements for line in r.read_text().splitlines() if "==" in line])
    report(
        f"image dependencies: {count} wheels for Python {version} on {ARCHITECTURE.name} "
        f"({', '.join(sorted(p.name.split('-')[0] for p in wheels.glob('*.whl')))}), {size / 1e6:.1f} MB unpacked"
    )


def test_a_dependency_without_a_wheel_for_the_image_fails(tmp_path: Path) -> None:
    version, platforms = wheel_target(read_recipe(), ARCHITECTURE.name)
    with pytest.raises(WheelError, match="pycrypto"):
        download_wheels([BAD_IMAGE / "requirements.txt"], version, platforms, tmp_path)
    assert not list(tmp_path.iterdir()), "a failed download must not leave a cache entry behind"
