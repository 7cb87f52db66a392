"""The checks of the AWS account the deploy goes to: bootstrap, SES, Lambda concurrency, the image's repository and tag.

Each is given the session, the target and what it needs of the settings and the assembly, and only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from stacks.settings import Settings
from tools import ses_quota
from tools.preflight.assembly import Assembly, ImageDestination
from tools.preflight.results import CheckError, command, error_code
from tools.preflight.target import Target

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

# Every AWS call the preflight can make (target.py's credentials check too), as IAM names; all of them read
# (tests/tools/test_preflight_aws.py).
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
    "ecr:DescribeImageScanFindings",
)
# Lambda keeps this much of the account's concurrency unreserved (all of it on accounts smaller than this).
LAMBDA_MINIMUM_UNRESERVED = 100
# Manifest lists and OCI indexes: Lambda accepts only a single-platform image manifest.
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


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
        found.extend(_critical_findings(ecr, image))
    return "; ".join(found)


def _critical_findings(ecr: ECRClient, image: ImageDestination) -> list[str]:
    """A warning, never a failure, when the tag about to be deployed was scanned with CRITICAL findings.

    The deploy reuses the tag as it is; only a change to lambda_image/ (a newer base image or dependency) makes a
    new one. An image not scanned yet passes silently; a role that may not read findings is said and passes.
    """
    try:
        answer = ecr.describe_image_scan_findings(repositoryName=image.repository, imageId={"imageTag": image.tag})
    except ClientError as error:
        if error_code(error) == "ScanNotFoundException":
            return []
        return [f"its scan findings could not be read ({error_code(error)})"]
    critical = int(answer.get("imageScanFindings", {}).get("findingSeverityCounts", {}).get("CRITICAL", 0))
    if not critical:
        return []
    return [
        f"[warning] its last scan found {critical} CRITICAL vulnerabilities; the deploy goes on and reuses it "
        "(`make images` lists them; update the base image or the dependency in lambda_image/ for a new tag)"
    ]
