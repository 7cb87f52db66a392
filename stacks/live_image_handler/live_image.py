"""The live mark: the deploy tags the function's image `live` and shifts the images live before it to `rollback-N`.

CloudFormation calls `on_event` directly (the resource's service token is this function) whenever the function's
image changes, after the function itself was updated, and again with the old properties when a deploy rolls back:
each request moves the marks to the image its properties name, so a rollback restores the mark with no special
case. The repository's lifecycle rules never expire an image carrying a mark (stacks/registry.py), and its tag
mutability leaves these tags movable while content-hash tags stay immutable.

`moved_marks` is the decision, a pure function the offline proof reuses (tests/infra/test_live_image_property.py);
`move_marks` carries it out with ECR's calls; `on_event` answers CloudFormation through its presigned URL.

Runs on Lambda's Python runtime with the boto3 it bundles; nothing else is packaged.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageIdentifierTypeDef

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

LIVE_TAG = "live"
ROLLBACK_TAG_PREFIX = "rollback-"
# Any of these is what the repository may hold under a tag; a moved tag keeps its image's own manifest type.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)
_IMAGE_URI = re.compile(r"^[^/]+/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]+))?$")
_ROLLBACK_TAG = re.compile(rf"^{re.escape(ROLLBACK_TAG_PREFIX)}(?P<index>[1-9]\d*)$")


class LiveMarkError(Exception):
    """The marks could not be moved; the message is one line, shown by CloudFormation."""


def mark_tags(rollback_images: int) -> list[str]:
    """The mark tags in order: the live image's, then the one live before it, and so on."""
    return [LIVE_TAG, *(f"{ROLLBACK_TAG_PREFIX}{index}" for index in range(1, rollback_images + 1))]


def is_mark(tag: str) -> bool:
    return tag == LIVE_TAG or bool(_ROLLBACK_TAG.fullmatch(tag))


def _mark_order(tag: str) -> int:
    match = _ROLLBACK_TAG.fullmatch(tag)
    return int(match["index"]) if match else 0


def moved_marks(current: Mapping[str, str], target: str, rollback_images: int) -> dict[str, str]:
    """Where the marks go when `target` (a digest) becomes live: mark tag -> digest.

    `current` holds the marks as they are (tag -> digest). The images live before keep their order behind the
    target, each once, and those beyond `rollback_images` lose their mark. A tag absent from the answer is removed.
    """
    history = [current[tag] for tag in sorted(current, key=_mark_order) if is_mark(tag)]
    order = [target, *(digest for digest in dict.fromkeys(history) if digest != target)]
    return dict(zip(mark_tags(rollback_images), order, strict=False))


def parse_image_uri(uri: str) -> tuple[str, ImageIdentifierTypeDef]:
    """The repository name and the image id (`imageTag` or `imageDigest`) of a function's image URI."""
    match = _IMAGE_URI.fullmatch(uri)
    if not match or not (match["tag"] or match["digest"]):
        raise LiveMarkError(f"The function's image URI {uri!r} names no tag or digest")
    image_id: ImageIdentifierTypeDef = (
        {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"]}
    )
    return match["repository"], image_id


def current_marks(ecr: ECRClient, repository: str) -> dict[str, str]:
    """The mark tags of `repository` and the digest each is on."""
    marks: dict[str, str] = {}
    for page in ecr.get_paginator("list_images").paginate(repositoryName=repository, filter={"tagStatus": "TAGGED"}):
        for image_id in page["imageIds"]:
            tag = image_id.get("imageTag", "")
            if is_mark(tag):
                marks[tag] = image_id["imageDigest"]
    return marks


def _manifests(ecr: ECRClient, repository: str, image_ids: list[ImageIdentifierTypeDef]) -> dict[str, tuple[str, str]]:
    """digest -> (manifest, media type) for each image id that is in the repository."""
    answer = ecr.batch_get_image(
        repositoryName=repository, imageIds=image_ids, acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES)
    )
    found: dict[str, tuple[str, str]] = {}
    for image in answer["images"]:
        digest = image["imageId"]["imageDigest"]
        found[digest] = (image["imageManifest"], image.get("imageManifestMediaType", MANIFEST_MEDIA_TYPES[0]))
    return found


def move_marks(ecr: ECRClient, uri: str, rollback_images: int) -> dict[str, str]:
    """Make the image of `uri` live in its repository and shift the older marks; returns the marks as left."""
    repository, image_id = parse_image_uri(uri)
    target = _manifests(ecr, repository, [image_id])
    if not target:
        raise LiveMarkError(f"The function's image {uri} is not in repository {repository}: the marks stay put")
    (digest,) = target
    current = current_marks(ecr, repository)
    wanted = moved_marks(current, digest, rollback_images)
    to_tag = {tag: d for tag, d in wanted.items() if current.get(tag) != d}
    to_read: list[ImageIdentifierTypeDef] = [{"imageDigest": d} for d in dict.fromkeys(to_tag.values())]
    manifests = _manifests(ecr, repository, to_read) if to_read else {}
    # The oldest mark moves first and `live` last: a handler stopped half-way leaves every image it found marked
    # still marked, and the running one still live.
    for tag, tagged_digest in reversed(to_tag.items()):
        if tagged_digest not in manifests:
            # Expired or deleted by hand since it was marked: the mark cannot follow it.
            logger.warning("Image %s of mark %s is gone from %s", tagged_digest, tag, repository)
            continue
        manifest, media_type = manifests[tagged_digest]
        ecr.put_image(
            repositoryName=repository,
            imageManifest=manifest,
            imageManifestMediaType=media_type,
            imageTag=tag,
            imageDigest=tagged_digest,
        )
    stale: list[ImageIdentifierTypeDef] = [{"imageTag": tag} for tag in current if tag not in wanted]
    if stale:
        # Removing a tag from an image that has others only untags it; every marked image keeps its own hash tag.
        ecr.batch_delete_image(repositoryName=repository, imageIds=stale)
    logger.info("Marks of %s: %s", repository, json.dumps(wanted))
    return wanted


@cache
def _ecr() -> ECRClient:
    return boto3.client("ecr")


def on_event(event: Mapping[str, Any], _context: object) -> None:
    answer(event, ecr=_ecr(), send=_put)


def answer(event: Mapping[str, Any], *, ecr: ECRClient, send: Callable[[str, bytes], None]) -> dict[str, Any]:
    """Handle one CloudFormation request and send CloudFormation its answer; returns the answer."""
    props = event.get("ResourceProperties", {})
    response: dict[str, Any] = {
        "Status": "SUCCESS",
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"{props.get('RepositoryName', 'image')}-live-mark",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    try:
        if event["RequestType"] != "Delete":
            marks = move_marks(ecr, props["ImageUri"], int(props["RollbackImages"]))
            response["Data"] = {"LiveDigest": marks[LIVE_TAG]}
        # On delete the marks stay: the repository outlives the stack, and so do its images.
    except Exception as error:  # CloudFormation waits an hour for an answer that never comes: always answer.
        logger.exception("Could not move the live mark")
        response["Status"] = "FAILED"
        response["Reason"] = " ".join(str(error).split()) or type(error).__name__
    send(event["ResponseURL"], json.dumps(response).encode())
    return response


def _put(url: str, body: bytes) -> None:
    # CloudFormation's presigned https URL, from the request itself.
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
