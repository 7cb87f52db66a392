"""`image_build=cloud`: the image is built in CodeBuild at deploy time, into the registry's repository.

One cloud synth for the module, plus one with other settings for the rebuild test and one through the real CLI.
Every checker of the default synth runs on it too. Offline, with stand-ins for what runs in AWS:
- the project's buildspec, in a shell with stand-ins for `aws`, `docker` and `unzip`;
- the provider framework's own answer to CloudFormation, under the pinned Node.js with stand-ins for the AWS SDK,
  fed by our check handler's real answers (the handlers alone: tests/infra/test_cloud_image_handler.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Capture, Match
from botocore.stub import Stubber
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

from checks.allowlist import load_section
from checks.assembly import stack_templates
from checks.cdk_cli import run_cdk
from checks.cfn_lint import blocking, run_cfn_lint
from checks.checkov import run_checkov, unreasoned_skips
from checks.iam import assembly_violations
from checks.nag import acknowledgement_problems, acknowledgements
from stacks.cloud_image import (
    ANSWER_TIMEOUT,
    BUILD_RESOURCE_ID,
    BUILD_TIMEOUT_MINUTES,
    BUILDSPEC,
    HANDLER_DIRECTORY,
    HANDLER_MEMORY_MIB,
    HANDLER_RUNTIME,
    PROJECT_ID,
    QUERY_INTERVAL,
    QUEUED_TIMEOUT_MINUTES,
    RESOURCE_TYPE,
    WAIT_TIMEOUT,
    CloudImageBuild,
    build_context_ignore,
    image_tag,
)
from stacks.cloud_image_handler import image_build
from stacks.cloud_image_handler.image_build import CodeBuild, check, start
from stacks.mailer import ARCHITECTURE, IMAGE_DIRECTORY
from stacks.registry import PUSH_ACTIONS
from tests.infra.conftest import ROOT, Synthesized, cdk_json_context, synthesize

CLOUD = {"image_build": "cloud"}
# What the deploying account and region make of the repository's tokens, for the offline runs.
REPOSITORY_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/inbox-mailer-dev"
SOURCE_URL = "s3://cdk-hnb659fds-assets-123456789012-eu-west-1/source.zip"


@pytest.fixture(scope="module")
def cloud(synthesized_cloud: Synthesized) -> Synthesized:
    return synthesized_cloud


def _build(cloud: Synthesized) -> CloudImageBuild:
    build = cloud.stacks.function.cloud_image
    assert build is not None
    return build


def _resources(cloud: Synthesized) -> dict[str, Any]:
    resources: dict[str, Any] = cloud.function.to_json()["Resources"]
    return resources


def _resource(cloud: Synthesized, construct: IConstruct) -> dict[str, Any]:
    return cloud.function_resource(construct)


def _build_resource(cloud: Synthesized) -> dict[str, Any]:
    resource: dict[str, Any] = _resources(cloud)[BUILD_RESOURCE_ID]
    return resource


def _build_properties(cloud: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = _build_resource(cloud)["Properties"]
    return props


def _project(cloud: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = _resources(cloud)[PROJECT_ID]["Properties"]
    return props


def _statements(cloud: Synthesized, role: Any) -> list[dict[str, Any]]:
    policy = role.node.find_child("DefaultPolicy")
    statements: list[dict[str, Any]] = _resource(cloud, policy)["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _id(cloud: Synthesized, construct: IConstruct) -> str:
    return cloud.logical_id(construct)


def _arn(cloud: Synthesized, construct: IConstruct) -> dict[str, Any]:
    return {"Fn::GetAtt": [_id(cloud, construct), "Arn"]}


def _framework_functions(cloud: Synthesized) -> dict[str, str]:
    """Handler name (`framework.onEvent`...) -> logical id, for the provider framework's three functions."""
    return {
        r["Properties"]["Handler"]: logical_id
        for logical_id, r in _resources(cloud).items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler", "").startswith("framework.")
    }


# Where the image goes and what uses it


def test_no_asset_manifest_holds_a_container_image_so_no_engine_is_needed(
    cloud: Synthesized, synthesized: Synthesized
) -> None:
    # GIVEN the same app synthesized with the local build (the session synth) and with the cloud build
    def images(synth: Synthesized) -> int:
        return sum(
            len(synth.asset_manifest(stack.stack_name).get("dockerImages", {}))
            for stack in (synth.stacks.registry, synth.stacks.function)
        )

    # THEN only the local build asks the CLI to build an image
    assert images(synthesized) == 1
    assert images(cloud) == 0


def test_the_pinned_cli_synthesizes_the_cloud_build_with_no_image_to_build(tmp_path: Path) -> None:
    # GIVEN `make synth ARGS="-c image_build=cloud"`, through the real CLI
    result = run_cdk("synth", "--quiet", "-o", str(tmp_path), "-c", "image_build=cloud", timeout=300)
    assert result.returncode == 0, result.stderr

    # THEN the CLI has files to publish but no image to build, and the function stack builds it itself
    manifests = sorted(tmp_path.glob("*.assets.json"))
    assert len(manifests) == 2
    assert [json.loads(m.read_text()).get("dockerImages", {}) for m in manifests] == [{}, {}]
    template = json.loads((tmp_path / "inbox-mailer-dev-function.template.json").read_text())
    assert [r["Type"] for r in template["Resources"].values()].count(RESOURCE_TYPE) == 1


