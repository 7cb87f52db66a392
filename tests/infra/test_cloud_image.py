"""`image_build=cloud`: the image is built in CodeBuild at deploy time, into the registry's repository.

One cloud synth for the module, plus one with other settings for the rebuild test and one through the real CLI.
Every checker of the default synth runs on it too. The build's shell is run offline with stand-ins for `aws`,
`docker` and `curl`, to prove what the buildspec does with an existing tag and how a failure reaches
CloudFormation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from checks.allowlist import load_section
from checks.assembly import stack_templates
from checks.cdk_cli import run_cdk
from checks.cfn_lint import blocking, run_cfn_lint
from checks.checkov import run_checkov, unreasoned_skips
from checks.iam import assembly_violations
from checks.nag import acknowledgement_problems
from stacks.cloud_image import (
    ANSWER_TIMEOUT,
    BUILD_TIMEOUT_MINUTES,
    HANDLER_MEMORY_MIB,
    LOG_GROUP_VARIABLE,
    CloudImageBuild,
    build_context_ignore,
    image_tag,
    skip_existing_tag,
)
from stacks.mailer import ARCHITECTURE, IMAGE_DIRECTORY
from stacks.registry import PUSH_ACTIONS
from tests.infra.conftest import ROOT, Synthesized, cdk_json_context, synthesize

CLOUD = {"image_build": "cloud"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize({**cdk_json_context(), **CLOUD}, tmp_path_factory.mktemp("cloud.out"))


def _build(cloud: Synthesized) -> CloudImageBuild:
    build = cloud.stacks.function.cloud_image
    assert build is not None
    return build


def _resource(cloud: Synthesized, construct: Any) -> dict[str, Any]:
    return cloud.function_resource(construct)


def _image_build_properties(cloud: Synthesized) -> dict[str, Any]:
    (resource,) = cloud.function.find_resources("Custom::CDKContainerImageBuild").values()
    props: dict[str, Any] = resource["Properties"]
    return props


def _statements(cloud: Synthesized, role: Any) -> list[dict[str, Any]]:
    policy = role.node.find_child("DefaultPolicy")
    statements: list[dict[str, Any]] = _resource(cloud, policy)["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _buildspec(cloud: Synthesized) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(_resource(cloud, _build(cloud).project)["Properties"]["Source"]["BuildSpec"])
    return spec


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
    assert [r["Type"] for r in template["Resources"].values()].count("Custom::CDKContainerImageBuild") == 1


def test_the_function_runs_the_tag_the_build_answered_from_the_registry_repository(cloud: Synthesized) -> None:
    props = _resource(cloud, cloud.stacks.function.mailer.function)["Properties"]
    build_id = cloud.logical_id(_build(cloud).custom_resource)
    assert props["PackageType"] == "Image"
    assert props["Code"]["ImageUri"]["Fn::Join"][1][-2:] == [
        f"/{cloud.settings.repository_name}:",
        {"Fn::GetAtt": [build_id, "ImageTag"]},
    ]
    assert _image_build_properties(cloud)["repositoryUri"]["Fn::Join"][1][-1] == f"/{cloud.settings.repository_name}"


def test_the_registry_repository_is_the_same_for_both_builds(cloud: Synthesized, synthesized: Synthesized) -> None:
    local_repository = synthesized.registry.find_resources("AWS::ECR::Repository")
    cloud_repository = cloud.registry.find_resources("AWS::ECR::Repository")
    assert cloud_repository == local_repository
    (repository,) = cloud_repository.values()
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_the_function_stack_deploys_after_the_registry(cloud: Synthesized) -> None:
    artifact = cloud.assembly.get_stack_by_name(cloud.stacks.function.stack_name)
    assert cloud.stacks.registry.artifact_id in [d.id for d in artifact.dependencies]


def test_the_build_runs_natively_for_the_function_architecture(cloud: Synthesized) -> None:
    environment = _resource(cloud, _build(cloud).project)["Properties"]["Environment"]
    function = _resource(cloud, cloud.stacks.function.mailer.function)["Properties"]
    command = _image_build_properties(cloud)["buildCommand"].split()
    assert function["Architectures"] == [ARCHITECTURE.name]
    assert command[command.index("--platform") + 1] == ARCHITECTURE.docker_platform == "linux/arm64"
    assert environment["Type"] == "ARM_CONTAINER"
    assert "aarch64" in environment["Image"]
    assert environment["ComputeType"] == "BUILD_GENERAL1_SMALL"
    # Lambda refuses image indexes; without provenance buildx writes a single-platform manifest.
    assert "--provenance=false" in command


def _plan(outdir: Path) -> list[str]:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "show_plan.py"), str(outdir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line.strip() for line in shown.stdout.splitlines() if line.strip().startswith("image:")]


def test_the_plan_says_where_the_image_is_built_and_pushed(cloud: Synthesized, synthesized: Synthesized) -> None:
    tag = _image_build_properties(cloud)["imageTag"]
    assert _plan(cloud.outdir) == [
        "image: lambda_image built for linux/arm64 in AWS CodeBuild while this stack deploys, "
        f"pushed to ECR repository inbox-mailer-dev as {tag}"
    ]
    (local,) = _plan(synthesized.outdir)
    assert local.endswith(
        "built for linux/arm64 by the local container engine before this stack deploys, "
        "pushed to ECR repository inbox-mailer-dev"
    )


# No tag is pushed twice


def test_the_tag_is_the_hash_of_the_image_sources_and_platform(cloud: Synthesized) -> None:
    tag = _image_build_properties(cloud)["imageTag"]
    assert tag == image_tag(IMAGE_DIRECTORY, ARCHITECTURE.docker_platform)
    assert tag.startswith("cloud-")
    assert len(tag) <= 128


@pytest.fixture
def image_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "lambda_image"
    shutil.copytree(IMAGE_DIRECTORY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_source_archive_holds_exactly_the_build_context_of_dockerignore(cloud: Synthesized) -> None:
    key = _image_build_properties(cloud)["sourceS3Url"]["Fn::Sub"].rsplit("/", 1)[1].removesuffix(".zip")
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

    # THEN the build's properties (tag, source archive, command, project), which start a build when they
    # change, are the same: CloudFormation does not update the build resource, so nothing is built
    assert _image_build_properties(other) == _image_build_properties(cloud)


def test_the_build_looks_its_tag_up_before_anything_else_and_guards_every_command(cloud: Synthesized) -> None:
    commands = _buildspec(cloud)["phases"]["build"]["commands"]
    assert commands[0].startswith('if aws ecr describe-images --repository-name "${repositoryUri#*/}" ')
    assert all(c.startswith('[ "$image_exists" = yes ] || ') for c in commands[1:])
    assert any(c.endswith("docker push $repositoryUri:$imageTag") for c in commands)


def _fake_tools(bin_dir: Path, log: Path) -> None:
    """`aws`, `docker`, `unzip` and `curl` that record their calls; `aws ecr describe-images` exits $DESCRIBE_EXIT."""
    bin_dir.mkdir()
    scripts = {
        "aws": 'echo "aws $*" >> "$CALLS"\n'
        'if [ "$1 $2" = "ecr describe-images" ]; then exit "$DESCRIBE_EXIT"; fi\n'
        'if [ "$1 $2" = "s3 cp" ]; then touch "$4"; fi\n'
        'if [ "$2" = "get-login-password" ]; then echo token; fi\n',
        "docker": 'echo "docker $*" >> "$CALLS"\nif [ "$2" = "build" ]; then exit "$BUILD_EXIT"; fi\ncat > /dev/null\n',
        "unzip": 'echo "unzip $*" >> "$CALLS"\n',
        "curl": 'echo "curl $*" >> "$CALLS"\ncp payload.json "$ANSWER"\n',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body)
        path.chmod(0o755)
    log.touch()


def _run_build(
    cloud: Synthesized, tmp_path: Path, *, tag_exists: bool, build_fails: bool = False
) -> tuple[list[str], dict[str, Any]]:
    """Run the buildspec's commands as CodeBuild does: one shell; a failing build command ends the phase."""
    spec = _buildspec(cloud)
    props = _image_build_properties(cloud)
    work, calls, answer = tmp_path / "work", tmp_path / "calls.log", tmp_path / "answer.json"
    work.mkdir()
    _fake_tools(tmp_path / "bin", calls)
    for phase in ("build", "post_build"):
        folder = tmp_path / phase
        folder.mkdir()
        for index, command in enumerate(spec["phases"][phase]["commands"]):
            (folder / f"{index:03}.sh").write_text(command + "\n")
    driver = (
        "CODEBUILD_BUILD_SUCCEEDING=1\n"
        f'for f in "{tmp_path}"/build/*.sh; do . "$f" || {{ CODEBUILD_BUILD_SUCCEEDING=0; break; }}; done\n'
        f'for f in "{tmp_path}"/post_build/*.sh; do . "$f"; done\n'
    )
    project_name = _resource(cloud, _build(cloud).project)["Properties"]["Name"]
    environment = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "ANSWER": str(answer),
        "DESCRIBE_EXIT": "0" if tag_exists else "254",
        "BUILD_EXIT": "1" if build_fails else "0",
        # What the handler sets on the build (the construct's lambda/trigger-codebuild/index.ts).
        "responseURL": "https://cloudformation-custom-resource-response.example/answer",
        "stackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/inbox-mailer-dev-function/1",
        "requestId": "request-1",
        "logicalResourceId": cloud.logical_id(_build(cloud).custom_resource),
        "repositoryUri": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{cloud.settings.repository_name}",
        "repositoryAuthUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "repositoryRegion": "eu-west-1",
        "buildCommand": props["buildCommand"],
        "imageTag": props["imageTag"],
        "projectName": project_name,
        "sourceS3Url": "s3://assets/source.zip",
        # What the project sets: the name of the build's log group (generated by CloudFormation).
        "BUILD_LOG_GROUP": "inbox-mailer-dev-function-CloudImageBuildLogsC95926E0-AbCdEf012345",
        # What CodeBuild sets.
        "AWS_REGION": "eu-west-1",
        "CODEBUILD_LOG_PATH": "build-1",
    }
    subprocess.run(["bash", "-c", driver], cwd=work, env=environment, check=True, capture_output=True, timeout=30)
    return calls.read_text().splitlines(), json.loads(answer.read_text())


