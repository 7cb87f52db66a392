"""A CRLF checkout (Git for Windows' core.autocrlf) builds the same image, under the same tag, as CI's LF checkout.

HEAD's image folder is checked out with and without autocrlf into temporary folders, and its tag is computed as the
app does: the local asset's hash and the cloud build's tag. The CDK's fingerprint reads CRLF as LF, so the tag alone
cannot tell the checkouts apart: without .gitattributes the same tag would name an image built from other bytes
(and tags are immutable, so whichever was pushed first would stay).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ecr_assets as ecr_assets

from stacks.cloud_image import image_tag
from stacks.mailer import ARCHITECTURE
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
IMAGE = "lambda_image"


def _checkout(tmp_path: Path, *, autocrlf: bool, attributes: bool) -> Path:
    """HEAD's image folder, checked out with `autocrlf` into a fresh work tree, with or without our .gitattributes."""
    work = tmp_path / f"autocrlf-{autocrlf}-attributes-{attributes}"
    work.mkdir()
    if attributes:
        shutil.copy(ROOT / ".gitattributes", work / ".gitattributes")
    env = {**os.environ, "GIT_INDEX_FILE": str(work.with_suffix(".index"))}
    git = ["git", "-C", str(ROOT), "--work-tree", str(work), "-c", f"core.autocrlf={str(autocrlf).lower()}"]
    subprocess.run([*git, "read-tree", f"--prefix={IMAGE}/", f"HEAD:{IMAGE}"], env=env, check=True)
    subprocess.run([*git, "checkout-index", "--all", "--force"], env=env, check=True)
    return work / IMAGE


def _tags(directory: Path) -> tuple[str, str]:
    """The local image asset's hash and the cloud build's tag of `directory`, computed as stacks/ computes them."""
    asset = ecr_assets.DockerImageAsset(
        Stack(), "Image", directory=str(directory), platform=ecr_assets.Platform.custom(ARCHITECTURE.docker_platform)
    )
    return asset.asset_hash, image_tag(directory, ARCHITECTURE.docker_platform)


def _files(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def test_a_crlf_checkout_gives_the_image_the_same_tag_and_the_same_bytes(tmp_path: Path) -> None:
    lf = _checkout(tmp_path, autocrlf=False, attributes=True)
    windows = _checkout(tmp_path, autocrlf=True, attributes=True)
    assert _tags(windows) == _tags(lf)
    assert _files(windows) == _files(lf)


def test_without_the_attributes_the_same_tag_would_name_other_bytes(tmp_path: Path) -> None:
    lf = _checkout(tmp_path, autocrlf=False, attributes=False)
    windows = _checkout(tmp_path, autocrlf=True, attributes=False)
    assert _tags(windows) == _tags(lf)
    changed = [name for name, content in _files(windows).items() if content != _files(lf)[name]]
    assert "Dockerfile" in changed
    assert "lambda_function.py" in changed
    assert all(b"\r\n" in _files(windows)[name] for name in changed)
