"""`make redrive`: bring failed files back to the queue once their cause is fixed. Needs AWS credentials.

- The dead-letter queue goes back through SQS' own message move task; the tool follows it until it is done.
- `UndeliverableEvents` cannot be moved that way (its source is an EventBridge rule, not a queue), so each
  event is sent to the queue and deleted only after the send succeeded. Interrupted halfway, nothing is lost:
  what was not sent yet is still in `UndeliverableEvents` and runs again next time.
- A file that was already mailed is not mailed again: the function remembers every file it mailed.

`--dry-run` (`make redrive DRY_RUN=1`) only counts and shows what would move.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools.deployed import Clients, ToolError, argument_parser, run, stack_outputs, target_from

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS' largest batch for receive, send and delete.
BATCH = 10
# Long enough to send a batch and delete it; a message whose send failed becomes visible again after it.
REPLAY_VISIBILITY_SECONDS = 60
MOVE_TASK_POLL_SECONDS = 2.0
MOVE_TASK_DONE = ("COMPLETED", "CANCELLED", "FAILED")


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str
    waiting: int

    @classmethod
    def named(cls, sqs: SQSClient, name: str) -> Queue:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])[
            "Attributes"
        ]
        return cls(
            name=name, url=url, arn=attributes["QueueArn"], waiting=int(attributes["ApproximateNumberOfMessages"])
        )


@dataclass(frozen=True)
class Replayed:
    sent: int
    failed: dict[str, str]  # message id -> why SQS refused it


def main(
    argv: Sequence[str],
    *,
    clients: Clients | None = None,
    console: Console | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    parser = argument_parser(__doc__ or "")
    parser.add_argument("--dry-run", action="store_true", help="only count and show what would move")
    arguments = parser.parse_known_args(argv)[0]
    target = target_from(argv)
    clients = clients or Clients.for_target(target)
    console = console or Console()
    outputs = stack_outputs(clients, target.function_stack)
    try:
        names = [outputs[key] for key in ("QueueName", "DeadLetterQueueName", "UndeliverableEventsQueueName")]
    except KeyError as missing:
        raise ToolError(
            f"The stack {target.function_stack} has no {missing} output: deploy the current version."
        ) from None
    source, dead_letters, undeliverable = (Queue.named(clients.sqs, name) for name in names)

    plan = Table(
        "from", "waiting", "to", "how", title="Redrive" + (" (dry run: nothing moves)" if arguments.dry_run else "")
    )
    plan.add_row(dead_letters.name, str(dead_letters.waiting), source.name, "SQS message move task")
    plan.add_row(undeliverable.name, str(undeliverable.waiting), source.name, "sent one by one, then deleted")
    console.print(plan)
    if arguments.dry_run:
        return 0

    if dead_letters.waiting:
        move_dead_letters(clients.sqs, dead_letters, console=console, sleep=sleep)
    replayed = replay(clients.sqs, undeliverable, source, console=console)
    console.print(f"{replayed.sent} undeliverable events sent to {source.name}.")
    if replayed.failed:
        reasons = "; ".join(sorted(set(replayed.failed.values())))
        raise ToolError(
            f"{len(replayed.failed)} events could not be sent ({reasons}); they are still in {undeliverable.name}: "
            "fix the cause and run `make redrive` again."
        )
    return 0


def move_dead_letters(
    sqs: SQSClient, dead_letters: Queue, *, console: Console, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Start (or follow a running) message move task back to the source queue and show it until it is done."""
    running = sqs.list_message_move_tasks(SourceArn=dead_letters.arn, MaxResults=1).get("Results", [])
    if not (running and running[0]["Status"] == "RUNNING"):
        # Without a destination SQS moves every message back to the queue it came from.
        sqs.start_message_move_task(SourceArn=dead_letters.arn)
    with _progress(console) as progress:
        bar = progress.add_task(f"{dead_letters.name} -> source queue", total=dead_letters.waiting or None)
        while True:
            (task,) = sqs.list_message_move_tasks(SourceArn=dead_letters.arn, MaxResults=1)["Results"]
            progress.update(
                bar,
                completed=task.get("ApproximateNumberOfMessagesMoved", 0),
                total=task.get("ApproximateNumberOfMessagesToMove") or dead_letters.waiting or None,
            )
            if task["Status"] in MOVE_TASK_DONE:
                break
            sleep(MOVE_TASK_POLL_SECONDS)
    if task["Status"] != "COMPLETED":
        raise ToolError(
            f"The move of {dead_letters.name} ended {task['Status']}: {task.get('FailureReason', 'no reason given')}; "
            "the messages not moved are still there. Run `make redrive` again."
        )
    console.print(f"{task.get('ApproximateNumberOfMessagesMoved', 0)} messages moved back from {dead_letters.name}.")


def replay(sqs: SQSClient, undeliverable: Queue, source: Queue, *, console: Console) -> Replayed:
    """Send every event of `undeliverable` to `source`, deleting each only after its send succeeded."""
    sent = 0
    failed: dict[str, str] = {}
    with _progress(console) as progress:
        bar = progress.add_task(f"{undeliverable.name} -> {source.name}", total=undeliverable.waiting or None)
        while True:
            messages = sqs.receive_message(
                QueueUrl=undeliverable.url,
                MaxNumberOfMessages=BATCH,
                VisibilityTimeout=REPLAY_VISIBILITY_SECONDS,
                WaitTimeSeconds=1,
            ).get("Messages", [])
            # A message whose send failed is invisible until the next run: seeing it again means the queue is done.
            messages = [m for m in messages if m["MessageId"] not in failed]
            if not messages:
                break
            by_id = {str(index): message for index, message in enumerate(messages)}
            result = sqs.send_message_batch(
                QueueUrl=source.url,
                Entries=[{"Id": index, "MessageBody": message["Body"]} for index, message in by_id.items()],
            )
            done = [entry["Id"] for entry in result.get("Successful", [])]
            for entry in result.get("Failed", []):
                failed[by_id[entry["Id"]]["MessageId"]] = f"{entry.get('Code')}: {entry.get('Message', '')}".strip()
            if done:
                deleted = sqs.delete_message_batch(
                    QueueUrl=undeliverable.url,
                    Entries=[{"Id": index, "ReceiptHandle": by_id[index]["ReceiptHandle"]} for index in done],
                )
                # A failed delete only means the event is sent again next time; the function mails a file once.
                sent += len(deleted.get("Successful", []))
            progress.update(bar, advance=len(messages), total=max(undeliverable.waiting, sent + len(failed)) or None)
    return Replayed(sent=sent, failed=failed)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


if __name__ == "__main__":
    sys.exit(run(main))
