"""Attach or link, and what happens when SES or S3 say no."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import pytest
from botocore.exceptions import ClientError

from inbox_mailer.contract import SES_MAX_MESSAGE_BYTES, MailerSettings
from inbox_mailer.delivery import Outcome, classify_ses_error, deliver
from inbox_mailer.events import UploadedObject
from tests.handler.support import (
    BUCKET,
    Inbox,
    LambdaContext,
    LogCapture,
    RecordingS3,
    ThrottledOnceSes,
    sqs_event,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

NOW = datetime(2026, 11, 12, 10, 21, 0, tzinfo=UTC)


def _settings(**overrides: Any) -> MailerSettings:
    return replace(MailerSettings.from_env(os.environ), **overrides)


def _uploaded(inbox: Inbox, key: str, body: bytes) -> UploadedObject:
    version_id = inbox.upload(key, body)
    return UploadedObject(
        bucket=BUCKET,
        key=key,
        version_id=version_id,
        etag="",
        sequencer="",
        size=len(body),
        event_time=NOW,
    )


def test_message_exactly_at_the_limit_is_attached_and_one_byte_over_is_linked(
    inbox: Inbox,
) -> None:
    # GIVEN a file, and the size of its whole encoded message with the file attached
    data = os.urandom(30_000)
    upload = _uploaded(inbox, "incoming/boundary.bin", data)
    deliver(
        upload,
        settings=_settings(max_message_bytes=SES_MAX_MESSAGE_BYTES),
        s3=inbox.s3,
        ses=inbox.ses,
        now=NOW,
    )
    message_size = len(inbox.sent_mail()[-1].raw)
    assert message_size > len(data) * 4 // 3  # the decision is on the encoded size

    # WHEN the limit is exactly that size
    at_limit = deliver(
        upload,
        settings=_settings(max_message_bytes=message_size),
        s3=inbox.s3,
        ses=inbox.ses,
        now=NOW,
    )

    # THEN the file is attached and the message is exactly at the limit
    assert at_limit.outcome is Outcome.ATTACHED
    assert len(inbox.sent_mail()[-1].raw) == message_size
    assert inbox.sent_mail()[-1].attachments == [("boundary.bin", data)]

    # WHEN the limit is one byte less
    below = deliver(
        upload,
        settings=_settings(max_message_bytes=message_size - 1),
        s3=inbox.s3,
        ses=inbox.ses,
        now=NOW,
    )

    # THEN a link is sent instead
    assert below.outcome is Outcome.LINKED
    assert inbox.sent_mail()[-1].attachments == []
    assert "too large to attach" in inbox.sent_mail()[-1].text


def test_file_too_large_to_attach_is_never_downloaded(inbox: Inbox) -> None:
    # GIVEN a file whose encoded message cannot fit the limit
    upload = _uploaded(inbox, "incoming/video.mp4", os.urandom(200_000))
    s3 = RecordingS3(inbox.s3)

    # WHEN it is delivered
    result = deliver(
        upload,
        settings=_settings(max_message_bytes=64_000, link_expiry_seconds=900),
        s3=cast("S3Client", s3),
        ses=inbox.ses,
        now=NOW,
    )

    # THEN only its size was asked for and a link signed; the object was never read
    assert result.outcome is Outcome.LINKED
    assert s3.calls == ["head_object", "list_object_versions", "generate_presigned_url"]
    [mail] = inbox.sent_mail()
    assert mail.attachments == []
    assert "the link expires at 2026-11-12 10:36:00 UTC" in mail.text
    assert "195.3 KiB (200,000 bytes)" in mail.text


def test_small_file_is_read_once(inbox: Inbox) -> None:
    # GIVEN a small file
    upload = _uploaded(inbox, "incoming/note.txt", b"hello")
    s3 = RecordingS3(inbox.s3)

    # WHEN it is delivered
    result = deliver(upload, settings=_settings(), s3=cast("S3Client", s3), ses=inbox.ses, now=NOW)

    # THEN it is attached after one HEAD and one GET, and nothing is signed
    assert result.outcome is Outcome.ATTACHED
    assert s3.calls == ["head_object", "list_object_versions", "get_object"]


def test_throttled_send_is_put_back_on_the_queue_and_mails_once(
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    lambda_context: LambdaContext,
    logs: LogCapture,
) -> None:
    # GIVEN SES that throttles the first send
    ses = ThrottledOnceSes(inbox.ses)
    rewire(ses=ses)
    record = inbox.upload_and_receive("incoming/report.pdf", b"%PDF-1.7 tiny")

    # WHEN the record is handled
    first = function_module.handler(sqs_event(record), lambda_context)

    # THEN the record is acknowledged, not failed: its receive count never grows towards the dead-letter queue
    assert first == {"batchItemFailures": []}
    assert inbox.sent_mail() == []
    # AND its body went back on the queue as a new message, delayed, counting one throttling
    [requeued] = inbox.receive_records(wait_seconds=3)
    assert requeued["body"] == record["body"]
    assert requeued["messageAttributes"]["ThrottledAttempts"]["stringValue"] == "1"
    assert next(entry["reason"] for entry in logs.records if "reason" in entry).startswith("SES is throttling")

    # WHEN the new message is handled
    second = function_module.handler(sqs_event(requeued), lambda_context)

    # THEN it succeeds with exactly one mail in total
    assert second == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1
    assert ses.attempts == 2


def test_unverified_sender_fails_permanently_with_advice(
    unverified_inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
) -> None:
    # GIVEN a sender identity that SES has not verified
    record = unverified_inbox.upload_and_receive("incoming/report.pdf", b"%PDF-1.7 tiny")

    # WHEN the record is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the item fails (so it ends in the DLQ) and the log says why retrying will not help
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert unverified_inbox.sent_mail() == []
    [error] = logs.at_level("ERROR")
    assert error["retryable"] is False
    assert error["error_code"] == "MessageRejected"
    assert "will not succeed on retry" in error["reason"]
    assert "verify SENDER_ADDRESS" in error["reason"]

    # WHEN the identity is verified and the message redriven
    unverified_inbox.ses.create_email_identity(EmailIdentity="inbox@example.com")
    redriven = function_module.handler(sqs_event(record), lambda_context)

    # THEN the failed attempt left no idempotency record behind and the file is mailed
    assert redriven == {"batchItemFailures": []}
    assert len(unverified_inbox.sent_mail()) == 1


def test_access_denied_on_head_fails_with_a_clear_reason(
    inbox: Inbox,
    function_module: ModuleType,
    rewire: Callable[..., None],
    lambda_context: LambdaContext,
    logs: LogCapture,
) -> None:
    # GIVEN S3 answering 403 to HEAD (missing permission, or a missing key without ListBucket)
    rewire(s3=RecordingS3(inbox.s3, head_error="403"))
    record = inbox.upload_and_receive("incoming/secret.pdf", b"%PDF")

    # WHEN the record is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the item fails and the log names the permissions to check
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    [error] = logs.at_level("ERROR")
    assert "s3:GetObjectVersion" in error["reason"]
    assert inbox.sent_mail() == []


@pytest.mark.parametrize(
    ("code", "message", "advice"),
    [
        ("MessageRejected", "Email address is not verified.", "verify SENDER_ADDRESS"),
        ("MailFromDomainNotVerifiedException", "not verified", "MAIL FROM"),
        ("AccountSuspendedException", "suspended", "suspended"),
        ("SendingPausedException", "paused", "resume"),
        ("LimitExceededException", "Daily message quota exceeded.", "quota"),
        ("Throttling", "Daily message quota exceeded.", "quota"),
    ],
)
def test_permanent_ses_errors_are_not_retryable(code: str, message: str, advice: str) -> None:
    # GIVEN an SES error that no retry can fix
    error = ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail")

    # WHEN it is classified
    failure = classify_ses_error(error)

    # THEN it is permanent, and the reason says so and what to do
    assert failure.retryable is False
    assert "will not succeed on retry" in failure.reason
    assert advice in failure.reason


@pytest.mark.parametrize(
    ("code", "message", "explanation"),
    [
        ("TooManyRequestsException", "Too many requests", "throttling"),
        ("Throttling", "Maximum sending rate exceeded.", "throttling"),
        ("InternalFailure", "oops", "unavailable"),
        ("SomethingNew", "never seen before", "unexpected"),
    ],
)
def test_transient_ses_errors_are_retryable(code: str, message: str, explanation: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail")

    failure = classify_ses_error(error)

    assert failure.retryable is True
    assert "will be retried" in failure.reason
    assert explanation in failure.reason


def test_unusable_idempotency_table_fails_the_item_without_mailing(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
) -> None:
    # GIVEN the idempotency table is gone, so exactly-once cannot be guaranteed
    record = inbox.upload_and_receive("incoming/report.pdf", b"%PDF")
    inbox.dynamodb.delete_table(TableName="idempotency-test")

    # WHEN the record is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN nothing is mailed and the item is left for SQS to redeliver
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert inbox.sent_mail() == []
    [warning] = logs.at_level("WARNING")
    assert "idempotency table" in warning["reason"]
