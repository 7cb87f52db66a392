"""The pinned CDK CLI still builds the image as a single-platform manifest (Lambda refuses OCI image indexes).

The real CLI from node_modules deploys the function stack against a moto server, with a fake `docker` on
CDK_DOCKER that records every call and its environment. The CLI checks ECR, finds no image under the tag,
builds and tags it; the deploy then stops at the missing bootstrap bucket, which is all this needs.
A CLI upgrade that drops BUILDX_NO_DEFAULT_ATTESTATIONS=1 or the arm64 platform fails here, not in a deploy.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from checks.cdk_cli import NODE_BIN, cdk_env
from tests.conftest import Synthesized
from tests.tools.preflight_support import REGION, fake_engine


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def docker_calls(
    moto_server: str, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    # GIVEN an account (moto) holding the app's repository, and a fake engine that records what it is asked
    work = tmp_path_factory.mktemp("cli-build")
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    ecr = boto3.client(
        "ecr",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (image,) = json.loads((synthesized.outdir / "inbox-mailer-dev-function.assets.json").read_text())[
        "dockerImages"
    ].values()
    (destination,) = image["destinations"].values()
    ecr.create_repository(repositoryName=destination["repositoryName"])
    log = work / "docker.log"
    engine = fake_engine(work, "healthy", log=log)
    env = cdk_env(
        AWS_ENDPOINT_URL=moto_server, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, CDK_DOCKER=engine.command,
        **credentials,
    )  # fmt: skip
    env.pop("AWS_PROFILE", None)
    # WHEN the pinned CLI deploys the function stack from the synthesized assembly
    subprocess.run(
        [str(NODE_BIN / "cdk"), "deploy", "inbox-mailer-dev-function", "--exclusively", "--app",
         str(synthesized.outdir), "--require-approval", "never", "--no-notices"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert log.exists(), "the CLI never called the engine"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_pinned_cli_builds_without_default_attestations(docker_calls: list[dict[str, Any]]) -> None:
    # THEN its one build ran with BUILDX_NO_DEFAULT_ATTESTATIONS=1, so the tag holds a single-platform manifest
    (build,) = [call for call in docker_calls if call["args"][0] == "build"]
    assert build["BUILDX_NO_DEFAULT_ATTESTATIONS"] == "1"


def test_the_pinned_cli_builds_for_the_functions_architecture_and_tags_what_it_built(
    docker_calls: list[dict[str, Any]],
) -> None:
    (build,) = [call["args"] for call in docker_calls if call["args"][0] == "build"]
    assert build[build.index("--platform") + 1] == "linux/arm64"
    local_tag = build[build.index("--tag") + 1]
    # The push itself races with the deploy's failure on the missing bootstrap bucket; the tag never does.
    (tag,) = [call["args"] for call in docker_calls if call["args"][0] == "tag"]
    assert tag[1] == local_tag
    assert tag[2].endswith(f"/inbox-mailer-dev:{local_tag.removeprefix('cdkasset-')}")
