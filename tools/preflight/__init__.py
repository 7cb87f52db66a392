"""Check, in a few seconds, that this machine and this AWS account can take `make deploy`; read-only.

`make preflight` (and `make deploy`, unless PREFLIGHT=0) synthesizes, then runs this with the same ARGS:

    python -m tools.preflight [-c key=value ...] [--profile NAME] [-o ASSEMBLY_DIR]

It prints one line per check, in order, with ✔ or ✘ and, under each ✘, the exact fix; it exits 1 when any
check failed, so that nothing is built or deployed. The settings are those the deploy gets, read the way the
CDK CLI reads them (tools/deploy_settings.py). The AWS checks use the caller's credentials and only read
(`AWS_OPERATIONS` in aws_checks.py lists every call; a test proves none is a write).

This module runs the checks in order and is the command line; each concern has its own module:
assembly.py (what the deploy needs, from the synthesized app), engine.py (the container engine),
target.py (the account and region the credentials reach), aws_checks.py (the account's checks),
results.py (what a check reports) and render.py (what is printed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from stacks.settings import Settings, SettingsError
from tools import deploy_settings
from tools.deploy_settings import UsageError
from tools.preflight import aws_checks, render
from tools.preflight.assembly import Assembly
from tools.preflight.engine import Engine, engine_check_list
from tools.preflight.results import CheckError, Result, error_code
from tools.preflight.target import Target, cdk_region, resolve_target


def _attempt(name: str, check: Callable[[], str]) -> Result:
    try:
        return Result(name, True, check())
    except CheckError as failure:
        return Result(name, False, failure.problem, failure.fix)
    except ClientError as error:
        operation = error.operation_name
        return Result(
            name,
            False,
            f"AWS refused {operation}: {error_code(error)}: {error.response.get('Error', {}).get('Message', '')}",
            "give your credentials read access to it, or skip the preflight with PREFLIGHT=0 if you know why",
        )
    except BotoCoreError as error:
        return Result(name, False, f"AWS could not be reached: {error}", "check your network and AWS endpoint")


def _in_sequence(checks: list[tuple[str, Callable[[], str]]], needs: str) -> Iterator[Result]:
    """Run checks in order; after a failure the rest of the group is reported as not checked."""
    failed = False
    for name, check in checks:
        if failed:
            yield Result(name, None, f"not checked: needs {needs}")
            continue
        result = _attempt(name, check)
        failed = result.passed is False
        yield result


AWS_CHECK_NAMES = (
    "CDK bootstrap",
    "SES sender",
    "SES sandbox",
    "Lambda concurrency",
    "Image repository",
    "Image tag",
)


def aws_results(session: boto3.Session, settings: Settings, region: str, assembly_dir: Path) -> Iterator[Result]:
    target_holder: list[Target] = []

    def credentials() -> str:
        target, detail = resolve_target(session, settings, region)
        target_holder.append(target)
        return detail

    first = _attempt("AWS credentials", credentials)
    yield first
    if not first.passed:
        for name in AWS_CHECK_NAMES:
            yield Result(name, None, "not checked: needs AWS credentials")
        return
    target = target_holder[0]
    try:
        assembly = Assembly.read(assembly_dir)
    except CheckError as failure:
        yield Result("CDK bootstrap", False, failure.problem, failure.fix)
        for name in AWS_CHECK_NAMES[1:]:
            yield Result(name, None, "not checked: needs a synthesized app")
        return
    yield _attempt("CDK bootstrap", lambda: aws_checks.check_bootstrap(session, target, assembly))
    yield _attempt("SES sender", lambda: aws_checks.check_sender(session, target, settings))
    yield _attempt("SES sandbox", lambda: aws_checks.check_sandbox(session, target, settings))
    yield _attempt("Lambda concurrency", lambda: aws_checks.check_concurrency(session, target, settings, assembly))
    yield from _in_sequence(
        [
            ("Image repository", lambda: aws_checks.check_repository(session, target, settings, assembly)),
            ("Image tag", lambda: aws_checks.check_image_tag(session, target, assembly)),
        ],
        "the image repository",
    )


NAME_WIDTH = max(len(n) for n in ("Container engine", "AWS credentials", *AWS_CHECK_NAMES))


def run_preflight(
    settings: Settings,
    *,
    session: boto3.Session,
    region: str,
    assembly_dir: Path,
    engine: Engine,
    engine_checks: bool = True,
    console: Console,
) -> bool:
    """Run every check in order, print one line each; True when all passed."""
    results: list[Result] = []

    def show(result: Result) -> None:
        results.append(result)
        render.print_result(console, result, name_width=NAME_WIDTH)

    with render.checking(console):
        if engine_checks:
            for result in _in_sequence(engine_check_list(engine), "a working container engine"):
                show(result)
        else:
            show(Result("Container engine", None, "not needed: image_build is cloud (the image is built in AWS)"))
        for result in aws_results(session, settings, region, assembly_dir):
            show(result)
    failed = sum(r.passed is False for r in results)
    render.print_verdict(console, failed)
    return not failed


def main(argv: Sequence[str] | None = None, *, console: Console | None = None) -> int:
    console = console or Console(highlight=False)
    try:
        deploy = deploy_settings.read(sys.argv[1:] if argv is None else argv)
        session = boto3.Session(profile_name=deploy.profile)
    except (UsageError, SettingsError, BotoCoreError) as error:
        render.print_error(console, error)
        return 2
    settings, assembly_dir = deploy.settings, deploy.assembly_directory
    engine = Engine(os.environ.get("CDK_DOCKER") or "docker")
    render.print_header(console, settings.stage, assembly_dir)
    ready = run_preflight(
        settings,
        session=session,
        region=cdk_region(os.environ, session),
        assembly_dir=assembly_dir,
        engine=engine,
        engine_checks=not settings.builds_in_the_cloud,
        console=console,
    )
    return 0 if ready else 1
