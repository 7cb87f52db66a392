"""A month of the app's bill: one row per billed item, its quantity worked out from the templates and a usage profile.

Money is Decimal throughout. A month is 365/12 days. Free tiers are shown beside each row and never subtracted:
whether an account still has them depends on its age and on what else it runs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from inbox_mailer.contract import Metric
from tools.cost.assembly import Deployment
from tools.cost.prices import Price, PriceTable
from tools.cost.profile import Profile

BENCH_RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results.json"
DAYS_A_MONTH = Decimal(365) / Decimal(12)
SECONDS_A_MONTH = DAYS_A_MONTH * 24 * 3600
GIB = Decimal(1024**3)
# Where the stacks are not pinned to a region (`region` unset) the estimate prices this one, and says so.
DEFAULT_REGION = "us-east-1"

# What the function does per file (lambda_image/inbox_mailer/delivery.py): a HEAD and a GET of the object, two
# writes of its idempotency record (in progress, then done), one S3 event through EventBridge into the queue, and
# the queue's send, receive and delete. Receives and deletes are batched (the event source's batch size), so these
# are upper bounds, reached when files arrive one at a time.
S3_READS_A_FILE = 2
TABLE_WRITES_A_FILE = 2
QUEUE_REQUESTS_A_FILE = 3
# Lambda's SQS event source long-polls with about five pollers while the queue is empty, each waiting 20 s per
# receive (AWS's event source documentation); these receives are billed as SQS requests.
IDLE_POLLERS = 5
LONG_POLL_SECONDS = 20
# One attached file logged about 1 KiB in the handler's tests (Powertools' lines 750 B, the EMF blob 280 B);
# Lambda's START/END/REPORT lines add a few hundred bytes. Rounded up: not measured on a deployed function.
LOG_BYTES_A_FILE = 2048
# One server access log record (S3 documents the fields; a record is a few hundred bytes).
ACCESS_LOG_BYTES_A_REQUEST = 400
# Custom metrics: every name the function emits, each with one dimension set (the `service` dimension).
CUSTOM_METRICS = len(Metric)


@dataclass(frozen=True)
class BenchFigures:
    """The figures of `make bench` the estimate uses (bench/results.json)."""

    # `image_added_bytes`: what the image adds to its base image (uncompressed); the base image's layers are not in it.
    image_bytes: Decimal
    # `per_file_memory_20MB` cases: (file bytes, handler seconds), SES and S3 answered by moto in process.
    attached_seconds: tuple[tuple[Decimal, Decimal], ...]
    linked_seconds: tuple[tuple[Decimal, Decimal], ...]
    # `cold_start`: the handler's import and client set-up, billed as init time.
    cold_start_seconds: Decimal

    @staticmethod
    def read(path: Path = BENCH_RESULTS) -> BenchFigures:
        results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        cases = results["per_file_memory_20MB"]["detail"]["cases"]

        def points(outcome: str) -> tuple[tuple[Decimal, Decimal], ...]:
            return tuple(
                sorted(
                    (Decimal(c["file_bytes"]), Decimal(str(c["handler_s"]))) for c in cases if c["outcome"] == outcome
                )
            )

        return BenchFigures(
            image_bytes=Decimal(results["image_added_bytes"]["value"]),
            attached_seconds=points("attached"),
            linked_seconds=points("linked"),
            cold_start_seconds=Decimal(str(results["cold_start"]["value"])),
        )


def seconds_for(points: tuple[tuple[Decimal, Decimal], ...], size: Decimal) -> Decimal:
    """Handler seconds for a file of `size` bytes: straight lines between the measured sizes, the last one extended."""
    if size <= points[0][0] or len(points) == 1:
        return points[0][1]
    for (low, low_s), (high, high_s) in itertools.pairwise(points):
        if size <= high:
            return low_s + (high_s - low_s) * (size - low) / (high - low)
    (low, low_s), (high, high_s) = points[-2], points[-1]
    return high_s + (high_s - low_s) * (size - high) / (high - low)


class AddRow(Protocol):
    def __call__(self, label: str, item: str, quantity: Decimal, basis: str, *, fixed: bool = False) -> None: ...


@dataclass(frozen=True)
class Row:
    label: str
    item: str
    quantity: Decimal
    # How the quantity was worked out, and from which template or figure.
    basis: str
    # Part of what the deployment costs before any file arrives.
    fixed: bool
    price: Price | None

    @property
    def usd(self) -> Decimal | None:
        return None if self.price is None else self.quantity * self.price.per_unit


@dataclass(frozen=True)
class Estimate:
    region: str
    region_note: str
    profile: Profile
    recipients: int
    rows: tuple[Row, ...]
    # Items that could not be priced, one line each.
    missing: tuple[str, ...]
    prices_read_on: str

    @property
    def fixed_usd(self) -> Decimal:
        return sum((r.usd for r in self.rows if r.fixed and r.usd is not None), Decimal(0))

    @property
    def total_usd(self) -> Decimal:
        return sum((r.usd for r in self.rows if r.usd is not None), Decimal(0))


def estimate(
    deployment: Deployment,
    profile: Profile,
    *,
    recipients: int,
    prices: PriceTable,
    bench: BenchFigures,
    region: str | None = None,
) -> Estimate:
    if region is not None:
        chosen, note = region, "the region asked for"
    elif deployment.region is not None:
        chosen, note = deployment.region, "the stacks' region (the region setting)"
    else:
        chosen, note = DEFAULT_REGION, "region unset: priced at us-east-1; set -c region=... or --region"
    rows: list[Row] = []
    missing: list[str] = []

    def add(label: str, item: str, quantity: Decimal, basis: str, *, fixed: bool = False) -> None:
        price = prices.find(chosen, item)
        if price is None:
            missing.append(f"No price for {item} in {chosen}: add it to tools/cost/prices.csv ({label}).")
        rows.append(Row(label=label, item=item, quantity=quantity, basis=basis, fixed=fixed, price=price))

    _fixed_rows(deployment, bench, add, missing)
    _usage_rows(deployment, profile, recipients, bench, add, missing)
    missing.extend(f"Not priced: {what}." for what in deployment.unpriced)
    largest_s = seconds_for(bench.attached_seconds, profile.largest_file_bytes)
    if largest_s > deployment.mailer.timeout_seconds:
        missing.append(
            f"The largest file would take about {largest_s:.0f} s to attach, more than the function's timeout "
            f"({deployment.mailer.timeout_seconds} s): it fails unless it goes as a link (max_message_bytes)."
        )
    return Estimate(
        region=chosen,
        region_note=note,
        profile=profile,
        recipients=recipients,
        rows=tuple(rows),
        missing=tuple(missing),
        prices_read_on=prices.read_on,
    )


def _fixed_rows(deployment: Deployment, bench: BenchFigures, add: AddRow, missing: list[str]) -> None:
    add(
        "Alarms",
        "cloudwatch.alarm-metrics",
        Decimal(deployment.alarm_metrics),
        f"{deployment.alarms} AWS::CloudWatch::Alarm reading {deployment.alarm_metrics} standard-resolution metrics",
        fixed=True,
    )
    if deployment.high_resolution_alarm_metrics:
        add(
            "High-resolution alarms",
            "cloudwatch.high-resolution-alarm-metrics",
            Decimal(deployment.high_resolution_alarm_metrics),
            "alarm metrics with a period under 60 s",
            fixed=True,
        )
    add("Dashboard", "cloudwatch.dashboards", Decimal(deployment.dashboards), "AWS::CloudWatch::Dashboard", fixed=True)
    rotation = (
        f"; {deployment.rotated_kms_keys} rotated yearly: +$1 a month per rotation, for the first two"
        if deployment.rotated_kms_keys
        else ""
    )
    add("KMS keys", "kms.keys", Decimal(deployment.kms_keys), f"AWS::KMS::Key{rotation}", fixed=True)
    images = deployment.images
    if images is None:
        return
    if images.tagged is None:
        missing.append(
            "Not priced: stored images. The repository's lifecycle rules bound no tagged images, so every image "
            f"pushed stays ({bench.image_bytes / 10**6:.1f} MB each)."
        )
        return
    aged = f"; {', '.join(images.by_age)} not counted" if images.by_age else ""
    add(
        "Stored images (ECR)",
        "ecr.storage",
        images.tagged * bench.image_bytes / GIB,
        f"{images.tagged} images the lifecycle keeps ({' + '.join(images.rules)}{aged}) x "
        f"{bench.image_bytes / 10**6:.1f} MB, bench's image_added_bytes (what the app adds to the base image)",
        fixed=True,
    )


def _usage_rows(
    deployment: Deployment, profile: Profile, recipients: int, bench: BenchFigures, add: AddRow, missing: list[str]
) -> None:
    files = profile.files_per_day * DAYS_A_MONTH
    attached = files * (1 - profile.link_share)
    linked = files * profile.link_share
    size = profile.average_file_bytes
    mailer = deployment.mailer
    gb = Decimal(mailer.memory_mib) / 1024
    attach_s = seconds_for(bench.attached_seconds, size)
    link_s = seconds_for(bench.linked_seconds, size)
    add(
        "Function requests",
        "lambda.requests",
        files,
        f"one invocation a file at most (batches of up to {mailer.batch_size} share one)",
    )
    add(
        "Function run time",
        f"lambda.{mailer.architecture}-duration",
        (attached * attach_s + linked * link_s) * gb,
        f"{mailer.memory_mib} MiB {mailer.architecture}; {attach_s:.3f} s an attached, {link_s:.3f} s a linked file "
        "(bench per_file_memory_20MB handler_s, between its measured sizes)",
    )
    add(
        "Function cold starts",
        f"lambda.{mailer.architecture}-duration",
        files * bench.cold_start_seconds * gb,
        f"init is billed; at most one a file, {bench.cold_start_seconds} s (bench cold_start)",
    )
    if mailer.traced:
        add("X-Ray traces", "xray.traces", files, "tracing Active: one trace an invocation at most (sampling)")
    add(
        "SES mails",
        "ses.mails",
        files * recipients,
        f"one mail a file to the {recipients} `recipients`, billed per recipient",
    )
    add(
        "SES attachments",
        "ses.attachments",
        attached * size / GIB,
        "the attached files' bytes, once a mail",
    )
    if mailer.batch_size is not None:
        add("Queue requests", "sqs.requests", files * QUEUE_REQUESTS_A_FILE, "send, receive and delete a file at most")
        add(
            "Queue idle polls",
            "sqs.requests",
            IDLE_POLLERS * SECONDS_A_MONTH / LONG_POLL_SECONDS,
            f"{IDLE_POLLERS} event source pollers, one {LONG_POLL_SECONDS} s long poll each",
        )
    if deployment.s3_event_rules:
        add("EventBridge events", "events.aws-service-events", files, "S3 Object Created events on the default bus")
    downloads = linked * recipients
    add("S3 uploads", "s3.put-requests", files, "one PUT a file")
    add(
        "S3 reads",
        "s3.get-requests",
        files * S3_READS_A_FILE + downloads,
        "HEAD and GET by the function; each recipient downloads each link once",
    )
    kept_days = Decimal(deployment.inbox_expiration_days) if deployment.inbox_expiration_days else DAYS_A_MONTH
    grows = "" if deployment.inbox_expiration_days else "; nothing expires uploads: grows by this each month"
    add(
        "S3 storage",
        "s3.storage",
        profile.files_per_day * min(kept_days, DAYS_A_MONTH) * size / GIB,
        f"a month of uploads{grows}",
    )
    add("Link downloads", "s3.transfer-out", downloads * size / GIB, "data out to the internet, one download a link")
    if deployment.has_access_logs:
        log_days = Decimal(deployment.access_log_expiration_days or DAYS_A_MONTH)
        requests_a_day = profile.files_per_day * (1 + S3_READS_A_FILE) + downloads / DAYS_A_MONTH
        add(
            "S3 access logs",
            "s3.storage",
            requests_a_day * log_days * ACCESS_LOG_BYTES_A_REQUEST / GIB,
            f"{ACCESS_LOG_BYTES_A_REQUEST} B a request, kept {log_days:.0f} days (the log bucket's lifecycle)",
        )
    if deployment.on_demand_tables:
        add(
            "Idempotency table writes",
            "dynamodb.write-requests",
            files * TABLE_WRITES_A_FILE,
            "on-demand table: in progress, then done; reads only on a repeated delivery",
        )
    if deployment.provisioned_tables:
        missing.append("Not priced: a DynamoDB table with provisioned capacity (billed per hour, not per request).")
    add(
        "Custom metrics (EMF)",
        "cloudwatch.metrics",
        Decimal(CUSTOM_METRICS),
        f"{CUSTOM_METRICS} names in contract.Metric, one dimension set; billed only in hours they are emitted",
    )
    if deployment.ses_event_metrics:
        add(
            "SES event metrics",
            "cloudwatch.metrics",
            Decimal(deployment.ses_event_metrics),
            "configuration set events to CloudWatch: event types x dimensions",
        )
    ingested = files * LOG_BYTES_A_FILE / GIB
    add(
        "Log ingestion",
        "logs.ingestion",
        ingested,
        f"{LOG_BYTES_A_FILE} B a file (about 1 KiB in the handler's tests, rounded up)",
    )
    retention = mailer.log_retention_days
    if retention is None:
        missing.append("Not priced: log storage. The function's log group keeps logs forever: set a retention.")
    else:
        add(
            "Log storage",
            "logs.storage",
            ingested / DAYS_A_MONTH * retention,
            f"{retention} days of logs (the log group's retention)",
        )


def money(usd: Decimal | None) -> str:
    if usd is None:
        return "no price"
    if usd == 0:
        return "0.00"
    if usd < Decimal("0.01"):
        return "<0.01"
    return f"{usd.quantize(Decimal('0.01')):,}"


def fixed_parts(estimate: Estimate) -> dict[str, Decimal]:
    parts: dict[str, Decimal] = {}
    for row in estimate.rows:
        if row.fixed and row.usd is not None:
            parts[row.label] = parts.get(row.label, Decimal(0)) + row.usd
    return parts
