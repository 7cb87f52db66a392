"""`make status`: one screen of what the deployed mailer is doing. Read-only; needs AWS credentials.

Shows the stack's bucket and dashboard, the messages waiting in each queue and the age of the oldest, the alarms
in ALARM by their runbook names, the files whose mailing failed lately, the SES account's state and what its
quota means in files, and the media type of the function's image (Lambda refuses image indexes).

Each section reads on its own: a call the credentials may not make, or that AWS fails, marks its own section
with one line and the other sections still show. `--full` shows whole reasons, queue names and every output.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from mypy_boto3_ecr.type_defs import ImageIdentifierTypeDef
    from mypy_boto3_logs.type_defs import FilteredLogEventTypeDef

from tools import aws_problem, ses_quota
from tools.deployed import Clients, Target, ToolError, argument_parser, run, stack_outputs, target_from
from tools.images import image_rows

# Output name -> the queue's role, which is what the operator thinks in; `--full` adds the queue's name.
QUEUE_OUTPUTS = {
    "QueueName": "inbox queue",
    "DeadLetterQueueName": "dead-letter queue",
    "UndeliverableEventsQueueName": "undeliverable events",
}
FAILURE_FILTER = '"Mailing failed"'
FAILURES_SHOWN = 10
FAILURES_LOOKBACK = timedelta(days=3)
# Log entries kept while paging, newest last: enough to find ten different files among retries of the same ones.
FAILURE_ENTRIES_READ = 500
# Lambda accepts a single-platform manifest only; these are multi-platform indexes (docker/buildx#1533).
IMAGE_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
# The widest row label ("  undeliverable events") and a space: every section's values start in one column.
LABEL_WIDTH = 22
# A long key wraps at this width, leaving the reason at least a third of the screen.
MAX_KEY_WIDTH = 36
FULL_FLAG = "--full"
FOOTER = f"make status ARGS={FULL_FLAG}: whole reasons, queue names, every stack output."
_IMAGE_URI = re.compile(r"^(?P<registry>[^/]+)/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:\w+))?$")
# CloudFormation names an alarm `<stack>-<logical id>-<suffix>`; the logical id holds the runbook name.
_NAME_IN_ALARM = re.compile(r"Operations(?P<name>[A-Z][A-Za-z]*?)Alarm")
_QUOTED = re.compile(r"'(?P<name>[^']+)'")


class UnreadableSectionError(Exception):
    """Why a section cannot show anything, as the one line that replaces it."""


@dataclass(frozen=True)
class Look:
    """What every section is given: the clients, the deployed copy, its stack's outputs, and how much to show."""

    clients: Clients
    target: Target
    outputs: dict[str, str]
    full: bool
    # Why the function stack's outputs could not be read, when they could not.
    outputs_problem: str | None = None

    def output(self, key: str) -> str:
        if self.outputs_problem:
            raise UnreadableSectionError(f"needs the stack's outputs, which could not be read ({self.outputs_problem})")
        if key not in self.outputs:
            raise UnreadableSectionError(f"the stack has no {key} output: deploy the current version")
        return self.outputs[key]


def main(argv: Sequence[str], *, clients: Clients | None = None, console: Console | None = None) -> int:
    parser = argument_parser(__doc__ or "")
    parser.add_argument(FULL_FLAG, action="store_true", help="whole reasons, queue names and every stack output")
    arguments = parser.parse_known_args(argv)[0]
    target = target_from(argv)
    clients = clients or Clients.for_target(target)
    console = console or Console()
    return 0 if show(clients, target, console, full=arguments.full) else 1


def show(clients: Clients, target: Target, console: Console, *, full: bool = False) -> bool:
    """Print every section; False when one of them could not be read."""
    try:
        look = Look(clients, target, stack_outputs(clients, target.function_stack), full)
    except ClientError as error:
        look = Look(clients, target, {}, full, outputs_problem=aws_problem.describe(error))
    console.rule(f"inbox mailer, stage {target.stage}, {clients.region}")
    complete = True
    for title, section in SECTIONS:
        try:
            console.print(section(look))
        except ClientError as error:
            complete = False
            console.print(_problem(title, aws_problem.describe(error)))
        except UnreadableSectionError as problem:
            complete = False
            console.print(_problem(title, str(problem)))
    console.print(Text(FOOTER, style="dim"))
    return complete


def _problem(title: str, why: str) -> Table:
    # A table, so that a long reason wraps under itself rather than under the section's title.
    table = _table(title, "", full=True)
    table.show_header = False
    table.add_row(f"[bold]{escape(title)}[/]", f"[yellow]{escape(why)}[/]")
    return table


