"""Turns the body of one SQS message into the uploads it announces.

The queue normally carries EventBridge "Object Created" events. A direct S3 notification is accepted too,
and its "s3:TestEvent" announces nothing.

Keys: S3 notifications URL-encode them, a documented fact. For EventBridge the evidence says the key is sent as
stored, but it is not conclusive, so an EventBridge upload names both forms when they differ and the lookup
accepts whichever names the event's own object version (delivery.locate).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event

OBJECT_CREATED = "Object Created"


class MalformedEventError(ValueError):
    """The message body is not an S3 event this function understands."""


class KeyForm(StrEnum):
    AS_GIVEN = "as given"
    URL_DECODED = "URL-decoded"


@dataclass(frozen=True, kw_only=True)
class UploadedObject:
    bucket: str
    # The key as the event names it (after URL-decoding for S3 notifications, whose encoding is certain).
    key: str
    version_id: str | None
    etag: str
    sequencer: str
    size: int | None
    event_time: datetime | None
    # The forms of the key that may name the object, in the order they are tried.
    key_forms: tuple[tuple[KeyForm, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.key_forms:
            object.__setattr__(self, "key_forms", ((KeyForm.AS_GIVEN, self.key),))

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.key)

    def identity(self) -> dict[str, str]:
        """What makes one upload unique: a duplicate or late delivery has the same identity."""
        version = self.version_id or f"etag:{self.etag}:sequencer:{self.sequencer}"
        return {"bucket": self.bucket, "key": self.key, "version": version}


@dataclass(frozen=True)
class Announcement:
    """What one SQS message announces: uploads, and how many of its events announce none."""

    uploads: list[UploadedObject]
    # S3's "s3:TestEvent", sent when a notification is configured.
    test_event: bool = False
    # Events of another kind (not "Object Created"); the rule never routes them, but nothing is dropped unsaid.
    other_events: int = 0


def parse_sqs_body(body: str) -> Announcement:
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as error:
        raise MalformedEventError(f"message body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise MalformedEventError("message body is not a JSON object")
    try:
        if message.get("Event") == "s3:TestEvent":
            return Announcement(uploads=[], test_event=True)
        if "detail-type" in message:
            return _from_eventbridge(EventBridgeEvent(message))
        if "Records" in message:
            return _from_s3_notification(S3Event(message))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedEventError(f"S3 event is missing or has a malformed field: {error!r}") from None
    raise MalformedEventError("message body is neither an EventBridge event nor an S3 notification")


def _from_eventbridge(event: EventBridgeEvent) -> Announcement:
    if event.source != "aws.s3" or event.detail_type != OBJECT_CREATED:
        return Announcement(uploads=[], other_events=1)
    detail = event.detail
    obj: dict[str, Any] = detail["object"]
    key = _text(obj["key"])
    decoded = unquote_plus(key)
    forms = ((KeyForm.AS_GIVEN, key),) + (((KeyForm.URL_DECODED, decoded),) if decoded != key else ())
    upload = UploadedObject(
        bucket=_text(detail["bucket"]["name"]),
        key=key,
        version_id=_optional_text(obj.get("version-id")),
        etag=_etag(obj.get("etag", obj.get("eTag"))),
        sequencer=_text(obj.get("sequencer", "")),
        size=_optional_int(obj.get("size")),
        event_time=_optional_time(event.get("time")),
        key_forms=forms,
    )
    return Announcement(uploads=[upload])


def _from_s3_notification(event: S3Event) -> Announcement:
    uploads = []
    other_events = 0
    for record in event.records:
        if not record.event_name.startswith("ObjectCreated:"):
            other_events += 1
            continue
        obj = record.s3.get_object
        key = unquote_plus(_text(obj.key))
        uploads.append(
            UploadedObject(
                bucket=_text(record.s3.bucket.name),
                key=key,
                version_id=_optional_text(obj.version_id),
                etag=_etag(obj.etag),
                sequencer=_text(obj.get("sequencer", "")),
                size=_optional_int(obj.get("size")),
                event_time=_optional_time(record.get("eventTime")),
                key_forms=((KeyForm.URL_DECODED, key),),
            )
        )
    return Announcement(uploads=uploads, other_events=other_events)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: object) -> str | None:
    # Unversioned buckets send no version id, or the string "null" in S3 notifications.
    if value is None or value in ("", "null"):
        return None
    return _text(value)


def _etag(value: object) -> str:
    return "" if value is None else _text(value).strip('"')


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected an integer size, got {type(value).__name__}")
    return int(value)


def _optional_time(value: object) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(_text(value))