def test_the_function_runs_the_tag_the_build_answered_from_the_registry_repository(cloud: Synthesized) -> None:
    image_uri = Capture()
    cloud.function.has_resource_properties(
        "AWS::Lambda::Function", {"PackageType": "Image", "Code": {"ImageUri": image_uri}}
    )
    assert image_uri.as_object()["Fn::Join"][1][-2:] == [
        f"/{cloud.settings.repository_name}:",
        {"Fn::GetAtt": [BUILD_RESOURCE_ID, "ImageTag"]},
    ]
    props = _build_properties(cloud)
    assert props["RepositoryName"] == cloud.settings.repository_name
    assert props["RepositoryUri"]["Fn::Join"][1][-1] == f"/{cloud.settings.repository_name}"


def test_the_registry_repository_is_the_same_for_both_builds(cloud: Synthesized, synthesized: Synthesized) -> None:
    local_repository = synthesized.registry.find_resources("AWS::ECR::Repository")
    cloud_repository = cloud.registry.find_resources("AWS::ECR::Repository")
    assert cloud_repository == local_repository
    (repository,) = cloud_repository.values()
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_the_function_stack_deploys_after_the_registry(cloud: Synthesized) -> None:
    artifact = cloud.assembly.get_stack_by_name(cloud.stacks.function.stack_name)
    assert cloud.stacks.registry.artifact_id in [d.id for d in artifact.dependencies]


def test_the_build_runs_natively_for_the_function_architecture(cloud: Synthesized) -> None:
    function = _resource(cloud, cloud.stacks.function.mailer.function)["Properties"]
    assert function["Architectures"] == [ARCHITECTURE.name]
    assert _build_properties(cloud)["Platform"] == ARCHITECTURE.docker_platform == "linux/arm64"
    cloud.function.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Environment": Match.object_like(
                {
                    "Type": "ARM_CONTAINER",
                    "Image": Match.string_like_regexp("aarch64"),
                    "ComputeType": "BUILD_GENERAL1_SMALL",
                }
            )
        },
    )


def test_the_buildspec_is_the_projects_own_and_builds_a_single_platform_manifest(cloud: Synthesized) -> None:
    source = _project(cloud)["Source"]
    assert json.loads(source["BuildSpec"]) == BUILDSPEC
    assert list(BUILDSPEC["phases"]) == ["build"]
    *_, build_command, push = BUILDSPEC["phases"]["build"]["commands"]
    # Lambda refuses image indexes; without provenance buildx writes a single-platform manifest.
    assert build_command.startswith('docker buildx build --platform "$PLATFORM" --provenance=false ')
    assert push == 'docker push "$REPOSITORY_URI:$IMAGE_TAG"'


