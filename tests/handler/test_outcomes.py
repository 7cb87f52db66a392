"""Each way an upload can end is counted under its own metric, with its value and unit, and nothing else.

The dashboard and the alarms read these metrics (contract.py): an attached file counts as mailed with its
bytes, a linked one as linked, a skip under its reason, a failure as failed. The mailer runs around the fakes of
tests/handler/fakes.py; `Mailbox.metrics()` reads back every metric it added, with its unit.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

import pytest

from tests.handler.fakes import (
    FakeS3,
    FakeSes,
    Mailbox,
    Metric,
    eventbridge_body,
    s3_notification_body,
    s3_notification_record,
    upload_record,
)
from tests.handler.support import BUCKET, load_event, sqs_record

ONE = Metric(1, "Count")


@pytest.mark.parametrize(
    "error",
    [RuntimeError("a bug"), KeyError("ContentLength"), TypeError("unexpected")],
    ids=["runtime-error", "key-error", "type-error"],
)
@pytest.mark.parametrize("where", ["head", "send"])
def test_an_error_nobody_foresaw_fails_the_record_counted_and_unmailed(error: Exception, where: str) -> None:
    # GIVEN an upload whose S3 lookup or SES send raises an error no branch of the mailer classifies
    mailbox = Mailbox(ses=FakeSes(error) if where == "send" else FakeSes())
    if where == "head":
        mailbox.s3.fail["head_object"] = error
    record = upload_record(mailbox, "incoming/report.pdf", b"%PDF")

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN the record is reported failed (not acknowledged), counted once as failed, and nothing was mailed
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"FilesFailed": ONE}
    [failure] = mailbox.failures_logged()
    assert failure["retryable"] is True


def test_an_attached_file_counts_as_mailed_with_its_size_in_bytes() -> None:
    # GIVEN a small file
    mailbox = Mailbox()
    data = os.urandom(1234)
    record = upload_record(mailbox, "incoming/data.bin", data)

    # WHEN its record is handled
    assert mailbox.handle(record) == []

    # THEN it is attached, and counted as one mailed file of 1234 bytes (and as nothing else)
    assert mailbox.ses.mails[0].attachments == [("data.bin", data)]
    assert mailbox.metrics() == {"FilesMailed": ONE, "BytesAttached": Metric(1234, "Bytes")}


@pytest.mark.parametrize(
    ("name", "limit"),
    [("video.mp4", 4096), ("setup.exe", 1024 * 1024)],
    ids=["too-large", "refused-type"],
)
def test_a_linked_file_counts_as_linked_only(name: str, limit: int) -> None:
    # GIVEN a file too large to attach under the limit, or of a type SES refuses as an attachment
    mailbox = Mailbox(settings=replace(Mailbox().settings, max_message_bytes=limit))
    record = upload_record(mailbox, f"incoming/{name}", os.urandom(5000))

    # WHEN its record is handled
    assert mailbox.handle(record) == []

    # THEN a link is mailed, counted as one linked file: no mailed file, no attached bytes
    [mail] = mailbox.ses.mails
    assert mail.attachments == []
    assert mailbox.metrics() == {"FilesLinked": ONE}


def test_the_download_link_lives_as_long_as_the_settings_say() -> None:
    # GIVEN links that expire after 10 minutes, and a file too large to attach
    mailbox = Mailbox(settings=replace(Mailbox().settings, max_message_bytes=4096, link_expiry_seconds=600))
    record = upload_record(mailbox, "incoming/video.mp4", os.urandom(5000))

    # WHEN its record is handled (at 10:21:00 UTC)
    assert mailbox.handle(record) == []

    # THEN the link is signed for 600 s, and the mail says it expires 10 minutes after it was sent
    [presigned] = mailbox.s3.params_of("generate_presigned_url")
    assert presigned["ExpiresIn"] == 600
    assert "the link expires at 2026-11-12 10:31:00 UTC" in mailbox.ses.mails[0].text


def _superseded(mailbox: Mailbox) -> dict[str, Any]:
    record = upload_record(mailbox, "incoming/daily.csv", b"first")
    mailbox.s3.put("incoming/daily.csv", b"second")
    return record


def _deleted(mailbox: Mailbox) -> dict[str, Any]:
    record = upload_record(mailbox, "incoming/oops.pdf", b"%PDF")
    del mailbox.s3.objects["incoming/oops.pdf"]
    return record


def _event(key: str, bucket: str = BUCKET) -> Any:
    def make(mailbox: Mailbox) -> dict[str, Any]:
        return sqs_record(eventbridge_body(key, version_id="v1", etag="e", bucket=bucket), "m-1")

    return make


def _test_event(mailbox: Mailbox) -> dict[str, Any]:
    return sqs_record(json.dumps(load_event("s3_test_event.json")), "m-1")


def _other_event(mailbox: Mailbox) -> dict[str, Any]:
    event = json.loads(eventbridge_body("incoming/x.pdf", version_id="v1", etag="e"))
    event["detail-type"] = "Object Deleted"
    return sqs_record(json.dumps(event), "m-1")


@pytest.mark.parametrize(
    ("versioned", "make_record", "metric"),
    [
        pytest.param(True, _deleted, "SkippedDeleted", id="deleted"),
        pytest.param(False, _superseded, "SkippedSuperseded", id="superseded"),
        pytest.param(True, _event("outgoing/report.pdf"), "SkippedOutsidePrefix", id="other-prefix"),
        pytest.param(True, _event("incoming/report.pdf", "other-bucket"), "SkippedOutsidePrefix", id="other-bucket"),
        pytest.param(True, _event("incoming/folder/"), "SkippedFolderMarker", id="folder-marker"),
        pytest.param(True, _test_event, "SkippedTestEvent", id="test-event"),
        pytest.param(True, _other_event, "SkippedOtherEvent", id="other-event"),
    ],
)
def test_every_skip_counts_once_under_its_reason_only(versioned: bool, make_record: Any, metric: str) -> None:
    # GIVEN a record announcing no upload to mail, for one reason
    mailbox = Mailbox(s3=FakeS3(versioned=versioned))
    record = make_record(mailbox)

    # WHEN it is handled
    failed = mailbox.handle(record)

    # THEN it is acknowledged without a mail, counted once under that reason's metric, and logged with it
    assert failed == []
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {metric: ONE}
    assert [entry["skip_reason"] for entry in mailbox.logs if "skip_reason" in entry] == [metric]
    # AND the skip says why, in words, for whoever reads the log without the metric names at hand
    [why] = [entry.get("why") for entry in mailbox.logs if "skip_reason" in entry]
    assert isinstance(why, str)
    assert why.strip()


def test_every_event_of_another_kind_in_a_notification_is_counted_and_every_upload_mailed() -> None:
    # GIVEN a direct S3 notification: a delete first, then an upload, a second delete, and a second upload
    mailbox = Mailbox()
    first = mailbox.s3.put("incoming/first.txt", b"first")
    second = mailbox.s3.put("incoming/second.txt", b"second")
    created = [
        s3_notification_record(f"incoming%2F{name}.txt", version_id=stored.version_id, etag=stored.etag, sequencer=n)
        for name, stored, n in (("first", first, "01"), ("second", second, "02"))
    ]
    removed = [{**record, "eventName": "ObjectRemoved:Delete"} for record in created]
    body = s3_notification_body(removed[0], created[0], removed[1], created[1])

    # WHEN it is handled
    failed = mailbox.handle(sqs_record(body, "mixed"))

    # THEN both uploads are mailed, in order, and both deletes are counted
    assert failed == []
    assert [mail.attachments for mail in mailbox.ses.mails] == [[("first.txt", b"first")], [("second.txt", b"second")]]
    assert mailbox.metrics() == {
        "SkippedOtherEvent": Metric(2, "Count"),
        "FilesMailed": Metric(2, "Count"),
        "BytesAttached": Metric(11, "Bytes"),
    }


@pytest.mark.parametrize(
    ("stored_key", "metric"),
    [("incoming/c++ 100%25.txt", "KeyMatchedAsGiven"), ("incoming/c   100%.txt", "KeyMatchedDecoded")],
    ids=["as-given", "decoded"],
)
def test_the_form_of_the_key_that_named_the_object_is_counted(stored_key: str, metric: str) -> None:
    # GIVEN an EventBridge key whose URL-decoded form differs, and the object stored under one of the two forms
    mailbox = Mailbox()
    stored = mailbox.s3.put(stored_key, b"x")
    body = eventbridge_body("incoming/c++ 100%25.txt", version_id=stored.version_id, etag=stored.etag, size=1)

    # WHEN its record is handled
    assert mailbox.handle(sqs_record(body, "m-1")) == []

    # THEN the file is mailed, and the form that found it is counted once
    assert len(mailbox.ses.mails) == 1
    assert mailbox.metrics() == {metric: ONE, "FilesMailed": ONE, "BytesAttached": Metric(1, "Bytes")}


def test_the_form_of_the_key_is_counted_for_a_linked_file_too() -> None:
    # GIVEN an EventBridge key whose URL-decoded form names the object, of a type that goes as a link
    mailbox = Mailbox()
    stored = mailbox.s3.put("incoming/c   100%.exe", b"MZ")
    body = eventbridge_body("incoming/c++ 100%25.exe", version_id=stored.version_id, etag=stored.etag, size=2)

    # WHEN its record is handled
    assert mailbox.handle(sqs_record(body, "m-1")) == []

    # THEN it is linked, and the decoded form that found it is counted once
    assert len(mailbox.ses.mails) == 1
    assert mailbox.metrics() == {"KeyMatchedDecoded": ONE, "FilesLinked": ONE}
