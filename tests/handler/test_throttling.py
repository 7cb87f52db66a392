"""A throttled file goes back on the queue with one more throttling counted, after a backoff SQS can take."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from inbox_mailer.processing import (
    MAX_DELAY_SECONDS,
    MAX_THROTTLED_REQUEUES,
    THROTTLED_ATTRIBUTE,
    _throttled_attempts,
    throttle_delay_seconds,
)
from tests.handler.fakes import (
    FakeQueue,
    FakeSes,
    Mailbox,
    Metric,
    client_error,
    s3_notification_body,
    s3_notification_record,
    upload_record,
)
from tests.handler.support import CONTRACT_ENV, sqs_record

THROTTLED = Metric(1, "Count")


def _throttling_ses() -> FakeSes:
    return FakeSes(client_error("TooManyRequestsException", "SendEmail"))


def _throttled_before(record: dict[str, Any], value: str | None, data_type: str = "Number") -> dict[str, Any]:
    attributes = None if value is None else {THROTTLED_ATTRIBUTE: {"DataType": data_type, "StringValue": value}}
    return sqs_record(record["body"], record["messageId"], receipt_handle="handle-1", attributes=attributes)


def _backoff_band(throttled_before: int) -> tuple[int, int]:
    """The delay after `throttled_before` throttlings in a row: half to all of 1, 2, 4 ... s, at most 900 s."""
    ceiling = min(MAX_DELAY_SECONDS, 2 ** min(throttled_before, 10))
    return math.ceil(ceiling / 2), ceiling


@pytest.mark.parametrize("throttled_before", range(MAX_THROTTLED_REQUEUES))
def test_a_throttled_file_goes_back_on_the_queue_counting_one_more_throttling(throttled_before: int) -> None:
    # GIVEN a file SES throttles, whose message was put back `throttled_before` times already
    mailbox = Mailbox(ses=_throttling_ses())
    record = _throttled_before(upload_record(mailbox, "incoming/a.pdf", b"%PDF"), str(throttled_before))

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN the record is acknowledged and its body is sent to the queue again, counting one more throttling,
    # delayed within the backoff band of that many throttlings
    assert failed == []
    assert mailbox.ses.mails == []
    [requeued] = mailbox.sqs.sent
    assert requeued["QueueUrl"] == CONTRACT_ENV["QUEUE_URL"]
    assert requeued["MessageBody"] == record["body"]
    assert requeued["MessageAttributes"] == {
        THROTTLED_ATTRIBUTE: {"DataType": "Number", "StringValue": str(throttled_before + 1)}
    }
    low, high = _backoff_band(throttled_before)
    assert low <= requeued["DelaySeconds"] <= high
    # AND it is counted as throttled, not as failed
    assert mailbox.metrics() == {"SendsThrottled": THROTTLED}


@pytest.mark.parametrize("throttled_before", [MAX_THROTTLED_REQUEUES, MAX_THROTTLED_REQUEUES + 7])
def test_a_file_throttled_the_most_times_in_a_row_fails_instead_of_going_back(throttled_before: int) -> None:
    # GIVEN a file SES still throttles after the most put-backs in a row
    mailbox = Mailbox(ses=_throttling_ses())
    record = _throttled_before(upload_record(mailbox, "incoming/a.pdf", b"%PDF"), str(throttled_before))

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it fails like any failing file (towards the dead-letter queue), and is not put back
    assert failed == [record["messageId"]]
    assert mailbox.sqs.sent == []
    assert mailbox.metrics() == {"SendsThrottled": THROTTLED, "FilesFailed": Metric(1, "Count")}
    assert [entry["retryable"] for entry in mailbox.failures_logged()] == [True]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(client_error("AWS.SimpleQueueService.NonExistentQueue", "SendMessage"), id="refused"),
        pytest.param(EndpointConnectionError(endpoint_url="https://sqs"), id="unreachable"),
    ],
)
def test_a_throttled_file_the_queue_cannot_take_back_is_failed_and_retried_after_the_backoff(error: Exception) -> None:
    # GIVEN a file throttled 3 times in a row already, SES throttling again, and SQS refusing the message
    mailbox = Mailbox(ses=_throttling_ses(), sqs=FakeQueue(send_error=error))
    record = _throttled_before(upload_record(mailbox, "incoming/a.pdf", b"%PDF"), "3")

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN the record fails, so SQS keeps it, and it becomes visible again after the backoff, not the full timeout
    assert failed == [record["messageId"]]
    [change] = mailbox.sqs.visibility_changes
    assert change["QueueUrl"] == CONTRACT_ENV["QUEUE_URL"]
    assert change["ReceiptHandle"] == "handle-1"
    low, high = _backoff_band(3)
    assert low <= change["VisibilityTimeout"] <= high
    assert mailbox.metrics() == {"SendsThrottled": THROTTLED, "FilesFailed": Metric(1, "Count")}


@pytest.mark.parametrize(
    ("value", "data_type"),
    [(None, "Number"), ("", "String"), ("often", "String"), ("-3", "Number"), ("2.5", "Number"), ("0x10", "String")],
    ids=["missing", "empty", "word", "negative", "fraction", "hex"],
)
def test_a_missing_or_unreadable_throttle_count_counts_as_no_throttling_yet(value: str | None, data_type: str) -> None:
    # GIVEN a throttled file whose message has no usable count of earlier throttlings
    mailbox = Mailbox(ses=_throttling_ses())
    record = _throttled_before(upload_record(mailbox, "incoming/a.pdf", b"%PDF"), value, data_type)

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it is put back as throttled once, after the shortest delay
    assert failed == []
    [requeued] = mailbox.sqs.sent
    assert requeued["MessageAttributes"][THROTTLED_ATTRIBUTE]["StringValue"] == "1"
    assert requeued["DelaySeconds"] == 1


def test_a_message_with_a_failed_and_a_throttled_upload_fails_whole_and_is_not_put_back() -> None:
    # GIVEN one message announcing two uploads: SES rejects the first and throttles the second
    ses = FakeSes(client_error("MessageRejected", "SendEmail"), client_error("Throttling", "SendEmail"))
    mailbox = Mailbox(ses=ses)
    first = upload_record(mailbox, "incoming/a.pdf", b"%PDF a")
    second = upload_record(mailbox, "incoming/b.pdf", b"%PDF b")
    both = sqs_record(_notification_of(first["body"], second["body"]), "both")

    # WHEN it is handled
    failed = mailbox.handle(both)

    # THEN the message fails as a whole (SQS redelivers both), and no copy of it is put back on the queue
    assert failed == ["both"]
    assert mailbox.sqs.sent == []
    assert mailbox.metrics() == {"FilesFailed": Metric(1, "Count"), "SendsThrottled": THROTTLED}


@given(attempts=st.integers(min_value=0, max_value=100_000), jitter=st.floats(min_value=0.0, max_value=1.0))
def test_the_throttle_delay_is_within_its_backoff_band_and_what_sqs_accepts(attempts: int, jitter: float) -> None:
    delay = throttle_delay_seconds(attempts, jitter=lambda: jitter)

    low, high = _backoff_band(attempts)
    assert low <= delay <= high
    assert 1 <= delay <= MAX_DELAY_SECONDS


@given(attempts=st.integers(min_value=0, max_value=8), jitter=st.floats(min_value=0.0, max_value=1.0))
def test_the_throttle_delay_doubles_with_each_throttling_in_a_row(attempts: int, jitter: float) -> None:
    # GIVEN the same jitter, one throttling more (below the 900 s cap)
    now = throttle_delay_seconds(attempts, jitter=lambda: jitter)
    after = throttle_delay_seconds(attempts + 1, jitter=lambda: jitter)

    # THEN the delay doubles, give or take the rounding up to whole seconds
    assert 2 * now - 1 <= after <= 2 * now


@given(count=st.integers(min_value=0, max_value=10**9))
def test_the_throttle_count_is_read_back_from_the_message(count: int) -> None:
    record = sqs_record("{}", "m", attributes={THROTTLED_ATTRIBUTE: {"DataType": "Number", "StringValue": str(count)}})

    assert _throttled_attempts(SQSRecord(record)) == count


@given(value=st.one_of(st.text(max_size=12), st.integers(max_value=-1).map(str)))
def test_any_throttle_count_that_is_not_a_whole_number_of_times_counts_as_zero(value: str) -> None:
    record = sqs_record("{}", "m", attributes={THROTTLED_ATTRIBUTE: {"DataType": "String", "StringValue": value}})

    read = _throttled_attempts(SQSRecord(record))

    try:
        expected = max(0, int(value))
    except ValueError:
        expected = 0
    assert read == expected


def _notification_of(*eventbridge_bodies: str) -> str:
    """One direct S3 notification announcing the uploads of several EventBridge events."""
    records = []
    for body in eventbridge_bodies:
        obj = json.loads(body)["detail"]["object"]
        records.append(
            s3_notification_record(
                obj["key"], version_id=obj["version-id"], etag=obj["etag"], sequencer=obj["sequencer"]
            )
        )
    return s3_notification_body(*records)
