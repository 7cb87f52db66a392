"""`make redrive` against moto: both queues, the dry run, an interrupted run, events SQS refuses, and each half
denied or failing while the other still runs.

moto has no StartMessageMoveTask or ListMessageMoveTasks: those two calls go to a fake at the boto3 boundary
(`MoveTaskSqs` in tests/tools/support.py) that moves the messages in moto as the real task would. Denials,
throttling and 5xx answers are AWS's documented errors raised at the same boundary (`Refusing`).
"""

from __future__ import annotations

import itertools
import re
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
    Refusing,
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


@pytest.fixture(autouse=True)
def _short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto answers every receive from all of the queue's messages: its short poll cannot miss one, so the replay's
    # long poll would only make each test wait a second at the end of the queue.
    monkeypatch.setattr(redrive, "REPLAY_WAIT_SECONDS", 0)


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

    # THEN it shows what would move where, the queues by their role, and nothing moved
    screen = console.export_text()
    assert "dry run" in screen
    assert re.search(r"dead-letter queue\W+3\W+inbox queue\W+SQS message move task", screen)
    assert re.search(r"undeliverable events\W+12\W+inbox queue\W+sent one by one", screen)
    assert not mover.started
    assert (counts(sqs, deployed[DEAD_LETTER_QUEUE]), counts(sqs, deployed[UNDELIVERABLE])) == (3, 12)
    assert counts(sqs, deployed[QUEUE]) == 0


def test_redrive_brings_both_queues_back_to_the_source_queue(deployed: dict[str, str]) -> None:
    # GIVEN 9 files in the dead-letter queue and 23 undeliverable events (more than two batches)
    sqs = moto_clients().sqs
    expected = _fill(sqs, deployed[DEAD_LETTER_QUEUE], [f"incoming/dlq-{n}" for n in range(9)])
    expected |= _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(23)])
    mover = MoveTaskSqs(sqs, deployed[QUEUE], per_poll=4)

    # WHEN redrive runs in an 80-column terminal
    console = Console(width=80, record=True, force_terminal=False, color_system=None)
    assert _redrive(console, mover) == 0
    lines = console.export_text().splitlines()
    assert [line for line in lines if len(line) > 80] == []

    # THEN one move task was started for the dead-letter queue and followed to the end
    assert len(mover.started) == 1
    assert mover.started[0].endswith(f":{DEAD_LETTER_QUEUE}")
    # AND each half's line shows its short label, a bar, the count and the elapsed time within the 80 columns
    assert any(re.fullmatch(r"dead-letter queue → inbox queue ━{20,} 9/9 \d:\d\d:\d\d", line) for line in lines)
    assert any(re.fullmatch(r"undeliverable events → inbox queue ━{20,} 23/23 \d:\d\d:\d\d", line) for line in lines)
    screen = "\n".join(lines)
    assert "9 messages moved back from the dead-letter queue." in screen
    assert "23 undeliverable events sent to the inbox queue." in screen
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
    assert line.startswith("error: dead-letter queue → inbox queue: the move ended FAILED: AccessDenied on the source")


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
    assert line.startswith(
        "error: undeliverable events → inbox queue: 4 sent, 1 could not be sent (InternalError: try again); "
        "they are still in the undeliverable events queue"
    )
    # AND the refused event was not deleted, the others are on the source queue
    assert sorted(bodies(sqs, deployed[QUEUE])) == sorted(expected - {refused})
    assert counts(sqs, deployed[UNDELIVERABLE]) == 1


# Each half's outcome: done, denied, or AWS failing (moto's own server answers ListMessageMoveTasks with a bare 500).
DEAD_LETTER_OUTCOMES: dict[str, dict[str, Any] | None] = {
    "moved": None,
    "denied": {"method": "list_message_move_tasks", "action": "sqs:ListMessageMoveTasks"},
    "5xx": {"method": "list_message_move_tasks", "code": "500", "status": 500},
}
REPLAY_OUTCOMES: dict[str, dict[str, Any] | None] = {
    "replayed": None,
    "denied": {"method": "receive_message", "action": "sqs:ReceiveMessage"},
    "throttled": {"method": "send_message_batch", "code": "ThrottlingException", "status": 400},
}
EXPECTED_LINES = {
    "denied": r"not allowed: {action} — the credentials need it for this part",
    "5xx": r"AWS had a problem \(500\), try again",
    "throttled": r"AWS had a problem \(ThrottlingException\), try again",
}


@pytest.mark.parametrize(("dead_letters", "events"), list(itertools.product(DEAD_LETTER_OUTCOMES, REPLAY_OUTCOMES)))
def test_the_two_halves_are_independent(
    deployed: dict[str, str], console: Console, capsys: pytest.CaptureFixture[str], dead_letters: str, events: str
) -> None:
    # GIVEN files in both queues, and each half either allowed, denied, or failed by AWS
    sqs = moto_clients().sqs
    dead = _fill(sqs, deployed[DEAD_LETTER_QUEUE], [f"incoming/dlq-{n}" for n in range(3)])
    undeliverable = _fill(sqs, deployed[UNDELIVERABLE], [f"incoming/event-{n}" for n in range(4)])
    client: Any = MoveTaskSqs(sqs, deployed[QUEUE])
    for outcome in (DEAD_LETTER_OUTCOMES[dead_letters], REPLAY_OUTCOMES[events]):
        if outcome:
            client = Refusing(client, **outcome)

    # WHEN redrive runs
    code = _redrive(console, client)

    # THEN each half that could run did its whole work, whatever the other did
    on_queue = set(bodies(sqs, deployed[QUEUE]))
    assert (dead <= on_queue) == (dead_letters == "moved")
    assert (undeliverable <= on_queue) == (events == "replayed")
    # AND the exit code says whether anything failed, with one line naming each failed half and why
    halves = {
        "dead-letter queue": (dead_letters, DEAD_LETTER_OUTCOMES[dead_letters]),
        "undeliverable events": (events, REPLAY_OUTCOMES[events]),
    }
    failed = {role: (name, outcome) for role, (name, outcome) in halves.items() if outcome}
    assert code == (1 if failed else 0)
    err = capsys.readouterr().err
    for role, (name, outcome) in failed.items():
        expected = EXPECTED_LINES[name].format(action=outcome.get("action", ""))
        assert re.search(rf"{role} → inbox queue: {expected}", err), err
    assert "permission" not in err
    assert len(err.splitlines()) == (1 if failed else 0)
