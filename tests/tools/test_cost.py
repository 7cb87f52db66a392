"""`make cost` on a small hand-written assembly: every row against numbers worked out by hand.

The assembly holds one of each billed thing with round sizes, the price table one round price per item, so each
expected figure below can be checked with a pencil. The synthesized app itself is priced in test_cost_synth.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from inbox_mailer.contract import Metric
from tests.conftest import ROOT
from tools.cost import assembly, prices, profile, report
from tools.cost.__main__ import main
from tools.cost.estimate import BenchFigures, Estimate, Row, estimate, seconds_for

GIB = Decimal(1024**3)
MIB = Decimal(1024**2)
REGION = "xx-test-1"
ITEMS = (
    *("lambda.requests", "lambda.arm64-duration", "xray.traces", "ses.mails", "ses.attachments", "sqs.requests"),
    *("events.aws-service-events", "s3.storage", "s3.put-requests", "s3.get-requests", "s3.transfer-out"),
    *("dynamodb.write-requests", "cloudwatch.alarm-metrics", "cloudwatch.high-resolution-alarm-metrics"),
    *("cloudwatch.dashboards", "cloudwatch.metrics", "logs.ingestion", "logs.storage", "kms.keys", "ecr.storage"),
)

LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countNumber": 1,
                "countUnit": "days",
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": 5,
            },
            "action": {"type": "expire"},
        },
    ]
}


def _template() -> dict[str, Any]:
    """One of each billed resource: 1024 MiB arm64, traced, 7 days of logs, 3 standard and 1 fast alarm metric."""
    metric = {"MetricStat": {"Metric": {"MetricName": "M"}, "Period": 300, "Stat": "Sum"}}
    resources = {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "MemorySize": 1024,
                "Architectures": ["arm64"],
                "Timeout": 60,
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
            },
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Source": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"FunctionName": {"Ref": "Fn"}, "BatchSize": 10},
        },
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Simple": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Errors", "Period": 60}},
        "Math": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"Metrics": [metric, metric, {"Expression": "m1+m2", "Id": "e"}]},
        },
        "Fast": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "Errors", "Period": 10}},
        "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
        "Table": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {"BillingMode": "PAY_PER_REQUEST"}},
        "Inbox": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
                "LoggingConfiguration": {"DestinationBucketName": {"Ref": "AccessLogs"}},
            },
        },
        "AccessLogs": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"LifecycleConfiguration": {"Rules": [{"ExpirationInDays": 30, "Status": "Enabled"}]}},
        },
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["aws.s3"]}}},
        "SesMetrics": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "EventDestination": {
                    "Enabled": True,
                    "MatchingEventTypes": ["send", "bounce"],
                    "CloudWatchDestination": {"DimensionConfigurations": [{"DimensionName": "d"}]},
                }
            },
        },
    }
    return {"Resources": resources}


def _registry() -> dict[str, Any]:
    return {
        "Resources": {
            "Repo": {
                "Type": "AWS::ECR::Repository",
                "Properties": {"LifecyclePolicy": {"LifecyclePolicyText": json.dumps(LIFECYCLE)}},
            }
        }
    }


def write_assembly(folder: Path, templates: dict[str, dict[str, Any]], region: str = "unknown-region") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name, template in templates.items():
        (folder / f"{name}.template.json").write_text(json.dumps(template), encoding="utf-8")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://unknown-account/{region}",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (folder / "manifest.json").write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")
    return folder


def price_table(path: Path, items: tuple[str, ...] | list[str] = ITEMS) -> prices.PriceTable:
    """$1 a unit for every item, 10 units free a month: a row's dollars are its quantity."""
    lines = ["region,item,unit,usd,per,free_per_month,free_tier,read_on,status,source"]
    lines += [f"{REGION},{item},unit,1,1,10,always,2026-12-05,reviewed,https://example.com" for item in items]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return prices.load(path)


