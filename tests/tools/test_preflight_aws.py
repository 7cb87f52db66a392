"""The AWS checks against moto: each passes on a ready account and fails for its own reason, and all only read."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto import mock_aws

from stacks.settings import Settings
from tests.conftest import Synthesized
from tests.tools.preflight_support import ACCOUNT, REGION, CannedAnswers, make_ready
from tests.tools.support import PRODUCTION_QUOTA
from tools.preflight.assembly import Assembly
from tools.preflight.aws_checks import (
    AWS_OPERATIONS,
    check_bootstrap,
    check_concurrency,
    check_image_tag,
    check_repository,
    check_sandbox,
    check_sender,
)
from tools.preflight.results import CheckError
from tools.preflight.target import Target, resolve_target

TARGET = Target(account=ACCOUNT, region=REGION)
INDEX = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
SINGLE = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": []}


@pytest.fixture
def canned() -> CannedAnswers:
    return CannedAnswers()


@pytest.fixture
def session(canned: CannedAnswers) -> Iterator[boto3.Session]:
    with mock_aws():
        yield canned.attach(boto3.Session(region_name=REGION))


@pytest.fixture
def settings(synthesized: Synthesized) -> Settings:
    return synthesized.settings


@pytest.fixture
def assembly(synthesized: Synthesized) -> Assembly:
    return Assembly.read(synthesized.outdir)


def test_the_assembly_states_what_the_deploy_needs(synthesized: Synthesized, assembly: Assembly) -> None:
    # GIVEN the synthesized app; THEN the requirement is read from its manifest, not restated
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    required = {
        a["properties"]["bootstrapStackVersionSsmParameter"]: a["properties"]["requiresBootstrapStackVersion"]
        for a in manifest["artifacts"].values()
        if "requiresBootstrapStackVersion" in a.get("properties", {})
    }
    assert assembly.bootstrap_versions == {"/cdk-bootstrap/hnb659fds/version": max(required.values())}
    assert assembly.repository_stacks == {"inbox-mailer-dev": "inbox-mailer-dev-registry"}
    assert [image.repository for image in assembly.images] == ["inbox-mailer-dev"]
    assert assembly.function_outputs == (("inbox-mailer-dev-function", "FunctionName"),)


def test_credentials_name_the_account_and_region(session: boto3.Session, settings: Settings) -> None:
    target, detail = resolve_target(session, settings, REGION)
    assert target == TARGET
    assert detail == f"account {ACCOUNT}, region {REGION}, as arn:aws:sts::{ACCOUNT}:user/moto"


def test_credentials_of_another_account_than_the_pinned_one_are_refused(
    session: boto3.Session, settings: Settings
) -> None:
    with pytest.raises(CheckError) as failure:
        resolve_target(session, replace(settings, account="210987654321"), REGION)
    assert failure.value.problem == (
        f"the credentials are for account {ACCOUNT}, but the account setting pins 210987654321"
    )
    assert failure.value.fix == (
        "use credentials of account 210987654321 (--profile NAME in ARGS, or AWS_PROFILE), "
        "or change the account setting"
    )


def test_a_region_other_than_the_pinned_one_is_refused(session: boto3.Session, settings: Settings) -> None:
    with pytest.raises(CheckError) as failure:
        resolve_target(session, replace(settings, region="us-west-2"), REGION)
    assert (
        failure.value.problem == f"your AWS configuration's region is {REGION}, but the region setting pins us-west-2"
    )
    assert failure.value.fix == "set AWS_REGION=us-west-2 for this deploy, or change the region setting"


def test_missing_credentials_say_how_to_log_in(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    # GIVEN no credentials anywhere
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CheckError) as failure:
        resolve_target(boto3.Session(region_name=REGION), settings, REGION)
    assert failure.value.problem == "no usable AWS credentials: Unable to locate credentials"
    assert failure.value.fix.startswith("`aws configure` or `aws sso login`")


def test_bootstrap_passes_at_the_required_version(
    session: boto3.Session, settings: Settings, assembly: Assembly, synthesized: Synthesized
) -> None:
    make_ready(session, settings, synthesized.outdir)
    needed = assembly.bootstrap_versions["/cdk-bootstrap/hnb659fds/version"]
    assert check_bootstrap(session, TARGET, assembly) == f"version {needed} (the app needs {needed})"


def test_no_bootstrap_says_make_bootstrap(session: boto3.Session, assembly: Assembly) -> None:
    with pytest.raises(CheckError) as failure:
        check_bootstrap(session, TARGET, assembly)
    assert failure.value.problem == (
        f"account {ACCOUNT} is not bootstrapped in {REGION} (/cdk-bootstrap/hnb659fds/version does not exist)"
    )
    assert failure.value.fix == "`make bootstrap` (once per account and region)"


def test_an_old_bootstrap_says_make_bootstrap(session: boto3.Session, assembly: Assembly) -> None:
    needed = assembly.bootstrap_versions["/cdk-bootstrap/hnb659fds/version"]
    session.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value=str(needed - 1), Type="String")
    with pytest.raises(CheckError) as failure:
        check_bootstrap(session, TARGET, assembly)
    assert failure.value.problem == (
        f"the CDK bootstrap in {REGION} is version {needed - 1}; this app needs at least {needed}"
    )
    assert failure.value.fix == "`make bootstrap` (upgrades it in place)"


def test_a_verified_sender_passes(session: boto3.Session, settings: Settings) -> None:
    session.client("ses").verify_email_identity(EmailAddress=settings.sender)
    assert check_sender(session, TARGET, settings) == f"mailer@example.com is verified in {REGION}"


def test_a_sender_missing_from_ses_says_how_to_create_it(session: boto3.Session, settings: Settings) -> None:
    with pytest.raises(CheckError) as failure:
        check_sender(session, TARGET, settings)
    assert failure.value.problem == f"mailer@example.com is not an SES identity in {REGION}"
    assert failure.value.fix == (
        f"`aws sesv2 create-email-identity --email-identity mailer@example.com --region {REGION}`, then click the "
        "link SES mails (or SES console → Identities → Create identity); or deploy with -c create_sender_identity=true"
    )


def test_a_missing_sender_passes_when_the_deploy_creates_it(session: boto3.Session, settings: Settings) -> None:
    detail = check_sender(session, TARGET, replace(settings, create_sender_identity=True))
    assert detail == (
        "mailer@example.com will be created by the deploy (create_sender_identity); then click the link SES mails to it"
    )


def test_an_existing_sender_is_not_created_twice(session: boto3.Session, settings: Settings) -> None:
    session.client("ses").verify_email_identity(EmailAddress=settings.sender)
    with pytest.raises(CheckError) as failure:
        check_sender(session, TARGET, replace(settings, create_sender_identity=True))
    assert failure.value.fix == "deploy with -c create_sender_identity=false (the default)"


def test_a_domain_identity_pending_verification_says_to_publish_its_records(
    session: boto3.Session, canned: CannedAnswers, settings: Settings
) -> None:
    # GIVEN the domain identity exists but SES has not seen its DNS records yet
    session.client("sesv2").create_email_identity(EmailIdentity="example.com")
    canned.pending.add("example.com")
    with pytest.raises(CheckError) as failure:
        check_sender(session, TARGET, replace(settings, sender_identity="example.com"))
    assert failure.value.problem == f"example.com exists in SES in {REGION} but is not verified (status Pending)"
    assert failure.value.fix == (
        "publish the DNS records SES shows for it (SES console → Identities → example.com shows what is missing)"
    )


def test_the_sandbox_passes_when_every_recipient_is_verified(session: boto3.Session, settings: Settings) -> None:
    session.client("ses").verify_email_identity(EmailAddress="ops@example.com")
    assert check_sandbox(session, TARGET, settings) == (
        "sandbox (200 recipients a day, 1 per second = 200 files a day to your 1 recipient; 100 files take at least "
        "1 min 40 s); every recipient is verified"
    )


def _recipients(count: int) -> tuple[str, ...]:
    return tuple(f"ops{n}@example.com" for n in range(count))


@pytest.mark.parametrize(
    ("recipients", "in_files"),
    [
        (1, "200 files a day to your 1 recipient; 100 files take at least 1 min 40 s"),
        (2, "100 files a day to your 2 recipients; 100 files take at least 3 min 20 s"),
        (20, "10 files a day to your 20 recipients; 100 files take at least 33 min 20 s"),
        (50, "4 files a day to your 50 recipients; 100 files take at least 1 h 23 min"),
    ],
)
def test_the_sandbox_counts_its_quota_in_files_for_the_recipients(
    session: boto3.Session, settings: Settings, recipients: int, in_files: str
) -> None:
    # GIVEN recipients of a verified domain; SES counts each of them against the quota
    session.client("ses").verify_domain_identity(Domain="example.com")
    detail = check_sandbox(session, TARGET, replace(settings, recipients=_recipients(recipients)))
    assert detail == f"sandbox (200 recipients a day, 1 per second = {in_files}); every recipient is verified"


def test_an_unverified_recipient_in_the_sandbox_is_refused_with_the_quota_in_files(
    session: boto3.Session, settings: Settings
) -> None:
    with pytest.raises(CheckError) as failure:
        check_sandbox(session, TARGET, replace(settings, recipients=_recipients(20)))
    assert failure.value.problem.startswith(
        "sandbox (200 recipients a day, 1 per second = 10 files a day to your 20 recipients; 100 files take at least "
        "33 min 20 s): SES sends only to verified addresses, and these recipients are not: ops0@example.com, "
    )


def test_a_recipient_of_a_verified_domain_counts_as_verified(session: boto3.Session, settings: Settings) -> None:
    session.client("ses").verify_domain_identity(Domain="example.org")
    two = replace(settings, recipients=("a@example.org", "b@example.net"))
    with pytest.raises(CheckError) as failure:
        check_sandbox(session, TARGET, two)
    assert failure.value.problem == (
        "sandbox (200 recipients a day, 1 per second = 100 files a day to your 2 recipients; 100 files take at least "
        "3 min 20 s): SES sends only to verified addresses, and these recipients are not: b@example.net"
    )
    assert failure.value.fix == (
        "verify each (SES console → Identities → Create identity → Email address, then its link), or request "
        "production access (SES console → Account dashboard)"
    )


def test_production_access_skips_the_recipients(
    session: boto3.Session, canned: CannedAnswers, settings: Settings
) -> None:
    canned.ses_account = {
        "ProductionAccessEnabled": True,
        "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0},
    }
    assert check_sandbox(session, TARGET, settings) == (
        "production access: 50,000 recipients a day, 14 per second = 50,000 files a day to your 1 recipient; "
        "100 files take at least 7 s"
    )


@pytest.mark.parametrize(
    ("recipients", "in_files"),
    [
        (1, "50,000 files a day to your 1 recipient; 100 files take at least 7 s"),
        (2, "25,000 files a day to your 2 recipients; 100 files take at least 14 s"),
        (20, "2,500 files a day to your 20 recipients; 100 files take at least 2 min 22 s"),
        (50, "1,000 files a day to your 50 recipients; 100 files take at least 5 min 57 s"),
    ],
)
def test_production_access_counts_its_quota_in_files_for_the_recipients(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, recipients: int, in_files: str
) -> None:
    canned.ses_account = {"ProductionAccessEnabled": True, "SendQuota": PRODUCTION_QUOTA}
    detail = check_sandbox(session, TARGET, replace(settings, recipients=_recipients(recipients)))
    assert detail == f"production access: 50,000 recipients a day, 14 per second = {in_files}"


@pytest.mark.parametrize(
    ("production", "send_quota", "detail"),
    [
        # SES reports -1 for an unlimited quota on some accounts
        (True, {"Max24HourSend": -1.0, "MaxSendRate": 14.0},
         "production access: no daily limit reported, 14 per second = 100 files to your 2 recipients take at least "
         "14 s"),
        (True, {"Max24HourSend": -1.0, "MaxSendRate": -1.0},
         "production access: no daily limit reported, no rate limit reported"),
        (True, {"Max24HourSend": 0.0, "MaxSendRate": 0.0}, "production access: daily quota unknown, send rate unknown"),
        (True, {}, "production access: daily quota unknown, send rate unknown"),
        (False, {"MaxSendRate": 1.0},
         "sandbox (daily quota unknown, 1 per second = 100 files to your 2 recipients take at least 3 min 20 s); "
         "every recipient is verified"),
        (False, {"Max24HourSend": 200.0},
         "sandbox (200 recipients a day, send rate unknown = 100 files a day to your 2 recipients); every recipient "
         "is verified"),
    ],
    ids=["unlimited day", "unlimited", "zero", "missing", "sandbox without a daily quota", "sandbox without a rate"],
)  # fmt: skip
def test_a_quota_missing_zero_or_unlimited_is_said_never_divided(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, production: bool, send_quota: dict[str, float],
    detail: str,
) -> None:  # fmt: skip
    session.client("ses").verify_domain_identity(Domain="example.com")
    canned.ses_account = {"ProductionAccessEnabled": production, "SendQuota": send_quota}
    assert check_sandbox(session, TARGET, replace(settings, recipients=_recipients(2))) == detail


def test_the_default_reserves_nothing_and_asks_aws_nothing(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, assembly: Assembly
) -> None:
    assert settings.reserved_concurrency is None
    assert check_concurrency(session, TARGET, settings, assembly) == (
        "no reservation (the default): the event source runs at most 2 at once"
    )
    assert canned.calls == []


def test_a_reservation_on_a_new_account_is_refused_with_the_default_as_fix(
    session: boto3.Session, settings: Settings, assembly: Assembly
) -> None:
    # GIVEN a new account (10 concurrent executions in all) and a reservation of 2
    with pytest.raises(CheckError) as failure:
        check_concurrency(session, TARGET, replace(settings, reserved_concurrency=2), assembly)
    assert failure.value.problem == (
        f"reserved_concurrency 2 does not fit: the account runs 10 functions at once in {REGION}, 10 unreserved, "
        "and Lambda keeps 10 unreserved"
    )
    assert failure.value.fix == (
        "deploy with -c reserved_concurrency=none (the default needs no reservation: max_concurrency already bounds "
        "the function), or ask for more (Service Quotas → AWS Lambda → Concurrent executions)"
    )


def test_a_reservation_that_fits_passes(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, assembly: Assembly
) -> None:
    canned.lambda_settings = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}}
    detail = check_concurrency(session, TARGET, replace(settings, reserved_concurrency=2), assembly)
    assert detail == "reserving 2 of 1000 leaves 998 unreserved"


def _deployed_function_holding(session: boto3.Session, assembly: Assembly, reserved: int) -> None:
    """The function stack as a deploy left it: its output names a function that reserves `reserved`."""
    ((stack, output),) = assembly.function_outputs
    role = session.client("iam").create_role(RoleName="mailer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context): pass")
    functions = session.client("lambda")
    functions.create_function(
        FunctionName="mailer", Runtime="python3.13", Role=role, Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )  # fmt: skip
    functions.put_function_concurrency(FunctionName="mailer", ReservedConcurrentExecutions=reserved)
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {output: {"Value": "mailer"}}}
    session.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))


def test_a_redeploy_counts_the_reservation_the_function_already_holds(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, assembly: Assembly
) -> None:
    # GIVEN the function deployed with a reservation of 900, leaving 100 unreserved (Lambda's minimum)
    _deployed_function_holding(session, assembly, 900)
    canned.lambda_settings = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 100}}
    # WHEN the same reservation is deployed again; THEN it fits, since the function gives its own back first
    detail = check_concurrency(session, TARGET, replace(settings, reserved_concurrency=900), assembly)
    assert detail == "reserving 900 of 1000 leaves 100 unreserved"
    with pytest.raises(CheckError):
        check_concurrency(session, TARGET, replace(settings, reserved_concurrency=901), assembly)


def test_a_new_repository_passes(session: boto3.Session, settings: Settings, assembly: Assembly) -> None:
    assert check_repository(session, TARGET, settings, assembly) == (
        "inbox-mailer-dev does not exist yet: the inbox-mailer-dev-registry stack creates it"
    )


def test_a_leftover_repository_says_how_to_adopt_or_delete_it(
    session: boto3.Session, settings: Settings, assembly: Assembly
) -> None:
    # GIVEN the repository a destroyed stage kept (removal_policy retain), and no registry stack
    session.client("ecr").create_repository(repositoryName="inbox-mailer-dev")
    with pytest.raises(CheckError) as failure:
        check_repository(session, TARGET, settings, assembly)
    assert failure.value.problem == (
        f"repository inbox-mailer-dev already exists in {REGION} but the inbox-mailer-dev-registry stack does not "
        "own it (kept by removal_policy retain when a stage was destroyed); CloudFormation would fail on its name"
    )
    assert failure.value.fix == (
        "adopt it: `node_modules/.bin/cdk import inbox-mailer-dev-registry` with the same -c options, answering "
        "inbox-mailer-dev for the repository, then `make deploy`; or delete it and its images: "
        f"`aws ecr delete-repository --repository-name inbox-mailer-dev --force --region {REGION}`"
    )


def _registry_stack_with_repository(session: boto3.Session) -> None:
    repository = {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "inbox-mailer-dev"}}
    template = {"Resources": {"Repository": repository}}
    session.client("cloudformation").create_stack(
        StackName="inbox-mailer-dev-registry", TemplateBody=json.dumps(template)
    )


def test_a_repository_of_the_registry_stack_passes(
    session: boto3.Session, settings: Settings, assembly: Assembly
) -> None:
    _registry_stack_with_repository(session)
    assert check_repository(session, TARGET, settings, assembly) == (
        "inbox-mailer-dev belongs to the inbox-mailer-dev-registry stack"
    )


def test_a_new_image_tag_passes(session: boto3.Session, assembly: Assembly) -> None:
    session.client("ecr").create_repository(repositoryName="inbox-mailer-dev")
    assert check_image_tag(session, TARGET, assembly) == (
        "this image is not in inbox-mailer-dev yet: the deploy builds and pushes it"
    )


def test_a_pushed_single_platform_image_passes(session: boto3.Session, assembly: Assembly) -> None:
    ecr = session.client("ecr")
    ecr.create_repository(repositoryName="inbox-mailer-dev")
    ecr.put_image(repositoryName="inbox-mailer-dev", imageManifest=json.dumps(SINGLE), imageTag=assembly.images[0].tag)
    assert check_image_tag(session, TARGET, assembly) == (
        "this image is already in inbox-mailer-dev (application/vnd.docker.distribution.manifest.v2+json): "
        "the deploy reuses it"
    )


def test_an_image_index_under_the_tag_says_to_delete_the_tag(session: boto3.Session, assembly: Assembly) -> None:
    # GIVEN the tag the deploy would push already holds an OCI index (an old CLI, or a push by hand)
    tag = assembly.images[0].tag
    ecr = session.client("ecr")
    ecr.create_repository(repositoryName="inbox-mailer-dev")
    ecr.put_image(repositoryName="inbox-mailer-dev", imageManifest=json.dumps(INDEX), imageTag=tag)
    with pytest.raises(CheckError) as failure:
        check_image_tag(session, TARGET, assembly)
    assert failure.value.problem == (
        f"tag {tag} in inbox-mailer-dev holds an image index (application/vnd.oci.image.index.v1+json), which "
        "Lambda refuses; the deploy never replaces an existing tag"
    )
    assert failure.value.fix == (
        "delete that tag: `aws ecr batch-delete-image --repository-name inbox-mailer-dev --image-ids "
        f"imageTag={tag} --region {REGION}` (or change lambda_image/, which makes a new tag)"
    )


READ_ONLY = re.compile(r"^(Get|List|Describe)[A-Z]")


def test_every_aws_call_the_preflight_can_make_only_reads(
    session: boto3.Session, canned: CannedAnswers, settings: Settings, assembly: Assembly, synthesized: Synthesized
) -> None:
    # GIVEN an account where every branch that calls AWS is taken: a reservation, an owned repository, a pushed tag
    make_ready(session, settings, synthesized.outdir)
    canned.lambda_settings = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 998}}
    _registry_stack_with_repository(session)
    _deployed_function_holding(session, assembly, 2)
    session.client("ecr").put_image(
        repositoryName="inbox-mailer-dev", imageManifest=json.dumps(SINGLE), imageTag=assembly.images[0].tag
    )
    canned.calls.clear()
    # WHEN every check runs
    reserving = replace(settings, reserved_concurrency=2)
    target, _ = resolve_target(session, reserving, REGION)
    check_bootstrap(session, target, assembly)
    check_sender(session, target, reserving)
    check_sandbox(session, target, reserving)
    check_concurrency(session, target, reserving, assembly)
    check_repository(session, target, reserving, assembly)
    check_image_tag(session, target, assembly)
    # THEN the calls made are exactly the listed ones, and every one of them is a read
    assert set(canned.calls) == set(AWS_OPERATIONS)
    writes = [call for call in AWS_OPERATIONS if not READ_ONLY.match(call.partition(":")[2])]
    assert writes == []


def _scan_answers(session: boto3.Session, answer: dict[str, Any] | None, code: str = "") -> None:
    """DescribeImageScanFindings answered at the boto3 boundary: moto's scan is made up (MEDIUM 1 for any image)."""

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        if answer is None:
            parsed = {"Error": {"Code": code, "Message": "refused"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
            return AWSResponse("https://canned", 400, HTTPHeaders(), None), parsed
        return AWSResponse("https://canned", 200, HTTPHeaders(), None), {
            **answer,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    session.events.register("before-call.ecr.DescribeImageScanFindings", cast(Any, respond))


def _pushed(session: boto3.Session, assembly: Assembly) -> None:
    ecr = session.client("ecr")
    ecr.create_repository(repositoryName="inbox-mailer-dev")
    ecr.put_image(repositoryName="inbox-mailer-dev", imageManifest=json.dumps(SINGLE), imageTag=assembly.images[0].tag)


REUSED = (
    "this image is already in inbox-mailer-dev (application/vnd.docker.distribution.manifest.v2+json): "
    "the deploy reuses it"
)


@pytest.mark.parametrize("critical", [1, 7])
def test_a_pushed_image_with_critical_findings_warns_and_passes(
    session: boto3.Session, assembly: Assembly, critical: int
) -> None:
    _pushed(session, assembly)
    counts = {"CRITICAL": critical, "HIGH": 2}
    _scan_answers(
        session, {"imageScanStatus": {"status": "COMPLETE"}, "imageScanFindings": {"findingSeverityCounts": counts}}
    )
    assert check_image_tag(session, TARGET, assembly) == (
        f"{REUSED}; [warning] its last scan found {critical} CRITICAL vulnerabilities; the deploy goes on and reuses "
        "it (`make images` lists them; update the base image or the dependency in lambda_image/ for a new tag)"
    )


def test_high_findings_alone_do_not_warn_before_a_deploy(session: boto3.Session, assembly: Assembly) -> None:
    _pushed(session, assembly)
    counts = {"HIGH": 3, "MEDIUM": 1}
    _scan_answers(
        session, {"imageScanStatus": {"status": "COMPLETE"}, "imageScanFindings": {"findingSeverityCounts": counts}}
    )
    assert check_image_tag(session, TARGET, assembly) == REUSED


def test_a_role_that_may_not_read_findings_is_told_and_passes(session: boto3.Session, assembly: Assembly) -> None:
    _pushed(session, assembly)
    _scan_answers(session, None, "AccessDeniedException")
    assert check_image_tag(session, TARGET, assembly) == (
        f"{REUSED}; its scan findings could not be read (AccessDeniedException)"
    )
