"""`make status`: one screen of what the deployed mailer is doing. Read-only; needs AWS credentials.

Shows the stacks' outputs, the messages waiting in each queue and the age of the oldest, the alarms in ALARM,
the last ten "Mailing failed" log entries, the SES account's state and what its quota means in files, and the
media type of the function's image (Lambda refuses image indexes).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mypy_boto3_ecr.type_defs import ImageIdentifierTypeDef
    from mypy_boto3_logs.type_defs import FilteredLogEventTypeDef

from tools import ses_quota
from tools.deployed import Clients, Target, ToolError, argument_parser, run, stack_outputs, target_from

QUEUE_OUTPUTS = {
    "QueueName": "uploads",
    "DeadLetterQueueName": "dead-letter queue",
    "UndeliverableEventsQueueName": "undeliverable events",
}
FAILURE_FILTER = '"Mailing failed"'
FAILURES_SHOWN = 10
FAILURES_LOOKBACK = timedelta(days=3)
# Lambda accepts a single-platform manifest only; these are multi-platform indexes (docker/buildx#1533).
IMAGE_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_IMAGE_URI = re.compile(r"^(?P<registry>[^/]+)/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:\w+))?$")


def main(argv: Sequence[str], *, clients: Clients | None = None, console: Console | None = None) -> int:
    argument_parser(__doc__ or "").parse_known_args(argv)
    target = target_from(argv)
    clients = clients or Clients.for_target(target)
    console = console or Console()
    show(clients, target, console)
    return 0


def show(clients: Clients, target: Target, console: Console) -> None:
    outputs = stack_outputs(clients, target.function_stack)
    console.rule(f"inbox mailer, stage {target.stage}, {clients.region}")
    table = Table("output", "value", title="Stack outputs", title_justify="left")
    for key, value in outputs.items():
        table.add_row(key, value)
    try:
        for key, value in stack_outputs(clients, target.registry_stack).items():
            table.add_row(key, value)
    except ToolError:
        table.add_row("(registry stack)", "not deployed")
    console.print(table)
    console.print(_queues(clients, outputs))
    console.print(_alarms(clients, target))
    console.print(_failures(clients, outputs))
    console.print(_ses_account(clients, len(target.recipients)))
    console.print(_image(clients, outputs))


def _queues(clients: Clients, outputs: dict[str, str]) -> Table:
    table = Table("queue", "name", "waiting", "being worked on", "oldest", title="Queues", title_justify="left")
    since = datetime.now(UTC) - timedelta(minutes=15)
    for output, label in QUEUE_OUTPUTS.items():
        name = outputs.get(output)
        if not name:
            continue
        url = clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = clients.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        # SQS itself does not say how old its oldest message is; CloudWatch does.
        points = clients.cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            StartTime=since,
            EndTime=datetime.now(UTC),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        newest = max(points, key=lambda p: p["Timestamp"], default=None)
        oldest = ses_quota.duration(newest["Maximum"]) if newest else "-"
        waiting = attributes.get("ApproximateNumberOfMessages", "0")
        style = "bold red" if output != "QueueName" and waiting != "0" else ""
        table.add_row(
            label,
            name,
            f"[{style}]{waiting}[/]" if style else waiting,
            attributes.get("ApproximateNumberOfMessagesNotVisible", "0"),
            oldest,
        )
    return table


def _alarms(clients: Clients, target: Target) -> Table:
    table = Table("alarm in ALARM", "since", "why", title="Alarms", title_justify="left")
    # CloudFormation names each alarm after its stack.
    alarms = clients.cloudwatch.describe_alarms(AlarmNamePrefix=f"{target.function_stack}-", StateValue="ALARM")
    # Filtered again here: some implementations of the API ignore StateValue next to a prefix.
    for alarm in (a for a in alarms["MetricAlarms"] if a.get("StateValue") == "ALARM"):
        since = alarm.get("StateUpdatedTimestamp")
        table.add_row(
            f"[bold red]{alarm['AlarmName']}[/]",
            since.strftime("%Y-%m-%d %H:%M UTC") if since else "",
            alarm.get("StateReason", ""),
        )
    if not table.rows:
        table.add_row("[green]none[/]", "", "")
    return table


def _failures(clients: Clients, outputs: dict[str, str]) -> Table:
    table = Table("when (UTC)", "file", "reason", title="Last mailing failures", title_justify="left")
    log_group = outputs.get("LogGroupName")
    if not log_group:
        table.add_row("", "", "the stack has no LogGroupName output: deploy the current version")
        return table
    start = int((datetime.now(UTC) - FAILURES_LOOKBACK).timestamp() * 1000)
    events: list[FilteredLogEventTypeDef] = []
    kwargs: dict[str, Any] = {"logGroupName": log_group, "filterPattern": FAILURE_FILTER, "startTime": start}
    try:
        while True:
            page = clients.logs.filter_log_events(**kwargs)
            events.extend(page["events"])
            events = events[-FAILURES_SHOWN:]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    for event in reversed(events):
        entry = _json(event.get("message", ""))
        when = datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        # One upload's failure names its key; a whole message's (throttled too often) the keys of its uploads.
        files = str(entry.get("key") or ", ".join(map(str, entry.get("keys") or [])))
        table.add_row(when, files, str(entry.get("reason", entry.get("message", ""))))
    if not table.rows:
        table.add_row("", "", f"[green]none in the last {FAILURES_LOOKBACK.days} days[/]")
    return table


def _ses_account(clients: Clients, recipients: int) -> Table:
    account = clients.sesv2.get_account()
    quota = ses_quota.files_quota(account.get("SendQuota", {}), recipients)
    table = Table("SES account", "", title="SES", title_justify="left")
    production = account.get("ProductionAccessEnabled", False)
    table.add_row(
        "access", "production" if production else "[yellow]sandbox[/] (verified recipients only, 200 recipients a day)"
    )
    table.add_row("sending", "enabled" if account.get("SendingEnabled") else "[bold red]paused[/]")
    if account.get("EnforcementStatus") not in (None, "HEALTHY"):
        table.add_row("enforcement", f"[bold red]{account['EnforcementStatus']}[/]")
    daily = ses_quota.recipients_a_day(quota)
    if quota.per_day is not None:
        sent = ses_quota.UNKNOWN if quota.sent_today is None else ses_quota.number(quota.sent_today)
        table.add_row("quota used today", f"{sent} of {daily}")
    else:
        sent = ses_quota.UNKNOWN if quota.sent_today is None else ses_quota.counted(quota.sent_today, "recipient")
        table.add_row("quota used today", f"{sent}; {daily}")
    # Each value within 56 characters, so that the table fits 80 columns (50 recipients make the longest).
    table.add_row("in files", ses_quota.files_a_day(quota) or daily)
    table.add_row("left today", ses_quota.files_left_today(quota))
    table.add_row("maximum send rate", ses_quota.send_rate(quota))
    table.add_row("at that rate", ses_quota.burst(quota) or ses_quota.send_rate(quota))
    return table


def _image(clients: Clients, outputs: dict[str, str]) -> Table:
    table = Table("function image", "", title="Image", title_justify="left")
    function = outputs.get("FunctionName")
    if not function:
        return table
    code = clients.lambda_.get_function(FunctionName=function)["Code"]
    # The URI the stack deployed (repository:tag, or @digest); ResolvedImageUri is what Lambda pinned it to.
    uri = code.get("ImageUri", "")
    table.add_row("image", uri)
    if code.get("ResolvedImageUri"):
        table.add_row("resolved to", code["ResolvedImageUri"])
    match = _IMAGE_URI.match(uri)
    if not match:
        return table
    image_id: ImageIdentifierTypeDef = (
        {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"] or "latest"}
    )
    try:
        (details,) = clients.ecr.describe_images(repositoryName=match["repository"], imageIds=[image_id])[
            "imageDetails"
        ]
    except ClientError as error:
        table.add_row("media type", f"[yellow]unknown ({error.response.get('Error', {}).get('Code')})[/]")
        return table
    media_type = details.get("imageManifestMediaType", "unknown")
    if media_type in IMAGE_INDEX_TYPES:
        table.add_row(
            "media type",
            f"[bold red]{media_type}: an image index, which Lambda refuses[/] (see README, Troubleshooting)",
        )
    else:
        table.add_row("media type", f"{media_type} (a single-platform image, as Lambda needs)")
    return table


def _json(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {"message": text}
    return loaded if isinstance(loaded, dict) else {"message": text}


if __name__ == "__main__":
    sys.exit(run(main))