BENCH = BenchFigures(
    image_bytes=GIB / 2,
    # 0.5 s for an empty file, 1.5 s for 2 MiB: 1.0 s for the 1 MiB average, 20.5 s for 40 MiB.
    attached_seconds=((Decimal(0), Decimal("0.5")), (2 * MIB, Decimal("1.5"))),
    linked_seconds=((Decimal(0), Decimal("0.1")),),
    cold_start_seconds=Decimal(1),
)
# 12 files a day are 365 a month (a month is 365/12 days): 292 attached, 73 as links, to 3 recipients.
PROFILE = profile.Profile(
    files_per_day=12, average_file_bytes=MIB, largest_file_bytes=40 * MIB, link_share=Decimal("0.2")
)


@pytest.fixture
def hand_assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out", {"function": _template(), "registry": _registry()})


def _estimate(folder: Path, table: prices.PriceTable, region: str | None = REGION) -> Estimate:
    return estimate(assembly.read(folder), PROFILE, recipients=3, prices=table, bench=BENCH, region=region)


def _by_label(result: Estimate) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {row.label: (row.quantity, row.usd) for row in result.rows}


def test_each_row_is_the_quantity_worked_out_by_hand(hand_assembly: Path, tmp_path: Path) -> None:
    # GIVEN one of each billed thing, $1 a unit; WHEN priced for 365 files a month
    rows = _by_label(_estimate(hand_assembly, price_table(tmp_path / "p.csv")))
    seconds_a_month = Decimal(365) / 12 * 86400
    expected = {
        "Alarms": Decimal(3),  # 1 simple + 2 metrics of the math alarm (its expression is free)
        "High-resolution alarms": Decimal(1),
        "Dashboard": Decimal(1),
        "KMS keys": Decimal(1),
        "Stored images (ECR)": Decimal("2.5"),  # 5 kept x 0.5 GiB
        "Function requests": Decimal(365),
        "Function run time": Decimal("299.3"),  # (292 x 1.0 s + 73 x 0.1 s) x 1 GB
        "Function cold starts": Decimal(365),  # 365 x 1 s x 1 GB
        "X-Ray traces": Decimal(365),
        "SES mails": Decimal(1095),  # 365 x 3 recipients
        "SES attachments": Decimal(292) / 1024,  # 292 MiB
        "Queue requests": Decimal(1095),  # send, receive, delete
        "Queue idle polls": 5 * seconds_a_month / 20,
        "EventBridge events": Decimal(365),
        "S3 uploads": Decimal(365),
        "S3 reads": Decimal(949),  # 2 x 365 by the function + 73 links x 3 recipients
        "S3 storage": Decimal(365) / 1024,  # a month of 1 MiB uploads
        "Link downloads": Decimal(219) / 1024,  # 219 MiB
        # (36 + 7.2) requests a day x 30 days x 400 B
        "S3 access logs": Decimal("43.2") * 30 * 400 / GIB,
        "Idempotency table writes": Decimal(730),
        "Custom metrics (EMF)": Decimal(len(Metric)),
        "SES event metrics": Decimal(2),  # 2 event types x 1 dimension
        "Log ingestion": Decimal(365 * 2048) / GIB,
        "Log storage": Decimal(12 * 2048 * 7) / GIB,  # a day's 12 files' logs x 7 days
    }
    assert set(rows) == set(expected)
    for label, quantity in expected.items():
        assert rows[label][0] == pytest.approx(quantity, rel=Decimal("1e-12")), label
        assert rows[label][1] == rows[label][0], label


def test_the_fixed_rows_are_the_alarms_dashboard_keys_and_images(hand_assembly: Path, tmp_path: Path) -> None:
    result = _estimate(hand_assembly, price_table(tmp_path / "p.csv"))
    fixed = {row.label for row in result.rows if row.fixed}
    assert fixed == {"Alarms", "High-resolution alarms", "Dashboard", "KMS keys", "Stored images (ECR)"}
    assert result.fixed_usd == Decimal("8.5")  # 3 + 1 + 1 + 1 + 2.5


