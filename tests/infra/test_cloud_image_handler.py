"""The cloud build's custom-resource handlers (`stacks/cloud_image_handler/image_build.py`), offline.

Real boto3 clients with botocore's Stubber: every call must be one the test queued, with exactly the queued
parameters (validated against the service's API model), and a call nobody queued fails the test. The events are
what CDK's provider framework hands the handlers: CloudFormation's request, plus `on_event`'s answer for
`is_complete`.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from stacks.cloud_image_handler import image_build
from stacks.cloud_image_handler.image_build import CodeBuild, ImageBuildError, check, start
from tests.conftest import ROOT

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

EVENTS = ROOT / "tests" / "events"
HANDLER_DIRECTORY = Path(image_build.__file__).parent
REGION = "eu-west-1"


def _create_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "cloud_image_build_create.json").read_text())
    return event


def _failed_build() -> dict[str, Any]:
    build: dict[str, Any] = json.loads((EVENTS / "codebuild_build_failed.json").read_text())
    return build


CREATE = _create_event()
PROPS = CREATE["ResourceProperties"]
TAG = PROPS["ImageTag"]
BUILD_ID = "inbox-mailer-dev-function-image-build:0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d"


@dataclass
class Clients:
    ecr: ECRClient
    codebuild: CodeBuild
    ecr_stub: Stubber
    codebuild_stub: Stubber

    def tag_is_there(self, present: bool, tag: str = TAG) -> None:
        expected = {"repositoryName": PROPS["RepositoryName"], "imageIds": [{"imageTag": tag}]}
        if present:
            detail = {
                "repositoryName": PROPS["RepositoryName"],
                "imageTags": [tag],
                "imageDigest": "sha256:" + "0" * 64,
            }
            self.ecr_stub.add_response("describe_images", {"imageDetails": [detail]}, expected)
        else:
            self.ecr_stub.add_client_error(
                "describe_images",
                service_error_code="ImageNotFoundException",
                http_status_code=400,
                expected_params=expected,
            )

    def build_is(self, build: dict[str, Any]) -> None:
        self.codebuild_stub.add_response("batch_get_builds", {"builds": [build]}, {"ids": [BUILD_ID]})


def _stubbed(ecr: Any, codebuild: Any) -> Iterator[Clients]:
    with Stubber(ecr) as ecr_stub, Stubber(codebuild) as codebuild_stub:
        yield Clients(ecr, cast(CodeBuild, codebuild), ecr_stub, codebuild_stub)
        ecr_stub.assert_no_pending_responses()
        codebuild_stub.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def clients() -> Iterator[Clients]:
    yield from _stubbed(boto3.client("ecr", region_name=REGION), boto3.client("codebuild", region_name=REGION))


def _event(request_type: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(CREATE)
    event["RequestType"] = request_type
    if request_type != "Create":
        event["PhysicalResourceId"] = TAG
    event.update(changes)
    return event


def _waiting(answer: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the framework hands `is_complete`: the request with `on_event`'s answer merged in."""
    return {**(request or CREATE), **answer}


def _build(status: str, **changes: Any) -> dict[str, Any]:
    build = {**_failed_build(), "buildStatus": status, **changes}
    if status in ("IN_PROGRESS", "SUCCEEDED"):
        build["phases"] = [p for p in build["phases"] if p["phaseType"] not in ("BUILD", "POST_BUILD")]
    return build


# Start


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_a_tag_not_yet_in_the_repository_starts_one_build_of_the_project_with_all_it_needs(
    clients: Clients, request_type: str
) -> None:
    # GIVEN the tag is not in the repository
    clients.tag_is_there(False)
    # THEN exactly one build of the resource's project starts, told what to build, for what and where to push it
    clients.codebuild_stub.add_response(
        "start_build",
        {"build": {"id": BUILD_ID}},
        {
            "projectName": "inbox-mailer-dev-function-image-build",
            "environmentVariablesOverride": [
                {"name": "IMAGE_TAG", "value": TAG, "type": "PLAINTEXT"},
                {"name": "REPOSITORY_URI", "value": PROPS["RepositoryUri"], "type": "PLAINTEXT"},
                {"name": "SOURCE_URL", "value": PROPS["SourceUrl"], "type": "PLAINTEXT"},
                {"name": "PLATFORM", "value": "linux/arm64", "type": "PLAINTEXT"},
            ],
        },
    )

    # WHEN CloudFormation creates or updates the build resource
    answer = start(_event(request_type), ecr=clients.ecr, codebuild=clients.codebuild)

    # THEN the resource is the tag, its ImageTag attribute is the tag, and the framework will wait for the build
    assert answer == {"PhysicalResourceId": TAG, "Data": {"ImageTag": TAG}, "BuildId": BUILD_ID}


