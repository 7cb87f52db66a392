"""`make redrive` against moto: both queues, the dry run, an interrupted run, and events SQS refuses.

moto has no StartMessageMoveTask or ListMessageMoveTasks: those two calls go to a fake at the boto3 boundary
(`MoveTaskSqs` in tests/tools/support.py) that moves the messages in moto as the real task would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pytest
from rich.console import Console

from tests.tools.support import (
    DEAD_LETTER_QUEUE,
    QUEUE,
    UNDELIVERABLE,
    MoveTaskSqs,
    bodies,
    counts,
    event_body,
    moto_clients,
)
from tools import redrive
from tools.deployed import run

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def _fill(sqs: SQSClient, url: str, keys: list[str]) -> set[str]:
    for key in keys:
        sqs.send_message(QueueUrl=url, MessageBody=event_body(key))
    return {event_body(key) for key in keys}


def _redrive(console: Console, sqs: Any, *argv: str) -> int:
    clients = moto_clients(sqs=sqs)
    return run(lambda args: redrive.main(args, clients=clients, console=console, sleep=lambda _: None), list(argv))


def test_dry_run_counts_both_queues_and_moves_nothing(deployed: dict[str, str], console: Console) -> None:
    # GIVEN 3 files in the dead-letter queue and 12 undeliverable events
    sqs = moto_clients().sqs
    _fill(sqs, deployed[DEAD_LETTER_QUEUE], [f"incoming/dlq-{n}" for n in range(3)])
    _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(12)])
    mover = MoveTaskSqs(sqs, deployed[QUEUE])

    # WHEN redrive runs with --dry-run
    assert _redrive(console, mover, "--dry-run") == 0

    # THEN it shows what would move where, and nothing moved
    screen = console.export_text()
    assert "dry run" in screen
    assert DEAD_LETTER_QUEUE in screen
    assert UNDELIVERABLE in screen
    assert QUEUE in screen
    assert not mover.started
    assert (counts(sqs, deployed[DEAD_LETTER_QUEUE]), counts(sqs, deployed[UNDELIVERABLE])) == (3, 12)
    assert counts(sqs, deployed[QUEUE]) == 0


def test_redrive_brings_both_queues_back_to_the_source_queue(deployed: dict[str, str], console: Console) -> None:
    # GIVEN 9 files in the dead-letter queue and 23 undeliverable events (more than two batches)
    sqs = moto_clients().sqs
    expected = _fill(sqs, deployed[DEAD_LETTER_QUEUE], [f"incoming/dlq-{n}" for n in range(9)])
    expected |= _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(23)])
    mover = MoveTaskSqs(sqs, deployed[QUEUE], per_poll=4)

    # WHEN redrive runs
    assert _redrive(console, mover) == 0

    # THEN one move task was started for the dead-letter queue and followed to the end
    assert len(mover.started) == 1
    assert mover.started[0].endswith(f":{DEAD_LETTER_QUEUE}")
    screen = console.export_text()
    assert f"9 messages moved back from {DEAD_LETTER_QUEUE}" in screen
    assert f"23 undeliverable events sent to {QUEUE}" in screen
    # AND every message is on the source queue exactly once, and both dead-letter queues are empty
    on_queue = bodies(sqs, deployed[QUEUE])
    assert sorted(on_queue) == sorted(expected)
    assert counts(sqs, deployed[DEAD_LETTER_QUEUE]) == counts(sqs, deployed[UNDELIVERABLE]) == 0


def test_a_failed_move_task_is_one_line(
    deployed: dict[str, str], console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = moto_clients().sqs
    _fill(sqs, deployed[DEAD_LETTER_QUEUE], ["incoming/a"])
    mover = MoveTaskSqs(sqs, deployed[QUEUE], fail_with="AccessDenied on the source queue")

    assert _redrive(console, mover) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: The move of {DEAD_LETTER_QUEUE} ended FAILED: AccessDenied on the source queue")


@dataclass
class InterruptedSqs:
    """moto's SQS, with the person pressing Ctrl-C during the given send of a batch."""

    real: SQSClient
    interrupt_on_send: int
    sends: int = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends == self.interrupt_on_send:
            raise KeyboardInterrupt
        return self.real.send_message_batch(**kwargs)


def test_an_interrupted_redrive_loses_nothing_and_the_next_run_finishes_it(
    deployed: dict[str, str], console: Console, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 23 undeliverable events, and a redrive interrupted while sending its second batch
    monkeypatch.setattr(redrive, "REPLAY_VISIBILITY_SECONDS", 1)
    sqs = moto_clients().sqs
    expected = _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(23)])

    # WHEN it is interrupted
    assert _redrive(console, InterruptedSqs(sqs, interrupt_on_send=2)) == 130
    assert "Nothing was lost" in capsys.readouterr().err

    # THEN the first batch is on the source queue, and every other event is still in UndeliverableEvents
    assert counts(sqs, deployed[QUEUE]) == 10
    assert counts(sqs, deployed[UNDELIVERABLE]) == 13

    # WHEN it runs again once the interrupted batch is visible again
    time.sleep(1.2)
    assert _redrive(console, sqs) == 0

    # THEN every event is on the source queue exactly once
    assert sorted(bodies(sqs, deployed[QUEUE])) == sorted(expected)
    assert counts(sqs, deployed[UNDELIVERABLE]) == 0


@dataclass
class RefusingSqs:
    """moto's SQS, refusing to send the events of one file (as SQS reports a failed entry of a batch)."""

    real: SQSClient
    refused_body: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
        accepted = [e for e in Entries if e["MessageBody"] != self.refused_body]
        result = cast(dict[str, Any], self.real.send_message_batch(QueueUrl=QueueUrl, Entries=cast(Any, accepted)))
        refused = [e for e in Entries if e["MessageBody"] == self.refused_body]
        result["Failed"] = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"} for e in refused
        ]
        return result


def test_an_event_sqs_refuses_stays_in_undeliverable_events(
    deployed: dict[str, str], console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN 5 undeliverable events, one of which SQS refuses to send
    sqs = moto_clients().sqs
    expected = _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(5)])
    refused = event_body("incoming/event-3")

    # WHEN redrive runs THEN it fails with one line saying the event is still there
    assert _redrive(console, RefusingSqs(sqs, refused)) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: 1 events could not be sent (InternalError: try again); they are still in")
    # AND the refused event was not deleted, the others are on the source queue
    assert sorted(bodies(sqs, deployed[QUEUE])) == sorted(expected - {refused})
    assert counts(sqs, deployed[UNDELIVERABLE]) == 1