def test_free_tiers_are_shown_and_never_subtracted(hand_assembly: Path, tmp_path: Path) -> None:
    # GIVEN 10 free units a month on every item, and rows smaller than that (1 dashboard)
    result = _estimate(hand_assembly, price_table(tmp_path / "p.csv"))
    dashboard = next(row for row in result.rows if row.label == "Dashboard")
    # THEN the row still costs its full quantity and the free amount is a column of its own
    assert dashboard.usd == Decimal(1)
    assert report.free_tier(dashboard) == "10"
    assert result.total_usd == sum(row.quantity for row in result.rows)
    console = Console(record=True, width=report.WIDTH, color_system=None)
    report.print_estimate(result, console)
    assert "Free tiers are shown, not subtracted" in console.export_text()


def test_a_first_12_months_free_tier_is_marked() -> None:
    table = prices.load()
    ecr = table.find("us-east-1", "ecr.storage")
    assert ecr is not None
    row = Row(label="Stored images", item="ecr.storage", quantity=Decimal(1), basis="", fixed=True, price=ecr)
    assert report.free_tier(row) == "0.5 (12 mo)"


def test_an_item_without_a_price_is_a_clear_line_not_a_zero(hand_assembly: Path, tmp_path: Path) -> None:
    # GIVEN a table that lists everything but SES's mails
    table = price_table(tmp_path / "p.csv", [item for item in ITEMS if item != "ses.mails"])
    result = _estimate(hand_assembly, table)
    mails = next(row for row in result.rows if row.label == "SES mails")
    assert mails.usd is None
    assert result.missing == (f"No price for ses.mails in {REGION}: add it to tools/cost/prices.csv (SES mails).",)
    assert result.total_usd == sum(row.quantity for row in result.rows if row.label != "SES mails")
    console = Console(record=True, width=report.WIDTH, color_system=None)
    report.print_estimate(result, console)
    text = console.export_text()
    assert "no price" in text
    assert "No price for ses.mails in xx-test-1" in text


def test_a_region_the_table_lacks_prices_nothing_and_says_so(hand_assembly: Path) -> None:
    result = _estimate(hand_assembly, prices.load(), region="ap-south-2")
    assert all(row.usd is None for row in result.rows)
    assert len(result.missing) == len(result.rows)
    assert result.total_usd == 0


def test_the_price_table_covers_every_item_in_each_region_with_its_date_and_page() -> None:
    table = prices.load()
    assert {"us-east-1", "eu-west-1", "eu-central-1"} <= set(table.regions)
    for region in table.regions:
        assert {item for r, item in table.prices if r == region} == set(ITEMS) | {"kms.requests"}, region
    assert all(
        p.source.startswith("https://aws.amazon.com/") and p.read_on == "2026-12-05" for p in table.prices.values()
    )
    lines = prices.PRICES.read_text(encoding="utf-8").splitlines()[1:]
    assert all("reviewed list price, not fetched" in line for line in lines)


def test_the_region_is_the_asked_then_the_stacks_then_us_east_1(tmp_path: Path) -> None:
    table = prices.load()
    unpinned = write_assembly(tmp_path / "a", {"function": _template()})
    pinned = write_assembly(tmp_path / "b", {"function": _template()}, region="eu-west-1")
    assert _estimate(unpinned, table, region=None).region == "us-east-1"
    assert "region unset" in _estimate(unpinned, table, region=None).region_note
    assert _estimate(pinned, table, region=None).region == "eu-west-1"
    assert _estimate(pinned, table, region="eu-central-1").region == "eu-central-1"


