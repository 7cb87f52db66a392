"""Compressed uploads arrive as what they hold; an empty event is counted; S3's and SES's answers each pinned
(real handler, moto's S3 → EventBridge → SQS path)."""

from __future__ import annotations

import gzip
import json
import zlib
from types import ModuleType
from typing import Any

import pytest

from tests.handler.support import (
    BUCKET,
    FailingSes,
    Inbox,
    LambdaContext,
    LogCapture,
    emitted_metrics,
    handle,
    load_event,
    sqs_record,
)

CSV = b"name,amount\nalice,10\nbob,20\n" * 20


# mtime=0: a gzip header holds the time it was written, and the bytes are part of the tests' ids, which every
# pytest-xdist worker must collect alike.
GZIPPED_CSV = gzip.compress(CSV, mtime=0)


@pytest.mark.parametrize(
    ("encoding", "stored", "name", "media_type"),
    [
        ("gzip", GZIPPED_CSV, "report.csv.gz", "application/gzip"),
        ("x-gzip", GZIPPED_CSV, "report.csv.gz", "application/gzip"),
        ("GZIP", GZIPPED_CSV, "report.csv.gz", "application/gzip"),
        ("deflate", zlib.compress(CSV), "report.csv.zz", "application/zlib"),
        ("br", b"brotli bytes", "report.csv.br", "application/octet-stream"),
        ("zstd", b"zstd bytes", "report.csv.zst", "application/zstd"),
        ("gzip, br", b"both", "report.csv.gz.br", "application/octet-stream"),
        ("aws-chunked, gzip", GZIPPED_CSV, "report.csv.gz", "application/gzip"),
        ("xz", b"unknown coding", "report.csv", "application/octet-stream"),
    ],
)
def test_a_compressed_upload_is_attached_as_what_it_holds(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    encoding: str,
    stored: bytes,
    name: str,
    media_type: str,
) -> None:
    # GIVEN a CSV stored compressed, declared as text/csv with a Content-Encoding
    record = inbox.upload_and_receive("incoming/report.csv", stored, ContentType="text/csv", ContentEncoding=encoding)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is attached byte for byte under a name and type that say it is compressed, never as text/csv
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == name
    assert attachment.get_content_type() == media_type
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload == stored
    assert mail.message["Subject"] == f"New file in the inbox: {name}"
    assert "Content type: text/csv, stored compressed" in mail.text
    if media_type == "application/gzip":
        assert gzip.decompress(payload) == CSV


def test_an_upload_already_named_gz_keeps_its_name(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    record = inbox.upload_and_receive(
        "incoming/data.csv.GZ", GZIPPED_CSV, ContentType="application/gzip", ContentEncoding="gzip"
    )

    handle(function_module, lambda_context, record)

    [mail] = inbox.sent_mail()
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "data.csv.GZ"
    assert attachment.get_content_type() == "application/gzip"


@pytest.mark.parametrize("encoding", ["identity", "", "aws-chunked"])
def test_a_coding_that_changes_nothing_stored_changes_nothing_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, encoding: str
) -> None:
    extra = {"ContentEncoding": encoding} if encoding else {}
    record = inbox.upload_and_receive("incoming/plain.csv", CSV, ContentType="text/csv", **extra)

    handle(function_module, lambda_context, record)

    [mail] = inbox.sent_mail()
    [attachment] = list(mail.message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content_type()) == ("plain.csv", "text/csv")
    assert "stored compressed" not in mail.text


def test_a_notification_with_no_records_is_counted_and_logged(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN an S3 notification whose Records list is empty
    record = sqs_record(json.dumps({"Records": []}), "empty")

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is acknowledged, counted as empty and logged with why
    assert response == {"batchItemFailures": []}
    assert emitted_metrics(capsys.readouterr().out)["SkippedEmptyEvent"] == 1
    [skip] = [entry for entry in logs.records if entry.get("skip_reason") == "SkippedEmptyEvent"]
    assert "announces nothing" in skip["why"]


@pytest.mark.parametrize("kind", ["Put", "Post", "Copy", "CompleteMultipartUpload"])
def test_every_kind_of_s3_create_notification_is_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, kind: str
) -> None:
    # GIVEN a direct S3 notification of each create kind for an uploaded file
    version_id = inbox.upload("incoming/made.txt", b"made")
    inbox.receive_records()
    notification = load_event("s3_notification_object_created.json")
    created = notification["Records"][0]
    created["eventName"] = f"ObjectCreated:{kind}"
    created["s3"]["object"].update(key="incoming/made.txt", size=4, versionId=version_id)

    # WHEN it is handled
    response = handle(function_module, lambda_context, sqs_record(json.dumps(notification), kind))

    # THEN the file is mailed
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    assert mail.attachments == [("made.txt", b"made")]


def test_a_multipart_upload_is_read_under_its_whole_etag(
    unversioned_inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN a multipart upload in an unversioned bucket: its ETag ends in "-1", and the GET is conditional on it
    s3 = unversioned_inbox.s3
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="incoming/parts.bin")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="incoming/parts.bin", UploadId=upload_id, PartNumber=1, Body=b"parts")
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="incoming/parts.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    # (moto announces a completed multipart upload twice, with one ETag and sequencer: one upload)
    records = unversioned_inbox.receive_records()
    announced = json.loads(records[0]["body"])["detail"]["object"]
    assert announced.get("etag", announced.get("eTag")).endswith("-1")

    # WHEN its events are handled, and one of them again
    first = handle(function_module, lambda_context, *records)
    second = handle(function_module, lambda_context, records[0])

    # THEN it is attached once: the ETag, suffix included, matched the object and identified the upload
    assert first == second == {"batchItemFailures": []}
    [mail] = unversioned_inbox.sent_mail()
    assert mail.attachments == [("parts.bin", b"parts")]


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException", "TooManyRequestsException"])
def test_ses_maximum_sending_rate_exceeded_is_a_throttle_whatever_its_code(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    rewire: Any,
    capsys: pytest.CaptureFixture[str],
    code: str,
) -> None:
    # GIVEN SES answering "Maximum sending rate exceeded." under one of its throttling codes
    rewire(ses=FailingSes(code, "Maximum sending rate exceeded."))
    record = inbox.upload_and_receive("incoming/busy.pdf", b"%PDF")

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN the file goes back on the queue as throttled, not as a failure
    assert response == {"batchItemFailures": []}
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["SendsThrottled"] == 1
    assert metrics["FilesFailed"] == 0
    [requeued] = inbox.receive_records(wait_seconds=3)
    assert requeued["body"] == record["body"]


def test_a_missing_configuration_set_fails_for_good_naming_it(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    rewire: Any,
    logs: LogCapture,
) -> None:
    # GIVEN SES answering that the configuration set does not exist
    rewire(ses=FailingSes("NotFoundException", "Configuration set <inbox-mailer-test> does not exist."))
    record = inbox.upload_and_receive("incoming/setless.pdf", b"%PDF")

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN the record fails as permanent, with SES's words in the reason
    assert len(response["batchItemFailures"]) == 1
    [error] = logs.at_level("ERROR")
    assert error["message"] == "Mailing failed permanently"
    assert error["retryable"] is False
    assert "Configuration set <inbox-mailer-test> does not exist" in error["reason"]