def _plan(outdir: Path, *options: str) -> list[str]:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "show_plan.py"), *options, str(outdir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # One line per sentence: a wrapped line's continuation is indented further than its start.
    lines = re.sub(r"\n {6}", " ", shown.stdout).splitlines()
    return [line.strip() for line in lines if line.strip().startswith("the image:")]


def test_the_plan_says_where_the_image_is_built_and_pushed(cloud: Synthesized, synthesized: Synthesized) -> None:
    tag = _build_properties(cloud)["ImageTag"]
    # The build's own parts follow on the same line (tests/infra/test_plan.py counts them).
    (line,) = _plan(cloud.outdir)
    assert line.split("; the build adds ")[0] == (
        "the image: built for linux/arm64 in AWS CodeBuild while this stack deploys, "
        "pushed to the repository inbox-mailer-dev"
    )
    (detail,) = _plan(cloud.outdir, "--detail")
    assert detail.split("; the build adds ")[0] == (
        "the image: built for linux/arm64 in AWS CodeBuild while this stack deploys, "
        f"pushed to the repository inbox-mailer-dev as {tag}"
    )
    assert _plan(synthesized.outdir) == [
        "the image: built for linux/arm64 by the local container engine before this stack deploys, "
        "pushed to the repository inbox-mailer-dev"
    ]


# No tag is pushed twice


def test_the_tag_is_the_hash_of_the_image_sources_and_platform(cloud: Synthesized) -> None:
    tag = _build_properties(cloud)["ImageTag"]
    assert tag == image_tag(IMAGE_DIRECTORY, ARCHITECTURE.docker_platform) == _build(cloud).tag
    assert tag.startswith("cloud-")
    assert len(tag) <= 128


@pytest.fixture
def image_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "lambda_image"
    shutil.copytree(IMAGE_DIRECTORY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _source_key(cloud: Synthesized) -> str:
    return str(_build_properties(cloud)["SourceUrl"]["Fn::Sub"].rsplit("/", 1)[1])


def test_the_source_archive_holds_exactly_the_build_context_of_dockerignore(cloud: Synthesized) -> None:
    key = _source_key(cloud).removesuffix(".zip")
    staged = cloud.outdir / cloud.asset_manifest(cloud.stacks.function.stack_name)["files"][key]["source"]["path"]
    files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
    package = [f"inbox_mailer/{p.name}" for p in (IMAGE_DIRECTORY / "inbox_mailer").glob("*.py")]
    assert files == sorted(["Dockerfile", "lambda_function.py", "requirements.txt", *package])


def test_only_a_change_to_what_the_image_is_built_from_changes_the_tag(image_copy: Path) -> None:
    # GIVEN the tag of a copy of lambda_image/
    before = image_tag(image_copy, "linux/arm64")

    # WHEN files outside it, or left out of the build context by .dockerignore, change
    (image_copy.parent / "README.md").write_text("outside the image\n")
    (image_copy / "notes.txt").write_text("ignored by .dockerignore\n")
    (image_copy / "inbox_mailer" / "__pycache__").mkdir()
    (image_copy / "inbox_mailer" / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"\0")

    # THEN the tag stays; a change to the handler or another platform gives another tag
    assert image_tag(image_copy, "linux/arm64") == before
    assert image_tag(image_copy, "linux/amd64") != before
    with (image_copy / "lambda_function.py").open("a") as handler:
        handler.write("\n# changed\n")
    assert image_tag(image_copy, "linux/arm64") != before


@pytest.fixture(scope="module")
def cloud_other(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The cloud build with everything but the image changed."""
    context = {
        **cdk_json_context(),
        **CLOUD,
        "memory_mib": "1024",
        "timeout_seconds": "120",
        "recipients": "a@example.org",
        "removal_policy": "destroy",
        "log_retention_days": "90",
    }
    return synthesize(context, tmp_path_factory.mktemp("cloud-other.out"))


def test_a_change_outside_lambda_image_does_not_rebuild_the_image(cloud: Synthesized, cloud_other: Synthesized) -> None:
    # GIVEN the cloud synth, and another one where everything but the image changed
    other = cloud_other
    function = _resource(cloud, cloud.stacks.function.mailer.function)["Properties"]
    other_function = _resource(other, other.stacks.function.mailer.function)["Properties"]
    assert (other_function["MemorySize"], function["MemorySize"]) == (1024, 512)

    # THEN the build resource's properties (tag, source archive, platform, repository, project, handler) are
    # the same: CloudFormation sends the resource no request, so nothing is even looked up
    assert _build_properties(other) == _build_properties(cloud)


# What a build runs: the buildspec's commands in a shell, with the variables the start handler sets


def _started_build_variables(cloud: Synthesized) -> dict[str, str]:
    """The variables our start handler sets on the build it starts for the synthesized resource."""

    class Recorder:
        def __init__(self) -> None:
            self.started: list[dict[str, Any]] = []

        def start_build(self, **kwargs: Any) -> dict[str, Any]:
            self.started.append(kwargs)
            return {"build": {"id": "inbox-mailer-dev-function-image-build:1"}}

        def batch_get_builds(self, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("not called when a build starts")

    props = {**_build_properties(cloud), "RepositoryUri": REPOSITORY_URI, "SourceUrl": SOURCE_URL}
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    recorder = Recorder()
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_images", service_error_code="ImageNotFoundException")
        start({"RequestType": "Create", "ResourceProperties": props}, ecr=ecr, codebuild=recorder)
    (build,) = recorder.started
    assert build["projectName"] == {"Ref": PROJECT_ID}
    return {v["name"]: v["value"] for v in build["environmentVariablesOverride"]}


def _fake_tools(bin_dir: Path) -> None:
    """`aws`, `docker` and `unzip` that record their calls; `docker buildx build` exits $BUILD_EXIT."""
    bin_dir.mkdir()
    scripts = {
        "aws": 'echo "aws $*" >> "$CALLS"\n'
        'if [ "$1 $2" = "s3 cp" ]; then touch "$4"; fi\n'
        'if [ "$2" = "get-login-password" ]; then echo token; fi\n',
        "docker": 'echo "docker $*" >> "$CALLS"\n'
        'if [ "$1 $2" = "buildx build" ]; then exit "$BUILD_EXIT"; fi\n'
        'if [ "$1" = "login" ]; then cat > /dev/null; fi\n',
        "unzip": 'echo "unzip $*" >> "$CALLS"\n',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(0o755)


def _run_build(cloud: Synthesized, tmp_path: Path, *, build_fails: bool = False) -> tuple[int, list[str]]:
    """(exit status, calls): the buildspec run as CodeBuild runs it, one shell, a failed command ends the build."""
    work, calls = tmp_path / "work", tmp_path / "calls.log"
    work.mkdir()
    calls.touch()
    _fake_tools(tmp_path / "bin")
    folder = tmp_path / "build"
    folder.mkdir()
    for index, command in enumerate(BUILDSPEC["phases"]["build"]["commands"]):
        (folder / f"{index:03}.sh").write_text(command + "\n")
    driver = f'for f in "{folder}"/*.sh; do . "$f" || exit 1; done\n'
    environment = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "BUILD_EXIT": "1" if build_fails else "0",
        # What CodeBuild sets.
        "AWS_REGION": "eu-west-1",
        **_started_build_variables(cloud),
    }
    done = subprocess.run(["bash", "-c", driver], cwd=work, env=environment, capture_output=True, timeout=30)
    return done.returncode, calls.read_text().splitlines()


def test_a_build_logs_in_fetches_its_archive_builds_for_the_platform_and_pushes_the_tag_once(
    cloud: Synthesized, tmp_path: Path
) -> None:
    status, calls = _run_build(cloud, tmp_path)
    tag = _build_properties(cloud)["ImageTag"]
    assert status == 0
    # Each login is a pipe, whose two sides run at once.
    assert sorted(calls[:4]) == [
        "aws ecr get-login-password --region eu-west-1",
        "aws ecr-public get-login-password --region us-east-1",
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "docker login --username AWS --password-stdin public.ecr.aws",
    ]
    assert calls[4:] == [
        f"aws s3 cp {SOURCE_URL} source.zip",
        "unzip -q source.zip -d context",
        f"docker buildx build --platform linux/arm64 --provenance=false --load --tag {REPOSITORY_URI}:{tag} context",
        f"docker push {REPOSITORY_URI}:{tag}",
    ]


def test_a_failed_docker_build_pushes_nothing_and_fails_the_build(cloud: Synthesized, tmp_path: Path) -> None:
    status, calls = _run_build(cloud, tmp_path, build_fails=True)
    assert status != 0
    assert calls[-1].startswith("docker buildx build ")
    assert not [c for c in calls if c.startswith("docker push")]


# A failed build fails the deploy with one line: the provider framework's own answer to CloudFormation, run
# under the pinned Node.js with stand-ins for the AWS SDK's Lambda client and for the HTTPS request to S3.

_FAKE_LAMBDA = """
const fs = require("fs");
class Lambda {
  async invoke(request) {
    fs.appendFileSync(process.env.INVOKED, request.FunctionName + "\\n");
    const answer = JSON.parse(fs.readFileSync(process.env.USER_ANSWER, "utf8"));
    return { FunctionError: answer.FunctionError, Payload: Buffer.from(JSON.stringify(answer.Payload)) };
  }
}
module.exports = { Lambda, waitUntilFunctionActiveV2: async () => {} };
"""
_FAKE_SFN = """
class SFN { async startExecution() { throw new Error("isComplete starts no waiter"); } }
module.exports = { SFN };
"""
_CAPTURE_ANSWER = """
const fs = require("fs");
const https = require("https");
https.request = (options, callback) => {
  let body = "";
  return {
    on() { return this; },
    write(chunk) { body += chunk; },
    end() {
      fs.writeFileSync(process.env.ANSWER, JSON.stringify({ method: options.method, body }));
      callback({ statusCode: 200, resume() {} });
    },
  };
};
"""
_DRIVER = """
const fs = require("fs");
const framework = require(process.env.FRAMEWORK);
const event = JSON.parse(fs.readFileSync(process.env.EVENT, "utf8"));
framework.isComplete(event).catch((error) => fs.writeFileSync(process.env.THROWN, error.constructor.name));
"""


def _lambda_result(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What Lambda's Python runtime returns for one invocation of a handler: its answer, or its error."""
    try:
        return {"Payload": run()}
    except Exception as error:  # noqa: BLE001 - the runtime reports any exception this way
        return {
            "FunctionError": "Unhandled",
            "Payload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": "5e1d6c2b-0000-4000-8000-000000000001",
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
        }


def _framework_answer(
    cloud: Synthesized, tmp_path: Path, build: dict[str, Any], *, tag_pushed: bool
) -> tuple[dict[str, Any] | None, str | None, dict[str, Any]]:
    """(answer to CloudFormation, error the waiter sees, the check handler's result) for one check of `build`."""
    props = {**_build_properties(cloud), "RepositoryUri": REPOSITORY_URI, "SourceUrl": SOURCE_URL}
    tag = props["ImageTag"]
    request = json.loads((ROOT / "tests" / "events" / "cloud_image_build_create.json").read_text())
    # What the framework's onEvent hands the waiter: the request, merged with the start handler's answer.
    event = {
        **request,
        "LogicalResourceId": BUILD_RESOURCE_ID,
        "ResourceProperties": props,
        "PhysicalResourceId": tag,
        "Data": {"ImageTag": tag},
        "BuildId": build["id"],
    }
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    codebuild = boto3.client("codebuild", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecr) as ecr_stub, Stubber(codebuild) as codebuild_stub:
        codebuild_stub.add_response("batch_get_builds", {"builds": [build]})
        if build["buildStatus"] == "SUCCEEDED":
            if tag_pushed:
                ecr_stub.add_response("describe_images", {"imageDetails": [{"imageTags": [tag]}]})
            else:
                ecr_stub.add_client_error("describe_images", service_error_code="ImageNotFoundException")
        result = _lambda_result(lambda: check(event, ecr=ecr, codebuild=cast(CodeBuild, codebuild)))

    code_key = _resources(cloud)[_framework_functions(cloud)["framework.isComplete"]]["Properties"]["Code"]["S3Key"]
    assets = cloud.asset_manifest(cloud.stacks.function.stack_name)["files"]
    framework = cloud.outdir / assets[code_key.removesuffix(".zip")]["source"]["path"] / "framework.js"
    sdk = tmp_path / "node_modules" / "@aws-sdk"
    for name, code in (("client-lambda", _FAKE_LAMBDA), ("client-sfn", _FAKE_SFN)):
        (sdk / name).mkdir(parents=True)
        (sdk / name / "index.js").write_text(code)
    (tmp_path / "capture.js").write_text(_CAPTURE_ANSWER)
    (tmp_path / "driver.js").write_text(_DRIVER)
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "user.json").write_text(json.dumps(result))
    answer, thrown, invoked = tmp_path / "answer.json", tmp_path / "thrown.txt", tmp_path / "invoked.txt"
    check_arn = "arn:aws:lambda:eu-west-1:123456789012:function:inbox-mailer-dev-function-CloudImageCheck-1"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "node"), "-r", str(tmp_path / "capture.js"), str(tmp_path / "driver.js")],
        env={
            "PATH": os.environ["PATH"],
            "NODE_PATH": str(tmp_path / "node_modules"),
            "FRAMEWORK": str(framework),
            "EVENT": str(tmp_path / "event.json"),
            "USER_ANSWER": str(tmp_path / "user.json"),
            "ANSWER": str(answer),
            "THROWN": str(thrown),
            "INVOKED": str(invoked),
            "USER_ON_EVENT_FUNCTION_ARN": check_arn.replace("Check", "Start"),
            "USER_IS_COMPLETE_FUNCTION_ARN": check_arn,
            "AWS_REGION": "eu-west-1",
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert invoked.read_text().splitlines() == [check_arn]
    sent = json.loads(answer.read_text()) if answer.exists() else None
    if sent is not None:
        assert sent["method"] == "PUT"
    return (
        json.loads(sent["body"]) if sent else None,
        thrown.read_text() if thrown.exists() else None,
        result,
    )


def _codebuild_build(status: str) -> dict[str, Any]:
    build: dict[str, Any] = json.loads((ROOT / "tests" / "events" / "codebuild_build_failed.json").read_text())
    if status != "FAILED":
        build["buildStatus"] = status
        build["phases"] = [p for p in build["phases"] if p["phaseType"] not in ("BUILD", "POST_BUILD")]
    return build


def test_a_failed_build_fails_the_deploy_with_the_handlers_line_first_in_a_valid_json_answer(
    cloud: Synthesized, tmp_path: Path
) -> None:
    # GIVEN the build failed in its docker build
    # WHEN the framework's check asks our check handler, which raises
    answer, thrown, result = _framework_answer(cloud, tmp_path, _codebuild_build("FAILED"), tag_pushed=False)

    # THEN CloudFormation gets valid JSON (the framework serializes it), FAILED, for this resource and tag
    assert answer is not None
    assert thrown is None
    assert (answer["Status"], answer["LogicalResourceId"]) == ("FAILED", BUILD_RESOURCE_ID)
    assert answer["PhysicalResourceId"] == _build_properties(cloud)["ImageTag"]
    # AND its reason starts with our one line (the build, its phase and reason, its log); the framework adds a
    # line naming the check function and its own stack trace after it
    message = result["Payload"]["errorMessage"]
    assert "\n" not in message
    assert message.startswith("Image build inbox-mailer-dev-function-image-build:")
    assert "of log group inbox-mailer-dev-function-CloudImageBuildLogsC95926E0-" in message
    first, blank, framework_hint, *_ = answer["Reason"].splitlines()
    assert first == f"Error: {message}"
    assert (blank, framework_hint) == ("", "Logs: /aws/lambda/inbox-mailer-dev-function-CloudImageCheck-1")


def test_a_build_that_pushed_its_tag_answers_success_with_the_tag(cloud: Synthesized, tmp_path: Path) -> None:
    answer, thrown, _ = _framework_answer(cloud, tmp_path, _codebuild_build("SUCCEEDED"), tag_pushed=True)
    tag = _build_properties(cloud)["ImageTag"]
    assert answer is not None
    assert thrown is None
    assert (answer["Status"], answer["PhysicalResourceId"], answer["Data"]) == ("SUCCESS", tag, {"ImageTag": tag})


def test_a_build_still_running_makes_the_waiter_ask_again_without_answering(cloud: Synthesized, tmp_path: Path) -> None:
    answer, thrown, _ = _framework_answer(cloud, tmp_path, _codebuild_build("IN_PROGRESS"), tag_pushed=False)
    assert answer is None
    assert thrown == "Retry"


# Time limits and logs


def test_a_build_that_never_ends_fails_the_deploy_within_the_answer_timeout(cloud: Synthesized) -> None:
    project = _project(cloud)
    assert (project["TimeoutInMinutes"], project["QueuedTimeoutInMinutes"]) == (
        BUILD_TIMEOUT_MINUTES,
        QUEUED_TIMEOUT_MINUTES,
    )
    # The waiter asks every QUERY_INTERVAL until WAIT_TIMEOUT, then answers "Operation timed out".
    definition = Capture()
    cloud.function.has_resource_properties("AWS::StepFunctions::StateMachine", {"DefinitionString": definition})
    text = "".join(p if isinstance(p, str) else "ARN" for p in definition.as_object()["Fn::Join"][1])
    (retry,) = json.loads(text)["States"]["framework-isComplete-task"]["Retry"]
    assert retry["IntervalSeconds"] == QUERY_INTERVAL.to_seconds() == 30
    assert retry["IntervalSeconds"] * retry["MaxAttempts"] == WAIT_TIMEOUT.to_seconds()
    assert retry["BackoffRate"] == 1
    assert WAIT_TIMEOUT.to_seconds() > (BUILD_TIMEOUT_MINUTES + QUEUED_TIMEOUT_MINUTES) * 60
    # CloudFormation gives up after ANSWER_TIMEOUT if no answer comes at all.
    timeout = int(_build_properties(cloud)["ServiceTimeout"])
    assert timeout == ANSWER_TIMEOUT.to_seconds() > WAIT_TIMEOUT.to_seconds()
    assert timeout < 3600  # CloudFormation's default wait, and the most it allows


def test_build_log_has_retention_and_is_where_the_project_writes(cloud: Synthesized) -> None:
    build = _build(cloud)
    group = _resource(cloud, build.build_log_group)["Properties"]
    assert group["RetentionInDays"] == cloud.settings.log_retention_days
    # A generated name: a group kept by a destroy or a failed first deploy never blocks the next deploy.
    assert "LogGroupName" not in group
    assert _project(cloud)["LogsConfig"] == {
        "CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": _id(cloud, build.build_log_group)}}
    }


