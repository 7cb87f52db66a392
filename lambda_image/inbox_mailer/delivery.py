"""Mails one uploaded file: attached when the whole message fits, otherwise as a download link."""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from inbox_mailer.events import UploadedObject
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

# SES refuses to send these as attachments ("Unsupported attachment types", SES developer guide).
REFUSED_EXTENSIONS = frozenset(
    """
    ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp its
    js jse ksh lib lnk mad maf mag mam maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz msc msh
    msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg reg scf scr sct shb shs sys
    ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd ws wsc wsf wsh
    xnk
    """.split()  # noqa: SIM905
)

# Objects are read in blocks of this size while they are encoded into the message.
DOWNLOAD_CHUNK_BYTES = 256 * 1024

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
_RETRYABLE_SES_CODES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
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
    GONE = "gone"


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    outcome: Outcome
    message_id: str | None = None
    attached_bytes: int = 0
    link_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "message_id": self.message_id,
            "attached_bytes": self.attached_bytes,
            "link_reason": self.link_reason,
        }


class DeliveryError(Exception):
    """The file could not be mailed now; `retryable` tells whether a later try can succeed."""

    def __init__(self, reason: str, *, retryable: bool, error_code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.error_code = error_code


@dataclass(frozen=True, kw_only=True)
class _StoredObject:
    size: int
    content_type: str
    last_modified: datetime | None
    etag: str


def deliver(
    upload: UploadedObject,
    *,
    settings: MailerSettings,
    s3: S3Client,
    ses: SESV2Client,
    now: datetime,
) -> DeliveryResult:
    stored = _head(s3, upload)
    if stored is None:
        return DeliveryResult(outcome=Outcome.GONE)
    file = FileDetails(
        key=upload.key,
        file_name=upload.file_name,
        size_bytes=stored.size,
        content_type=stored.content_type,
        uploaded_at=upload.event_time or stored.last_modified or now,
    )
    envelope = Envelope(sender=settings.sender_address, recipients=settings.recipients, sent_at=now)
    if is_refused_attachment(file.file_name):
        return _send_link(upload, file, envelope, settings, s3, ses, LINK_REASON_REFUSED_TYPE)

    content = render_content(file, link=None)
    frame = frame_attached_message(envelope, content, file_name=file.file_name, content_type=file.content_type)
    frame_size = frame.message_size(stored.size)
    if frame_size > settings.max_message_bytes:
        return _send_link(upload, file, envelope, settings, s3, ses, LINK_REASON_TOO_LARGE)

    try:
        # Encoded for the request as it is read: the message itself is never held whole.
        raw_message = EncodedMessage(frame.pieces(_download(s3, upload, stored), stored.size), frame_size)
    except _ObjectGoneError:
        return DeliveryResult(outcome=Outcome.GONE)
    except ValueError as error:
        raise DeliveryError(
            f"the object changed while it was read ({error}); will be retried",
            retryable=True,
        ) from None
    if raw_message.size > settings.max_message_bytes:
        del raw_message
        return _send_link(upload, file, envelope, settings, s3, ses, LINK_REASON_TOO_LARGE)
    message_id = send_raw(ses, settings, raw_message)
    return DeliveryResult(outcome=Outcome.ATTACHED, message_id=message_id, attached_bytes=stored.size)


def is_refused_attachment(file_name: str) -> bool:
    extension = posixpath.splitext(file_name)[1].lstrip(".").lower()
    return extension in REFUSED_EXTENSIONS


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
    if code in _RETRYABLE_SES_CODES or "maximum sending rate" in message.lower():
        return DeliveryError(
            f"SES is throttling or unavailable (SES {code}: {message}); will be retried",
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
    upload: UploadedObject,
    file: FileDetails,
    envelope: Envelope,
    settings: MailerSettings,
    s3: S3Client,
    ses: SESV2Client,
    reason: str,
) -> DeliveryResult:
    link = DownloadLink(
        url=presign_download(s3, upload, settings.link_expiry_seconds),
        expires_at=envelope.sent_at + timedelta(seconds=settings.link_expiry_seconds),
        reason=reason,
    )
    raw_message = build_linked_message(envelope, render_content(file, link=link))
    message_id = send_raw(ses, settings, raw_message)
    return DeliveryResult(outcome=Outcome.LINKED, message_id=message_id, link_reason=reason)


def presign_download(s3: S3Client, upload: UploadedObject, expires_in: int) -> str:
    return s3.generate_presigned_url("get_object", Params=_object_params(upload), ExpiresIn=expires_in)


def _object_params(upload: UploadedObject) -> dict[str, str]:
    params = {"Bucket": upload.bucket, "Key": upload.key}
    if upload.version_id:
        params["VersionId"] = upload.version_id
    return params


class _ObjectGoneError(Exception):
    pass


def _head(s3: S3Client, upload: UploadedObject) -> _StoredObject | None:
    try:
        response = s3.head_object(**_object_params(upload))  # type: ignore[arg-type]
    except ClientError as error:
        if _s3_code(error) in _GONE_CODES:
            return None
        raise _classify_s3_error(error, "HEAD") from error
    except BotoCoreError as error:
        raise DeliveryError(f"could not reach S3 ({error}); will be retried", retryable=True) from error
    return _StoredObject(
        size=response["ContentLength"],
        content_type=_content_type(response.get("ContentType"), upload.file_name),
        last_modified=response.get("LastModified"),
        etag=response.get("ETag", ""),
    )


def _download(s3: S3Client, upload: UploadedObject, stored: _StoredObject) -> Iterator[bytes]:
    params: dict[str, str] = _object_params(upload)
    if not upload.version_id and stored.etag:
        # Without a version id the key could be overwritten between HEAD and GET.
        params["IfMatch"] = stored.etag
    try:
        response = s3.get_object(**params)  # type: ignore[arg-type]
        yield from response["Body"].iter_chunks(DOWNLOAD_CHUNK_BYTES)
    except ClientError as error:
        if _s3_code(error) in _GONE_CODES:
            raise _ObjectGoneError from error
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


def _content_type(reported: str | None, file_name: str) -> str:
    # S3 reports its default when the uploader set none; a guess from the name says more.
    if reported and reported not in ("binary/octet-stream", "application/octet-stream"):
        return reported
    guessed, _ = mimetypes.guess_type(file_name, strict=False)
    return guessed or reported or "application/octet-stream"