def test_the_plan_line_prices_the_fixed_part_at_the_region(hand_assembly: Path) -> None:
    # GIVEN the hand-written assembly and the real us-east-1 prices and bench image figure
    image_bytes = Decimal(BenchFigures.read().image_bytes)
    images = 5 * image_bytes / GIB * Decimal("0.10")
    # 3 alarm metrics at $0.10, one fast one at $0.30, a $3 dashboard, a $1 key
    fixed = Decimal("0.30") + Decimal("0.30") + 3 + 1 + images
    line = report.fixed_monthly_line(hand_assembly, "us-east-1")
    assert line.startswith(f"Fixed cost a month in us-east-1: ${fixed.quantize(Decimal('0.01'))} (alarms $0.30, ")
    assert f"stored images (ecr) ${images.quantize(Decimal('0.01'))}" in line
    assert line.endswith("run `make cost` for your usage.")


@pytest.mark.parametrize(
    ("rules", "kept", "said"),
    [
        # live + rollbacks + the newest N: each count rule keeps at most its count
        (
            [("tagged", ["live"], 1), ("tagged", ["rollback-*"], 3), ("tagged", ["*"], 10)],
            14,
            ("1 tagged live", "3 tagged rollback-*", "10 tagged *"),
        ),
        ([("any", [], 4)], 4, ("4 any",)),
        # only prefixed rules: tagged images outside them are never expired
        ([("tagged", ["release-"], 5)], None, ("5 tagged release-",)),
        ([], None, ()),
    ],
)
def test_the_lifecycle_is_read_generically(
    rules: list[tuple[str, list[str], int]], kept: int | None, said: tuple[str, ...]
) -> None:
    policy = {
        "rules": [
            {
                "rulePriority": n + 1,
                "selection": {"tagStatus": status, "countType": "imageCountMoreThan", "countNumber": count}
                | ({"tagPatternList": patterns} if patterns else {}),
                "action": {"type": "expire"},
            }
            for n, (status, patterns, count) in enumerate(rules)
        ]
    }
    images = assembly.kept_images({"LifecyclePolicy": {"LifecyclePolicyText": json.dumps(policy)}})
    assert (images.tagged, images.rules) == (kept, said)


def test_unbounded_images_are_a_clear_line(tmp_path: Path) -> None:
    registry = _registry()
    registry["Resources"]["Repo"]["Properties"] = {}
    folder = write_assembly(tmp_path / "cdk.out", {"function": _template(), "registry": registry})
    result = _estimate(folder, price_table(tmp_path / "p.csv"))
    assert "Stored images (ECR)" not in _by_label(result)
    assert any(line.startswith("Not priced: stored images.") for line in result.missing)


def test_the_largest_file_outlasting_the_timeout_is_said(hand_assembly: Path, tmp_path: Path) -> None:
    # 40 MiB attaches in 20.5 s by the bench line; a 120 MiB file in 60.5 s, over the 60 s timeout
    table = price_table(tmp_path / "p.csv")
    deployment = assembly.read(hand_assembly)
    fits = estimate(deployment, PROFILE, recipients=3, prices=table, bench=BENCH, region=REGION)
    larger = profile.Profile(
        files_per_day=12, average_file_bytes=MIB, largest_file_bytes=120 * MIB, link_share=Decimal("0.2")
    )
    over = estimate(deployment, larger, recipients=3, prices=table, bench=BENCH, region=REGION)
    assert not fits.missing
    assert over.missing == (
        "The largest file would take about 60 s to attach, more than the function's timeout (60 s): it fails "
        "unless it goes as a link (max_message_bytes).",
    )


@given(st.decimals(min_value=0, max_value=10**9, places=0))
def test_seconds_follow_the_measured_line(size: Decimal) -> None:
    seconds = seconds_for(BENCH.attached_seconds, size)
    assert seconds == Decimal("0.5") + size / (2 * MIB)