def test_every_function_of_the_custom_resource_writes_to_the_handler_log_and_only_four_groups_exist(
    cloud: Synthesized,
) -> None:
    build = _build(cloud)
    group = _resource(cloud, build.handler_log_group)["Properties"]
    assert group["RetentionInDays"] == cloud.settings.log_retention_days
    assert "LogGroupName" not in group
    functions = [
        _id(cloud, build.start_handler),
        _id(cloud, build.check_handler),
        *_framework_functions(cloud).values(),
    ]
    for logical_id in functions:
        logging = _resources(cloud)[logical_id]["Properties"]["LoggingConfig"]
        assert logging["LogGroup"] == {"Ref": _id(cloud, build.handler_log_group)}, logical_id
    # The framework's trace of each request and answer is kept, not only its fatal errors.
    for logical_id in _framework_functions(cloud).values():
        assert _resources(cloud)[logical_id]["Properties"]["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    # No group under a default name beside them (feature flag `useCdkManagedLogGroup`), no retention-less one.
    assert sorted(cloud.function.find_resources("AWS::Logs::LogGroup")) == sorted(
        _id(cloud, g)
        for g in (
            build.build_log_group,
            build.handler_log_group,
            cloud.stacks.function.mailer.log_group,
            cloud.stacks.function.live_mark.log_group,
        )
    )


def _log_groups(cloud: Synthesized) -> dict[str, dict[str, Any]]:
    build = _build(cloud)
    return {
        "build": _resource(cloud, build.build_log_group),
        "handler": _resource(cloud, build.handler_log_group),
    }


def test_build_and_handler_logs_are_kept_by_default(cloud: Synthesized) -> None:
    for name, group in _log_groups(cloud).items():
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Retain", "Retain"), name
        assert group["Properties"] == {"RetentionInDays": 30}, name


def test_build_and_handler_logs_follow_the_removal_policy_and_retention_settings(cloud_other: Synthesized) -> None:
    for name, group in _log_groups(cloud_other).items():
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Delete", "Delete"), name
        assert group["Properties"] == {"RetentionInDays": 90}, name


def test_the_build_starts_only_once_its_log_group_and_its_role_policy_exist(cloud: Synthesized) -> None:
    build = _build(cloud)
    policy = build.project_role.node.find_child("DefaultPolicy")
    assert set(_build_resource(cloud)["DependsOn"]) >= {_id(cloud, build.build_log_group), _id(cloud, policy)}


# The handlers


def test_the_handlers_run_on_the_newest_python_runtime_on_arm64_with_little_memory(cloud: Synthesized) -> None:
    newest = max(
        (getattr(lambda_.Runtime, n) for n in dir(lambda_.Runtime) if n.startswith("PYTHON_3_")),
        key=lambda runtime: tuple(int(x) for x in runtime.name.removeprefix("python").split(".")),
    )
    assert HANDLER_RUNTIME.name == newest.name
    # The functions' code is the handler module's folder (tests/infra/test_cloud_image_handler.py checks its content).
    assert Path(image_build.__file__).parent == HANDLER_DIRECTORY
    build = _build(cloud)
    for handler, entry in (
        (build.start_handler, "image_build.on_event"),
        (build.check_handler, "image_build.is_complete"),
    ):
        props = _resource(cloud, handler)["Properties"]
        assert (props["Runtime"], props["Architectures"], props["MemorySize"]) == (newest.name, ["arm64"], 128)
        assert props["Handler"] == entry
        assert props["MemorySize"] == HANDLER_MEMORY_MIB
        assert "Environment" not in props


def test_the_build_resource_is_served_by_the_provider_framework_waiting_on_our_handlers(cloud: Synthesized) -> None:
    build = _build(cloud)
    framework = _framework_functions(cloud)
    assert sorted(framework) == ["framework.isComplete", "framework.onEvent", "framework.onTimeout"]
    cloud.function.has_resource(
        RESOURCE_TYPE,
        {
            "Properties": Match.object_equals(
                {
                    "ServiceToken": {"Fn::GetAtt": [framework["framework.onEvent"], "Arn"]},
                    "ServiceTimeout": str(int(ANSWER_TIMEOUT.to_seconds())),
                    "ImageTag": build.tag,
                    "Platform": "linux/arm64",
                    "RepositoryName": cloud.settings.repository_name,
                    "RepositoryUri": Match.object_like({"Fn::Join": Match.any_value()}),
                    "SourceUrl": {"Fn::Sub": Match.string_like_regexp(r"^s3://cdk-[a-z0-9]+-assets-.*\.zip$")},
                    "ProjectName": {"Ref": PROJECT_ID},
                }
            )
        },
    )
    environment = _resources(cloud)[framework["framework.onEvent"]]["Properties"]["Environment"]["Variables"]
    assert environment["USER_ON_EVENT_FUNCTION_ARN"] == _arn(cloud, build.start_handler)
    assert environment["USER_IS_COMPLETE_FUNCTION_ARN"] == _arn(cloud, build.check_handler)


# Least privilege


def test_the_build_may_push_only_to_this_repository_and_read_only_its_source(cloud: Synthesized) -> None:
    build = _build(cloud)
    statements = _statements(cloud, build.project_role)
    assert [s["Sid"] for s in statements] == [
        "PushToThisRepositoryOnly",
        "ReadThisSourceArchiveOnly",
        "WriteTheBuildLog",
        "LogInToTheRegistries",
    ]
    push, read, write, login = statements
    assert sorted(push["Action"]) == sorted(PUSH_ACTIONS)
    assert push["Resource"]["Fn::Join"][1][-1] == f":repository/{cloud.settings.repository_name}"
    source_url = _build_properties(cloud)["SourceUrl"]["Fn::Sub"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-2:] == [
        {"Fn::Sub": source_url.removeprefix("s3://").split("/")[0]},
        "/" + source_url.rsplit("/", 1)[1],
    ]
    assert (write["Action"], write["Resource"]) == (
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        _arn(cloud, build.build_log_group),
    )
    assert (sorted(login["Action"]), login["Resource"]) == (
        ["ecr-public:GetAuthorizationToken", "ecr:GetAuthorizationToken", "sts:GetServiceBearerToken"],
        "*",
    )
    assert _project(cloud)["ServiceRole"] == _arn(cloud, build.project_role)


def _repository_arn(cloud: Synthesized) -> dict[str, Any]:
    statement = _statements(cloud, _build(cloud).project_role)[0]
    resource: dict[str, Any] = statement["Resource"]
    return resource


def test_the_start_handler_may_only_look_tags_up_in_this_repository_and_start_this_project(
    cloud: Synthesized,
) -> None:
    build = _build(cloud)
    project_arn = {"Fn::GetAtt": [PROJECT_ID, "Arn"]}
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in _statements(cloud, build.start_handler.role)] == [
        ("WriteTheHandlerLog", ["logs:CreateLogStream", "logs:PutLogEvents"], _arn(cloud, build.handler_log_group)),
        ("LookUpTagsInThisRepositoryOnly", "ecr:DescribeImages", _repository_arn(cloud)),
        ("StartThisProjectOnly", "codebuild:StartBuild", project_arn),
    ]


