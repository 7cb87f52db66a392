"""Check, in a few seconds, that this machine and this AWS account can take `make deploy`; read-only.

`make preflight` (and `make deploy`, unless PREFLIGHT=0) synthesizes, then runs this with the same ARGS:

    python -m tools.preflight [-c key=value ...] [--profile NAME] [-o ASSEMBLY_DIR]

It prints one line per check, in order, with ✔ or ✘ and, under each ✘, the exact fix; it exits 1 when any
check failed, so that nothing is built or deployed. The settings are those the deploy gets, read the way the
CDK CLI reads them (tools/deploy_settings.py). The AWS checks use the caller's credentials and only read
(`AWS_OPERATIONS` lists every call; a test proves none is a write).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError
from rich.console import Console
from rich.text import Text

from stacks.settings import Settings, SettingsError
from tools import deploy_settings, ses_quota
from tools.deploy_settings import UsageError
from tools.preflight.assembly import Assembly
from tools.preflight.engine import Engine, engine_check_list
from tools.preflight.results import CheckError, Result, command, error_code

# Every AWS call the checks can make, as IAM names; all of them read (tests/tools/test_preflight_aws.py).
AWS_OPERATIONS = (
    "sts:GetCallerIdentity",
    "ssm:GetParameter",
    "ses:GetIdentityVerificationAttributes",
    "ses:GetAccount",
    "lambda:GetAccountSettings",
    "cloudformation:DescribeStacks",
    "lambda:GetFunctionConcurrency",
    "ecr:DescribeRepositories",
    "cloudformation:DescribeStackResources",
    "ecr:DescribeImages",
)
# Lambda keeps this much of the account's concurrency unreserved (all of it on accounts smaller than this).
LAMBDA_MINIMUM_UNRESERVED = 100
# Manifest lists and OCI indexes: Lambda accepts only a single-platform image manifest.
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


# --- The AWS account (read-only) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    account: str
    region: str


# Where the CDK CLI looks for the region, before the profile's; without any it deploys to us-east-1.
REGION_VARIABLES = ("AWS_REGION", "AMAZON_REGION", "AWS_DEFAULT_REGION", "AMAZON_DEFAULT_REGION")
CDK_FALLBACK_REGION = "us-east-1"


def cdk_region(environment: Mapping[str, str], session: boto3.Session) -> str:
    """The region the CDK CLI deploys an environment-agnostic stack to, found the way the CLI finds it."""
    named = (environment.get(name) for name in REGION_VARIABLES)
    return next((region for region in named if region), None) or session.region_name or CDK_FALLBACK_REGION


def resolve_target(session: boto3.Session, settings: Settings, region: str) -> tuple[Target, str]:
    try:
        identity = session.client("sts", region_name=region).get_caller_identity()
    except ClientError as error:
        raise CheckError(
            f"AWS refused the credentials ({error_code(error)})",
            "`aws sso login` (SSO) or `aws configure` (access keys), then run this again",
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        raise CheckError(
            f"AWS could not be reached: {error}", "check your network (and AWS_ENDPOINT_URL, if you set it)"
        ) from None
    except BotoCoreError as error:
        raise CheckError(
            f"no usable AWS credentials: {error}",
            "`aws configure` or `aws sso login`; for a named profile add --profile NAME to ARGS or set AWS_PROFILE",
        ) from None
    account = identity["Account"]
    if settings.account and settings.account != account:
        raise CheckError(
            f"the credentials are for account {account}, but the account setting pins {settings.account}",
            f"use credentials of account {settings.account} (--profile NAME in ARGS, or AWS_PROFILE), "
            "or change the account setting",
        )
    if settings.region and settings.region != region:
        raise CheckError(
            f"your AWS configuration's region is {region}, but the region setting pins {settings.region}",
            f"set AWS_REGION={settings.region} for this deploy, or change the region setting",
        )
    return Target(account=account, region=region), f"account {account}, region {region}, as {identity['Arn']}"


def check_bootstrap(session: boto3.Session, target: Target, assembly: Assembly) -> str:
    ssm = session.client("ssm", region_name=target.region)
    found = []
    for parameter, needed in sorted(assembly.bootstrap_versions.items()):
        try:
            version = int(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise
            raise CheckError(
                f"account {target.account} is not bootstrapped in {target.region} ({parameter} does not exist)",
                "`make bootstrap` (once per account and region)",
            ) from None
        if version < needed:
            raise CheckError(
                f"the CDK bootstrap in {target.region} is version {version}; this app needs at least {needed}",
                "`make bootstrap` (upgrades it in place)",
            )
        found.append(f"version {version} (the app needs {needed})")
    return ", ".join(found) or "the app needs no bootstrap"


def _verified(session: boto3.Session, target: Target, identities: Sequence[str]) -> dict[str, str]:
    """Identity → SES verification status, for those that exist in SES in the target region."""
    ses = session.client("ses", region_name=target.region)
    attributes = ses.get_identity_verification_attributes(Identities=list(identities))["VerificationAttributes"]
    return {identity: str(value.get("VerificationStatus")) for identity, value in attributes.items()}


def check_sender(session: boto3.Session, target: Target, settings: Settings) -> str:
    identity = settings.ses_identity
    status = _verified(session, target, [identity]).get(identity)
    is_domain = "@" not in identity
    if status is None:
        if settings.create_sender_identity:
            then = "publish the DNS records SES shows for it" if is_domain else "click the link SES mails to it"
            return f"{identity} will be created by the deploy (create_sender_identity); then {then}"
        create = command(
            "aws", "sesv2", "create-email-identity", "--email-identity", identity, "--region", target.region
        )
        then = "publish the DNS records it shows" if is_domain else "click the link SES mails"
        raise CheckError(
            f"{identity} is not an SES identity in {target.region}",
            f"{create}, then {then} (or SES console → Identities → Create identity); "
            "or deploy with -c create_sender_identity=true",
        )
    if settings.create_sender_identity:
        raise CheckError(
            f"{identity} already exists in SES in {target.region}, and create_sender_identity would create it "
            "again (CloudFormation fails on an existing identity)",
            "deploy with -c create_sender_identity=false (the default)",
        )
    if status != "Success":
        how = "publish the DNS records SES shows for it" if is_domain else f"click the link SES mailed to {identity}"
        raise CheckError(
            f"{identity} exists in SES in {target.region} but is not verified (status {status})",
            f"{how} (SES console → Identities → {identity} shows what is missing)",
        )
    return f"{identity} is verified in {target.region}"


def check_sandbox(session: boto3.Session, target: Target, settings: Settings) -> str:
    account = session.client("sesv2", region_name=target.region).get_account()
    limits = ses_quota.limits(ses_quota.files_quota(account.get("SendQuota", {}), len(settings.recipients)))
    if account.get("ProductionAccessEnabled"):
        return f"production access: {limits}"
    domains = sorted({r.partition("@")[2] for r in settings.recipients})
    status = _verified(session, target, [*settings.recipients, *domains])
    unverified = [r for r in settings.recipients if "Success" not in (status.get(r), status.get(r.partition("@")[2]))]
    if unverified:
        raise CheckError(
            f"sandbox ({limits}): SES sends only to verified addresses, and these recipients are not: "
            + ", ".join(unverified),
            "verify each (SES console → Identities → Create identity → Email address, then its link), "
            "or request production access (SES console → Account dashboard)",
        )
    return f"sandbox ({limits}); every recipient is verified"


def _reserved_by_deployed_functions(session: boto3.Session, target: Target, assembly: Assembly) -> int:
    """What this app's functions already reserve: a redeploy gives it back before it reserves again."""
    cloudformation = session.client("cloudformation", region_name=target.region)
    functions = session.client("lambda", region_name=target.region)
    held = 0
    for stack, output in assembly.function_outputs:
        try:
            (deployed,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as error:
            if error_code(error) != "ValidationError":  # the stack does not exist yet
                raise
            continue
        name = next((o.get("OutputValue") for o in deployed.get("Outputs", []) if o.get("OutputKey") == output), None)
        if name:
            held += int(functions.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions", 0))
    return held


def check_concurrency(session: boto3.Session, target: Target, settings: Settings, assembly: Assembly) -> str:
    reserved = settings.reserved_concurrency
    if reserved is None:
        return f"no reservation (the default): the event source runs at most {settings.max_concurrency} at once"
    limit = session.client("lambda", region_name=target.region).get_account_settings()["AccountLimit"]
    total = int(limit.get("ConcurrentExecutions", 0))
    unreserved = int(limit.get("UnreservedConcurrentExecutions", 0)) + _reserved_by_deployed_functions(
        session, target, assembly
    )
    room = unreserved - min(LAMBDA_MINIMUM_UNRESERVED, total)
    if reserved > room:
        raise CheckError(
            f"reserved_concurrency {reserved} does not fit: the account runs {total} functions at once in "
            f"{target.region}, {unreserved} unreserved, and Lambda keeps {min(LAMBDA_MINIMUM_UNRESERVED, total)} "
            "unreserved",
            "deploy with -c reserved_concurrency=none (the default needs no reservation: max_concurrency already "
            "bounds the function), or ask for more (Service Quotas → AWS Lambda → Concurrent executions)",
        )
    return f"reserving {reserved} of {total} leaves {unreserved - reserved} unreserved"


def check_repository(session: boto3.Session, target: Target, settings: Settings, assembly: Assembly) -> str:
    name = settings.repository_name
    stack = assembly.repository_stacks.get(name)
    try:
        session.client("ecr", region_name=target.region).describe_repositories(repositoryNames=[name])
    except ClientError as error:
        if error_code(error) != "RepositoryNotFoundException":
            raise
        return f"{name} does not exist yet: the {stack or 'registry'} stack creates it"
    if stack is None:
        return f"{name} exists; this app declares no repository of that name"
    try:
        resources = session.client("cloudformation", region_name=target.region).describe_stack_resources(
            StackName=stack
        )["StackResources"]
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        resources = []
    if any(r.get("PhysicalResourceId") == name for r in resources):
        return f"{name} belongs to the {stack} stack"
    delete = command("aws", "ecr", "delete-repository", "--repository-name", name, "--force", "--region", target.region)
    raise CheckError(
        f"repository {name} already exists in {target.region} but the {stack} stack does not own it (kept by "
        "removal_policy retain when a stage was destroyed); CloudFormation would fail on its name",
        f"adopt it: {command('node_modules/.bin/cdk', 'import', stack)} with the same -c options, answering {name} "
        f"for the repository, then `make deploy`; or delete it and its images: {delete}",
    )


def check_image_tag(session: boto3.Session, target: Target, assembly: Assembly) -> str:
    if not assembly.images:
        return "the app pushes no image from this machine"
    ecr = session.client("ecr", region_name=target.region)
    found = []
    for image in assembly.images:
        try:
            details = ecr.describe_images(repositoryName=image.repository, imageIds=[{"imageTag": image.tag}])
        except ClientError as error:
            if error_code(error) not in ("RepositoryNotFoundException", "ImageNotFoundException"):
                raise
            found.append(f"this image is not in {image.repository} yet: the deploy builds and pushes it")
            continue
        media_type = next((d.get("imageManifestMediaType", "") for d in details["imageDetails"]), "")
        if media_type in INDEX_MEDIA_TYPES:
            delete = command(
                "aws", "ecr", "batch-delete-image", "--repository-name", image.repository,
                "--image-ids", f"imageTag={image.tag}", "--region", target.region,
            )  # fmt: skip
            raise CheckError(
                f"tag {image.tag} in {image.repository} holds an image index ({media_type}), which Lambda refuses; "
                "the deploy never replaces an existing tag",
                f"delete that tag: {delete} (or change lambda_image/, which makes a new tag)",
            )
        found.append(f"this image is already in {image.repository} ({media_type}): the deploy reuses it")
    return "; ".join(found)


# --- Running them in order ---------------------------------------------------------------------------------


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
    yield _attempt("CDK bootstrap", lambda: check_bootstrap(session, target, assembly))
    yield _attempt("SES sender", lambda: check_sender(session, target, settings))
    yield _attempt("SES sandbox", lambda: check_sandbox(session, target, settings))
    yield _attempt("Lambda concurrency", lambda: check_concurrency(session, target, settings, assembly))
    yield from _in_sequence(
        [
            ("Image repository", lambda: check_repository(session, target, settings, assembly)),
            ("Image tag", lambda: check_image_tag(session, target, assembly)),
        ],
        "the image repository",
    )


NAME_WIDTH = max(len(n) for n in ("Container engine", "AWS credentials", *AWS_CHECK_NAMES))
MARKS = {True: ("✔", "green"), False: ("✘", "red"), None: ("-", "dim")}


def print_result(console: Console, result: Result) -> None:
    mark, style = MARKS[result.passed]
    line = Text.assemble((mark, f"bold {style}"), " ", (result.check.ljust(NAME_WIDTH), "bold"), "  ", result.detail)
    console.print(line, soft_wrap=True)
    if result.fix:
        console.print(Text.assemble(" " * (NAME_WIDTH + 4), ("fix: ", "bold yellow"), result.fix), soft_wrap=True)


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
        print_result(console, result)

    with console.status("checking…"):
        if engine_checks:
            for result in _in_sequence(engine_check_list(engine), "a working container engine"):
                show(result)
        else:
            show(Result("Container engine", None, "not needed: image_build is cloud (the image is built in AWS)"))
        for result in aws_results(session, settings, region, assembly_dir):
            show(result)
    failed = [r for r in results if r.passed is False]
    if failed:
        console.print(
            Text(f"{len(failed)} check{'s' * (len(failed) > 1)} failed: nothing was built or deployed.", "bold red")
        )
        return False
    console.print(Text("Ready to deploy.", "bold green"))
    return True


def main(argv: Sequence[str] | None = None, *, console: Console | None = None) -> int:
    console = console or Console(highlight=False)
    try:
        deploy = deploy_settings.read(sys.argv[1:] if argv is None else argv)
        session = boto3.Session(profile_name=deploy.profile)
    except (UsageError, SettingsError, BotoCoreError) as error:
        console.print(Text(f"error: {error}", "bold red"), soft_wrap=True)
        return 2
    settings, assembly_dir = deploy.settings, deploy.assembly_directory
    engine = Engine(os.environ.get("CDK_DOCKER") or "docker")
    console.print(Text(f"Preflight of stage {settings.stage} ({assembly_dir.name}):", "bold"))
    # The setting arrives with the cloud build; until then every build is local.
    local_build = not settings.builds_in_the_cloud
    ready = run_preflight(
        settings,
        session=session,
        region=cdk_region(os.environ, session),
        assembly_dir=assembly_dir,
        engine=engine,
        engine_checks=local_build,
        console=console,
    )
    return 0 if ready else 1