def _table(title: str, *columns: str, full: bool) -> Table:
    """A section: its title heads the label column; the last column takes the rest of the width, its values cut
    with an ellipsis unless `full`."""
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold", expand=True)
    table.add_column(title, min_width=LABEL_WIDTH, no_wrap=True)
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], ratio=1, no_wrap=not full, overflow="fold" if full else "ellipsis")
    return table


def _label(text: str, style: str = "") -> Text:
    # Text, never markup: keys and names come from S3 and AWS and may hold brackets.
    return Text(f"  {text}", style=style)


def _outputs(look: Look) -> RenderableType:
    if look.outputs_problem:
        raise UnreadableSectionError(look.outputs_problem)
    table = _table("Stack", look.target.function_stack, full=True)
    if not look.full:
        table.add_row(_label("upload to"), Text(f"s3://{look.outputs.get('InboxBucketName', '?')}/"))
        table.add_row(_label("dashboard"), Text(look.outputs.get("DashboardUrl", "-")))
        return table
    for key, value in look.outputs.items():
        table.add_row(_label(key), Text(value))
    try:
        for key, value in stack_outputs(look.clients, look.target.registry_stack).items():
            table.add_row(_label(key), Text(value))
    except ToolError:
        table.add_row(_label("registry stack"), "not deployed")
    return table


def _queues(look: Look) -> RenderableType:
    clients = look.clients
    names = [look.output(output) for output in QUEUE_OUTPUTS]
    table = _table("Queues", "waiting", "in flight", "oldest", *(["name"] if look.full else []), full=look.full)
    since = datetime.now(UTC) - timedelta(minutes=15)
    for (output, role), name in zip(QUEUE_OUTPUTS.items(), names, strict=True):
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
            _label(role),
            f"[{style}]{waiting}[/]" if style else waiting,
            attributes.get("ApproximateNumberOfMessagesNotVisible", "0"),
            oldest,
            *([Text(name)] if look.full else []),
        )
    return table


def runbook_name(alarm: dict[str, Any]) -> str:
    """The alarm's Runbook heading: the last quoted name of its description, else the one in its logical id."""
    quoted = _QUOTED.findall(str(alarm.get("AlarmDescription", "")))
    if quoted:
        return str(quoted[-1])
    found = _NAME_IN_ALARM.search(alarm["AlarmName"])
    return found["name"] if found else str(alarm["AlarmName"])


def _alarms(look: Look) -> RenderableType:
    # CloudFormation names each alarm after its stack.
    alarms = look.clients.cloudwatch.describe_alarms(
        AlarmNamePrefix=f"{look.target.function_stack}-", StateValue="ALARM"
    )
    # Filtered again here: some implementations of the API ignore StateValue next to a prefix.
    firing = [a for a in alarms["MetricAlarms"] if a.get("StateValue") == "ALARM"]
    if not firing:
        return _table("Alarms", "[green]none in ALARM[/]", full=look.full)
    table = _table("Alarms in ALARM", "since (UTC)", "why", full=look.full)
    for alarm in firing:
        since = alarm.get("StateUpdatedTimestamp")
        table.add_row(
            _label(runbook_name(dict(alarm)), style="bold red"),
            since.strftime("%m-%d %H:%M") if since else "",
            Text(alarm.get("StateReason", "")),
        )
    return table


def _failures(look: Look) -> RenderableType:
    log_group = look.output("LogGroupName")
    start = int((datetime.now(UTC) - FAILURES_LOOKBACK).timestamp() * 1000)
    events: list[FilteredLogEventTypeDef] = []
    kwargs: dict[str, Any] = {"logGroupName": log_group, "filterPattern": FAILURE_FILTER, "startTime": start}
    try:
        while True:
            page = look.clients.logs.filter_log_events(**kwargs)
            events = [*events, *page["events"]][-FAILURE_ENTRIES_READ:]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    # One row per file, its newest failure: a file retried five times is one problem, not five.
    newest: dict[str, tuple[str, str]] = {}
    for event in sorted(events, key=lambda e: e["timestamp"], reverse=True):
        entry = _json(event.get("message", ""))
        when = datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC).strftime("%m-%d %H:%M")
        # One upload's failure names its key; a whole message's (throttled too often) the keys of its uploads.
        keys = [entry["key"]] if entry.get("key") else list(entry.get("keys") or [])
        for key in map(str, keys):
            newest.setdefault(key, (when, _reason(entry)))
    if not newest:
        return _table("Failures", f"[green]none in the last {FAILURES_LOOKBACK.days} days[/]", full=look.full)
    shown = list(newest.items())[:FAILURES_SHOWN]
    title = f"Last {len(shown)} failed files" if len(newest) > len(shown) else "Failed files"
    table = _table(title, "when (UTC)", "reason", full=look.full)
    # A key longer than the label column would push the reason off the screen: it wraps instead.
    table.columns[0].no_wrap = False
    table.columns[0].overflow = "fold"
    table.columns[0].max_width = MAX_KEY_WIDTH
    for key, (when, reason) in shown:
        table.add_row(_label(key), when, Text(reason))
    return table


