"""Sending at the account's pace, throttled files put back without nearing the dead-letter queue, and the one
write that stands between a sent mail and a duplicate."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from inbox_mailer.pacing import SendPacer, account_max_send_rate
from inbox_mailer.persistence import SUCCESS_WRITE_DELAYS, DurableDynamoDBPersistenceLayer
from inbox_mailer.processing import MAX_DELAY_SECONDS, MAX_THROTTLED_REQUEUES, throttle_delay_seconds
from tests.handler.support import (
    TABLE,
    FailingSes,
    Inbox,
    LambdaContext,
    LogCapture,
    emitted_metrics,
    sqs_event,
    sqs_record,
)


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class RatedSes:
    """SES v2 whose account reports `rate` mails a second; sends go through moto and are timed."""

    def __init__(self, real: Any, rate: float, clock: FakeClock) -> None:
        self._real = real
        self._rate = rate
        self._clock = clock
        self.lookups = 0
        self.sent_at: list[float] = []

    def get_account(self) -> dict[str, Any]:
        self.lookups += 1
        return {"SendQuota": {"MaxSendRate": self._rate, "Max24HourSend": 200.0, "SentLast24Hours": 0.0}}

    def send_email(self, **kwargs: Any) -> Any:
        self.sent_at.append(self._clock.now)
        return self._real.send_email(**kwargs)


class FailingQueue:
    """SQS that cannot take the message back, and records how the visibility was changed."""

    def __init__(self) -> None:
        self.visibility_changes: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility_changes.append(kwargs)
        return {}


class FlakyDynamoDB:
    """DynamoDB whose first `failing_updates` UpdateItem calls fail (the success write), through moto."""

    def __init__(self, real: Any, failing_updates: int) -> None:
        self._real = real
        self._failing = failing_updates
        self.update_attempts = 0

    def update_item(self, **kwargs: Any) -> Any:
        self.update_attempts += 1
        if self.update_attempts <= self._failing:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "UpdateItem")
        return self._real.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _pacer(rate: float | None, instances: int, clock: FakeClock, jitter: float = 0.5) -> SendPacer:
    return SendPacer(
        max_send_rate=lambda: rate, instances=instances, clock=clock, sleep=clock.sleep, jitter=lambda: jitter
    )


# --- the pacer alone ---------------------------------------------------------------------------------------


def test_each_instance_keeps_to_its_share_of_the_account_rate() -> None:
    # GIVEN an account allowed 14 mails a second, shared by 2 instances
    clock = FakeClock()
    pacer = _pacer(14.0, 2, clock)

    # WHEN one instance takes four turns
    turns = [pacer.wait_for_turn(seconds_left=60, recipients=1) for _ in range(4)]

    # THEN its share is 7 a second: the first turn is immediate, the others come 1/7 s apart
    assert turns == [True] * 4
    assert pacer.share == 7.0
    assert clock.sleeps == [round(1 / 7, 6)] * 3


def test_a_mail_to_several_recipients_uses_that_many_turns() -> None:
    # GIVEN the sandbox's 1 recipient a second, shared by 2 instances: this instance may send to 0.5 a second
    clock = FakeClock()
    pacer = _pacer(1.0, 2, clock)

    # WHEN it sends three mails to 2 recipients each, then one to 20
    turns = [pacer.wait_for_turn(seconds_left=600, recipients=r) for r in (2, 2, 2, 20)]

    # THEN each mail to 2 recipients holds the next turn back 4 s (SES counts recipients, not mails)
    assert turns == [True] * 4
    assert clock.sleeps == [4.0, 4.0, 4.0]
    # AND the mail to 20 keeps the one after it 40 s away
    assert not pacer.wait_for_turn(seconds_left=39.9, recipients=1)
    assert pacer.wait_for_turn(seconds_left=40, recipients=1)
    assert clock.sleeps[-1] == 40.0


@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 14.0, 50.0, 3000.0]),
    instances=st.integers(min_value=1, max_value=20),
    # Each step: recipients of the mail, seconds of other work before it, seconds left before the timeout, and
    # whether SES refused the send for the rate (another instance sent at the same moment).
    steps=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=50),
            st.floats(min_value=0, max_value=30, allow_nan=False),
            st.floats(min_value=-10, max_value=120, allow_nan=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    jitter=st.floats(min_value=0, max_value=0.999),
)
def test_an_instance_never_sends_to_more_than_its_share_of_recipients_in_any_window(
    rate: float, instances: int, steps: list[tuple[int, float, float, bool]], jitter: float
) -> None:
    clock = FakeClock()
    pacer = _pacer(rate, instances, clock, jitter)
    share = rate / instances
    sent: list[tuple[float, int]] = []
    next_due = -1e18
    for recipients, work, seconds_left, refused in steps:
        clock.now += work
        due_now = clock.now >= next_due - 1e-9
        taken = pacer.wait_for_turn(seconds_left=seconds_left, recipients=recipients)
        # A turn that is due now is always taken, and a taken turn is never later than the time left allowed.
        assert taken or not due_now
        if taken:
            sent.append((clock.now, recipients))
            next_due = clock.now + recipients / share
            if refused:
                pacer.throttled()
                next_due += jitter * recipients / share
    # Between any two sends, the recipients of the mails before the later one fit in the time between them.
    for first in range(len(sent)):
        for last in range(first + 1, len(sent)):
            recipients_before = sum(r for _, r in sent[first:last])
            assert recipients_before <= share * (sent[last][0] - sent[first][0]) + 1e-6


def test_a_send_ses_refused_moves_the_instances_next_turn_by_a_random_part_of_its_interval() -> None:
    # GIVEN an instance that sent to 10 recipients at its share of 0.5 a second (next turn 20 s later)
    clock = FakeClock()
    pacer = _pacer(1.0, 2, clock, jitter=0.25)
    assert pacer.wait_for_turn(seconds_left=600, recipients=10)

    # WHEN SES says that send was over the account's rate (another instance sent at the same moment)
    pacer.throttled()

    # THEN its next turn comes a quarter of an interval later (25 s, not 20 s): instances fall out of step
    assert pacer.wait_for_turn(seconds_left=600, recipients=10)
    assert clock.sleeps == [25.0]


def test_time_spent_between_sends_counts_towards_the_next_turn() -> None:
    clock = FakeClock()
    pacer = _pacer(1.0, 2, clock)
    pacer.wait_for_turn(seconds_left=60, recipients=1)

    # WHEN 1.5 s pass doing other work, then the next turn is asked for
    clock.now += 1.5
    pacer.wait_for_turn(seconds_left=60, recipients=1)

    # THEN only the rest of the 2 s interval is waited
    assert clock.sleeps == [0.5]


def test_a_turn_beyond_the_time_left_is_refused_without_waiting() -> None:
    clock = FakeClock()
    pacer = _pacer(1.0, 2, clock)
    assert pacer.wait_for_turn(seconds_left=60, recipients=1)

    # WHEN the next turn (2 s away) is asked for with only 1.9 s left before the function must stop
    taken = pacer.wait_for_turn(seconds_left=1.9, recipients=1)

    # THEN it is refused at once, and the turn is still free for later
    assert not taken
    assert clock.sleeps == []
    assert pacer.wait_for_turn(seconds_left=2.0, recipients=1)
    assert clock.sleeps == [2.0]


def test_a_turn_that_is_due_is_taken_even_with_no_time_to_spare() -> None:
    # GIVEN a function whose timeout is shorter than the margin kept for a send (seconds left below zero)
    clock = FakeClock()
    pacer = _pacer(1.0, 2, clock)

    # WHEN a turn is asked for that is due now, and again once it is due 2 s later
    first = pacer.wait_for_turn(seconds_left=-3, recipients=1)
    clock.now += 2
    second = pacer.wait_for_turn(seconds_left=-3, recipients=1)

    # THEN both are taken: only a turn that needs waiting can be refused
    assert (first, second) == (True, True)
    assert clock.sleeps == []


def test_unknown_rate_paces_nothing_and_is_looked_up_once() -> None:
    lookups: list[int] = []

    def rate() -> float | None:
        lookups.append(1)
        return None

    clock = FakeClock()
    pacer = SendPacer(max_send_rate=rate, instances=2, clock=clock, sleep=clock.sleep)

    assert all(pacer.wait_for_turn(seconds_left=0, recipients=1) for _ in range(5))
    assert clock.sleeps == []
    assert lookups == [1]
    assert pacer.share is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"SendQuota": {"MaxSendRate": 14.0}}, 14.0),
        ({"SendQuota": {"MaxSendRate": 0.0}}, None),
        ({"SendQuota": {}}, None),
        (ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetAccount"), None),
        (NotImplementedError("moto"), None),
    ],
)
def test_account_rate_is_read_from_ses_or_left_unknown(answer: Any, expected: float | None) -> None:
    class Ses:
        def get_account(self) -> Any:
            if isinstance(answer, Exception):
                raise answer
            return answer

    assert account_max_send_rate(Ses()) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("throttled_before", [0, 1, 2, 5, 9, 10, 20, 1000])
def test_throttle_backoff_doubles_with_jitter_up_to_sqs_longest_delay(throttled_before: int) -> None:
    ceiling = min(MAX_DELAY_SECONDS, 2**throttled_before)
    low = throttle_delay_seconds(throttled_before, jitter=lambda: 0.0)
    high = throttle_delay_seconds(throttled_before, jitter=lambda: 1.0)
    assert high == ceiling
    assert low == max(1, -(-ceiling // 2))
    assert 1 <= low <= high <= MAX_DELAY_SECONDS


# --- the real handler ---------------------------------------------------------------------------------------


def test_handler_paces_a_batch_to_the_instances_share(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    # GIVEN a sandbox account (1 recipient a second) shared by the 2 instances the settings allow, 2 recipients
    # (CONTRACT_ENV) and 3 uploads
    clock = FakeClock()
    ses = RatedSes(inbox.ses, 1.0, clock)
    rate = lambda: account_max_send_rate(cast(Any, ses))  # noqa: E731
    rewire(ses=ses, pacer=SendPacer(max_send_rate=rate, instances=2, **_clocked(clock)))
    for name in ("a.txt", "b.txt", "c.txt"):
        inbox.upload(f"incoming/{name}", name.encode())
    records = inbox.receive_records()

    # WHEN the batch is handled
    response = function_module.handler(sqs_event(*records), lambda_context)

    # THEN all three are mailed 4 s apart: each mail uses 2 of this instance's 0.5 recipients a second; the rate
    # is read once
    assert response == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 3
    assert [b - a for a, b in zip(ses.sent_at, ses.sent_at[1:], strict=False)] == [4.0, 4.0]
    assert ses.lookups == 1


def test_no_turn_before_the_timeout_puts_the_file_back_instead_of_failing(
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN 2 uploads, a mail to the 2 recipients every 4 s for this instance, and only 6.5 s left of which 5 s are
    # kept for the send
    clock = FakeClock()
    ses = RatedSes(inbox.ses, 1.0, clock)
    rewire(ses=ses, pacer=SendPacer(max_send_rate=lambda: 1.0, instances=2, **_clocked(clock)))
    inbox.upload("incoming/a.txt", b"a")
    inbox.upload("incoming/b.txt", b"b")
    first, second = inbox.receive_records()

    # WHEN the batch is handled
    response = function_module.handler(sqs_event(first, second), ShortContext(remaining_ms=6_500))

    # THEN the first is mailed, the second put back on the queue: nothing fails
    assert response == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1
    [requeued] = inbox.receive_records(wait_seconds=3)
    assert requeued["body"] == second["body"]
    assert emitted_metrics(capsys.readouterr().out)["SendsThrottled"] == 1


def test_a_file_throttled_too_often_in_a_row_is_failed_like_any_other(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    # GIVEN a message already put back the maximum number of times, and SES still throttling
    rewire(ses=FailingSes("TooManyRequestsException", "Maximum sending rate exceeded."))
    record = inbox.upload_and_receive("incoming/late.pdf", b"%PDF")
    attributes = {"ThrottledAttempts": {"DataType": "Number", "StringValue": str(MAX_THROTTLED_REQUEUES)}}
    record = sqs_record(record["body"], record["messageId"], attributes=attributes)

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it is reported failed (so SQS retries it and, if it never gets through, the dead-letter queue holds it)
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert inbox.receive_records() == []


def test_when_the_queue_cannot_take_it_back_the_throttled_file_is_retried_sooner(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    # GIVEN SES throttling, and SQS refusing to take the message back
    queue = FailingQueue()
    rewire(ses=FailingSes("Throttling", "Maximum sending rate exceeded."), sqs=queue)
    record = inbox.upload_and_receive("incoming/x.pdf", b"%PDF")
    record = sqs_record(record["body"], record["messageId"], receipt_handle="handle-1")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it fails (SQS keeps it), and its visibility is shortened to the backoff instead of the full timeout
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [change] = queue.visibility_changes
    assert change["ReceiptHandle"] == "handle-1"
    assert change["VisibilityTimeout"] == 1


def test_success_record_write_is_retried_and_one_mail_goes_out(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    # GIVEN SES accepts the mail, but saving the "mailed" record fails three times
    clock = FakeClock()
    dynamodb = FlakyDynamoDB(inbox.dynamodb, failing_updates=3)
    store = DurableDynamoDBPersistenceLayer(table_name=TABLE, boto3_client=dynamodb, sleep=clock.sleep)
    rewire(persistence_store=store)
    record = inbox.upload_and_receive("incoming/once.pdf", b"%PDF")

    # WHEN it is handled, then delivered again
    first = function_module.handler(sqs_event(record), lambda_context)
    again = function_module.handler(sqs_event({**record, "messageId": "again"}), lambda_context)

    # THEN the write was retried with backoff, the record saved, and the redelivery sent nothing
    assert first == again == {"batchItemFailures": []}
    assert clock.sleeps == list(SUCCESS_WRITE_DELAYS[:3])
    assert len(inbox.sent_mail()) == 1
    [item] = inbox.dynamodb.scan(TableName=TABLE)["Items"]
    assert item["status"]["S"] == "COMPLETED"


def test_a_sent_mail_is_acknowledged_even_when_its_record_cannot_be_saved(
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    lambda_context: LambdaContext,
    logs: LogCapture,
) -> None:
    # GIVEN SES accepts the mail, and DynamoDB refuses the success write for the whole retry span
    clock = FakeClock()
    dynamodb = FlakyDynamoDB(inbox.dynamodb, failing_updates=1000)
    store = DurableDynamoDBPersistenceLayer(table_name=TABLE, boto3_client=dynamodb, sleep=clock.sleep)
    rewire(persistence_store=store)
    record = inbox.upload_and_receive("incoming/once.pdf", b"%PDF")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN every retry was made, the record is acknowledged (a retry would mail it again), and the gap is logged
    assert response == {"batchItemFailures": []}
    assert clock.sleeps == list(SUCCESS_WRITE_DELAYS)
    assert dynamodb.update_attempts == len(SUCCESS_WRITE_DELAYS) + 1
    assert len(inbox.sent_mail()) == 1
    [error] = logs.at_level("ERROR")
    assert error["message"].startswith("Mailed, but the record of it could not be saved")

    # WHEN the same event is delivered again while the mail's in-progress record is still valid
    again = function_module.handler(sqs_event({**record, "messageId": "again"}), lambda_context)

    # THEN it is not mailed again now (it is retried later, as in progress)
    assert again == {"batchItemFailures": [{"itemIdentifier": "again"}]}
    assert len(inbox.sent_mail()) == 1


def test_success_write_retries_stop_before_the_timeout_and_the_mail_is_still_acknowledged(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    # GIVEN DynamoDB down, and 3.6 s left before the function's timeout
    clock = FakeClock()
    dynamodb = FlakyDynamoDB(inbox.dynamodb, failing_updates=1000)
    store = DurableDynamoDBPersistenceLayer(
        table_name=TABLE, boto3_client=dynamodb, sleep=clock.sleep, seconds_left=lambda: 3.6 - (clock.now - 1000.0)
    )
    rewire(persistence_store=store)
    record = inbox.upload_and_receive("incoming/once.pdf", b"%PDF")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the retries stop while 2 s are still left (a timed-out batch would be mailed again), and the mailed
    # file is acknowledged
    assert clock.sleeps == [0.1, 0.2, 0.4, 0.8]
    assert response == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1


def test_an_error_nobody_foresaw_fails_the_record_and_loses_nothing(
    inbox: Inbox, function_module: ModuleType, rewire: Callable[..., None], lambda_context: LambdaContext
) -> None:
    class BrokenS3:
        def head_object(self, **kwargs: Any) -> Any:
            raise RuntimeError("bug")

    # GIVEN an S3 client that fails in a way the code does not classify
    rewire(s3=BrokenS3())
    record = inbox.upload_and_receive("incoming/x.pdf", b"%PDF")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the record is failed (redelivered, eventually in the dead-letter queue), never acknowledged
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert json.loads(record["body"])["detail"]["object"]["key"] == "incoming/x.pdf"


@dataclass
class ShortContext(LambdaContext):
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _clocked(clock: FakeClock) -> dict[str, Any]:
    return {"clock": clock, "sleep": clock.sleep}


class RecordingPacer(SendPacer):
    def __init__(self, *, turns: bool = True) -> None:
        super().__init__(max_send_rate=lambda: 1.0, instances=2)
        self._turns = turns
        self.refusals = 0

    def wait_for_turn(self, seconds_left: float, *, recipients: int) -> bool:
        return self._turns

    def throttled(self) -> None:
        self.refusals += 1


@pytest.mark.parametrize(
    ("ses_refuses", "pacer_turns", "told"),
    [(True, True, 1), (False, False, 0)],
    ids=["ses-refused", "no-turn-left"],
)
def test_only_a_refusal_by_ses_moves_the_pacers_turns(
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    lambda_context: LambdaContext,
    ses_refuses: bool,
    pacer_turns: bool,
    told: int,
) -> None:
    # GIVEN SES refusing for the rate, or the instance's own pacing with no turn left
    pacer = RecordingPacer(turns=pacer_turns)
    ses = FailingSes("TooManyRequestsException", "Maximum sending rate exceeded.") if ses_refuses else None
    rewire(ses=ses, pacer=pacer)
    record = inbox.upload_and_receive("incoming/paced.pdf", b"%PDF")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the file is put back either way; only SES's refusal tells the pacer
    assert response == {"batchItemFailures": []}
    assert pacer.refusals == told