# Bad usage input: each one line that names the flag and what it accepts.
MIB_RANGE = "a number of MiB above 0 and up to 5,242,880 (S3's largest object)"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--files-per-day", "-5"],
            "Invalid --files-per-day '-5': expected a whole number of files from 0 to 10,000,000.",
        ),
        (
            ["--files-per-day=20000000"],
            "Invalid --files-per-day '20000000': expected a whole number of files from 0 to 10,000,000.",
        ),
        (
            ["--files-per-day", "1.5"],
            "Invalid --files-per-day '1.5': expected a whole number of files from 0 to 10,000,000.",
        ),
        (
            ["--files-per-day", "many"],
            "Invalid --files-per-day 'many': expected a whole number of files from 0 to 10,000,000.",
        ),
        (["--files-per-day"], "--files-per-day needs a value: a whole number of files from 0 to 10,000,000."),
        (
            ["--files-per-day", "--link-share", "0.5"],
            "--files-per-day needs a value: a whole number of files from 0 to 10,000,000.",
        ),
        (
            ["--average-file-mib", "0"],
            f"Invalid --average-file-mib '0': expected {MIB_RANGE}.",
        ),
        (
            ["--largest-file-mib", "nan"],
            f"Invalid --largest-file-mib 'nan': expected {MIB_RANGE}.",
        ),
        (
            ["--largest-file-mib", "6000000"],
            f"Invalid --largest-file-mib '6000000': expected {MIB_RANGE}.",
        ),
        (
            ["--link-share", "1.5"],
            "Invalid --link-share '1.5': expected a fraction from 0 to 1 of the files mailed as a link, e.g. 0.1.",
        ),
        (
            ["--link-share", "-0.1"],
            "Invalid --link-share '-0.1': expected a fraction from 0 to 1 of the files mailed as a link, e.g. 0.1.",
        ),
        (
            ["--average-file-mib", "30", "--largest-file-mib", "20"],
            "--average-file-mib (30) is above --largest-file-mib (20): the average file cannot be larger than the "
            "largest.",
        ),
        (["--files-a-day", "5"], "Unknown option --files-a-day: did you mean --files-per-day?"),
        (["--region", "Europe"], "Invalid --region 'Europe': expected an AWS region name such as eu-west-1."),
        (
            ["-c", "recipients=not-an-address"],
            "Invalid setting 'recipients' = 'not-an-address': expected 1 to 50 distinct email addresses, as a JSON "
            "list or comma-separated.",
        ),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], line: str, hand_assembly: Path) -> None:
    console = Console(record=True, width=400, color_system=None)
    assert main([*args, "-o", str(hand_assembly)], console) == 2
    assert console.export_text() == line + "\n"


@given(st.integers(max_value=-1))
def test_any_negative_count_is_refused_naming_the_flag(count: int) -> None:
    with pytest.raises(profile.ProfileError, match=r"^Invalid --files-per-day '-\d+': expected a whole number"):
        profile.parse(["--files-per-day", str(count)])


@given(st.integers(min_value=0, max_value=profile.MAX_FILES_PER_DAY), st.decimals(min_value=0, max_value=1, places=3))
def test_any_sensible_profile_is_read_as_given(files: int, share: Decimal) -> None:
    read = profile.parse(["-c", "stage=dev", "--files-per-day", str(files), f"--link-share={share}"])
    assert (read.profile.files_per_day, read.profile.link_share, read.cdk_args) == (files, share, ("-c", "stage=dev"))


def test_a_missing_assembly_says_to_synthesize_first(tmp_path: Path) -> None:
    console = Console(record=True, width=400, color_system=None)
    assert main(["-o", str(tmp_path / "nothing")], console) == 2
    assert (
        console.export_text()
        == f"No cloud assembly in {tmp_path / 'nothing'}: run `make synth` (or cdk synth) first.\n"
    )


def test_the_plan_can_import_the_line_without_the_cdk() -> None:
    # `make synth`'s plan runs in a plain interpreter: pricing must not start the CDK's Node.js process
    script = "import sys, tools.cost.report; print(*sorted(sys.modules))"
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    loaded = result.stdout.split()
    assert "tools.cost.report" in loaded
    assert [m for m in loaded if m.split(".")[0] in ("aws_cdk", "jsii", "constructs")] == []
