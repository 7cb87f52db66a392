"""Mails one uploaded file: attached when the whole message fits, otherwise as a download link.

Before anything is sent, the object the event announces is located (`locate`): the event's own version (or, for
an unversioned bucket, an object with the event's ETag), under whichever form of the key names it. An upload
that was deleted or overwritten before it could be mailed is skipped, never mailed in place of another.

Only the event's own version is ever read or looked at: whether it was withdrawn is read from the key's version
list (a delete marker right after it), never from the key's current version, which may be one the function cannot
read. A file nobody can read yet (archived, or encrypted with a key the function may not use) is announced to the
recipients with the reason and what its owner must do, never sent as a link that would not open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from inbox_mailer.contract import MailerSettings
from inbox_mailer.events import KeyForm, UploadedObject
from inbox_mailer.message import (
    LINK_REASON_REFUSED_TYPE,
    LINK_REASON_TOO_LARGE,
    DownloadLink,
    Envelope,
    FileDetails,
    Unavailable,
    build_linked_message,
    frame_attached_message,
    render_content,
)
from inbox_mailer.raw_body import EncodedMessage, accepts_encoded_messages

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
# What HEAD answers for an object encrypted with a customer-provided key (SSE-C) when the request carries none:
# 400 with no body. A ranged GET then tells SSE-C apart from a malformed request.
_BAD_REQUEST_CODES = frozenset({"400", "BadRequest", "InvalidRequest", "InvalidArgument"})
_SSE_C_MESSAGE = "server side encryption"
# KMS answers S3 passes on that a later try may not meet; every other KMS answer (disabled, pending deletion, not
# found, denied) stays until someone changes the key.
_TRANSIENT_KMS_CODES = frozenset(
    {
        "KMS.ThrottlingException",
        "KMS.KMSInternalException",
        "KMS.DependencyTimeoutException",
        "KMS.LimitExceededException",
    }
)
# Storage classes whose objects answer GET with InvalidObjectState until a restore completes (GLACIER_IR and
# INTELLIGENT_TIERING's access tiers are read like STANDARD).
ARCHIVE_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
# Intelligent-Tiering's opt-in archive tiers, reported by HEAD as ArchiveStatus.
ARCHIVE_ACCESS_TIERS = frozenset({"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"})
_ARCHIVE_NAMES = {
    "GLACIER": "the S3 Glacier Flexible Retrieval storage class (GLACIER)",
    "DEEP_ARCHIVE": "the S3 Glacier Deep Archive storage class (DEEP_ARCHIVE)",
    "ARCHIVE_ACCESS": "the Archive Access tier of S3 Intelligent-Tiering",
    "DEEP_ARCHIVE_ACCESS": "the Deep Archive Access tier of S3 Intelligent-Tiering",
}
# How many of a key's newest versions and delete markers are listed to find the one right after the event's
# version. One entry a page: S3 lists them newest first in one sequence, but boto3 returns versions and delete
# markers as two lists with second-precision times, so only one entry a page keeps their order. An event is
# nearly always about one of the newest few; one that more newer uploads of the same name have followed is mailed.
WITHDRAWAL_LOOKBACK = 50
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
    # The recipients were told the file arrived, why nobody can read it yet, and what its owner must do.
    UNREADABLE = "unreadable"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    # The event's version no longer exists, or a delete marker follows it (withdrawn before it was mailed).
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
    # Why nobody can read the file yet (outcome UNREADABLE).
    unreadable: Unavailable | None = None
    # False when whether the upload was withdrawn was judged from the key's current version (_withdrawn).
    versions_listed: bool = True
    # How the event's key named the object (None when it was skipped before it was found).
    key_match: KeyMatch | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "message_id": self.message_id,
            "attached_bytes": self.attached_bytes,
            "link_reason": self.link_reason,
            "skip_reason": None if self.skip_reason is None else self.skip_reason.value,
            "unreadable_reason": None if self.unreadable is None else self.unreadable.reason,
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
    content_encoding: str | None = None
    # Set when HEAD (or a one-byte probe) shows nobody can read the object now.
    unreadable: Unavailable | None = None
    # The KMS key the object is encrypted with, when it is one (aws:kms or aws:kms:dsse).
    kms_key_id: str | None = None
    # When a restored copy of an archived object is deleted again: a link must not outlive it.
    readable_until: datetime | None = None
    # False when the key's versions could not be listed and its current version decided (_withdrawn).
    versions_listed: bool = True


@dataclass(frozen=True)
class Skipped:
    reason: SkipReason
    versions_listed: bool = True


class _UnreadableError(Exception):
    def __init__(self, unavailable: Unavailable) -> None:
        super().__init__(unavailable.reason)
        self.unavailable = unavailable


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
        return DeliveryResult(
            outcome=Outcome.SKIPPED, skip_reason=located.reason, versions_listed=located.versions_listed
        )
    result = _deliver_located(upload, located, settings=settings, s3=s3, ses=ses, now=now, before_send=before_send)
    return replace(result, versions_listed=located.versions_listed)


def _deliver_located(
    upload: UploadedObject,
    located: StoredObject,
    *,
    settings: MailerSettings,
    s3: S3Client,
    ses: SESV2Client,
    now: datetime,
    before_send: Callable[[], None],
) -> DeliveryResult:
    found = KeyMatch(form=located.key_form, decided=len(upload.key_forms) > 1)
    file = FileDetails(
        key=located.key,
        size_bytes=located.size,
        declared_type=located.declared_type,
        content_encoding=located.content_encoding,
        uploaded_at=upload.event_time or located.last_modified or now,
    )
    envelope = Envelope(sender=settings.sender_address, recipients=settings.recipients, sent_at=now)
    sender = _Sender(ses=ses, settings=settings, before_send=before_send)
    if located.unreadable is not None:
        return _send_notice(file, envelope, sender, located.unreadable, found)
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
    except _UnreadableError as unreadable:
        return _send_notice(file, envelope, sender, unreadable.unavailable, found)
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
    without one, whose ETag) is the event's is accepted. A version with a delete marker right after it (`aws s3
    rm` before a later upload of the same name, or none) was withdrawn by its uploader before it was mailed and
    counts as deleted; a version followed only by newer uploads is still mailed.
    """
    superseded = False
    for form, key in upload.key_forms:
        head = _head(s3, upload.bucket, key, upload.version_id)
        if head is None:
            continue
        withdrawn, listed = False, True
        if upload.version_id is not None:
            withdrawn, listed = _withdrawn(s3, upload.bucket, key, upload.version_id)
        if withdrawn:
            return Skipped(SkipReason.DELETED, versions_listed=listed)
        if isinstance(head, Unavailable):
            return StoredObject(
                bucket=upload.bucket,
                key=key,
                key_form=form,
                version_id=upload.version_id,
                etag=upload.etag,
                size=upload.size or 0,
                declared_type=None,
                last_modified=None,
                unreadable=head,
                versions_listed=listed,
            )
        etag = _s3_etag(head)
        if upload.version_id is None and upload.etag and etag != upload.etag:
            superseded = True
            continue
        return StoredObject(
            bucket=upload.bucket,
            key=key,
            key_form=form,
            version_id=upload.version_id,
            etag=upload.etag or etag,
            size=head["ContentLength"],
            declared_type=head.get("ContentType"),
            last_modified=head.get("LastModified"),
            content_encoding=head.get("ContentEncoding"),
            unreadable=_archived(head),
            kms_key_id=head.get("SSEKMSKeyId")
            if str(head.get("ServerSideEncryption", "")).startswith("aws:kms")
            else None,
            readable_until=_restored_until(head),
            versions_listed=listed,
        )
    return Skipped(SkipReason.SUPERSEDED if superseded else SkipReason.DELETED)