def test_the_check_handler_may_only_read_builds_of_this_project_and_look_tags_up(cloud: Synthesized) -> None:
    build = _build(cloud)
    project_arn = {"Fn::GetAtt": [PROJECT_ID, "Arn"]}
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in _statements(cloud, build.check_handler.role)] == [
        ("WriteTheHandlerLog", ["logs:CreateLogStream", "logs:PutLogEvents"], _arn(cloud, build.handler_log_group)),
        ("LookUpTagsInThisRepositoryOnly", "ecr:DescribeImages", _repository_arn(cloud)),
        ("ReadBuildsOfThisProjectOnly", "codebuild:BatchGetBuilds", project_arn),
    ]


def _invoke_handlers(cloud: Synthesized) -> list[dict[str, Any]]:
    build = _build(cloud)
    arns = [_arn(cloud, build.check_handler), _arn(cloud, build.start_handler)]
    return [
        {"Action": "lambda:InvokeFunction", "Resource": [*arns, *({"Fn::Join": ["", [a, ":*"]]} for a in arns)]},
        {"Action": "lambda:GetFunction", "Resource": arns},
    ]


def test_the_framework_functions_may_only_write_the_handler_log_call_our_handlers_and_start_their_waiter(
    cloud: Synthesized,
) -> None:
    build = _build(cloud)
    write_log = {
        "Sid": "WriteTheHandlerLog",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": _arn(cloud, build.handler_log_group),
    }
    (waiter,) = cloud.function.find_resources("AWS::StepFunctions::StateMachine")
    start_waiter = {"Action": "states:StartExecution", "Resource": {"Ref": waiter}}

    def without_effect(role: Any) -> list[dict[str, Any]]:
        statements = _statements(cloud, role)
        assert {s.pop("Effect") for s in statements} == {"Allow"}
        return statements

    assert without_effect(build.framework_on_event_role) == [write_log, *_invoke_handlers(cloud), start_waiter]
    assert without_effect(build.framework_complete_role) == [write_log, *_invoke_handlers(cloud)]
    framework = _framework_functions(cloud)
    roles = {name: _resources(cloud)[framework[name]]["Properties"]["Role"] for name in framework}
    assert roles == {
        "framework.onEvent": _arn(cloud, build.framework_on_event_role),
        "framework.isComplete": _arn(cloud, build.framework_complete_role),
        "framework.onTimeout": _arn(cloud, build.framework_complete_role),
    }


