"""The log lines operators are sent to: `make status` and docs/runbook.md read them, so their shape is a contract.

- Every file that is not mailed now is logged once as a failure whose message matches `make status`'s filter
  (`tools/status.py`), at ERROR when it will never succeed ("Mailing failed permanently", the runbook's words)
  and at WARNING when SQS will redeliver it, with a `reason` that names the error and the upload's key.
- Every skipped upload is logged as "Upload skipped" with the metric that counts it as `skip_reason`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from inbox_mailer.contract import Metric
from inbox_mailer.processing import MAX_THROTTLED_REQUEUES
from tests.handler.fakes import FakeQueue, FakeS3, FakeSes, Mailbox, upload_record
from tests.handler.support import (
    BUCKET,
    FailingSes,
    Inbox,
    LambdaContext,
    LogCapture,
    RecordingS3,
    sqs_event,
    sqs_record,
)
from tools.status import FAILURE_FILTER

# The words `make status` asks CloudWatch Logs for (a quoted phrase in its filter pattern).
STATUS_PHRASE = json.loads(FAILURE_FILTER)
KEY = "incoming/report.pdf"


class BrokenS3:
    def head_object(self, **kwargs: Any) -> Any:
        raise RuntimeError("socket closed by a bug")


@dataclass(frozen=True)
class Failure:
    """How a file fails, and what its one failure log must say."""

    s3: Callable[[Inbox], Any] | None = None
    ses: Any = None
    throttled_before: int | None = None
    retryable: bool = True
    # Text the reason must contain so the operator knows which error it was.
    names: str = ""
    # The `error_code` logged: the service's own error code, empty when no service answered.
    code: str = ""
    # False when the failure is the whole message's (after every upload in it was tried): it names all its keys.
    per_upload: bool = True


FAILURES = {
    "SES rejects the message": Failure(
        ses=FailingSes("MessageRejected", "Email address is not verified."),
        retryable=False,
        names="MessageRejected",
        code="MessageRejected",
    ),
    "SES is down": Failure(
        ses=FailingSes("InternalFailure", "try later"), names="InternalFailure", code="InternalFailure"
    ),
    "SES answers an unknown error": Failure(ses=FailingSes("Teapot", "odd"), names="Teapot", code="Teapot"),
    "S3 is unavailable": Failure(s3=lambda inbox: RecordingS3(inbox.s3, head_error="503"), names="503", code="503"),
    "S3 refuses the role": Failure(
        s3=lambda inbox: RecordingS3(inbox.s3, head_error="AccessDenied"),
        retryable=False,
        names="denied",
        code="AccessDenied",
    ),
    "S3 finds the version id invalid": Failure(
        s3=lambda inbox: RecordingS3(inbox.s3, head_error="InvalidArgument"),
        retryable=False,
        names="InvalidArgument",
        code="InvalidArgument",
    ),
    "S3 answers an unknown error": Failure(
        s3=lambda inbox: RecordingS3(inbox.s3, head_error="Teapot"), names="Teapot", code="Teapot"
    ),
    "an error nobody foresaw": Failure(s3=lambda inbox: BrokenS3(), names="RuntimeError"),
    "throttled too often in a row": Failure(
        ses=FailingSes("Throttling", "Maximum sending rate exceeded."),
        throttled_before=MAX_THROTTLED_REQUEUES,
        names=str(MAX_THROTTLED_REQUEUES + 1),
        per_upload=False,
    ),
}


def _failure_logs(logs: LogCapture) -> list[dict[str, Any]]:
    return [record for record in logs.records if STATUS_PHRASE in str(record.get("message"))]


@pytest.mark.parametrize("failure", FAILURES.values(), ids=list(FAILURES))
def test_a_file_that_is_not_mailed_is_logged_once_where_make_status_looks_with_its_reason(
    failure: Failure,
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    logs: LogCapture,
    lambda_context: LambdaContext,
) -> None:
    # GIVEN an upload, and S3 or SES failing in one of the ways a file can fail
    rewire(s3=None if failure.s3 is None else failure.s3(inbox), ses=failure.ses)
    received = inbox.upload_and_receive(KEY, b"%PDF")
    attributes = {}
    if failure.throttled_before is not None:
        attributes = {"ThrottledAttempts": {"DataType": "Number", "StringValue": str(failure.throttled_before)}}
    record = sqs_record(received["body"], received["messageId"], attributes=attributes)

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the record is failed, and exactly one failure line is logged, the one `make status` finds
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [logged] = _failure_logs(logs)
    # AND its level and `retryable` say whether it can succeed later, in the runbook's words when it cannot
    assert logged["retryable"] is failure.retryable
    assert logged["level"] == ("WARNING" if failure.retryable else "ERROR")
    assert ("permanently" in logged["message"]) is not failure.retryable
    # AND its reason names the error, and the line names the upload
    assert isinstance(logged["reason"], str)
    assert failure.names in logged["reason"]
    assert logged["error_code"] == failure.code
    if failure.per_upload:
        assert logged["key"] == KEY
    else:
        assert logged["keys"] == [KEY]
    assert inbox.sent_mail() == []


def test_a_message_that_is_no_event_is_logged_as_a_permanent_failure_with_its_reason(
    inbox: Inbox, function_module: ModuleType, logs: LogCapture, lambda_context: LambdaContext
) -> None:
    # GIVEN a message on the queue that is not an upload event at all
    record = sqs_record("this is not json", "message-1")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it is failed (the dead-letter queue keeps it), logged once as permanent with a reason
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    [logged] = _failure_logs(logs)
    assert logged["retryable"] is False
    assert logged["level"] == "ERROR"
    assert "malformed" in logged["reason"]


def test_a_file_deleted_before_it_was_mailed_is_logged_as_skipped_with_the_metric_that_counts_it(
    inbox: Inbox, function_module: ModuleType, logs: LogCapture, lambda_context: LambdaContext
) -> None:
    # GIVEN an upload that was deleted (`aws s3 rm`: a delete marker) before its event was handled
    received = inbox.upload_and_receive(KEY, b"%PDF")
    inbox.s3.delete_object(Bucket=BUCKET, Key=KEY)

    # WHEN it is handled
    response = function_module.handler(sqs_event(received), lambda_context)

    # THEN it is acknowledged, not mailed, and logged once as skipped, with the reason docs/behaviour.md names
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []
    [skipped] = [record for record in logs.records if record.get("message") == "Upload skipped"]
    assert skipped["skip_reason"] == Metric.SKIPPED_DELETED.value
    assert skipped["why"]
    assert _failure_logs(logs) == []


def _throttling() -> ClientError:
    return ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, "SendEmail")


def _dropping_s3() -> FakeS3:
    s3 = FakeS3()
    s3.fail["get_object"] = EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")
    return s3


_REFUSING_QUEUE = EndpointConnectionError(endpoint_url="https://sqs.amazonaws.com")
FAST_FAILURES: dict[str, Callable[[], Mailbox]] = {
    "the connection drops while the file is read": lambda: Mailbox(s3=_dropping_s3()),
    "SES throttles and the queue cannot take the file back": lambda: Mailbox(
        ses=FakeSes(_throttling()), sqs=FakeQueue(send_error=_REFUSING_QUEUE)
    ),
}


@pytest.mark.parametrize("mailbox_with_a_failure", FAST_FAILURES.values(), ids=list(FAST_FAILURES))
def test_a_failure_that_a_retry_can_get_past_is_logged_retryable_with_a_reason(
    mailbox_with_a_failure: Callable[[], Mailbox],
) -> None:
    # GIVEN an upload, and S3 dropping the connection, or SES throttling while SQS refuses to take the file back
    mailbox = mailbox_with_a_failure()
    record = upload_record(mailbox, KEY, b"%PDF")

    # WHEN it is handled THEN it is failed for SQS to redeliver, nothing is mailed
    assert mailbox.handle(record) == ["m-1"]
    assert mailbox.ses.mails == []
    # AND one failure line, the one `make status` finds, says it will be retried and why
    [logged] = [entry for entry in mailbox.logs if STATUS_PHRASE in str(entry.get("message"))]
    assert logged["retryable"] is True
    assert logged["level"] == "WARNING"
    assert isinstance(logged["reason"], str)
    assert "amazonaws.com" in logged["reason"]
    # AND it names the upload: its key, or the keys of every upload when the whole message failed
    assert KEY in (logged.get("key"), *logged.get("keys", []))


@pytest.mark.parametrize(("name", "outcome"), [("report.pdf", "attached"), ("setup.exe", "linked")])
def test_a_mailed_file_is_logged_with_its_outcome_and_the_ses_message_id(name: str, outcome: str) -> None:
    # GIVEN an upload that is mailed, attached or (a type SES refuses) as a link
    mailbox = Mailbox()
    record = upload_record(mailbox, f"incoming/{name}", b"%PDF")

    # WHEN it is handled
    assert mailbox.handle(record) == []

    # THEN one "Upload processed" line ties the upload's key to how it went out and to the SES message id,
    # the id SES's own events (bounces, complaints) carry
    [processed] = [entry for entry in mailbox.logs if entry.get("message") == "Upload processed"]
    assert processed["key"] == f"incoming/{name}"
    assert processed["result"]["outcome"] == outcome
    assert processed["result"]["message_id"] == "fake-1"
    assert processed["result"]["attached_bytes"] == (4 if outcome == "attached" else 0)
