"""SQS bodies in the shapes S3 really sends, turned into uploads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from inbox_mailer.events import Announcement, KeyForm, MalformedEventError, UploadedObject, parse_sqs_body
from tests.handler.support import load_event


def test_eventbridge_object_created_is_parsed_with_the_key_as_sent() -> None:
    event = load_event("eventbridge_object_created.json")
    event["detail"]["object"]["key"] = "incoming/a+b%20c.pdf"

    [upload] = parse_sqs_body(json.dumps(event)).uploads

    assert upload == UploadedObject(
        bucket="inbox-bucket-test",
        key="incoming/a+b%20c.pdf",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        etag="b1946ac92492d2347c6235b4d2611184",
        sequencer="00617F08299329D189",
        size=5,
        event_time=datetime(2026, 11, 12, 10, 20, 30, tzinfo=UTC),
        # AND the URL-decoded form is a second candidate, tried only if the key as given names no such version
        key_forms=((KeyForm.AS_GIVEN, "incoming/a+b%20c.pdf"), (KeyForm.URL_DECODED, "incoming/a b c.pdf")),
    )
    assert upload.file_name == "a+b%20c.pdf"


def test_eventbridge_key_without_encodable_characters_has_one_form() -> None:
    event = load_event("eventbridge_object_created.json")

    [upload] = parse_sqs_body(json.dumps(event)).uploads

    assert upload.key_forms == ((KeyForm.AS_GIVEN, "incoming/report.pdf"),)


def test_direct_s3_notification_key_is_url_decoded() -> None:
    body = json.dumps(load_event("s3_notification_object_created.json"))

    [upload] = parse_sqs_body(body).uploads

    assert upload.key == "incoming/report 2026.pdf"
    # AND only the decoded form is tried: decoding it again could name another object
    assert upload.key_forms == ((KeyForm.URL_DECODED, "incoming/report 2026.pdf"),)
    assert upload.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert upload.size == 5


def test_s3_test_event_announces_nothing() -> None:
    assert parse_sqs_body(json.dumps(load_event("s3_test_event.json"))) == Announcement(uploads=[], test_event=True)


def test_other_eventbridge_event_types_announce_nothing() -> None:
    event = load_event("eventbridge_object_created.json")
    event["detail-type"] = "Object Deleted"

    assert parse_sqs_body(json.dumps(event)) == Announcement(uploads=[], other_events=1)


def test_identity_is_the_version_or_else_etag_and_sequencer() -> None:
    event = load_event("eventbridge_object_created.json")
    [versioned] = parse_sqs_body(json.dumps(event)).uploads
    del event["detail"]["object"]["version-id"]
    [unversioned] = parse_sqs_body(json.dumps(event)).uploads

    assert versioned.identity() == {
        "bucket": "inbox-bucket-test",
        "key": "incoming/report.pdf",
        "version": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
    }
    assert unversioned.identity()["version"] == ("etag:b1946ac92492d2347c6235b4d2611184:sequencer:00617F08299329D189")


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", "{}", '{"detail-type": "Object Created", "source": "aws.s3"}'],
)
def test_malformed_bodies_are_rejected(body: str) -> None:
    with pytest.raises(MalformedEventError):
        parse_sqs_body(body)


def test_every_upload_of_a_notification_is_announced_whatever_kind_of_event_comes_before_it() -> None:
    # GIVEN a direct S3 notification: a delete, an upload, another delete, another upload
    notification = load_event("s3_notification_object_created.json")
    created = notification["Records"][0]
    second = json.loads(json.dumps(created))
    second["s3"]["object"]["key"] = "incoming/second.pdf"
    removed = {**created, "eventName": "ObjectRemoved:Delete"}
    notification["Records"] = [removed, created, {**removed, "eventName": "ObjectRemoved:DeleteMarkerCreated"}, second]

    # WHEN it is parsed
    announcement = parse_sqs_body(json.dumps(notification))

    # THEN both uploads are announced, in order, and both deletes are counted as events of another kind
    assert [upload.key for upload in announcement.uploads] == ["incoming/report 2026.pdf", "incoming/second.pdf"]
    assert announcement.other_events == 2


@pytest.mark.parametrize("version_id", ["null", "", None], ids=["null", "empty", "missing"])
@pytest.mark.parametrize("shape", ["eventbridge", "s3-notification"])
def test_the_null_version_id_of_an_unversioned_upload_is_no_version_id(shape: str, version_id: str | None) -> None:
    # GIVEN an event of an unversioned upload, whose version id is "null", empty or absent
    if shape == "eventbridge":
        event = load_event("eventbridge_object_created.json")
        fields, name, sequencer = event["detail"]["object"], "version-id", "00617F08299329D189"
    else:
        event = load_event("s3_notification_object_created.json")
        fields, name, sequencer = event["Records"][0]["s3"]["object"], "versionId", "0055AED6DCD90281E5"
    fields.pop(name)
    if version_id is not None:
        fields[name] = version_id

    # WHEN it is parsed
    [upload] = parse_sqs_body(json.dumps(event)).uploads

    # THEN it has no version id, and the upload is told apart by its ETag and sequencer
    assert upload.version_id is None
    assert upload.identity()["version"] == f"etag:b1946ac92492d2347c6235b4d2611184:sequencer:{sequencer}"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("size", True, "size"),
        ("size", 12.5, "size"),
        ("key", 42, "string"),
        ("sequencer", ["0A"], "string"),
        ("etag", {"hex": "ab"}, "string"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_with_what_was_expected_and_what_came(
    field: str, value: object, named: str
) -> None:
    # GIVEN an EventBridge upload event whose object field has the wrong JSON type
    event = load_event("eventbridge_object_created.json")
    event["detail"]["object"][field] = value

    # WHEN it is parsed THEN it is refused as malformed, saying what was expected and which type came instead
    with pytest.raises(MalformedEventError) as refused:
        parse_sqs_body(json.dumps(event))
    assert named in str(refused.value)
    assert type(value).__name__ in str(refused.value)


def test_an_s3_notification_without_a_sequencer_still_announces_its_upload() -> None:
    # GIVEN an S3 notification whose object carries no sequencer (older and third-party senders omit it)
    event = load_event("s3_notification_object_created.json")
    del event["Records"][0]["s3"]["object"]["sequencer"]

    # WHEN it is parsed
    [upload] = parse_sqs_body(json.dumps(event)).uploads

    # THEN the upload is announced, with an empty sequencer
    assert upload.key == "incoming/report 2026.pdf"
    assert upload.sequencer == ""