def test_the_waiter_may_only_invoke_the_frameworks_check_and_timeout_functions(cloud: Synthesized) -> None:
    framework = _framework_functions(cloud)
    role = Capture()
    cloud.function.has_resource_properties(
        "AWS::StepFunctions::StateMachine", {"RoleArn": {"Fn::GetAtt": [role, "Arn"]}}
    )
    (policy,) = [
        p
        for p in cloud.function.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role.as_string()}]
    ]
    arns = [{"Fn::GetAtt": [framework[f"framework.{name}"], "Arn"]} for name in ("isComplete", "onTimeout")]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": [*arns, *({"Fn::Join": ["", [a, ":*"]]} for a in arns)],
        }
    ]


def test_no_role_of_the_cloud_build_has_a_managed_or_inline_policy(cloud: Synthesized) -> None:
    roles = {
        logical_id: r["Properties"]
        for logical_id, r in cloud.function.find_resources("AWS::IAM::Role").items()
        if logical_id.startswith("CloudImage")
    }
    assert len(roles) == 6  # the project, the two handlers, the framework's two, its waiter
    assert {logical_id: sorted({"ManagedPolicyArns", "Policies"} & set(p)) for logical_id, p in roles.items()} == {
        logical_id: [] for logical_id in roles
    }


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_both_rule_packs_find_no_unacknowledged_violation_in_the_cloud_build(cloud: Synthesized, pack: Any) -> None:
    app = cloud.stacks.registry.node.root
    report = pack(app).validate_scope(app)
    assert [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations] == []


