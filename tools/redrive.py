"""`make redrive`: bring failed files back to the queue once their cause is fixed. Needs AWS credentials.

- The dead-letter queue goes back through SQS' own message move task; the tool follows it until it is done.
- `UndeliverableEvents` cannot be moved that way (its source is an EventBridge rule, not a queue), so each
  event is sent to the queue and deleted only after the send succeeded. Interrupted halfway, nothing is lost:
  what was not sent yet is still in `UndeliverableEvents` and runs again next time.
- A file that was already mailed is not mailed again: the function remembers every file it mailed.

The two halves are independent: one denied or failing does not stop the other, and the exit code says that
something failed. `--dry-run` only counts and shows what would move.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools import aws_problem
from tools.deployed import Clients, ToolError, argument_parser, run, stack_outputs, target_from

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS' largest batch for receive, send and delete.
BATCH = 10
# Long enough to send a batch and delete it; a message whose send failed becomes visible again after it.
REPLAY_VISIBILITY_SECONDS = 60
MOVE_TASK_POLL_SECONDS = 2.0
# A long poll: a short one may answer empty while messages wait on other SQS hosts, and end the replay too early.
REPLAY_WAIT_SECONDS = 1
MOVE_TASK_DONE = ("COMPLETED", "CANCELLED", "FAILED")
# The queues by their role, as the operator knows them; the names are in the stack's outputs.
INBOX_QUEUE = "inbox queue"
DEAD_LETTER_QUEUE = "dead-letter queue"
UNDELIVERABLE_EVENTS = "undeliverable events"


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


@dataclass(frozen=True)
class Half:
    """One of the two independent parts of a redrive: the queue it empties and how."""

    role: str
    how: str
    queue_name: str
    # Moves everything of the queue back to the inbox queue; returns the line that says what it did.
    run: Callable[[Queue], str]

    @property
    def label(self) -> str:
        return f"{self.role} → {INBOX_QUEUE}"


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
        source, dead_letters, undeliverable = (
            outputs[key] for key in ("QueueName", "DeadLetterQueueName", "UndeliverableEventsQueueName")
        )
    except KeyError as missing:
        raise ToolError(
            f"The stack {target.function_stack} has no {missing} output: deploy the current version."
        ) from None
    sqs = clients.sqs
    halves = (
        Half(
            role=DEAD_LETTER_QUEUE,
            how="SQS message move task",
            queue_name=dead_letters,
            run=lambda queue: move_dead_letters(sqs, queue, console=console, sleep=sleep),
        ),
        Half(
            role=UNDELIVERABLE_EVENTS,
            how="sent one by one, then deleted",
            queue_name=undeliverable,
            run=lambda queue: replay_all(sqs, queue, Queue.named(sqs, source), console=console),
        ),
    )
    # Each failed half is one line of the error; the other half runs regardless.
    problems: list[str] = []
    plan = Table(
        "from", "waiting", "to", "how", title="Redrive" + (" (dry run: nothing moves)" if arguments.dry_run else "")
    )
    found: list[tuple[Half, Queue]] = []
    for half in halves:
        try:
            queue = Queue.named(sqs, half.queue_name)
        except ClientError as error:
            problems.append(f"{half.label}: {aws_problem.describe(error, needed_for='this part')}")
            plan.add_row(half.role, "?", INBOX_QUEUE, "[yellow]could not read the queue[/]")
            continue
        plan.add_row(half.role, str(queue.waiting), INBOX_QUEUE, half.how)
        found.append((half, queue))
    console.print(plan)
    if not arguments.dry_run:
        for half, queue in found:
            try:
                console.print(half.run(queue))
            except ClientError as error:
                problems.append(f"{half.label}: {aws_problem.describe(error, needed_for='this part')}")
            except ToolError as error:
                problems.append(f"{half.label}: {error}")
    if problems:
        raise ToolError(" | ".join(problems))
    return 0


def move_dead_letters(
    sqs: SQSClient, dead_letters: Queue, *, console: Console, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Start (or follow a running) message move task back to the source queue and show it until it is done."""
    if not dead_letters.waiting:
        return f"The {DEAD_LETTER_QUEUE} is empty: nothing to move."
    running = sqs.list_message_move_tasks(SourceArn=dead_letters.arn, MaxResults=1).get("Results", [])
    if not (running and running[0]["Status"] == "RUNNING"):
        # Without a destination SQS moves every message back to the queue it came from.
        sqs.start_message_move_task(SourceArn=dead_letters.arn)
    with _progress(console) as progress:
        bar = progress.add_task(f"{DEAD_LETTER_QUEUE} → {INBOX_QUEUE}", total=dead_letters.waiting or None)
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
            f"the move ended {task['Status']}: {task.get('FailureReason', 'no reason given')}; "
            "the messages not moved are still there. Run `make redrive` again."
        )
    moved = task.get("ApproximateNumberOfMessagesMoved", 0)
    return f"{moved} message{'' if moved == 1 else 's'} moved back from the {DEAD_LETTER_QUEUE}."


def replay_all(sqs: SQSClient, undeliverable: Queue, source: Queue, *, console: Console) -> str:
    """`replay`, as one line on success and one error naming what is left when SQS refused some events."""
    replayed = replay(sqs, undeliverable, source, console=console)
    if replayed.failed:
        reasons = "; ".join(sorted(set(replayed.failed.values())))
        raise ToolError(
            f"{replayed.sent} sent, {len(replayed.failed)} could not be sent ({reasons}); they are still in the "
            f"{UNDELIVERABLE_EVENTS} queue: fix the cause and run `make redrive` again."
        )
    return f"{replayed.sent} undeliverable event{'' if replayed.sent == 1 else 's'} sent to the {INBOX_QUEUE}."


def replay(sqs: SQSClient, undeliverable: Queue, source: Queue, *, console: Console) -> Replayed:
    """Send every event of `undeliverable` to `source`, deleting each only after its send succeeded."""
    sent = 0
    failed: dict[str, str] = {}
    with _progress(console) as progress:
        bar = progress.add_task(f"{UNDELIVERABLE_EVENTS} → {INBOX_QUEUE}", total=undeliverable.waiting or None)
        while True:
            messages = sqs.receive_message(
                QueueUrl=undeliverable.url,
                MaxNumberOfMessages=BATCH,
                VisibilityTimeout=REPLAY_VISIBILITY_SECONDS,
                WaitTimeSeconds=REPLAY_WAIT_SECONDS,
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
    # The bar takes whatever the label, the count and the time leave of the width.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


if __name__ == "__main__":
    sys.exit(run(main))
