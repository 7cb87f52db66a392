"""The cloud image build's custom resource: start the CodeBuild build of one image tag, then wait for it.

CDK's provider framework (`aws_cdk.custom_resources.Provider`) calls `on_event` once per CloudFormation request,
then `is_complete` at a fixed interval until it answers `IsComplete` or raises. The framework answers
CloudFormation itself: an exception raised here becomes the reason of its FAILED answer, which it serializes as
JSON.

The resource's properties name everything a build needs (tag, repository, source archive, platform, project), so
each request builds exactly what it names, a rollback's request included.

Runs on Lambda's Python runtime with the boto3 it bundles; nothing else is packaged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

import boto3

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# The variables the buildspec of the project reads (stacks/cloud_image.py): set on every build it starts.
IMAGE_TAG = "IMAGE_TAG"
REPOSITORY_URI = "REPOSITORY_URI"
SOURCE_URL = "SOURCE_URL"
PLATFORM = "PLATFORM"
# The key of `on_event`'s answer that the framework hands to `is_complete` (absent when nothing was built).
BUILD_ID = "BuildId"
RUNNING = "IN_PROGRESS"
SUCCEEDED = "SUCCEEDED"


class CodeBuild(Protocol):
    """The two CodeBuild calls the handlers make (boto3's client; the project has no type stubs for it)."""

    def start_build(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def batch_get_builds(self, **kwargs: Any) -> Mapping[str, Any]: ...


class ImageBuildError(Exception):
    """The build ended without the image in the repository; the message is one line, shown by CloudFormation."""


@cache
def _ecr() -> ECRClient:
    return boto3.client("ecr")


@cache
def _codebuild() -> CodeBuild:
    return cast("CodeBuild", boto3.client("codebuild"))


def on_event(event: Mapping[str, Any], _context: object) -> dict[str, Any]:
    return start(event, ecr=_ecr(), codebuild=_codebuild())


def is_complete(event: Mapping[str, Any], _context: object) -> dict[str, Any]:
    return check(event, ecr=_ecr(), codebuild=_codebuild())


def start(event: Mapping[str, Any], *, ecr: ECRClient, codebuild: CodeBuild) -> dict[str, Any]:
    """Start the build of the event's tag, unless the tag is already in the repository or the resource goes."""
    if event["RequestType"] == "Delete":
        # Images stay: a rollback may return to this tag, and the repository's lifecycle rules expire old ones.
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = event["ResourceProperties"]
    tag = props["ImageTag"]
    answer: dict[str, Any] = {"PhysicalResourceId": tag, "Data": {"ImageTag": tag}}
    if image_exists(ecr, props["RepositoryName"], tag):
        logger.info("Tag %s is already in repository %s: nothing to build", tag, props["RepositoryName"])
        return answer
    build = codebuild.start_build(
        projectName=props["ProjectName"],
        environmentVariablesOverride=[
            {"name": name, "value": value, "type": "PLAINTEXT"}
            for name, value in (
                (IMAGE_TAG, tag),
                (REPOSITORY_URI, props["RepositoryUri"]),
                (SOURCE_URL, props["SourceUrl"]),
                (PLATFORM, props["Platform"]),
            )
        ],
    )["build"]
    logger.info("Started build %s of tag %s", build["id"], tag)
    return {**answer, BUILD_ID: build["id"]}


def check(event: Mapping[str, Any], *, ecr: ECRClient, codebuild: CodeBuild) -> dict[str, Any]:
    """Complete once the started build pushed the tag; raise with one line when it ended without it."""
    build_id = event.get(BUILD_ID)
    if not build_id:
        return {"IsComplete": True}
    builds = codebuild.batch_get_builds(ids=[build_id])["builds"]
    if not builds:
        raise ImageBuildError(f"Image build {build_id} is unknown to CodeBuild")
    build = builds[0]
    status = build["buildStatus"]
    if status == RUNNING:
        logger.info("Build %s is in phase %s", build_id, build.get("currentPhase"))
        return {"IsComplete": False}
    props = event["ResourceProperties"]
    if status != SUCCEEDED:
        raise ImageBuildError(failure_message(build))
    if not image_exists(ecr, props["RepositoryName"], props["ImageTag"]):
        raise ImageBuildError(failure_message(build, missing=f"{props['RepositoryName']}:{props['ImageTag']}"))
    logger.info("Build %s pushed tag %s", build_id, props["ImageTag"])
    return {"IsComplete": True}


def image_exists(ecr: ECRClient, repository_name: str, tag: str) -> bool:
    try:
        ecr.describe_images(repositoryName=repository_name, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    return True


def failure_message(build: Mapping[str, Any], *, missing: str | None = None) -> str:
    """One line: the build, how it ended (in which phase and why), and where its log is.

    `missing` names the image a build that succeeded did not push.
    """
    failed = [p for p in build.get("phases", []) if p.get("phaseStatus") not in (None, SUCCEEDED)]
    text = f"Image build {build['id']} {build['buildStatus']}"
    if missing:
        text += f" without pushing {missing}"
    if failed:
        text += f" in phase {failed[0]['phaseType']}"
        reasons = [
            ": ".join(part for part in (c.get("statusCode"), c["message"]) if part)
            for c in failed[0].get("contexts", [])
            if c.get("message")
        ]
        if reasons:
            text += f" ({'; '.join(reasons)})"
    logs = build.get("logs") or {}
    if logs.get("streamName"):
        text += f"; its log: stream {logs['streamName']} of log group {logs['groupName']}, {logs['deepLink']}"
    else:
        text += "; it wrote no log, see the build in the CodeBuild console"
    return one_line(text)


def one_line(text: str) -> str:
    return " ".join(text.split())
