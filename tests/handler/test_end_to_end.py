"""The real handler fed what moto routes S3 -> EventBridge -> SQS; mail read back from moto SES."""

from __future__ import annotations

import json
from types import ModuleType
from urllib.parse import parse_qs, quote_plus, urlparse

import pytest

from tests.handler.support import (
    BUCKET,
    RECIPIENTS,
    SENDER,
    Inbox,
    LambdaContext,
    LogCapture,
    load_event,
    sqs_event,
    sqs_record,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def test_uploaded_file_is_mailed_with_attachment(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a PDF uploaded under the inbox prefix and the message EventBridge put on the queue
    record = inbox.upload_and_receive("incoming/reports/q3 report.pdf", PDF)

    # WHEN the function handles the SQS batch
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN nothing failed and one mail went from the sender to every recipient
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    assert mail.source == SENDER
    assert set(mail.destinations) == set(RECIPIENTS)
    message = mail.message
    assert message["From"] == SENDER
    assert [address.addr_spec for address in message["To"].addresses] == list(RECIPIENTS)
    assert message["Subject"] == "New file in the inbox: q3 report.pdf"
    # AND both bodies name the file, its key, size, type and upload time
    for body in (mail.text, mail.html):
        assert "q3 report.pdf" in body
        assert "incoming/reports/q3 report.pdf" in body
        assert "10.0 KiB (10,249 bytes)" in body
        assert "application/pdf" in body
        assert "UTC" in body
        assert "attached" in body
    # AND the attachment is the file, byte for byte
    assert mail.attachments == [("q3 report.pdf", PDF)]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    # AND the mail was counted
    emitted = capsys.readouterr().out
    assert '"FilesMailed"' in emitted
    assert '"BytesAttached"' in emitted


@pytest.mark.parametrize(
    ("key", "body"),
    [
        pytest.param("incoming/with space.txt", b"spaces", id="space"),
        pytest.param("incoming/c++ notes+v2.txt", b"plus", id="plus"),
        pytest.param("incoming/100% done %41.txt", b"percent", id="percent"),
        pytest.param("incoming/日本語のファイル名.txt", "こんにちは".encode(), id="japanese"),
        pytest.param("incoming/a/b/c/d/e/f/deep.csv", b"a,b\n1,2\n", id="deep-prefix"),
        pytest.param("incoming/empty.bin", b"", id="zero-bytes"),
    ],
)
@pytest.mark.parametrize("shape", ["eventbridge", "s3-notification"])
def test_awkward_keys_are_decoded_and_mailed(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    key: str,
    body: bytes,
    shape: str,
) -> None:
    # GIVEN an object with an awkward key, announced raw by EventBridge or URL-encoded by S3
    record = inbox.upload_and_receive(key, body)
    if shape == "s3-notification":
        record = sqs_record(_as_s3_notification(record["body"]), record["messageId"])

    # WHEN the function handles it
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the right object was read and attached under its own name
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    assert mail.attachments == [(key.rsplit("/", 1)[-1], body)]
    assert key in mail.text


def test_duplicate_delivery_sends_one_mail_and_a_new_version_sends_another(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN one upload whose event is delivered twice, once late in a second batch
    record = inbox.upload_and_receive("incoming/invoice.pdf", PDF)
    function_module.handler(sqs_event(record), lambda_context)

    # WHEN the same event arrives again
    response = function_module.handler(sqs_event({**record, "messageId": "redelivered"}), lambda_context)

    # THEN it succeeds without a second mail
    assert response == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1

    # WHEN the same key is uploaded again (a new version)
    second = inbox.upload_and_receive("incoming/invoice.pdf", PDF + b"v2")
    function_module.handler(sqs_event(second), lambda_context)

    # THEN that upload is mailed too
    mails = inbox.sent_mail()
    assert len(mails) == 2
    assert mails[1].attachments == [("invoice.pdf", PDF + b"v2")]


def test_malformed_message_fails_alone_in_its_batch(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, logs: LogCapture
) -> None:
    # GIVEN a batch of three: two real uploads around a body that is not JSON
    first = inbox.upload_and_receive("incoming/one.txt", b"1")
    second = inbox.upload_and_receive("incoming/two.txt", b"2")
    broken = sqs_record("this is not json", "broken-message")

    # WHEN the function handles the batch
    response = function_module.handler(sqs_event(first, broken, second), lambda_context)

    # THEN only the broken message is reported for retry, and both files were mailed
    assert response == {"batchItemFailures": [{"itemIdentifier": "broken-message"}]}
    assert len(inbox.sent_mail()) == 2
    [error] = logs.at_level("ERROR")
    assert "malformed" in error["reason"]
    assert error["correlation_id"] == "broken-message"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(json.dumps({"detail-type": "Object Created", "detail": {}}), id="no-object"),
        pytest.param(json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}), id="no-s3"),
        pytest.param(json.dumps([1, 2]), id="json-list"),
        pytest.param(json.dumps({"hello": "world"}), id="unknown-shape"),
    ],
)
def test_messages_missing_fields_fail(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, body: str
) -> None:
    # GIVEN a JSON body that is not a usable S3 event
    record = sqs_record(body, "bad")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN that item fails and nothing is mailed
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert inbox.sent_mail() == []