def test_an_existing_tag_is_neither_built_nor_pushed_again_and_the_build_succeeds(
    cloud: Synthesized, tmp_path: Path
) -> None:
    # GIVEN the tag is already in the repository (a rollback to the previous image, or a redeploy)
    # WHEN the build runs
    calls, answer = _run_build(cloud, tmp_path, tag_exists=True)

    # THEN it only looked the tag up and answered success with that tag
    assert [c for c in calls if not c.startswith("curl")] == [
        f"aws ecr describe-images --repository-name {cloud.settings.repository_name} "
        f"--image-ids imageTag={_image_build_properties(cloud)['imageTag']}"
    ]
    assert answer["Status"] == "SUCCESS"
    assert answer["Data"] == {"ImageTag": _image_build_properties(cloud)["imageTag"]}


def test_a_new_tag_is_built_and_pushed_once(cloud: Synthesized, tmp_path: Path) -> None:
    calls, answer = _run_build(cloud, tmp_path, tag_exists=False)
    tag = _image_build_properties(cloud)["imageTag"]
    pushes = [c for c in calls if c.startswith("docker push")]
    assert pushes == [
        f"docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/{cloud.settings.repository_name}:{tag}"
    ]
    assert any(c.startswith("docker buildx build --platform linux/arm64") for c in calls)
    assert answer["Status"] == "SUCCESS"


