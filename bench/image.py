"""Figure 5: bytes the image adds over the Lambda base image, and the build context CDK stages.

The dependency size is the arm64 / CPython 3.13 wheel resolution of lambda_image/requirements.txt, unzipped.
The reference is the same resolution without boto3 and its own dependencies, which the Lambda Python base
image already ships: the difference is what pinning boto3/botocore in the image costs.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

from bench.common import LAMBDA_IMAGE, OUT_DIR, VENV_BIN, Figure
from checks.cdk_cli import cdk_env

WHEELS = OUT_DIR / "wheels"
# What the base image provides already (boto3 and what it pulls in).
BASE_IMAGE_PROVIDES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})
CONTEXT_NEEDS = re.compile(
    r"^(Dockerfile|\.dockerignore|requirements\.txt|lambda_function\.py|inbox_mailer/[a-z_]+\.py)$"
)


def _download() -> list[Path]:
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            *("-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"),
            *("--platform", "manylinux2014_aarch64", "--python-version", "3.13", "--implementation", "cp"),
            *("-r", str(LAMBDA_IMAGE / "requirements.txt"), "-d", str(WHEELS)),
        ],
        env=cdk_env(),
        check=True,
        capture_output=True,
    )
    return sorted(WHEELS.glob("*.whl"))


def _project(wheel: Path) -> str:
    return wheel.name.split("-")[0].lower().replace("_", "-")


def _unzipped(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        return sum(info.file_size for info in archive.infolist())


def _files(directory: Path) -> dict[str, int]:
    return {
        path.relative_to(directory).as_posix(): path.stat().st_size
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def measure(synth_out: Path) -> Figure:
    wheels = _download()
    per_package = {_project(wheel): _unzipped(wheel) for wheel in wheels}
    code = sum(_files(LAMBDA_IMAGE / "inbox_mailer").values()) + (LAMBDA_IMAGE / "lambda_function.py").stat().st_size
    added = sum(per_package.values()) + code
    without_boto = sum(size for name, size in per_package.items() if name not in BASE_IMAGE_PROVIDES) + code
    manifests = [json.loads(path.read_text(encoding="utf-8")) for path in synth_out.glob("*.assets.json")]
    [directory] = [image["source"]["directory"] for m in manifests for image in m.get("dockerImages", {}).values()]
    asset = synth_out / directory
    context = _files(asset)
    unexpected = sorted(name for name in context if not CONTEXT_NEEDS.match(name))
    return Figure(
        name="image_added_bytes",
        value=added,
        reference=without_boto,
        unit="bytes",
        goal="build context holds only what the image needs; added bytes reported and justified",
        met=not unexpected,
        detail={
            "dependencies_unzipped_bytes": per_package,
            "code_bytes": code,
            "boto3_family_bytes": added - without_boto,
            "reference": "same resolution without boto3/botocore/s3transfer/jmespath/dateutil/six/urllib3",
            "build_context_bytes": sum(context.values()),
            "build_context_files": context,
            "build_context_unexpected": unexpected,
        },
    )
