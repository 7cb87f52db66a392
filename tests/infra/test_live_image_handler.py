"""The live mark's handler (`stacks/live_image_handler/live_image.py`) against moto's ECR.

moto does ECR's ListImages, BatchGetImage, PutImage (with the tag mutability and its exclusion filters) and
BatchDeleteImage, so the marks move in a repository configured as the registry's. What moto cannot do is be
CloudFormation: the requests are CloudFormation's documented shape (tests/events/live_image_mark_update.json),
handed to the handler the way CloudFormation would in a deploy, a failed deploy and its rollback, and the answer
it PUTs to the presigned URL goes to a stand-in at that boundary (a local HTTP server for the real `_put`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from stacks.live_image_handler import live_image
from stacks.live_image_handler.live_image import LiveMarkError, answer, mark_tags, moved_marks, parse_image_uri
from stacks.registry import MARK_PATTERNS
from tests.conftest import ROOT

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

REGION = "eu-west-1"
REPOSITORY = "inbox-mailer-dev"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
UPDATE: dict[str, Any] = json.loads((ROOT / "tests" / "events" / "live_image_mark_update.json").read_text())


def _tag(commit: str) -> str:
    return hashlib.sha256(commit.encode()).hexdigest()


def _manifest(commit: str) -> str:
    layer = f"sha256:{hashlib.sha256(f'layer of {commit}'.encode()).hexdigest()}"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7, "digest": layer},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 7, "digest": layer}],
        }
    )


class Deploys:
    """A repository configured like the registry's, the images pushed into it, and the handler's answers."""

    def __init__(self, ecr: ECRClient) -> None:
        self.ecr = ecr
        self.sent: list[dict[str, Any]] = []
        self.digests: dict[str, str] = {}

    def push(self, commit: str) -> str:
        image = self.ecr.put_image(repositoryName=REPOSITORY, imageManifest=_manifest(commit), imageTag=_tag(commit))
        self.digests[commit] = image["image"]["imageId"]["imageDigest"]
        return self.digests[commit]

    def request(self, commit: str, *, kind: str = "Update", rollback_images: int = 3) -> dict[str, Any]:
        event = copy.deepcopy(UPDATE)
        event["RequestType"] = kind
        event["ResourceProperties"]["ImageUri"] = f"{REGISTRY}/{REPOSITORY}:{_tag(commit)}"
        event["ResourceProperties"]["RollbackImages"] = str(rollback_images)
        return answer(event, ecr=self.ecr, send=lambda _url, body: self.sent.append(json.loads(body)))

    def marks(self) -> dict[str, str]:
        """mark tag -> the commit whose image carries it."""
        by_digest = {digest: commit for commit, digest in self.digests.items()}
        images = self.ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
        return {
            tag: by_digest[image["imageDigest"]]
            for image in images
            for tag in image.get("imageTags", [])
            if live_image.is_mark(tag)
        }


@pytest.fixture
def deploys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deploys]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ecr = boto3.client("ecr", region_name=REGION)
        ecr.create_repository(
            repositoryName=REPOSITORY,
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
            imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": p} for p in MARK_PATTERNS],
        )
        yield Deploys(ecr)


def test_a_deploy_marks_its_image_live_and_shifts_the_others(deploys: Deploys) -> None:
    for commit in ("a", "b", "c"):
        deploys.push(commit)
    deploys.request("a", kind="Create")
    assert deploys.marks() == {"live": "a"}
    deploys.request("b")
    deploys.request("c")
    assert deploys.marks() == {"live": "c", "rollback-1": "b", "rollback-2": "a"}
    assert deploys.sent[-1]["Status"] == "SUCCESS"
    assert deploys.sent[-1]["Data"] == {"LiveDigest": deploys.digests["c"]}


def test_a_rollback_re_runs_with_the_old_properties_and_restores_the_mark(deploys: Deploys) -> None:
    # GIVEN b is live and c's deploy marked c before a later resource failed
    for commit in ("a", "b", "c"):
        deploys.push(commit)
    deploys.request("a", kind="Create")
    deploys.request("b")
    deploys.request("c")
    # WHEN CloudFormation rolls the mark back: an Update with the old properties (b's image)
    deploys.request("b")
    # THEN b is live again, and the failed image keeps a rollback mark until newer deploys push it out
    assert deploys.marks() == {"live": "b", "rollback-1": "c", "rollback-2": "a"}


def test_a_redeploy_of_an_old_commit_moves_live_back_without_a_push(deploys: Deploys) -> None:
    for commit in ("a", "b", "c"):
        deploys.push(commit)
    for commit in ("a", "b", "c", "a"):
        deploys.request(commit)
    assert deploys.marks() == {"live": "a", "rollback-1": "c", "rollback-2": "b"}


def test_marks_beyond_rollback_images_are_taken_off_and_their_images_stay(deploys: Deploys) -> None:
    for commit in ("a", "b", "c", "d"):
        deploys.push(commit)
        deploys.request(commit)
    deploys.request("d", rollback_images=1)
    assert deploys.marks() == {"live": "d", "rollback-1": "c"}
    # Only the mark went: the images keep their content-hash tags.
    images = deploys.ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
    assert sorted(t for i in images for t in i["imageTags"] if not live_image.is_mark(t)) == sorted(
        _tag(c) for c in "abcd"
    )


def test_an_image_that_is_not_in_the_repository_fails_the_deploy_with_one_line(deploys: Deploys) -> None:
    deploys.push("a")
    deploys.request("a")
    result = deploys.request("never-pushed")
    assert result["Status"] == "FAILED"
    assert result["Reason"] == (
        f"The function's image {REGISTRY}/{REPOSITORY}:{_tag('never-pushed')} is not in repository {REPOSITORY}: "
        "the marks stay put"
    )
    assert deploys.marks() == {"live": "a"}


def test_delete_answers_success_and_leaves_the_marks(deploys: Deploys) -> None:
    deploys.push("a")
    deploys.request("a")
    result = deploys.request("a", kind="Delete")
    assert result["Status"] == "SUCCESS"
    assert result["PhysicalResourceId"] == UPDATE["PhysicalResourceId"]
    assert deploys.marks() == {"live": "a"}


def test_content_hash_tags_stay_immutable_while_marks_move(deploys: Deploys) -> None:
    deploys.push("a")
    with pytest.raises(ClientError, match="ImageAlreadyExists"):
        deploys.ecr.put_image(repositoryName=REPOSITORY, imageManifest=_manifest("other"), imageTag=_tag("a"))


def test_a_request_without_properties_still_answers_cloudformation(deploys: Deploys) -> None:
    event = copy.deepcopy(UPDATE)
    del event["ResourceProperties"]["ImageUri"]
    result = answer(event, ecr=deploys.ecr, send=lambda _url, body: deploys.sent.append(json.loads(body)))
    assert result["Status"] == "FAILED"
    assert deploys.sent == [result]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{REGISTRY}/{REPOSITORY}:abc", (REPOSITORY, {"imageTag": "abc"})),
        (
            f"{REGISTRY}/team/{REPOSITORY}@sha256:{'0' * 64}",
            (f"team/{REPOSITORY}", {"imageDigest": f"sha256:{'0' * 64}"}),
        ),
    ],
)
def test_image_uris_name_their_repository_and_image(uri: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_image_uri(uri) == expected


def test_an_image_uri_without_tag_or_digest_is_refused() -> None:
    with pytest.raises(LiveMarkError, match="names no tag or digest"):
        parse_image_uri(f"{REGISTRY}/{REPOSITORY}")


@given(
    history=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=20),
    rollback_images=st.integers(min_value=1, max_value=5),
)
def test_marks_follow_the_deploys_newest_first_each_image_once(history: list[str], rollback_images: int) -> None:
    marks: dict[str, str] = {}
    for target in history:
        marks = moved_marks(marks, target, rollback_images)
    expected = list(dict.fromkeys(reversed(history)))[: rollback_images + 1]
    assert marks == dict(zip(mark_tags(rollback_images), expected, strict=False))


def test_the_answer_reaches_cloudformation_s_presigned_url() -> None:
    received: list[tuple[str, bytes, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body, self.headers.get("Content-Type")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    live_image._put(f"http://127.0.0.1:{server.server_port}/response?X-Amz-Signature=example", b'{"Status":"SUCCESS"}')
    thread.join(timeout=5)
    server.server_close()
    assert received == [("/response?X-Amz-Signature=example", b'{"Status":"SUCCESS"}', "")]


class _Recording:
    """moto's ECR client, recording the tags PutImage moves, in order."""

    def __init__(self, ecr: ECRClient) -> None:
        self._ecr = ecr
        self.moved: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ecr, name)

    def put_image(self, **kwargs: Any) -> Any:
        self.moved.append(kwargs["imageTag"])
        return self._ecr.put_image(**kwargs)


def test_the_oldest_mark_moves_first_and_live_last(deploys: Deploys) -> None:
    # GIVEN a, b, c deployed in turn
    for commit in ("a", "b", "c", "d"):
        deploys.push(commit)
    for commit in ("a", "b", "c"):
        deploys.request(commit)
    # WHEN d is deployed
    recording = _Recording(deploys.ecr)
    deploys.ecr = recording  # type: ignore[assignment]
    deploys.request("d")
    # THEN a handler stopped between two calls never leaves the running image without a mark
    assert recording.moved == ["rollback-3", "rollback-2", "rollback-1", "live"]
    assert deploys.marks() == {"live": "d", "rollback-1": "c", "rollback-2": "b", "rollback-3": "a"}