def _withdrawn(s3: S3Client, bucket: str, key: str, version_id: str) -> tuple[bool, bool]:
    """(withdrawn, listed): whether a delete marker is the entry right after `version_id` among the key's
    versions (or the version is gone), and whether the version list could be read to tell.

    The list is read newest first, one entry a page (WITHDRAWAL_LOOKBACK); the event's version is almost always
    among the first few. When S3 cannot list the versions (an error after botocore's retries, or a response
    that cannot be parsed: some emulators fail on keys with control characters), the key's current version
    decides, as the best evidence left: a delete marker there means withdrawn, and anything it cannot tell
    (a current version the function cannot read) never blocks this one.
    """
    try:
        return _delete_marker_follows(s3, bucket, key, version_id), True
    except (ClientError, BotoCoreError):
        return _current_is_delete_marker(s3, bucket, key), False


def _delete_marker_follows(s3: S3Client, bucket: str, key: str, version_id: str) -> bool:
    # Listed with the key as prefix, the key's own entries come first (it sorts before every longer key), newest
    # first; the next key starts at the next entry marked IsLatest. Entries are matched by version id, not by
    # their key's text, which an XML round trip may change (CR LF reads back as LF).
    newer_is_delete_marker = False
    seen_latest = False
    markers: dict[str, str] = {}
    for _ in range(WITHDRAWAL_LOOKBACK):
        page = s3.list_object_versions(Bucket=bucket, Prefix=key, MaxKeys=1, **markers)  # type: ignore[arg-type]
        entries = [(entry, False) for entry in page.get("Versions", [])] + [
            (entry, True) for entry in page.get("DeleteMarkers", [])
        ]
        for entry, is_delete_marker in entries:
            if entry.get("VersionId") == version_id:
                return newer_is_delete_marker
            if entry.get("IsLatest"):
                if seen_latest:
                    # Past the key's own entries without meeting the version: it was deleted for good.
                    return True
                seen_latest = True
            newer_is_delete_marker = is_delete_marker
        if not page.get("IsTruncated"):
            return True
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    # More newer entries than the lookback: the uploader wrote this name again and again; mail it.
    return False


