"""One mail per upload: what one upload is, and what happens when the idempotency table is busy or down.

The mailer runs around the fakes of tests/handler/fakes.py, whose table keeps DynamoDB's conditions in memory.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.handler.fakes import (
    FakeS3,
    FakeSes,
    Mailbox,
    Metric,
    s3_notification_body,
    s3_notification_record,
    upload_record,
)
from tests.handler.support import sqs_record

ONE = Metric(1, "Count")


def test_an_upload_another_invocation_is_mailing_right_now_is_retried_not_mailed_twice() -> None:
    # GIVEN two instances sharing the bucket and the table, and one upload whose event each of them receives
    other = Mailbox()
    seen_by_the_other: list[list[str]] = []
    ses = FakeSes(during_send=lambda: seen_by_the_other.append(other.handle(duplicate)))
    mailbox = Mailbox(s3=other.s3, store=other.store, ses=ses)
    record = upload_record(mailbox, "incoming/report.pdf", b"%PDF")
    duplicate = {**record, "messageId": "dup"}

    # WHEN the other instance handles its copy while the first is sending the mail
    first = mailbox.handle(record)

    # THEN the other's record fails (SQS retries it later) without a mail; the first mails once and succeeds
    assert seen_by_the_other == [["dup"]]
    assert other.ses.mails == []
    assert first == []
    assert len(mailbox.ses.mails) == 1
    # AND the other's failure is counted and logged as one a retry gets past
    assert mailbox.metrics() == {"FilesFailed": ONE, "FilesMailed": ONE, "BytesAttached": Metric(4, "Bytes")}
    assert [(entry["correlation_id"], entry["retryable"]) for entry in mailbox.failures_logged()] == [("dup", True)]
    # AND the other's retry, once the mail is recorded, sends nothing more
    assert other.handle(duplicate) == []
    assert other.ses.mails == []


def test_an_unusable_idempotency_table_fails_the_record_before_anything_is_mailed() -> None:
    # GIVEN an upload, and the idempotency table unusable (so exactly-once cannot be promised)
    mailbox = Mailbox()
    record = upload_record(mailbox, "incoming/report.pdf", b"%PDF")
    mailbox.store.down = True

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it is reported failed for a retry, counted, and not mailed
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"FilesFailed": ONE}
    assert [entry["retryable"] for entry in mailbox.failures_logged()] == [True]


def test_a_mail_whose_success_record_cannot_be_saved_is_acknowledged_once_mailed() -> None:
    # GIVEN an upload, and a table that takes the in-progress record but never the success record
    mailbox = Mailbox()
    record = upload_record(mailbox, "incoming/report.pdf", b"%PDF")
    mailbox.store.success_writes_fail = True

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN the record is acknowledged (a retry would mail it again), one mail went out, and it counts as mailed
    assert failed == []
    assert len(mailbox.ses.mails) == 1
    assert mailbox.metrics() == {"FilesMailed": ONE, "BytesAttached": Metric(4, "Bytes")}
    assert mailbox.failures_logged() == []


def test_a_mail_acknowledged_without_its_record_is_not_taken_as_mailed_on_its_next_delivery() -> None:
    # GIVEN a warm instance that mailed an upload whose success record could not be saved
    mailbox = Mailbox()
    record = upload_record(mailbox, "incoming/report.pdf", b"%PDF")
    mailbox.store.success_writes_fail = True
    assert mailbox.handle(record) == []

    # WHEN the same upload is delivered again to that instance, and the table is now down altogether
    mailbox.store.down = True
    again = mailbox.handle({**record, "messageId": "again"})

    # THEN that delivery fails like any other that cannot use the table: nothing is assumed mailed, none sent
    assert again == ["again"]
    assert len(mailbox.ses.mails) == 1


def _notification(mailbox: Mailbox, key: str, *, sequencer: str, message_id: str) -> dict[str, Any]:
    """S3's notification of the object now under `key` in an unversioned bucket (version id "null")."""
    stored = mailbox.s3.objects[key]
    record = s3_notification_record(key, version_id="null", etag=stored.etag, sequencer=sequencer)
    return sqs_record(s3_notification_body(record), message_id)


def test_an_unversioned_upload_notified_twice_is_mailed_once() -> None:
    # GIVEN one upload to an unversioned bucket, whose notification arrives twice
    mailbox = Mailbox(s3=FakeS3(versioned=False))
    mailbox.s3.put("incoming/daily.csv", b"a,b\n")
    first = _notification(mailbox, "incoming/daily.csv", sequencer="0055AED6DCD90281E5", message_id="first")
    again = _notification(mailbox, "incoming/daily.csv", sequencer="0055AED6DCD90281E5", message_id="again")

    # WHEN both are handled
    failed = mailbox.handle(first) + mailbox.handle(again)

    # THEN one mail went out, and both records are acknowledged
    assert failed == []
    assert [mail.attachments for mail in mailbox.ses.mails] == [[("daily.csv", b"a,b\n")]]


@pytest.mark.parametrize("second_content", [b"a,b\n", b"a,b\n1,2\n"], ids=["same-bytes", "new-bytes"])
def test_two_uploads_to_one_unversioned_key_are_each_mailed(second_content: bytes) -> None:
    # GIVEN an upload to an unversioned key that was mailed, then a second upload to that key (same bytes or not)
    mailbox = Mailbox(s3=FakeS3(versioned=False))
    mailbox.s3.put("incoming/daily.csv", b"a,b\n")
    assert mailbox.handle(_notification(mailbox, "incoming/daily.csv", sequencer="0001", message_id="1")) == []
    mailbox.s3.put("incoming/daily.csv", second_content)

    # WHEN the second upload's notification (a later sequencer) is handled
    failed = mailbox.handle(_notification(mailbox, "incoming/daily.csv", sequencer="0002", message_id="2"))

    # THEN it is a new upload: mailed too
    assert failed == []
    assert [mail.attachments for mail in mailbox.ses.mails] == [
        [("daily.csv", b"a,b\n")],
        [("daily.csv", second_content)],
    ]


def test_the_null_version_of_an_unversioned_upload_is_no_version_at_all() -> None:
    # GIVEN an upload to an unversioned bucket, notified with the version id "null"
    mailbox = Mailbox(s3=FakeS3(versioned=False))
    stored = mailbox.s3.put("incoming/report.pdf", b"%PDF")

    # WHEN its record is handled
    failed = mailbox.handle(_notification(mailbox, "incoming/report.pdf", sequencer="01", message_id="1"))

    # THEN S3 is asked for the key itself, never for a version named "null", and the read is tied to the ETag
    assert failed == []
    assert all("VersionId" not in params for _, params in mailbox.s3.calls)
    assert mailbox.s3.params_of("get_object")[0]["IfMatch"] == stored.etag
    assert len(mailbox.ses.mails) == 1