def test_a_tag_already_in_the_repository_starts_no_build_and_completes_at_once(clients: Clients) -> None:
    # GIVEN the tag is in the repository (a redeploy after a destroy that kept it, or the same sources again)
    clients.tag_is_there(True)

    # WHEN CloudFormation creates the build resource
    answer = start(_event("Create"), ecr=clients.ecr, codebuild=clients.codebuild)

    # THEN no build starts (the Stubber fails on any call it was not given) and the wait is over at once
    assert answer == {"PhysicalResourceId": TAG, "Data": {"ImageTag": TAG}}
    assert check(_waiting(answer), ecr=clients.ecr, codebuild=clients.codebuild) == {"IsComplete": True}


def test_a_rollback_to_the_previous_tag_finds_it_and_pushes_nothing(clients: Clients) -> None:
    # GIVEN a failed update to a new tag: CloudFormation rolls the resource back to the previous properties
    previous_tag = "cloud-" + "1" * 64
    rollback = _event(
        "Update",
        PhysicalResourceId=TAG,
        ResourceProperties={**PROPS, "ImageTag": previous_tag},
        OldResourceProperties=PROPS,
    )
    clients.tag_is_there(True, tag=previous_tag)

    # WHEN the rollback's update arrives
    answer = start(rollback, ecr=clients.ecr, codebuild=clients.codebuild)

    # THEN the previous tag, still in the repository (the lifecycle rules keep the newest ones), is answered
    # without a build, so the immutable tag is never pushed twice and the rollback completes
    assert answer == {"PhysicalResourceId": previous_tag, "Data": {"ImageTag": previous_tag}}
    assert check(_waiting(answer, rollback), ecr=clients.ecr, codebuild=clients.codebuild) == {"IsComplete": True}


def test_deleting_the_resource_builds_nothing_deletes_no_image_and_keeps_its_id(clients: Clients) -> None:
    # WHEN CloudFormation deletes the resource (a destroy, or the old tag's resource after an update or rollback)
    delete = _event("Delete")
    answer = start(delete, ecr=clients.ecr, codebuild=clients.codebuild)

    # THEN no call is made at all, the physical id stays (the framework refuses a new one), and the wait ends
    assert answer == {"PhysicalResourceId": TAG}
    assert check(_waiting(answer, delete), ecr=clients.ecr, codebuild=clients.codebuild) == {"IsComplete": True}


def test_a_build_that_cannot_start_fails_the_request_with_codebuilds_reason(clients: Clients) -> None:
    clients.tag_is_there(False)
    clients.codebuild_stub.add_client_error(
        "start_build",
        service_error_code="ResourceNotFoundException",
        service_message="Project cannot be found: arn:aws:codebuild:eu-west-1:123456789012:project/x",
    )
    with pytest.raises(clients.codebuild.exceptions.ResourceNotFoundException, match="Project cannot be found"):  # type: ignore[attr-defined]
        start(_event("Create"), ecr=clients.ecr, codebuild=clients.codebuild)


# Wait


def test_a_build_in_progress_is_not_complete_and_carries_no_data(clients: Clients) -> None:
    # The framework refuses `Data` with `IsComplete` false, and asks again after the query interval.
    clients.build_is(_build("IN_PROGRESS", currentPhase="BUILD"))
    answer = check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)
    assert answer == {"IsComplete": False}


def test_a_build_that_pushed_its_tag_completes(clients: Clients) -> None:
    clients.build_is(_build("SUCCEEDED"))
    clients.tag_is_there(True)
    answer = check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)
    assert answer == {"IsComplete": True}


def test_a_failed_build_fails_with_one_line_naming_the_build_its_phase_its_reason_and_its_log(
    clients: Clients,
) -> None:
    # GIVEN the build's docker build failed (CodeBuild's reason holds a line break)
    clients.build_is(_failed_build())

    # WHEN the framework asks whether it is over
    with pytest.raises(ImageBuildError) as failed:
        check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)

    # THEN the deploy fails with one line: which build, how and where it ended, why, and where its log is
    message = str(failed.value)
    assert "\n" not in message
    assert message == (
        f"Image build {BUILD_ID} FAILED in phase BUILD (COMMAND_EXECUTION_ERROR: Error while executing command: "
        'docker buildx build --platform "$PLATFORM" --provenance=false --load --tag "$REPOSITORY_URI:$IMAGE_TAG" '
        "context. Reason: exit status 1); its log: stream 0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d of log group "
        "inbox-mailer-dev-function-CloudImageBuildLogsC95926E0-AbCdEf012345, "
        "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logEvent:"
        "group=inbox-mailer-dev-function-CloudImageBuildLogsC95926E0-AbCdEf012345;"
        "stream=0b1c2d3e-4f50-4a6b-9c7d-8e9f0a1b2c3d"
    )