# A failed build fails the deploy, with its log


def test_a_failed_build_answers_failure_with_the_link_to_its_log(cloud: Synthesized, tmp_path: Path) -> None:
    # GIVEN a build whose docker build fails
    calls, answer = _run_build(cloud, tmp_path, tag_exists=False, build_fails=True)

    # THEN nothing is pushed and CloudFormation gets FAILED with a link to the build's log stream
    assert not [c for c in calls if c.startswith("docker push")]
    assert answer["Status"] == "FAILED"
    link = answer["Reason"].split("reason: ", 1)[1]
    assert link == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "inbox-mailer-dev-function-CloudImageBuildLogsC95926E0-AbCdEf012345/log-events/build-1"
    )


def test_a_construct_whose_answer_changed_is_refused_rather_than_half_rewritten(cloud: Synthesized) -> None:
    changed = json.loads(json.dumps(_build(cloud).original_buildspec))
    changed["phases"]["post_build"]["commands"] = ["echo answered elsewhere"]
    with pytest.raises(ValueError, match="post-build answer changed"):
        skip_existing_tag(changed)


# The handler that starts the build: the construct's own code, run by the pinned Node.js with a fake AWS SDK
# CodeBuild client (the Lambda runtime provides the real one) and a local server standing in for CloudFormation.