def test_every_acknowledgement_of_the_cloud_build_is_narrow_and_reasoned(cloud: Synthesized) -> None:
    assert acknowledgement_problems(cloud.stacks.registry.node.root) == []


def test_every_acknowledgement_of_the_cloud_build_sits_on_one_resource(cloud: Synthesized) -> None:
    # Not on the provider, nor on the unit: each on the resource it concerns, framework resources included.
    found = acknowledgements(_build(cloud))
    assert found
    assert [(c.node.path, rule) for c, rule, _ in found if c.node.id not in ("Resource", "Default")] == []
    waiter = [rule for c, rule, _ in found if "waiter-state-machine/Resource" in c.node.path]
    assert sorted(waiter) == ["AwsSolutions-SF1", "AwsSolutions-SF2", "Serverless-StepFunctionStateMachineXray"]


def test_least_privilege_holds_for_the_cloud_build(cloud: Synthesized, report: Callable[[str], None]) -> None:
    documents, violations = assembly_violations(cloud.outdir)
    assert [str(v) for v in violations] == []
    assert documents >= 14
    report(f"least privilege (image_build=cloud): {documents} policy documents, 0 violations")


def test_checkov_finds_no_failed_check_in_the_cloud_build_and_every_skip_has_a_reason(
    cloud: Synthesized, report: Callable[[str], None]
) -> None:
    result = run_checkov(list(stack_templates(cloud.outdir).values()))
    assert [str(f) for f in result.failed] == []
    assert [str(s) for s in unreasoned_skips(result)] == []
    report(
        f"checkov (image_build=cloud): {result.passed} passed, 0 failed, {len(result.skipped)} skipped with a reason"
    )
    build = _build(cloud)
    functions = {
        _id(cloud, build.start_handler): {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"},
        _id(cloud, build.check_handler): {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"},
        **{
            i: {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
            for i in _framework_functions(cloud).values()
        },
    }
    for logical_id, skipped in functions.items():
        assert {s.check_id for s in result.skipped if s.resource.endswith(f".{logical_id}")} == skipped, logical_id


def test_cfn_lint_finds_no_error_and_only_allowed_warnings_in_the_cloud_build(cloud: Synthesized) -> None:
    findings = run_cfn_lint(list(stack_templates(cloud.outdir).values()))
    assert [str(f) for f in blocking(findings, load_section("cfn_lint"))] == []


# The project


def test_the_project_is_named_after_the_stack_and_pulls_codebuilds_own_image(cloud: Synthesized) -> None:
    cloud.function.has_resource_properties(
        "AWS::CodeBuild::Project",
        {
            "Name": "inbox-mailer-dev-function-image-build",
            "Environment": Match.object_equals(
                {
                    "ComputeType": "BUILD_GENERAL1_SMALL",
                    "Image": "aws/codebuild/amazonlinux2-aarch64-standard:3.0",
                    "ImagePullCredentialsType": "CODEBUILD",
                    # The build runs its own Docker engine.
                    "PrivilegedMode": True,
                    "Type": "ARM_CONTAINER",
                }
            ),
        },
    )


def test_the_project_has_no_source_of_its_own_and_reads_the_archive_the_resource_names(cloud: Synthesized) -> None:
    # The start handler passes the archive's S3 URL; a project source would be fetched on top of it.
    source = _project(cloud)["Source"]
    assert source["Type"] == "NO_SOURCE"
    assert sorted(source) == ["BuildSpec", "Type"]
    assert _project(cloud)["Artifacts"] == {"Type": "NO_ARTIFACTS"}


def test_the_build_resource_the_project_and_the_logs_keep_their_logical_ids(cloud: Synthesized) -> None:
    # The build resource and the project keep the ids (and the resource its type) of the first cloud build, so an
    # upgraded stack updates them in place: CloudFormation refuses a new type for a resource, and a project with
    # the same fixed name under a new id would fail to create. A new id for a retained log group would leave the
    # old group and its history behind.
    build = _build(cloud)
    assert _build_resource(cloud)["Type"] == RESOURCE_TYPE == "Custom::CDKContainerImageBuild"
    assert BUILD_RESOURCE_ID == "CloudImageBuild69FFC561"
    assert _resources(cloud)[PROJECT_ID]["Type"] == "AWS::CodeBuild::Project"
    assert PROJECT_ID == "ContainerImageBuildArm64e83729feb1564e709bec452b15847a30amd64C13E3549"
    assert _id(cloud, build.build_log_group) == "CloudImageBuildLogsC95926E0"
    assert _id(cloud, build.handler_log_group) == "CloudImageHandlerLogs532EEC6B"


def test_the_local_build_adds_no_cloud_build(synthesized: Synthesized) -> None:
    assert synthesized.stacks.function.cloud_image is None
    assert synthesized.function.find_resources("AWS::CodeBuild::Project") == {}
    assert synthesized.function.find_resources(RESOURCE_TYPE) == {}
    assert synthesized.function.find_resources("AWS::StepFunctions::StateMachine") == {}


@pytest.mark.parametrize(
    ("lines", "patterns"),
    [
        (
            ["# a comment", "", "*", "  !Dockerfile  ", "#!not a pattern", "!inbox_mailer/"],
            ["*", "!Dockerfile", "!inbox_mailer/"],
        ),
        (["", "   ", "# only comments"], []),
    ],
)
def test_build_context_ignore_reads_the_patterns_of_dockerignore_without_comments_or_blanks(
    tmp_path: Path, lines: list[str], patterns: list[str]
) -> None:
    (tmp_path / ".dockerignore").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert build_context_ignore(tmp_path) == patterns


def test_without_a_dockerignore_nothing_is_left_out_of_the_build_context(tmp_path: Path) -> None:
    assert build_context_ignore(tmp_path) == []