def _current_is_delete_marker(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        return _s3_code(error) in _GONE_CODES
    except BotoCoreError:
        return False
    return False


def _archived(head: dict[str, Any]) -> Unavailable | None:
    """Why the object cannot be read now from what HEAD says of its storage, or None when it can."""
    storage_class = str(head.get("StorageClass") or "STANDARD")
    tier = str(head.get("ArchiveStatus") or "")
    where = _ARCHIVE_NAMES.get(tier) if tier in ARCHIVE_ACCESS_TIERS else None
    if where is None and storage_class in ARCHIVE_STORAGE_CLASSES:
        where = _ARCHIVE_NAMES[storage_class]
    if where is None:
        return None
    restore = str(head.get("Restore") or "")
    if 'ongoing-request="false"' in restore:
        return None
    if 'ongoing-request="true"' in restore:
        return Unavailable(
            cause="restoring",
            reason=f"The file is stored in {where} and is being restored; it cannot be read until the restore "
            "completes (minutes to hours).",
            action="when the restore has completed, copy the object onto itself so that it is mailed.",
        )
    return Unavailable(
        cause="archived",
        reason=f"The file is stored in {where}, so nobody can read it until it is restored.",
        action="restore the object (S3 console: the object, then Initiate restore), then copy it onto itself so "
        "that it is mailed.",
    )


def _restored_until(head: dict[str, Any]) -> datetime | None:
    restore = str(head.get("Restore") or "")
    marker = 'expiry-date="'
    if 'ongoing-request="false"' not in restore or marker not in restore:
        return None
    try:
        return parsedate_to_datetime(restore.split(marker, 1)[1].split('"', 1)[0])
    except (TypeError, ValueError, IndexError):
        return None


def _kms_unavailable(key_id: str | None, code: str) -> Unavailable:
    key = key_id or "the object's KMS key"
    if code in ("403", "AccessDenied"):
        reason = (
            f"The file is encrypted with the KMS key {key}, which the mailer function may not use "
            "(its role has no kms:Decrypt on that key), so it cannot be attached or linked."
        )
        action = (
            f"copy the object onto itself as someone who may use {key} (the copy takes the inbox's own "
            f"encryption and is mailed), or grant the mailer function's role kms:Decrypt on {key} and then copy it."
        )
    else:
        reason = f"The file is encrypted with the KMS key {key}, which cannot be used now (KMS answered {code})."
        action = (
            f"enable the KMS key {key} (or cancel its deletion), then copy the object onto itself so that it is mailed."
        )
    return Unavailable(cause="kms-key", reason=reason, action=action)


_SSE_C_UNAVAILABLE = Unavailable(
    cause="sse-c",
    reason="The file was uploaded encrypted with a customer-provided key (SSE-C); only that key can read it, and "
    "the mailer function does not have it.",
    action="upload the file again without a customer-provided key (SSE-S3 or SSE-KMS).",
)


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
    if located.kms_key_id is not None:
        # HEAD cannot tell whether the function's role may use the key: one byte read tells, before any link.
        try:
            unreadable = _probe(s3, located)
        except _ObjectGoneError as gone:
            return DeliveryResult(outcome=Outcome.SKIPPED, skip_reason=gone.reason, key_match=found)
        if unreadable is not None:
            return _send_notice(file, envelope, sender, unreadable, found)
    expires_in = settings.link_expiry_seconds
    if located.readable_until is not None:
        # A restored copy of an archived object is deleted again at its expiry date: the link ends with it.
        expires_in = max(1, min(expires_in, int((located.readable_until - envelope.sent_at).total_seconds())))
    link = DownloadLink(
        url=presign_download(s3, located, expires_in),
        expires_at=envelope.sent_at + timedelta(seconds=expires_in),
        reason=reason,
    )
    raw_message = build_linked_message(envelope, render_content(file, link=link))
    message_id = sender.send(raw_message)
    return DeliveryResult(outcome=Outcome.LINKED, message_id=message_id, link_reason=reason, key_match=found)


def _send_notice(
    file: FileDetails, envelope: Envelope, sender: _Sender, unavailable: Unavailable, found: KeyMatch
) -> DeliveryResult:
    raw_message = build_linked_message(envelope, render_content(file, link=None, unavailable=unavailable))
    message_id = sender.send(raw_message)
    return DeliveryResult(outcome=Outcome.UNREADABLE, message_id=message_id, unreadable=unavailable, key_match=found)


def _probe(s3: S3Client, located: StoredObject) -> Unavailable | None:
    """Reads the object's first byte: None when it can be read, else why not (archive, KMS key, SSE-C); raises
    _ObjectGoneError when the version is gone since HEAD."""
    params: dict[str, Any] = _object_params(located.bucket, located.key, located.version_id)
    if located.size > 0:
        # A zero-byte object has no first byte: S3 would answer 416 to the range.
        params["Range"] = "bytes=0-0"
    try:
        s3.get_object(**params)["Body"].close()
    except ClientError as error:
        unavailable = _unreadable_answer(error, located.kms_key_id)
        if unavailable is not None:
            return unavailable
        if _s3_code(error) in _GONE_CODES:
            # Deleted since HEAD: a link to it would not open.
            raise _ObjectGoneError(SkipReason.DELETED) from error
        raise _classify_s3_error(error, "GET") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not read from S3 ({error}); will be retried", retryable=True) from error
    return None


def _unreadable_answer(error: ClientError, kms_key_id: str | None) -> Unavailable | None:
    """The reason behind a GET's error when it means "nobody can read this object now", else None."""
    code = _s3_code(error)
    details = error.response.get("Error", {})
    message = str(details.get("Message", ""))
    if code == "InvalidObjectState":
        storage_class = str(details.get("StorageClass") or details.get("AccessTier") or "")
        return _archived({"StorageClass": storage_class or "GLACIER", "ArchiveStatus": details.get("AccessTier")})
    if code in _TRANSIENT_KMS_CODES:
        return None
    denied = code in ("403", "AccessDenied") and (kms_key_id is not None or "kms:" in message.lower())
    if code.startswith("KMS.") or denied:
        return _kms_unavailable(kms_key_id, code)
    if code in _BAD_REQUEST_CODES and _SSE_C_MESSAGE in message.lower():
        return _SSE_C_UNAVAILABLE
    return None


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


def _head(s3: S3Client, bucket: str, key: str, version_id: str | None) -> dict[str, Any] | Unavailable | None:
    """The object's metadata, None when that key (version) does not exist, or why nobody can read it when HEAD
    itself is refused for that reason (SSE-C: 400 without a body; a one-byte GET says why)."""
    params = _object_params(bucket, key, version_id)
    try:
        response = s3.head_object(**params)  # type: ignore[arg-type]
    except ClientError as error:
        code = _s3_code(error)
        if code in _GONE_CODES:
            return None
        if code in _BAD_REQUEST_CODES:
            unavailable = _why_refused(s3, params)
            if unavailable is not None:
                return unavailable
        raise _classify_s3_error(error, "HEAD") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not reach S3 ({error}); will be retried", retryable=True) from error
    return cast(dict[str, Any], response)


def _why_refused(s3: S3Client, params: dict[str, str]) -> Unavailable | None:
    try:
        s3.get_object(**params, Range="bytes=0-0")["Body"].close()  # type: ignore[arg-type]
    except ClientError as error:
        return _unreadable_answer(error, None)
    except BotoCoreError:
        return None
    return None


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
        unavailable = _unreadable_answer(error, located.kms_key_id)
        if unavailable is not None:
            raise _UnreadableError(unavailable) from error
        raise _classify_s3_error(error, "GET") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not read from S3 ({error}); will be retried", retryable=True) from error


def _classify_s3_error(error: ClientError, operation: str) -> DeliveryError:
    code = _s3_code(error)
    if code in _RETRYABLE_S3_CODES:
        return DeliveryError(f"S3 {operation} failed with {code}; will be retried", retryable=True, error_code=code)
    if code in ("403", "AccessDenied") and operation == "ListObjectVersions":
        return DeliveryError(
            f"S3 {operation} was denied (403); {_NO_RETRY}. Check that the function's role still allows "
            "s3:ListBucketVersions on the bucket for the inbox prefix (it tells a withdrawn upload from one to mail)",
            retryable=False,
            error_code=code,
        )
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