_FAKE_CODEBUILD = """
const fs = require("fs");
class StartBuildCommand { constructor(input) { this.input = input; } }
class CodeBuildClient {
  async send(command) {
    if (process.env.START_BUILD === "fail") {
      const error = new Error("Project cannot be found: inbox-mailer-dev-function-image-build");
      error.name = "ResourceNotFoundException";
      throw error;
    }
    fs.appendFileSync(process.env.STARTED, JSON.stringify(command.input) + "\\n");
    return { build: { id: "build-1" } };
  }
}
module.exports = { CodeBuildClient, StartBuildCommand };
"""
_DRIVER = """
const fs = require("fs");
const http = require("http");
const { handler } = require(process.env.HANDLER);
const event = JSON.parse(fs.readFileSync(process.env.EVENT, "utf8"));
const server = http.createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => { fs.writeFileSync(process.env.ANSWER, body); response.end(); });
});
server.listen(0, "127.0.0.1", async () => {
  event.ResponseURL = `http://127.0.0.1:${server.address().port}/answer`;
  await handler(event, { logStreamName: "2026/11/28/[$LATEST]handler" });
  server.close();
});
"""


def _run_handler(
    cloud: Synthesized, tmp_path: Path, request_type: str, *, start_fails: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(builds started, answer sent to CloudFormation) when CloudFormation sends `request_type`."""
    code_key = _resource(cloud, _build(cloud).handler)["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    handler = cloud.outdir / cloud.asset_manifest(cloud.stacks.function.stack_name)["files"][code_key]["source"]["path"]
    fake = tmp_path / "node_modules" / "@aws-sdk" / "client-codebuild"
    fake.mkdir(parents=True)
    (fake / "index.js").write_text(_FAKE_CODEBUILD)
    (tmp_path / "driver.js").write_text(_DRIVER)
    properties = {
        **_image_build_properties(cloud),
        "repositoryUri": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{cloud.settings.repository_name}",
        "codeBuildProjectName": _resource(cloud, _build(cloud).project)["Properties"]["Name"],
        "sourceS3Url": "s3://cdk-hnb659fds-assets-123456789012-eu-west-1/source.zip",
    }
    event = {
        "RequestType": request_type,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/inbox-mailer-dev-function/1",
        "RequestId": "request-1",
        "LogicalResourceId": cloud.logical_id(_build(cloud).custom_resource),
        "ResourceType": "Custom::CDKContainerImageBuild",
        "ResourceProperties": properties,
    }
    (tmp_path / "event.json").write_text(json.dumps(event))
    started, answer = tmp_path / "started.jsonl", tmp_path / "answer.json"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "node"), str(tmp_path / "driver.js")],
        env={
            "PATH": os.environ["PATH"],
            "NODE_PATH": str(tmp_path / "node_modules"),
            "HANDLER": str(handler / "index.js"),
            "EVENT": str(tmp_path / "event.json"),
            "STARTED": str(started),
            "ANSWER": str(answer),
            "START_BUILD": "fail" if start_fails else "ok",
            "AWS_REGION": "eu-west-1",
        },
        check=True,
        capture_output=True,
        timeout=60,
    )
    builds = [json.loads(line) for line in started.read_text().splitlines()] if started.exists() else []
    return builds, json.loads(answer.read_text()) if answer.exists() else None


def test_the_handler_starts_one_build_of_our_tag_and_leaves_the_answer_to_the_build(
    cloud: Synthesized, tmp_path: Path
) -> None:
    # WHEN CloudFormation creates (or updates) the build resource
    builds, answer = _run_handler(cloud, tmp_path, "Create")

    # THEN one build of this project starts with the content tag, and the handler does not answer itself
    (build,) = builds
    variables = {v["name"]: v["value"] for v in build["environmentVariablesOverride"]}
    assert build["projectName"] == _resource(cloud, _build(cloud).project)["Properties"]["Name"]
    assert variables["imageTag"] == _build(cloud).tag
    assert variables["repositoryUri"].endswith(f"/{cloud.settings.repository_name}")
    assert answer is None


def test_a_build_that_cannot_start_fails_the_deploy_with_the_reason(cloud: Synthesized, tmp_path: Path) -> None:
    builds, answer = _run_handler(cloud, tmp_path, "Update", start_fails=True)
    assert builds == []
    assert answer is not None
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "Project cannot be found: inbox-mailer-dev-function-image-build"


def test_deleting_the_build_resource_builds_nothing_and_succeeds(cloud: Synthesized, tmp_path: Path) -> None:
    builds, answer = _run_handler(cloud, tmp_path, "Delete")
    assert builds == []
    assert answer is not None
    assert answer["Status"] == "SUCCESS"


def test_the_construct_failure_answer_is_not_json_until_it_is_put_on_one_line(cloud: Synthesized) -> None:
    # GIVEN the construct's own post-build script, as it comes (a line break inside the JSON string)
    original = _build(cloud).original_buildspec
    script = original["phases"]["post_build"]["commands"][1]
    payload = script.split("cat <<EOF > payload.json\n", 1)[1].split("\nEOF", 1)[0]
    failed = payload.replace("$REASON", "ContainerImageBuild failed. See ... reason: \nhttps://link")

    # THEN that answer is not valid JSON, and the rewritten script no longer produces a line break there
    with pytest.raises(json.JSONDecodeError):
        json.loads(failed)
    assert "reason: \nhttps://" in script
    assert "reason: \nhttps://" not in skip_existing_tag(original)["phases"]["post_build"]["commands"][1]


def test_build_log_has_retention_and_is_where_the_project_writes(cloud: Synthesized) -> None:
    build = _build(cloud)
    project = _resource(cloud, build.project)["Properties"]
    group = _resource(cloud, build.build_log_group)["Properties"]
    group_name = {"Ref": cloud.logical_id(build.build_log_group)}
    assert group["RetentionInDays"] == cloud.settings.log_retention_days
    # A generated name: a group kept by a destroy or a failed first deploy never blocks the next deploy.
    assert "LogGroupName" not in group
    assert project["LogsConfig"]["CloudWatchLogs"] == {"Status": "ENABLED", "GroupName": group_name}
    # The failure link is made from this variable of the project.
    assert project["Environment"]["EnvironmentVariables"] == [
        {"Name": LOG_GROUP_VARIABLE, "Type": "PLAINTEXT", "Value": group_name}
    ]
    assert project["Environment"]["PrivilegedMode"] is True


def test_handler_log_has_retention_and_is_the_only_one_of_the_handler(cloud: Synthesized) -> None:
    build = _build(cloud)
    handler = _resource(cloud, build.handler)["Properties"]
    group = _resource(cloud, build.handler_log_group)["Properties"]
    assert group["RetentionInDays"] == cloud.settings.log_retention_days
    assert handler["LoggingConfig"] == {"LogGroup": {"Ref": cloud.logical_id(build.handler_log_group)}}
    groups = cloud.function.find_resources("AWS::Logs::LogGroup")
    assert sorted(groups) == sorted(
        cloud.logical_id(g)
        for g in (build.build_log_group, build.handler_log_group, cloud.stacks.function.mailer.log_group)
    )


def test_the_handler_runs_on_the_latest_node_runtime_on_arm64_with_little_memory(cloud: Synthesized) -> None:
    handler = _resource(cloud, _build(cloud).handler)["Properties"]
    assert handler["Runtime"] == lambda_.Runtime.NODEJS_LATEST.name
    assert handler["Architectures"] == ["arm64"]
    assert handler["MemorySize"] == HANDLER_MEMORY_MIB


def test_a_build_that_never_answers_fails_the_deploy_within_the_answer_timeout(cloud: Synthesized) -> None:
    project = _resource(cloud, _build(cloud).project)["Properties"]
    timeout = _image_build_properties(cloud)["ServiceTimeout"]
    assert project["TimeoutInMinutes"] == BUILD_TIMEOUT_MINUTES
    assert timeout == ANSWER_TIMEOUT.to_seconds() > BUILD_TIMEOUT_MINUTES * 60
    assert timeout < 3600  # CloudFormation's default wait, and the most it allows


# Least privilege


def test_the_build_may_push_only_to_this_repository_and_read_only_its_source(cloud: Synthesized) -> None:
    build = _build(cloud)
    statements = {s["Sid"]: s for s in _statements(cloud, build.project.role)}
    assert sorted(statements) == [
        "LogInToTheRegistries",
        "PushToThisRepositoryOnly",
        "ReadThisSourceArchiveOnly",
        "WriteTheBuildLog",
    ]
    push = statements["PushToThisRepositoryOnly"]
    assert sorted(push["Action"]) == sorted(PUSH_ACTIONS)
    assert push["Resource"]["Fn::Join"][1][-1] == f":repository/{cloud.settings.repository_name}"
    read = statements["ReadThisSourceArchiveOnly"]
    source_url = _image_build_properties(cloud)["sourceS3Url"]["Fn::Sub"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-2:] == [
        {"Fn::Sub": source_url.removeprefix("s3://").split("/")[0]},
        "/" + source_url.rsplit("/", 1)[1],
    ]
    assert statements["WriteTheBuildLog"]["Resource"] == {
        "Fn::GetAtt": [cloud.logical_id(build.build_log_group), "Arn"]
    }
    assert "ManagedPolicyArns" not in _resource(cloud, build.project.role)["Properties"]


def test_the_handler_may_start_only_this_build_and_write_only_its_log(cloud: Synthesized) -> None:
    build = _build(cloud)
    statements = _statements(cloud, build.handler.role)
    project_id = cloud.logical_id(build.project)
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("codebuild:StartBuild", {"Fn::GetAtt": [project_id, "Arn"]}),
        (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            {"Fn::GetAtt": [cloud.logical_id(build.handler_log_group), "Arn"]},
        ),
    ]
    assert "ManagedPolicyArns" not in _resource(cloud, build.handler.role)["Properties"]


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_both_rule_packs_find_no_unacknowledged_violation_in_the_cloud_build(cloud: Synthesized, pack: Any) -> None:
    app = cloud.stacks.registry.node.root
    report = pack(app).validate_scope(app)
    assert [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations] == []


def test_every_acknowledgement_of_the_cloud_build_is_narrow_and_reasoned(cloud: Synthesized) -> None:
    assert acknowledgement_problems(cloud.stacks.registry.node.root) == []


def test_least_privilege_holds_for_the_cloud_build(cloud: Synthesized, report: Callable[[str], None]) -> None:
    documents, violations = assembly_violations(cloud.outdir)
    assert [str(v) for v in violations] == []
    assert documents >= 8
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
    handler_id = cloud.logical_id(_build(cloud).handler)
    assert {s.check_id for s in result.skipped if s.resource.endswith(handler_id)} == {
        "CKV_AWS_115",
        "CKV_AWS_116",
        "CKV_AWS_117",
    }


def test_cfn_lint_finds_no_error_and_only_allowed_warnings_in_the_cloud_build(cloud: Synthesized) -> None:
    findings = run_cfn_lint(list(stack_templates(cloud.outdir).values()))
    assert [str(f) for f in blocking(findings, load_section("cfn_lint"))] == []


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


def test_the_build_waits_for_its_log_group_before_it_starts(cloud: Synthesized) -> None:
    # The build writes its log and its failure link names that group: it must exist before the first build.
    build = _build(cloud)
    resource = _resource(cloud, build.custom_resource)
    assert cloud.logical_id(build.build_log_group) in resource["DependsOn"]


def test_the_project_is_named_after_the_stack_and_pulls_codebuilds_own_image(cloud: Synthesized) -> None:
    project = _resource(cloud, _build(cloud).project)["Properties"]
    assert project["Name"] == "inbox-mailer-dev-function-image-build"
    environment = project["Environment"]
    assert environment["Image"] == "aws/codebuild/amazonlinux2-aarch64-standard:3.0"
    assert environment["ImagePullCredentialsType"] == "CODEBUILD"
    assert sorted(environment) == sorted(
        ["ComputeType", "EnvironmentVariables", "Image", "ImagePullCredentialsType", "PrivilegedMode", "Type"]
    )


def test_the_project_and_handler_roles_have_no_managed_policy_and_no_other_statement(cloud: Synthesized) -> None:
    build = _build(cloud)
    for role in (build.project.role, build.handler.role):
        props = _resource(cloud, role)["Properties"]
        assert not {"ManagedPolicyArns", "Policies"} & set(props)
    assert [s["Sid"] for s in _statements(cloud, build.project.role)] == [
        "PushToThisRepositoryOnly",
        "ReadThisSourceArchiveOnly",
        "WriteTheBuildLog",
        "LogInToTheRegistries",
    ]
    login = _statements(cloud, build.project.role)[-1]
    assert (sorted(login["Action"]), login["Resource"]) == (
        ["ecr-public:GetAuthorizationToken", "ecr:GetAuthorizationToken", "sts:GetServiceBearerToken"],
        "*",
    )
    write = _statements(cloud, build.project.role)[2]
    assert write["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    handler_log = [s for s in _statements(cloud, build.handler.role) if s.get("Sid") == "WriteTheHandlerLog"]
    assert len(handler_log) == 1


def test_the_project_has_no_source_of_its_own_and_reads_the_archive_its_buildspec_names(cloud: Synthesized) -> None:
    # The handler passes the archive's S3 URL; a project source would be fetched on top of it.
    source = _resource(cloud, _build(cloud).project)["Properties"]["Source"]
    assert source["Type"] == "NO_SOURCE"
    assert sorted(source) == ["BuildSpec", "Type"]


def test_the_build_resource_and_its_logs_keep_their_logical_ids(cloud: Synthesized) -> None:
    # A new id for the build resource builds and pushes the image again on a deploy that changed nothing; a new id
    # for a retained log group leaves the old group and its history behind.
    build = _build(cloud)
    assert cloud.logical_id(build.custom_resource) == "CloudImageBuild69FFC561"
    assert cloud.logical_id(build.build_log_group) == "CloudImageBuildLogsC95926E0"
    assert cloud.logical_id(build.handler_log_group) == "CloudImageHandlerLogs532EEC6B"


def test_the_local_build_adds_no_cloud_build(synthesized: Synthesized) -> None:
    assert synthesized.stacks.function.cloud_image is None
    assert synthesized.function.find_resources("AWS::CodeBuild::Project") == {}
    assert synthesized.function.find_resources("Custom::CDKContainerImageBuild") == {}


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


def test_the_build_resource_is_served_by_the_handler_and_starts_this_project(cloud: Synthesized) -> None:
    build = _build(cloud)
    props = _image_build_properties(cloud)
    assert sorted(props) == [
        "ServiceTimeout",
        "ServiceToken",
        "buildCommand",
        "codeBuildProjectName",
        "imageTag",
        "repositoryUri",
        "sourceS3Url",
        "type",
    ]
    assert props["ServiceToken"] == {"Fn::GetAtt": [cloud.logical_id(build.handler), "Arn"]}
    assert props["codeBuildProjectName"] == {"Ref": cloud.logical_id(build.project)}
    assert props["type"] == "ContainerImageBuild"
    assert props["imageTag"] == build.tag