@pytest.mark.parametrize("status", ["FAULT", "STOPPED", "TIMED_OUT"])
def test_a_build_that_ended_any_other_way_fails_the_request_too(clients: Clients, status: str) -> None:
    clients.build_is(_build(status))
    with pytest.raises(ImageBuildError, match=f"^Image build {BUILD_ID} {status} in phase BUILD "):
        check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)


def test_a_build_that_failed_before_writing_a_log_says_so(clients: Clients) -> None:
    provisioning = {
        "phaseType": "PROVISIONING",
        "phaseStatus": "CLIENT_ERROR",
        "contexts": [{"message": "No capacity"}],
    }
    clients.build_is({"id": BUILD_ID, "buildStatus": "FAILED", "phases": [provisioning], "logs": {"deepLink": "x"}})
    with pytest.raises(ImageBuildError) as failed:
        check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)
    assert str(failed.value) == (
        f"Image build {BUILD_ID} FAILED in phase PROVISIONING (No capacity); it wrote no log, see the build in the "
        "CodeBuild console"
    )


def test_a_build_that_succeeded_without_pushing_the_tag_fails_the_request(clients: Clients) -> None:
    # A function must never be pointed at a tag that is not there.
    clients.build_is(_build("SUCCEEDED"))
    clients.tag_is_there(False)
    with pytest.raises(
        ImageBuildError, match=f"^Image build {BUILD_ID} SUCCEEDED without pushing inbox-mailer-dev:{TAG};"
    ):
        check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)


def test_a_build_codebuild_does_not_know_fails_the_request(clients: Clients) -> None:
    clients.codebuild_stub.add_response("batch_get_builds", {"builds": [], "buildsNotFound": [BUILD_ID]})
    with pytest.raises(ImageBuildError, match=f"^Image build {BUILD_ID} is unknown to CodeBuild$"):
        check(_waiting({"BuildId": BUILD_ID}), ecr=clients.ecr, codebuild=clients.codebuild)


# The Lambda entry points


@pytest.fixture
def module_clients() -> Iterator[Clients]:
    """The handler module's own clients, made as Lambda makes them (once per execution environment), stubbed."""
    image_build._ecr.cache_clear()
    image_build._codebuild.cache_clear()
    yield from _stubbed(image_build._ecr(), image_build._codebuild())
    image_build._ecr.cache_clear()
    image_build._codebuild.cache_clear()


def test_the_entry_points_start_a_build_then_wait_for_it_until_it_pushed_the_tag(module_clients: Clients) -> None:
    # GIVEN a new tag: the build starts, is running at the first check and has pushed the tag at the second
    module_clients.tag_is_there(False)
    module_clients.codebuild_stub.add_response("start_build", {"build": {"id": BUILD_ID}})
    module_clients.build_is(_build("IN_PROGRESS"))
    module_clients.build_is(_build("SUCCEEDED"))
    module_clients.tag_is_there(True)

    # WHEN the framework calls the handlers as Lambda runs them
    answer = image_build.on_event(CREATE, object())
    checks = [image_build.is_complete(_waiting(answer), object()) for _ in range(2)]

    # THEN the first check waits and the second completes
    assert checks == [{"IsComplete": False}, {"IsComplete": True}]
    assert module_clients.ecr.meta.region_name == REGION


def test_the_handler_folder_holds_one_module_that_needs_nothing_but_lambdas_runtime() -> None:
    # The folder is the functions' code asset: one module, importing only the standard library and the boto3 that
    # Lambda's Python runtime bundles (type stubs only when type checking).
    files = sorted(p.name for p in HANDLER_DIRECTORY.iterdir() if p.name != "__pycache__")
    assert files == ["image_build.py"]
    tree = ast.parse((HANDLER_DIRECTORY / "image_build.py").read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    type_only = {"mypy_boto3_ecr"}
    assert imported - type_only == {"__future__", "logging", "collections.abc", "functools", "typing", "boto3"}
