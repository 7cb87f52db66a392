"""Mails one uploaded file: attached when the whole message fits, otherwise as a download link.

Before anything is sent, the object the event announces is located (`locate`): the event's own version (or, for
an unversioned bucket, an object with the event's ETag), under whichever form of the key names it. An upload
that was deleted or overwritten before it could be mailed is skipped, never mailed in place of another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from inbox_mailer.events import KeyForm, UploadedObject
from inbox_mailer.message import (
    LINK_REASON_REFUSED_TYPE,
    LINK_REASON_TOO_LARGE,
    DownloadLink,
    Envelope,
    FileDetails,
    build_linked_message,
    frame_attached_message,
    render_content,
)
from inbox_mailer.raw_body import EncodedMessage, accepts_encoded_messages
from inbox_mailer.settings import MailerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client

# Objects are read in blocks of this size while they are encoded into the message.
DOWNLOAD_CHUNK_BYTES = 256 * 1024

# "No such key or version": and 405 is S3's answer for a version that is a delete marker.
_GONE_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed"})
_RETRYABLE_S3_CODES = frozenset(
    {
        "500",
        "503",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "412",
        "PreconditionFailed",
    }
)
_PRECONDITION_FAILED = frozenset({"412", "PreconditionFailed"})
_THROTTLING_SES_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
_RETRYABLE_SES_CODES = _THROTTLING_SES_CODES | frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
    }
)
_PERMANENT_SES_ADVICE = {
    "MessageRejected": "SES rejected the message; if the sender is not verified, verify "
    "SENDER_ADDRESS (or its domain) in SES, and in the SES sandbox verify every recipient too",
    "MailFromDomainNotVerifiedException": "the custom MAIL FROM domain of the sender identity is "
    "not verified; fix its DNS records in SES",
    "AccountSuspendedException": "the SES account is suspended from sending; contact AWS support",
    "SendingPausedException": "sending is paused for the account or configuration set; resume sending in SES",
    "LimitExceededException": "an SES sending quota is exhausted (daily quota); wait for the "
    "quota to reset or ask for a higher quota, then redrive the DLQ",
    "NotFoundException": "an SES resource the message refers to does not exist",
    "BadRequestException": "SES refused the request as malformed",
    "AccessDeniedException": "the function's role may not send as SENDER_ADDRESS; check its "
    "ses:SendEmail/ses:SendRawEmail grant and ses:FromAddress condition",
    "AccessDenied": "the function's role may not send as SENDER_ADDRESS; check its "
    "ses:SendEmail/ses:SendRawEmail grant and ses:FromAddress condition",
}
_NO_RETRY = "will not succeed on retry; it goes to the dead-letter queue after the last receive"


class Outcome(StrEnum):
    ATTACHED = "attached"
    LINKED = "linked"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    # The event's version no longer exists, or the key's current version is a delete marker.
    DELETED = "deleted"
    # Unversioned bucket: the key now holds other content; the newer upload has an event of its own.
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class KeyMatch:
    form: KeyForm
    # True when the event's key had two forms that differ: then the form that matched settles how S3 encodes keys.
    decided: bool


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    outcome: Outcome
    message_id: str | None = None
    attached_bytes: int = 0
    link_reason: str | None = None
    skip_reason: SkipReason | None = None
    # How the event's key named the object (None when it was skipped before it was found).
    key_match: KeyMatch | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "message_id": self.message_id,
            "attached_bytes": self.attached_bytes,
            "link_reason": self.link_reason,
            "skip_reason": None if self.skip_reason is None else self.skip_reason.value,
            "key_form": None if self.key_match is None else self.key_match.form.value,
        }


class DeliveryError(Exception):
    """The file could not be mailed now; `retryable` tells whether a later try can succeed.

    `throttled` marks a send that SES (or this instance's pacing) put off: it is retried soon and never counts
    towards the dead-letter queue (processing.Mailer).
    """

    def __init__(self, reason: str, *, retryable: bool, error_code: str = "", throttled: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.error_code = error_code
        self.throttled = throttled


@dataclass(frozen=True, kw_only=True)
class StoredObject:
    """The object an upload event announces, as found in S3."""

    bucket: str
    key: str
    key_form: KeyForm
    version_id: str | None
    # The event's ETag when it had one: reads are made conditional on it for unversioned buckets.
    etag: str
    size: int
    declared_type: str | None
    last_modified: datetime | None


@dataclass(frozen=True)
class Skipped:
    reason: SkipReason


def _no_pacing() -> None:
    return None


def deliver(
    upload: UploadedObject,
    *,
    settings: MailerSettings,
    s3: S3Client,
    ses: SESV2Client,
    now: datetime,
    before_send: Callable[[], None] = _no_pacing,
) -> DeliveryResult:
    """Mails `upload` once, or skips it; `before_send` runs right before the one SES call (pacing)."""
    located = locate(s3, upload)
    if isinstance(located, Skipped):
        return DeliveryResult(outcome=Outcome.SKIPPED, skip_reason=located.reason)
    found = KeyMatch(form=located.key_form, decided=len(upload.key_forms) > 1)
    file = FileDetails(
        key=located.key,
        size_bytes=located.size,
        declared_type=located.declared_type,
        uploaded_at=upload.event_time or located.last_modified or now,
    )
    envelope = Envelope(sender=settings.sender_address, recipients=settings.recipients, sent_at=now)
    sender = _Sender(ses=ses, settings=settings, before_send=before_send)
    if not file.may_attach:
        return _send_link(located, file, envelope, settings, s3, sender, LINK_REASON_REFUSED_TYPE, found)

    content = render_content(file, link=None)
    frame = frame_attached_message(envelope, content, file)
    frame_size = frame.message_size(located.size)
    if frame_size > settings.max_message_bytes:
        return _send_link(located, file, envelope, settings, s3, sender, LINK_REASON_TOO_LARGE, found)

    try:
        # Encoded for the request as it is read: the message itself is never held whole.
        raw_message = EncodedMessage(frame.pieces(_download(s3, located), located.size), frame_size)
    except _ObjectGoneError as gone:
        return DeliveryResult(outcome=Outcome.SKIPPED, skip_reason=gone.reason, key_match=found)
    except ValueError as error:
        raise DeliveryError(
            f"the object changed while it was read ({error}); will be retried",
            retryable=True,
        ) from None
    message_id = sender.send(raw_message)
    return DeliveryResult(outcome=Outcome.ATTACHED, message_id=message_id, attached_bytes=located.size, key_match=found)


def locate(s3: S3Client, upload: UploadedObject) -> StoredObject | Skipped:
    """The object the event announces, or why it is skipped.

    Each form of the key is tried in turn with the event's version id; only an object whose version id (or,
    without one, whose ETag) is the event's is accepted. A versioned object whose key now ends in a delete
    marker (`aws s3 rm`) counts as deleted: the uploader took the file back before it was mailed.
    """
    superseded = False
    for form, key in upload.key_forms:
        head = _head(s3, upload.bucket, key, upload.version_id)
        if head is None:
            continue
        etag = _s3_etag(head)
        if upload.version_id is None and upload.etag and etag != upload.etag:
            superseded = True
            continue
        if upload.version_id is not None and _head(s3, upload.bucket, key, None) is None:
            return Skipped(SkipReason.DELETED)
        return StoredObject(
            bucket=upload.bucket,
            key=key,
            key_form=form,
            version_id=upload.version_id,
            etag=upload.etag or etag,
            size=head["ContentLength"],
            declared_type=head.get("ContentType"),
            last_modified=head.get("LastModified"),
        )
    return Skipped(SkipReason.SUPERSEDED if superseded else SkipReason.DELETED)


class _Sender:
    """Sends raw messages from the configured sender to the recipients, one SES call each."""

    def __init__(self, *, ses: SESV2Client, settings: MailerSettings, before_send: Callable[[], None]) -> None:
        self._ses = ses
        self._settings = settings
        self._before_send = before_send

    def send(self, raw_message: bytes | EncodedMessage) -> str:
        self._before_send()
        return send_raw(self._ses, self._settings, raw_message)


def send_raw(ses: SESV2Client, settings: MailerSettings, raw_message: bytes | EncodedMessage) -> str:
    data: bytes | EncodedMessage = raw_message
    if isinstance(raw_message, EncodedMessage) and not accepts_encoded_messages(ses):
        data = raw_message.decoded()
    try:
        response = ses.send_email(
            FromEmailAddress=settings.sender_address,
            Destination={"ToAddresses": list(settings.recipients)},
            # An EncodedMessage is spliced into the request body by raw_body's client hooks.
            Content={"Raw": {"Data": cast(bytes, data)}},
            ConfigurationSetName=settings.configuration_set,
        )
    except ClientError as error:
        raise classify_ses_error(error) from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not reach SES ({error}); will be retried", retryable=True) from error
    return response["MessageId"]


def classify_ses_error(error: ClientError) -> DeliveryError:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if "daily message quota" in message.lower():
        code_advice = _PERMANENT_SES_ADVICE["LimitExceededException"]
        return DeliveryError(
            f"{_NO_RETRY}: {code_advice} (SES {code}: {message})",
            retryable=False,
            error_code=code,
        )
    if code in _THROTTLING_SES_CODES or "maximum sending rate" in message.lower():
        return DeliveryError(
            f"SES is throttling (SES {code}: {message}); will be retried soon",
            retryable=True,
            error_code=code,
            throttled=True,
        )
    if code in _RETRYABLE_SES_CODES:
        return DeliveryError(
            f"SES is unavailable (SES {code}: {message}); will be retried",
            retryable=True,
            error_code=code,
        )
    advice = _PERMANENT_SES_ADVICE.get(code)
    if advice is not None:
        return DeliveryError(f"{_NO_RETRY}: {advice} (SES {code}: {message})", retryable=False, error_code=code)
    return DeliveryError(
        f"unexpected SES error (SES {code}: {message}); will be retried",
        retryable=True,
        error_code=code,
    )


def _send_link(
    located: StoredObject,
    file: FileDetails,
    envelope: Envelope,
    settings: MailerSettings,
    s3: S3Client,
    sender: _Sender,
    reason: str,
    found: KeyMatch,
) -> DeliveryResult:
    link = DownloadLink(
        url=presign_download(s3, located, settings.link_expiry_seconds),
        expires_at=envelope.sent_at + timedelta(seconds=settings.link_expiry_seconds),
        reason=reason,
    )
    raw_message = build_linked_message(envelope, render_content(file, link=link))
    message_id = sender.send(raw_message)
    return DeliveryResult(outcome=Outcome.LINKED, message_id=message_id, link_reason=reason, key_match=found)


def presign_download(s3: S3Client, located: StoredObject, expires_in: int) -> str:
    return s3.generate_presigned_url(
        "get_object", Params=_object_params(located.bucket, located.key, located.version_id), ExpiresIn=expires_in
    )


def _object_params(bucket: str, key: str, version_id: str | None) -> dict[str, str]:
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    return params


class _ObjectGoneError(Exception):
    def __init__(self, reason: SkipReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def _head(s3: S3Client, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | None:
    """The object's metadata, or None when that key (version) does not exist."""
    try:
        response = s3.head_object(**_object_params(bucket, key, version_id))  # type: ignore[arg-type]
    except ClientError as error:
        if _s3_code(error) in _GONE_CODES:
            return None
        raise _classify_s3_error(error, "HEAD") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not reach S3 ({error}); will be retried", retryable=True) from error
    return cast(dict[str, Any], response)


