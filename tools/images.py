"""`make images`: what the function's image repository holds, what it costs, and what its lifecycle expires next.

Read-only; needs AWS credentials. For each image: its tags, when it was pushed, its size, whether it is live or
protected by a rollback mark (stacks/registry.py), its scan findings, and whether the next lifecycle run expires
it, as the lifecycle model predicts from the repository's own policy (tools/ecr_lifecycle.py). Below the table:
the repository's storage and what it costs a month at ECR's price (from the reviewed price table of `make cost`,
tools/cost/prices.csv, with its date and AWS page).

`scan_rows` is the image section of `make status`: the live image's tags, scan status and findings.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

from stacks.live_image_handler.live_image import LIVE_TAG, LiveMarkError, is_mark, parse_image_uri
from stacks.settings import SettingsError
from tools import aws_problem, deploy_settings
from tools.cost import prices
from tools.cost.prices import Price
from tools.deploy_settings import UsageError
from tools.deployed import Clients, ToolError, argument_parser, run, target_from
from tools.ecr_lifecycle import Image, PolicyError, Rule, expired_by, parse_policy

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef

# AWS bills storage in binary gigabytes.
GB = 1024**3
# ECR's price for private storage comes from the project's one reviewed price table (tools/cost/prices.csv), with the
# date it was read and its AWS page; a region the table does not list is priced at this one's, and says so.
PRICE_ITEM = "ecr.storage"
FALLBACK_REGION = "us-east-1"
# Enough of a 64-digit content hash (after `cloud-`, for cloud builds) to tell the images apart.
SHORT_TAG = 18
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
# The severities the scan rule mails about (stacks/operations.py, which imports the CDK: not imported here).
ALERTING = ("CRITICAL", "HIGH")


@dataclass(frozen=True)
class Findings:
    """One image's scan: ECR's status and, once it completed, the counts by severity (None: not known)."""

    status: str
    counts: Mapping[str, int] | None = None

    def summary(self) -> str:
        if self.counts is None:
            return self.status
        shown = [f"{severity} {self.counts[severity]}" for severity in SEVERITIES if self.counts.get(severity)]
        return ", ".join(shown) or "no findings"

    @property
    def alerting(self) -> bool:
        return any((self.counts or {}).get(severity, 0) > 0 for severity in ALERTING)


@dataclass(frozen=True)
class StoredImage:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    size_bytes: int

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple(sorted((t for t in self.tags if is_mark(t)), key=lambda t: (t != LIVE_TAG, len(t), t)))

    @property
    def own_tags(self) -> tuple[str, ...]:
        return tuple(t for t in self.tags if not is_mark(t))

    def as_model(self) -> Image:
        return Image(digest=self.digest, tags=frozenset(self.tags), pushed_at=self.pushed_at)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def read_images(ecr: ECRClient, repository: str) -> list[StoredImage]:
    """Every image of `repository`, newest first."""
    images: list[StoredImage] = []
    try:
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
            images.extend(
                StoredImage(
                    digest=detail["imageDigest"],
                    tags=tuple(detail.get("imageTags", [])),
                    pushed_at=detail["imagePushedAt"],
                    size_bytes=int(detail.get("imageSizeInBytes", 0)),
                )
                for detail in page["imageDetails"]
            )
    except ClientError as error:
        if _code(error) == "RepositoryNotFoundException":
            raise ToolError(
                f"The repository {repository} does not exist yet: `make deploy` creates it with the first image."
            ) from None
        raise
    return sorted(images, key=lambda image: image.pushed_at, reverse=True)


def findings_of(ecr: ECRClient, repository: str, digest: str) -> Findings:
    """The scan of one image; a scan ECR cannot show (not scanned, or not allowed) says why instead."""
    try:
        answer = ecr.describe_image_scan_findings(repositoryName=repository, imageId={"imageDigest": digest})
    except ClientError as error:
        if _code(error) == "ScanNotFoundException":
            return Findings("not scanned")
        return Findings(f"could not read ({_code(error)})")
    status = str(answer.get("imageScanStatus", {}).get("status", "unknown"))
    if status != "COMPLETE" and status != "ACTIVE":
        return Findings(status.lower().replace("_", " "))
    counts = answer.get("imageScanFindings", {}).get("findingSeverityCounts", {})
    return Findings(status.lower(), {str(k): int(v) for k, v in counts.items()})


def lifecycle_of(ecr: ECRClient, repository: str) -> list[Rule] | None:
    """The repository's lifecycle rules, or None when it has no policy."""
    try:
        text = ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ClientError as error:
        if _code(error) == "LifecyclePolicyNotFoundException":
            return None
        raise
    try:
        return parse_policy(text)
    except PolicyError as error:
        raise ToolError(
            f"The lifecycle policy of {repository} uses what `make images` cannot predict: {error}."
        ) from None


def storage_price(region: str) -> tuple[Price, str]:
    """ECR's storage price for `region` and how to say where it comes from."""
    table = prices.load()
    price = table.find(region, PRICE_ITEM)
    if price is not None:
        return price, f"{region}, read on {price.read_on} from {price.source}"
    fallback = table.find(FALLBACK_REGION, PRICE_ITEM)
    assert fallback is not None, f"tools/cost/prices.csv has no {PRICE_ITEM} price for {FALLBACK_REGION}"
    return fallback, f"{FALLBACK_REGION}'s, the table lists no price for {region}; read on {fallback.read_on}"


