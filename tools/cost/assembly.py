"""What a synthesized cloud assembly would deploy that is billed: read from its templates, never restated.

The templates are found through the assembly's manifest.json (every `aws:cloudformation:stack` artifact), so a new
alarm, a larger memory size or another lifecycle rule changes the estimate without a change here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALARM = "AWS::CloudWatch::Alarm"
# CloudWatch bills an alarm on a period under a minute at the high-resolution price.
HIGH_RESOLUTION_BELOW_SECONDS = 60
# CloudFormation's defaults when a property is left out.
DEFAULT_MEMORY_MIB = 128
DEFAULT_ARCHITECTURE = "x86_64"
DEFAULT_TIMEOUT_SECONDS = 3
# Custom resources billed by a service the table does not price: named so that the estimate can say so.
UNPRICED_TYPES = {"Custom::CDKContainerImageBuild": "CodeBuild minutes of each image built in the cloud"}


class AssemblyError(ValueError):
    """The assembly cannot be read; the message is one line that says what to do."""


@dataclass(frozen=True)
class Function:
    logical_id: str
    memory_mib: int
    architecture: str
    traced: bool
    timeout_seconds: int
    # Messages per invocation of its SQS event source (None: no queue feeds it).
    batch_size: int | None
    log_retention_days: int | None


@dataclass(frozen=True)
class KeptImages:
    """How many images an ECR lifecycle policy keeps, read from its rules (AWS's lifecycle policy semantics)."""

    # Tagged images kept: the sum of the `imageCountMoreThan` rules' counts (None: no rule bounds them).
    tagged: int | None
    # Each count rule, e.g. "10 tagged *": how the number was read.
    rules: tuple[str, ...]
    # Images expired by age instead, e.g. "untagged after 1 day": kept a short while, not counted.
    by_age: tuple[str, ...]


@dataclass(frozen=True)
class Deployment:
    stacks: tuple[str, ...]
    region: str | None
    mailer: Function
    # Metrics of each alarm: CloudWatch bills an alarm per metric it reads.
    alarm_metrics: int
    high_resolution_alarm_metrics: int
    alarms: int
    dashboards: int
    kms_keys: int
    rotated_kms_keys: int
    on_demand_tables: int
    provisioned_tables: int
    s3_event_rules: int
    inbox_expiration_days: int | None
    access_log_expiration_days: int | None
    has_access_logs: bool
    images: KeptImages | None
    # Metrics CloudWatch receives from SES's configuration set: one per event type and dimension.
    ses_event_metrics: int
    unpriced: tuple[str, ...]


def stack_templates(assembly: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template, in the manifest's order."""
    manifest_path = assembly / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"No cloud assembly in {assembly}: run `make synth` (or cdk synth) first.")
    manifest = _json(manifest_path)
    return {
        name: _json(assembly / artifact["properties"]["templateFile"])
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }


def assembly_region(assembly: Path) -> str | None:
    """The region the stacks are pinned to (`region` setting), or None when they deploy where the credentials say."""
    manifest = _json(assembly / "manifest.json")
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "aws:cloudformation:stack":
            region = str(artifact.get("environment", "")).rpartition("/")[2]
            if region and region != "unknown-region":
                return region
    return None


def read(assembly: Path) -> Deployment:
    templates = stack_templates(assembly)
    resources = {lid: r for t in templates.values() for lid, r in t.get("Resources", {}).items()}
    of_type = _by_type(resources)
    alarms = [r.get("Properties", {}) for r in of_type.get(ALARM, [])]
    metric_counts = [(_alarm_metrics(a), _high_resolution(a)) for a in alarms]
    keys = [r.get("Properties", {}) for r in of_type.get("AWS::KMS::Key", [])]
    tables = [r.get("Properties", {}) for r in of_type.get("AWS::DynamoDB::GlobalTable", [])] + [
        r.get("Properties", {}) for r in of_type.get("AWS::DynamoDB::Table", [])
    ]
    on_demand = sum(1 for t in tables if t.get("BillingMode") == "PAY_PER_REQUEST")
    inbox, access_logs = _buckets(resources)
    repositories = [r.get("Properties", {}) for r in of_type.get("AWS::ECR::Repository", [])]
    return Deployment(
        stacks=tuple(templates),
        region=assembly_region(assembly),
        mailer=_mailer(resources),
        alarm_metrics=sum(count for count, high in metric_counts if not high),
        high_resolution_alarm_metrics=sum(count for count, high in metric_counts if high),
        alarms=len(alarms),
        dashboards=len(of_type.get("AWS::CloudWatch::Dashboard", [])),
        kms_keys=len(keys),
        rotated_kms_keys=sum(1 for k in keys if k.get("EnableKeyRotation") is True),
        on_demand_tables=on_demand,
        provisioned_tables=len(tables) - on_demand,
        s3_event_rules=sum(
            1
            for r in of_type.get("AWS::Events::Rule", [])
            if "aws.s3" in r.get("Properties", {}).get("EventPattern", {}).get("source", [])
        ),
        inbox_expiration_days=_expiration_days(inbox),
        access_log_expiration_days=_expiration_days(access_logs),
        has_access_logs=access_logs is not None,
        images=kept_images(repositories[0]) if repositories else None,
        ses_event_metrics=sum(
            _ses_event_metrics(r) for r in of_type.get("AWS::SES::ConfigurationSetEventDestination", [])
        ),
        unpriced=tuple(sorted({UNPRICED_TYPES[r["Type"]] for r in resources.values() if r["Type"] in UNPRICED_TYPES})),
    )


def kept_images(repository: dict[str, Any]) -> KeptImages:
    """The images the repository's lifecycle policy keeps at most, read from the policy's rules whatever they are.

    Every `expire` rule that counts (`imageCountMoreThan`) keeps at most its count of the images it selects, and an
    image a rule selects is never expired by a rule of lower priority, so the images kept are at most the sum of
    the counts. A rule by age (`sinceImagePushed`) keeps only what was pushed in its last days; those are named,
    not counted. Tagged images that no count rule selects (no rule for tagged or any images) are kept forever.
    """
    text = repository.get("LifecyclePolicy", {}).get("LifecyclePolicyText")
    rules = json.loads(text).get("rules", []) if isinstance(text, str) else []
    counted, by_age, bounded = [], [], False
    for rule in sorted(rules, key=lambda r: r.get("rulePriority", 0)):
        selection = rule.get("selection", {})
        if rule.get("action", {}).get("type", "expire") != "expire":
            continue
        status = selection.get("tagStatus", "any")
        patterns = selection.get("tagPatternList") or selection.get("tagPrefixList") or []
        what = f"{status} {' '.join(patterns)}".strip()
        if selection.get("countType") == "imageCountMoreThan":
            counted.append((int(selection["countNumber"]), what))
            bounded = bounded or (status in ("tagged", "any") and patterns in ([], ["*"]))
        elif selection.get("countType") == "sinceImagePushed":
            by_age.append(f"{what} after {selection.get('countNumber')} {selection.get('countUnit', 'days')}")
    return KeptImages(
        tagged=sum(count for count, _ in counted) if bounded else None,
        rules=tuple(f"{count} {what}" for count, what in counted),
        by_age=tuple(by_age),
    )


def _mailer(resources: dict[str, Any]) -> Function:
    """The function an SQS event source feeds (the one that works per file); else the only function."""
    functions = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    mappings = [r.get("Properties", {}) for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    fed = {_ref(m.get("FunctionName")): m for m in mappings}
    candidates = [lid for lid in functions if lid in fed] or list(functions)
    if not candidates:
        raise AssemblyError("The templates define no AWS::Lambda::Function: is this the app's cloud assembly?")
    logical_id = candidates[0]
    props = functions[logical_id].get("Properties", {})
    log_group = _ref(props.get("LoggingConfig", {}).get("LogGroup"))
    retention = resources.get(log_group, {}).get("Properties", {}).get("RetentionInDays") if log_group else None
    mapping = fed.get(logical_id)
    return Function(
        logical_id=logical_id,
        memory_mib=int(props.get("MemorySize", DEFAULT_MEMORY_MIB)),
        architecture=(props.get("Architectures") or [DEFAULT_ARCHITECTURE])[0],
        traced=props.get("TracingConfig", {}).get("Mode") == "Active",
        timeout_seconds=int(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS)),
        batch_size=int(mapping.get("BatchSize", 10)) if mapping else None,
        log_retention_days=int(retention) if retention is not None else None,
    )


def _buckets(resources: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The inbox (the bucket that sends its events to EventBridge) and the bucket its access logs go to."""
    buckets = {lid: r.get("Properties", {}) for lid, r in resources.items() if r["Type"] == "AWS::S3::Bucket"}
    inbox = next(
        (
            p
            for p in buckets.values()
            if p.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {}).get("EventBridgeEnabled")
        ),
        None,
    )
    logs_id = _ref((inbox or {}).get("LoggingConfiguration", {}).get("DestinationBucketName"))
    return inbox, buckets.get(logs_id) if logs_id else None


def _expiration_days(bucket: dict[str, Any] | None) -> int | None:
    rules = (bucket or {}).get("LifecycleConfiguration", {}).get("Rules", [])
    days = [int(r["ExpirationInDays"]) for r in rules if r.get("Status") == "Enabled" and "ExpirationInDays" in r]
    return min(days) if days else None


def _alarm_metrics(alarm: dict[str, Any]) -> int:
    """A metric math alarm is billed per metric it reads; an expression is not a metric."""
    metrics = alarm.get("Metrics")
    if not metrics:
        return 1
    return sum(1 for m in metrics if "MetricStat" in m)


def _high_resolution(alarm: dict[str, Any]) -> bool:
    periods = [alarm.get("Period")] + [m.get("MetricStat", {}).get("Period") for m in alarm.get("Metrics", [])]
    return any(isinstance(p, int) and p < HIGH_RESOLUTION_BELOW_SECONDS for p in periods)


def _ses_event_metrics(destination: dict[str, Any]) -> int:
    event_destination = destination.get("Properties", {}).get("EventDestination", {})
    cloudwatch = event_destination.get("CloudWatchDestination")
    if not cloudwatch or event_destination.get("Enabled") is False:
        return 0
    return len(event_destination.get("MatchingEventTypes", [])) * max(
        1, len(cloudwatch.get("DimensionConfigurations", []))
    )


def _by_type(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        grouped.setdefault(resource["Type"], []).append(resource)
    return grouped


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