def _reason(entry: dict[str, Any]) -> str:
    """The AWS error code first: a reason cut to the screen's width still says what AWS answered."""
    reason = str(entry.get("reason", entry.get("message", "")))
    code = str(entry.get("error_code") or "")
    return f"{code}: {reason}" if code and not reason.startswith(code) else reason


def _ses_account(look: Look) -> RenderableType:
    account = look.clients.sesv2.get_account()
    quota = ses_quota.files_quota(account.get("SendQuota", {}), len(look.target.recipients))
    access = "production" if account.get("ProductionAccessEnabled", False) else "[yellow]sandbox[/] (verified only)"
    sending = "sending enabled" if account.get("SendingEnabled") else "[bold red]sending paused[/]"
    table = _table("SES", f"{access}, {sending}", full=look.full)
    if account.get("EnforcementStatus") not in (None, "HEALTHY"):
        table.add_row(_label("enforcement"), Text(account["EnforcementStatus"], style="bold red"))
    daily = ses_quota.recipients_a_day(quota)
    if quota.per_day is not None:
        sent = ses_quota.UNKNOWN if quota.sent_today is None else ses_quota.number(quota.sent_today)
        table.add_row(_label("quota used today"), f"{sent} of {daily}")
    else:
        sent = ses_quota.UNKNOWN if quota.sent_today is None else ses_quota.counted(quota.sent_today, "recipient")
        table.add_row(_label("quota used today"), f"{sent}; {daily}")
    table.add_row(_label("in files"), ses_quota.files_a_day(quota) or daily)
    table.add_row(_label("left today"), ses_quota.files_left_today(quota))
    table.add_row(_label("maximum send rate"), ses_quota.send_rate(quota))
    table.add_row(_label("at that rate"), ses_quota.burst(quota) or ses_quota.send_rate(quota))
    return table


def _image(look: Look) -> RenderableType:
    function = look.output("FunctionName")
    code = look.clients.lambda_.get_function(FunctionName=function)["Code"]
    # The URI the stack deployed (repository:tag, or @digest); ResolvedImageUri is what Lambda pinned it to.
    uri = code.get("ImageUri", "")
    match = _IMAGE_URI.match(uri)
    if not match:
        table = _table("Image", "not from a registry this tool can read", full=look.full)
        table.add_row(_label("image"), Text(uri))
        return table
    image_id: ImageIdentifierTypeDef = (
        {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"] or "latest"}
    )
    (details,) = look.clients.ecr.describe_images(repositoryName=match["repository"], imageIds=[image_id])[
        "imageDetails"
    ]
    media_type = details.get("imageManifestMediaType", "unknown")
    verdict = (
        "[bold red]an image index, which Lambda refuses[/]"
        if media_type in IMAGE_INDEX_TYPES
        else "a single-platform image, as Lambda needs"
    )
    table = _table("Image", verdict, full=look.full)
    # The registry's host name says nothing the operator needs at a glance; `--full` shows the whole URI.
    table.add_row(_label("image"), Text(uri if look.full else uri.removeprefix(f"{match['registry']}/")))
    if look.full and code.get("ResolvedImageUri"):
        table.add_row(_label("resolved to"), Text(code["ResolvedImageUri"]))
    if look.full or media_type in IMAGE_INDEX_TYPES:
        table.add_row(_label("media type"), Text(media_type))
    # The live mark and the scan's findings (tools/images.py, which `make images` shares); a missing mark always.
    for label, value in image_rows(look.clients.ecr, match["repository"], details):
        if label in ("live image",) or (label == "live mark" and value.startswith("yes") and not look.full):
            continue
        table.add_row(_label(label), Text.from_markup(value))
    return table


def _json(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text)
    except ValueError:
        return {"message": text}
    return loaded if isinstance(loaded, dict) else {"message": text}


# The screen, top to bottom: a new section is one entry, a function of the `Look` that returns what to print.
SECTIONS: tuple[tuple[str, Callable[[Look], RenderableType]], ...] = (
    ("Stack", _outputs),
    ("Queues", _queues),
    ("Alarms", _alarms),
    ("Failures", _failures),
    ("SES", _ses_account),
    ("Image", _image),
)


if __name__ == "__main__":
    sys.exit(run(main))
