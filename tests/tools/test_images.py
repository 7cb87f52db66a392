"""`make images` and `make status`'s image section against moto's ECR.

moto does DescribeImages (with sizes), GetLifecyclePolicy and Lambda's GetFunction; its scan findings are not
ECR's (every image gets the same made-up scan), so DescribeImageScanFindings is answered by a stand-in at the
boto3 boundary (`Scans` below) that holds the counts each test gives, or refuses as a role without the permission.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.ecr.models import ecr_backends
from rich.console import Console

from tests.tools.support import FUNCTION, REGION, moto_clients
from tools import images
from tools.cost import prices
from tools.deployed import Clients, ToolError, run

REPOSITORY = "inbox-mailer-dev"
# The registry's policy (stacks/registry.py) with two rollback marks and two images to keep.
POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "live",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["live"],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "rollback",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["rollback-*"],
                "countType": "imageCountMoreThan",
                "countNumber": 2,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 4,
            "description": "Keep the newest 2 tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": 2,
            },
            "action": {"type": "expire"},
        },
    ]
}
CELL = r"[\s│]+"


def _manifest(commit: str, size: int) -> str:
    layer = f"sha256:{hashlib.sha256(commit.encode()).hexdigest()}"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            # moto reports the config's size as the image's.
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": size, "digest": layer},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": size, "digest": layer}
            ],
        }
    )


class Scans:
    """ECR's client, except that DescribeImageScanFindings answers what the test set (or refuses)."""

    def __init__(self, ecr: Any, *, counts: dict[str, dict[str, int]] | None = None, refuse: bool = False) -> None:
        self._ecr = ecr
        self.counts = counts or {}
        self.refuse = refuse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ecr, name)

    def describe_image_scan_findings(self, *, repositoryName: str, imageId: dict[str, str]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        if self.refuse:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeImageScanFindings"
            )
        key = imageId.get("imageDigest") or imageId["imageTag"]
        if key not in self.counts:
            raise ClientError(
                {"Error": {"Code": "ScanNotFoundException", "Message": "no scan"}}, "DescribeImageScanFindings"
            )
        return {
            "imageScanStatus": {"status": "COMPLETE"},
            "imageScanFindings": {"findingSeverityCounts": self.counts[key]},
        }


def _push(ecr: Any, commit: str, *, days_ago: int = 0, size: int = 100 * 1024**2, marks: tuple[str, ...] = ()) -> str:
    manifest = _manifest(commit, size)
    answer = ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag=f"hash-{commit}")
    digest: str = answer["image"]["imageId"]["imageDigest"]
    for mark in marks:
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag=mark)
    # moto stamps every push with the current second; the lifecycle orders by push time, so set it as if pushed then.
    (image,) = [i for i in ecr_backends[ACCOUNT][REGION].repositories[REPOSITORY].images if i.image_digest == digest]
    image.image_pushed_at = int((datetime.now(UTC) - timedelta(days=days_ago)).timestamp())
    return digest


@pytest.fixture
def repository(mocked_aws: None) -> Any:
    """Five images pushed a day apart: c is live, b is rollback-1; a, d and e carry no mark."""
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=REPOSITORY)
    ecr.put_lifecycle_policy(repositoryName=REPOSITORY, lifecyclePolicyText=json.dumps(POLICY))
    digests = {}
    for age, (commit, marks) in enumerate(
        reversed((("a", ()), ("b", ("rollback-1",)), ("c", ("live",)), ("d", ()), ("e", ())))
    ):
        digests[commit] = _push(ecr, commit, days_ago=age, marks=marks)
    return digests


def _show(console: Console, ecr: Any, *, days_later: float = 0) -> str:
    images.show(ecr, REPOSITORY, console, region=REGION, now=datetime.now(UTC) + timedelta(days=days_later))
    return console.export_text()


def test_images_lists_each_image_with_its_marks_findings_and_what_expires_next(
    repository: dict[str, str], console: Console
) -> None:
    ecr = Scans(boto3.client("ecr", region_name=REGION), counts={repository["c"]: {"CRITICAL": 2, "MEDIUM": 5}})
    text = _show(console, ecr)
    assert re.search(rf"hash-c{CELL}\S+ \S+{CELL}100.0 MiB{CELL}live{CELL}CRITICAL 2, MEDIUM 5{CELL}kept", text)
    assert re.search(rf"hash-b{CELL}.*protected \(rollback-1\){CELL}not scanned{CELL}kept", text)
    # The newest two (e, d) count towards the two kept; c and b are marked; a is the one that goes.
    assert re.search(rf"hash-a{CELL}.*not scanned{CELL}expires \(Keep the newest 2 tagged images\)", text)
    for kept in ("hash-d", "hash-e"):
        assert re.search(rf"{kept}{CELL}.*{CELL}kept", text)
    assert "The next lifecycle run (ECR runs it within a day) expires 1 of these images." in text


def test_images_prices_the_storage_with_the_reviewed_dated_price(repository: dict[str, str], console: Console) -> None:
    text = _show(console, boto3.client("ecr", region_name=REGION))
    details = boto3.client("ecr", region_name=REGION).describe_images(repositoryName=REPOSITORY)["imageDetails"]
    total = sum(d["imageSizeInBytes"] for d in details)
    price = prices.load().find(REGION, "ecr.storage")
    assert price is not None
    assert (
        f"5 images, {total / 1024**3:.3f} GB: at most USD {total / 1024**3 * float(price.per_unit):.2f} a month" in text
    )
    assert f"USD 0.10 per GB-month ({REGION}, read on {price.read_on} from https://aws.amazon.com/ecr/pricing/)" in text