def monthly_cost(size_bytes: int, price: Price) -> Decimal:
    return Decimal(size_bytes) / GB * price.per_unit


def show(ecr: ECRClient, repository: str, console: Console, *, region: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    images = read_images(ecr, repository)
    rules = lifecycle_of(ecr, repository)
    expiring = expired_by(rules, [image.as_model() for image in images], now) if rules else {}
    table = Table(
        "tags", "pushed (UTC)", "size", "kept because", "scan findings", "next lifecycle run",
        title=f"Images of {repository}", title_justify="left",
    )  # fmt: skip
    for image in images:
        findings = findings_of(ecr, repository, image.digest)
        rule = expiring.get(image.digest)
        table.add_row(
            "\n".join(map(short_tag, image.own_tags)) or "(untagged)",
            image.pushed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            f"{image.size_bytes / 1024**2:.1f} MiB",
            _kept_because(image),
            f"[bold red]{findings.summary()}[/]" if findings.alerting else findings.summary(),
            f"[yellow]expires[/] ({rule.description or f'rule {rule.priority}'})" if rule else "kept",
        )
    if not images:
        table.add_row("(no images)", "", "", "", "", "")
    console.print(table)
    total = sum(image.size_bytes for image in images)
    price, said = storage_price(region)
    console.print(
        f"{len(images)} images, {total / GB:.3f} GB: at most USD {monthly_cost(total, price):.2f} a month at "
        f"USD {price.per_unit:.2f} per GB-month ({said}). Images share layers, which ECR stores once, so the bill "
        "is often lower."
    )
    if rules is None:
        console.print(f"[yellow]{repository} has no lifecycle policy: nothing ever expires.[/]")
    elif expiring:
        console.print(f"The next lifecycle run (ECR runs it within a day) expires {len(expiring)} of these images.")
    else:
        console.print("The next lifecycle run expires nothing.")


def short_tag(tag: str) -> str:
    """A content-hash tag cut like a short commit hash, so that the table fits a terminal; other tags whole."""
    return tag if len(tag) <= SHORT_TAG else f"{tag[: SHORT_TAG - 1]}…"


def _kept_because(image: StoredImage) -> str:
    if LIVE_TAG in image.marks:
        return "[bold green]live[/]"
    if image.marks:
        return f"[green]protected[/] ({', '.join(image.marks)})"
    return ""


def scan_rows(clients: Clients, outputs: Mapping[str, str], repository: str) -> list[tuple[str, str]]:
    """`make status`'s image section: the live image's tags, scan status and findings by severity.

    The live image is the one the function runs (`FunctionName` of the function stack's outputs), found by the
    image URI its stack deployed. Anything AWS refuses gives one row that says it could not read, and why.
    """
    function = outputs.get("FunctionName")
    if not function:
        return [("image scan", "could not read: the stack has no FunctionName output (deploy the current version)")]
    try:
        code = clients.lambda_.get_function(FunctionName=function)["Code"]
        # The URI the stack deployed: a content-hash tag, which never moves, or a digest.
        _, image_id = parse_image_uri(code.get("ImageUri", "") or code.get("ResolvedImageUri", ""))
        (detail,) = clients.ecr.describe_images(repositoryName=repository, imageIds=[image_id])["imageDetails"]
    except ClientError as error:
        return [("image scan", f"could not read: {aws_problem.describe(error, needed_for='the image scan')}")]
    except LiveMarkError as error:
        return [("image scan", f"could not read: {error}")]
    return image_rows(clients.ecr, repository, detail)


def image_rows(ecr: ECRClient, repository: str, detail: ImageDetailTypeDef) -> list[tuple[str, str]]:
    """The rows of the image the function runs, once described: its tags, its live mark, its scan."""
    tags = list(detail.get("imageTags", []))
    findings = findings_of(ecr, repository, detail["imageDigest"])
    rows = [
        ("live image", ", ".join(t for t in tags if not is_mark(t)) or detail["imageDigest"]),
        (
            "live mark",
            "yes: the lifecycle never expires it"
            if LIVE_TAG in tags
            else "[yellow]missing[/]: `make deploy` once more marks it, until then the lifecycle may expire it",
        ),
        ("scan", findings.status),
    ]
    if findings.counts is not None:
        summary = findings.summary()
        rows.append(("findings", f"[bold red]{summary}[/]" if findings.alerting else summary))
    return rows


def repository_name(argv: Sequence[str]) -> str:
    """The repository a `cdk deploy` with the same options pushes to."""
    try:
        return deploy_settings.read(argv).settings.repository_name
    except (UsageError, SettingsError) as error:
        raise ToolError(str(error)) from None


def main(argv: Sequence[str], *, clients: Clients | None = None, console: Console | None = None) -> int:
    argument_parser(__doc__ or "").parse_known_args(argv)
    target = target_from(argv)
    clients = clients or Clients.for_target(target)
    show(clients.ecr, repository_name(argv), console or Console(), region=clients.region)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