def _download(s3: S3Client, located: StoredObject) -> Iterator[bytes]:
    params = _object_params(located.bucket, located.key, located.version_id)
    if located.version_id is None and located.etag:
        # Without a version id the key could be overwritten between HEAD and GET: read only the event's content.
        params["IfMatch"] = located.etag
    try:
        response = s3.get_object(**params)  # type: ignore[arg-type]
        yield from response["Body"].iter_chunks(DOWNLOAD_CHUNK_BYTES)
    except ClientError as error:
        code = _s3_code(error)
        if code in _GONE_CODES:
            raise _ObjectGoneError(SkipReason.DELETED) from error
        if code in _PRECONDITION_FAILED and "IfMatch" in params:
            raise _ObjectGoneError(SkipReason.SUPERSEDED) from error
        raise _classify_s3_error(error, "GET") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not read from S3 ({error}); will be retried", retryable=True) from error


def _classify_s3_error(error: ClientError, operation: str) -> DeliveryError:
    code = _s3_code(error)
    if code in _RETRYABLE_S3_CODES:
        return DeliveryError(f"S3 {operation} failed with {code}; will be retried", retryable=True, error_code=code)
    if code in ("403", "AccessDenied"):
        return DeliveryError(
            f"S3 {operation} was denied (403); {_NO_RETRY}. Check that the function's role still "
            "allows s3:GetObject and s3:GetObjectVersion on the inbox prefix and s3:ListBucket on "
            "the bucket (without ListBucket S3 answers 403 instead of 404 for a deleted file)",
            retryable=False,
            error_code=code,
        )
    if code in ("400", "InvalidArgument"):
        return DeliveryError(
            f"S3 {operation} refused the request ({code}), e.g. an invalid version id; {_NO_RETRY}",
            retryable=False,
            error_code=code,
        )
    return DeliveryError(f"unexpected S3 {operation} error {code}; will be retried", retryable=True, error_code=code)


def _s3_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _s3_etag(head: dict[str, Any]) -> str:
    return str(head.get("ETag", "")).strip('"')
