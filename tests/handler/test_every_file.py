"""Every upload ends mailed or deliberately skipped, whatever its name, type or timing (real handler, moto)."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from types import ModuleType
from urllib.parse import quote_plus

import pytest

from inbox_mailer.message import display_name, is_refused_attachment
from tests.handler.support import (
    BUCKET,
    Inbox,
    LambdaContext,
    LogCapture,
    emitted_metrics,
    handle,
    load_event,
    sqs_record,
)

PDF = b"%PDF-1.7\n" + bytes(range(256))


def _assert_valid_mail(raw: bytes) -> None:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert not message.defects
    assert all(not part.defects for part in message.walk())
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    for _, value in message.items():
        assert "\r" not in str(value)
        assert "\n" not in str(value)


@pytest.mark.parametrize(
    "separator",
    ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\r\n", "\x00", "\u202e", "\ufeff"],
    ids=repr,
)
def test_names_with_any_line_breaking_or_invisible_character_are_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, separator: str
) -> None:
    # GIVEN a file whose name holds a character Python's email policy treats as a line break (or hides)
    key = f"incoming/report{separator}Bcc: x@example.com.pdf"
    record = inbox.upload_and_receive(key, PDF)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is mailed once, as a valid message whose name shows the character replaced
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    _assert_valid_mail(mail.raw)
    [(name, data)] = mail.attachments
    assert data == PDF
    assert name == display_name(key)
    assert name.startswith("report_")
    assert "Bcc" not in mail.message
    assert mail.message["Subject"] == f"New file in the inbox: {name}"


@pytest.mark.parametrize(
    "name",
    [
        "INBOX-MAILER-ATTACHMENT-PLACEHOLDER.pdf",
        "a INBOX-MAILER-ATTACHMENT-PLACEHOLDER INBOX-MAILER-ATTACHMENT-PLACEHOLDER.txt",
        "\x00" + "0" * 32 + "\x00.bin",
    ],
)
def test_names_that_hold_the_builders_marker_text_are_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, name: str
) -> None:
    # GIVEN a file named after the text the message builder used to mark the attachment's place
    record = inbox.upload_and_receive(f"incoming/{name}", PDF)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is attached like any other file
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    _assert_valid_mail(mail.raw)
    assert mail.attachments == [(display_name(f"incoming/{name}"), PDF)]


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("forwarded.eml", None),
        ("archive.mht", None),
        ("message.bin", "message/rfc822"),
        ("partial.bin", "message/partial"),
        ("parts.bin", "multipart/mixed"),
        ("signed.bin", "Multipart/Signed; protocol=x"),
    ],
)
def test_message_and_multipart_files_arrive_intact_as_octet_streams(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, name: str, declared: str | None
) -> None:
    # GIVEN an e-mail file or a file declared as message/* or multipart/*
    content = b"From: a@example.com\r\nSubject: inner\r\n\r\nbody\r\n--boundary--\r\n"
    extra = {"ContentType": declared} if declared else {}
    record = inbox.upload_and_receive(f"incoming/{name}", content, **extra)

    # WHEN it is handled
    handle(function_module, lambda_context, record)

    # THEN it is attached under a type that allows base64, keeping its name, and decodes to the file
    [mail] = inbox.sent_mail()
    _assert_valid_mail(mail.raw)
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_content_type() == "application/octet-stream"
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachment.get_filename() == name
    assert attachment.get_payload(decode=True) == content


@pytest.mark.parametrize(
    ("declared", "name", "expected"),
    [
        ('text/plain; name="evil.exe"; charset=utf-8', "notes.txt", "text/plain"),
        ("IMAGE/PNG", "picture.png", "image/png"),
        ("garbage", "report.pdf", "application/pdf"),
        ("text/plain text/html", "report.pdf", "application/pdf"),
        ('"quoted/type"', "data.csv", "text/csv"),
        ("a/b/c", "unknown.zzz", "application/octet-stream"),
        ("text/(comment)", "unknown.zzz", "application/octet-stream"),
        ("", "unknown.zzz", "application/octet-stream"),
    ],
)
def test_only_a_valid_type_pair_is_taken_from_the_uploader(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, declared: str, name: str, expected: str
) -> None:
    # GIVEN a file uploaded with a declared Content-Type that may hold parameters, quotes or garbage
    record = inbox.upload_and_receive(f"incoming/{name}", b"data", ContentType=declared)

    # WHEN it is handled
    handle(function_module, lambda_context, record)

    # THEN the attachment's type is the bare valid pair, else the type guessed from the name, else octet-stream
    [mail] = inbox.sent_mail()
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_content_type() == expected
    assert dict(attachment["Content-Type"].params) == {}
    assert f"Content type: {expected}" in mail.text


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe ",
        "setup.exe.",
        "setup.exe. . ",
        "setup.EXE\u3000",
        "=?utf-8?q?setup.exe?=",
        "=?utf-8?b?c2V0dXAuZXhl?=",
        "setup.\uff45\uff58\uff45",
        "setup\u2024exe",
        '"setup.exe"',
        "<setup.exe>",
    ],
    ids=repr,
)
def test_refused_types_are_judged_on_the_name_recipients_see(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, name: str
) -> None:
    # GIVEN a name that a mail client could show as a refused type once trimmed, decoded or normalised
    record = inbox.upload_and_receive(f"incoming/{name}", b"MZ\x90\x00")

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is mailed, and no attachment recipients see has a refused extension
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    _assert_valid_mail(mail.raw)
    for part in mail.message.iter_attachments():
        shown = part.get_filename()
        assert shown == display_name(f"incoming/{name}")
        assert not is_refused_attachment(shown)
        assert not shown.lower().rstrip(". \u3000").endswith(".exe")


def test_encoded_word_names_are_shown_as_uploaded_not_decoded(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN a harmless file whose name is an RFC 2047 encoded-word
    record = inbox.upload_and_receive("incoming/=?utf-8?q?invoice.pdf?=", PDF)

    # WHEN it is handled
    handle(function_module, lambda_context, record)

    # THEN the name a mail client shows is the uploaded text (defused), never its decoding
    [mail] = inbox.sent_mail()
    [(shown, _)] = mail.attachments
    assert shown == "=\uff1futf-8?q?invoice.pdf?="
    assert mail.message["Subject"].rpartition(": ")[2] != "invoice.pdf"


def test_file_removed_with_a_plain_delete_is_skipped_and_counted(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN an upload that `aws s3 rm` removed before its event was handled (a delete marker, versions kept)
    record = inbox.upload_and_receive("incoming/oops.pdf", PDF)
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/oops.pdf")

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it succeeds without a mail, logged and counted as deleted
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []
    assert emitted_metrics(capsys.readouterr().out)["SkippedDeleted"] == 1
    assert any(entry.get("skip_reason") == "SkippedDeleted" for entry in logs.records)


def test_file_deleted_and_uploaded_again_is_mailed_for_the_new_upload_only(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an upload removed with a plain delete, then uploaded again under the same name, before either event
    # was handled
    first = inbox.upload_and_receive("incoming/again.pdf", PDF)
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/again.pdf")
    second = inbox.upload_and_receive("incoming/again.pdf", PDF + b"v2")

    # WHEN both events are handled
    response = handle(function_module, lambda_context, first, second)

    # THEN the first was withdrawn (a delete marker follows it) and is not mailed; the second is
    assert response == {"batchItemFailures": []}
    attachments = [mail.attachments for mail in inbox.sent_mail()]
    assert attachments == [[("again.pdf", PDF + b"v2")]]
    assert emitted_metrics(capsys.readouterr().out)["SkippedDeleted"] == 1


def test_unversioned_quick_overwrite_mails_the_second_file_once_and_skips_the_first(
    unversioned_inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN two quick uploads of one name in an unversioned bucket: both events arrive after the second upload
    unversioned_inbox.upload("incoming/daily.csv", b"first")
    unversioned_inbox.upload("incoming/daily.csv", b"second")
    first, second = unversioned_inbox.receive_records()
    assert json.loads(first["body"])["detail"]["object"].get("version-id") in (None, "null")

    # WHEN both are handled
    response = handle(function_module, lambda_context, first, second)

    # THEN the second file is mailed once, and the first is skipped as superseded and counted
    assert response == {"batchItemFailures": []}
    assert [mail.attachments for mail in unversioned_inbox.sent_mail()] == [[("daily.csv", b"second")]]
    assert emitted_metrics(capsys.readouterr().out)["SkippedSuperseded"] == 1


@pytest.mark.parametrize("versioned", [True, False])
def test_eventbridge_key_that_arrives_url_encoded_is_found_by_its_decoded_form(
    request: pytest.FixtureRequest,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
    versioned: bool,
) -> None:
    # GIVEN an upload whose EventBridge event carries the key URL-encoded (should AWS ever send it that way)
    target: Inbox = request.getfixturevalue("inbox" if versioned else "unversioned_inbox")
    key = "incoming/q3 report+final.pdf"
    record = target.upload_and_receive(key, PDF)
    event = json.loads(record["body"])
    event["detail"]["object"]["key"] = quote_plus(key, safe="/")
    encoded = sqs_record(json.dumps(event), "encoded")

    # WHEN it is handled
    handle(function_module, lambda_context, encoded)

    # THEN the object is found under the decoded key, mailed once, and the form that matched is logged and counted
    assert [mail.attachments for mail in target.sent_mail()] == [[("q3 report+final.pdf", PDF)]]
    assert emitted_metrics(capsys.readouterr().out)["KeyMatchedDecoded"] == 1
    assert any(entry.get("key_form") == "URL-decoded" for entry in logs.records)


def test_eventbridge_raw_key_with_encodable_characters_is_counted_as_given(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an upload whose raw key would change if it were URL-decoded
    record = inbox.upload_and_receive("incoming/c++ 100%25.txt", b"x")

    # WHEN it is handled
    handle(function_module, lambda_context, record)

    # THEN it is mailed from the key as given, and the metric says so
    assert [mail.attachments for mail in inbox.sent_mail()] == [[("c++ 100%25.txt", b"x")]]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["KeyMatchedAsGiven"] == 1
    assert metrics["KeyMatchedDecoded"] == 0


def test_decoded_form_of_another_object_is_never_accepted(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deleted upload "a+b.txt" whose decoded form "a b.txt" names another, live object
    record = inbox.upload_and_receive("incoming/a+b.txt", b"plus")
    inbox.upload("incoming/a b.txt", b"space")
    inbox.receive_records()
    version_id = json.loads(record["body"])["detail"]["object"]["version-id"]
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/a+b.txt", VersionId=version_id)

    # WHEN the deleted upload's event is handled
    handle(function_module, lambda_context, record)

    # THEN nothing is mailed: the other object is not the event's version
    assert inbox.sent_mail() == []
    assert emitted_metrics(capsys.readouterr().out)["SkippedDeleted"] == 1


@pytest.mark.parametrize(
    ("bucket", "key", "metric"),
    [
        pytest.param(BUCKET, "outgoing/report.pdf", "SkippedOutsidePrefix", id="other-prefix"),
        pytest.param("someone-elses-bucket", "incoming/report.pdf", "SkippedOutsidePrefix", id="other-bucket"),
        pytest.param(BUCKET, "incoming/folder/", "SkippedFolderMarker", id="folder-marker"),
    ],
)
def test_every_skip_is_counted_with_its_reason(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    bucket: str,
    key: str,
    metric: str,
) -> None:
    # GIVEN an event for an object that is not an inbox file
    event = load_event("eventbridge_object_created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key

    # WHEN it is handled
    response = handle(function_module, lambda_context, sqs_record(json.dumps(event), "skip"))

    # THEN it succeeds, nothing is mailed, and the skip is counted under its reason
    assert response == {"batchItemFailures": []}
    assert inbox.sent_mail() == []
    assert emitted_metrics(capsys.readouterr().out)[metric] == 1


def test_test_events_and_other_event_kinds_are_counted(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN S3's test event and an EventBridge event of another kind
    other = load_event("eventbridge_object_created.json")
    other["detail-type"] = "Object Deleted"
    records = [
        sqs_record(json.dumps(load_event("s3_test_event.json")), "test"),
        sqs_record(json.dumps(other), "other"),
    ]

    # WHEN they are handled
    handle(function_module, lambda_context, *records)

    # THEN both are counted under their reasons
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["SkippedTestEvent"] == 1
    assert metrics["SkippedOtherEvent"] == 1


def test_non_create_record_first_in_a_notification_does_not_hide_the_uploads_after_it(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a direct S3 notification whose first record is a delete and whose second is an upload
    version_id = inbox.upload("incoming/second.txt", b"second")
    inbox.receive_records()
    notification = load_event("s3_notification_object_created.json")
    created = notification["Records"][0]
    created["s3"]["bucket"]["name"] = BUCKET
    created["s3"]["object"].update(key="incoming/second.txt", size=6, versionId=version_id)
    removed = json.loads(json.dumps(created))
    removed["eventName"] = "ObjectRemoved:Delete"
    notification["Records"] = [removed, created]

    # WHEN it is handled
    handle(function_module, lambda_context, sqs_record(json.dumps(notification), "mixed"))

    # THEN the upload after the delete is mailed and the delete is counted
    assert [mail.attachments for mail in inbox.sent_mail()] == [[("second.txt", b"second")]]
    assert emitted_metrics(capsys.readouterr().out)["SkippedOtherEvent"] == 1