def test_a_region_the_price_table_does_not_list_is_priced_at_us_east_1_and_says_so() -> None:
    price, said = images.storage_price("ap-southeast-7")
    assert price.region == "us-east-1"
    assert said.startswith("us-east-1's, the table lists no price for ap-southeast-7; read on ")
    assert images.monthly_cost(10 * 1024**3, price) == 10 * price.per_unit


def test_a_role_that_may_not_read_findings_still_lists_the_images(repository: dict[str, str], console: Console) -> None:
    text = _show(console, Scans(boto3.client("ecr", region_name=REGION), refuse=True))
    assert text.count("could not read (AccessDeniedException)") == 5


def test_a_repository_without_lifecycle_policy_is_said_to_keep_everything(mocked_aws: None, console: Console) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=REPOSITORY)
    _push(ecr, "a")
    text = _show(console, ecr)
    assert f"{REPOSITORY} has no lifecycle policy: nothing ever expires." in text


def test_a_repository_that_does_not_exist_yet_is_one_line_that_says_what_to_do(
    mocked_aws: None, capsys: pytest.CaptureFixture[str], console: Console
) -> None:
    code = run(lambda argv: images.main(argv, clients=moto_clients(), console=console), [])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: The repository {REPOSITORY} does not exist yet: `make deploy` creates it with the first image.\n"
    )


def test_images_reads_the_repository_of_the_stage_it_is_given(mocked_aws: None) -> None:
    assert images.repository_name(["-c", "stage=prod"]) == "inbox-mailer-prod"
    with pytest.raises(ToolError, match="Invalid setting 'stage'"):
        images.repository_name(["-c", "stage=Prod!"])


def _function_on(clients: Clients, digest: str) -> None:
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="mailer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    uri = clients.ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"][0]["repositoryUri"]
    clients.lambda_.create_function(
        FunctionName=FUNCTION, Role=role, PackageType="Image", Code={"ImageUri": f"{uri}@{digest}"}
    )


def test_status_shows_the_live_image_its_mark_scan_and_findings(repository: dict[str, str]) -> None:
    clients = moto_clients()
    _function_on(clients, repository["c"])
    scans = Scans(clients.ecr, counts={repository["c"]: {"CRITICAL": 1, "HIGH": 3, "LOW": 7}})
    rows = images.scan_rows(_with_ecr(clients, scans), {"FunctionName": FUNCTION}, REPOSITORY)
    assert rows == [
        ("live image", "hash-c"),
        ("live mark", "yes: the lifecycle never expires it"),
        ("scan", "complete"),
        ("findings", "[bold red]CRITICAL 1, HIGH 3, LOW 7[/]"),
    ]


def test_status_says_when_the_function_s_image_carries_no_live_mark(repository: dict[str, str]) -> None:
    clients = moto_clients()
    _function_on(clients, repository["d"])
    rows = dict(images.scan_rows(_with_ecr(clients, Scans(clients.ecr)), {"FunctionName": FUNCTION}, REPOSITORY))
    assert rows["live mark"].startswith("[yellow]missing[/]: `make deploy` once more marks it")
    assert rows["scan"] == "not scanned"
    assert "findings" not in rows


def test_status_gives_one_could_not_read_line_when_aws_refuses(mocked_aws: None) -> None:
    clients = moto_clients()
    rows = images.scan_rows(clients, {"FunctionName": FUNCTION}, REPOSITORY)
    assert len(rows) == 1
    assert rows[0][0] == "image scan"
    assert rows[0][1].startswith("could not read: ")
    assert FUNCTION in rows[0][1]


def test_status_says_which_permission_a_role_lacks(repository: dict[str, str]) -> None:
    clients = moto_clients()
    _function_on(clients, repository["c"])
    refusing = _Refusing(clients.ecr)
    rows = images.scan_rows(_with_ecr(clients, refusing), {"FunctionName": FUNCTION}, REPOSITORY)
    assert rows == [
        ("image scan", "could not read: not allowed: ecr:DescribeImages — the credentials need it for the image scan")
    ]


def test_status_gives_one_line_for_a_stack_without_a_function_output(mocked_aws: None) -> None:
    assert images.scan_rows(moto_clients(), {}, REPOSITORY) == [
        ("image scan", "could not read: the stack has no FunctionName output (deploy the current version)")
    ]


def _with_ecr(clients: Clients, ecr: Any) -> Clients:
    return Clients(**{**clients.__dict__, "ecr": ecr})


class _Refusing:
    """ECR's client for a role that may not describe images."""

    def __init__(self, ecr: Any) -> None:
        self._ecr = ecr

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ecr, name)

    def describe_images(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "DescribeImages")


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        ("d001343a3fbc47b5c80aff89fa88df8ad111a408e5681aebad0444efeb2c2e59", "d001343a3fbc47b5c…"),
        ("cloud-8b2c8f2e2eb40e1c8f626b0fc9e9d04a634a1b49d7eb19b57554b23e0fcd796f", "cloud-8b2c8f2e2eb…"),
        ("hash-a", "hash-a"),
    ],
)
def test_long_content_hash_tags_are_cut_like_short_commit_hashes(tag: str, shown: str) -> None:
    assert images.short_tag(tag) == shown