def test_s3_test_event_is_a_no_op(inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext) -> None:
    # GIVEN the test event S3 sends when a notification is configured
    record = sqs_record(json.dumps(load_event("s3_test_event.json")), "test-event")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it succeeds and sends nothing
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []


@pytest.mark.parametrize(
    ("bucket", "key"),
    [
        pytest.param(BUCKET, "outgoing/report.pdf", id="other-prefix"),
        pytest.param(BUCKET, "incoming-old/report.pdf", id="prefix-lookalike"),
        pytest.param(BUCKET, "incoming/folder/", id="folder-marker"),
        pytest.param("someone-elses-bucket", "incoming/report.pdf", id="other-bucket"),
    ],
)
def test_objects_outside_the_inbox_are_skipped(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
    bucket: str,
    key: str,
) -> None:
    # GIVEN an event for an object outside the inbox bucket or prefix
    event = load_event("eventbridge_object_created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    record = sqs_record(json.dumps(event), "outside")

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it succeeds, is logged as skipped, and sends nothing
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []
    assert any("skipped" in record["message"] for record in logs.at_level("INFO"))


@pytest.mark.parametrize("versioned", [True, False])
def test_object_deleted_before_processing_is_skipped(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, versioned: bool
) -> None:
    # GIVEN an upload whose version was deleted before its event was handled
    record = inbox.upload_and_receive("incoming/short-lived.txt", b"gone soon")
    version_id = json.loads(record["body"])["detail"]["object"]["version-id"]
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/short-lived.txt", VersionId=version_id)
    if not versioned:
        event = json.loads(record["body"])
        del event["detail"]["object"]["version-id"]
        record = sqs_record(json.dumps(event), record["messageId"])

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN it succeeds without a mail
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []


def test_refused_file_type_is_sent_as_a_link_even_when_small(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN a tiny .exe, a type SES refuses as an attachment
    record = inbox.upload_and_receive("incoming/tools/setup.exe", b"MZ\x90\x00")
    version_id = json.loads(record["body"])["detail"]["object"]["version-id"]

    # WHEN it is handled
    response = function_module.handler(sqs_event(record), lambda_context)

    # THEN the mail has no attachment but a presigned link to that version, and says when it expires
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    assert mail.attachments == []
    text, html = mail.text, mail.html
    assert "does not allow attaching files of this type" in text
    assert "the link expires at" in text
    url = next(line for line in text.splitlines() if line.startswith("https://"))
    # (signed for the bucket's regional endpoint, which works in every region)
    assert urlparse(url).netloc == f"{BUCKET}.s3.us-east-1.amazonaws.com"
    assert urlparse(url).path == "/incoming/tools/setup.exe"
    query = parse_qs(urlparse(url).query)
    assert query["versionId"] == [version_id]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["3600"]
    # AND the link in the HTML body is escaped (& becomes &amp;)
    assert url.replace("&", "&amp;") in html


def _as_s3_notification(eventbridge_body: str) -> str:
    """Re-expresses an EventBridge event as the direct S3 notification of the same upload."""
    detail = json.loads(eventbridge_body)["detail"]
    notification = load_event("s3_notification_object_created.json")
    s3 = notification["Records"][0]["s3"]
    s3["bucket"]["name"] = detail["bucket"]["name"]
    s3["object"].update(
        key=quote_plus(detail["object"]["key"], safe=""),
        size=detail["object"]["size"],
        versionId=detail["object"]["version-id"],
    )
    return json.dumps(notification)
