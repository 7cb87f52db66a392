"""Generated uploads against the message builder and the delivery decision (Hypothesis).

Any key S3 accepts, any Content-Type string, any size around the attach limit: the file is either mailed as a
valid message with the file attached, or sent as a link. Nothing raises. `make test` runs a fixed number of
examples per property (the "default" profile, tests/conftest.py); `make fuzz` runs many more.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from inbox_mailer.contract import MailerSettings
from inbox_mailer.delivery import Outcome, deliver
from inbox_mailer.events import KeyForm, UploadedObject
from inbox_mailer.message import (
    Envelope,
    FileDetails,
    display_name,
    frame_attached_message,
    is_refused_attachment,
    render_content,
)
from tests.handler.support import BUCKET, CONTRACT_ENV, PREFIX, RECIPIENTS, SENDER

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
# Small enough that generated files cross it often; the exact boundary is tested in test_delivery.py.
LIMIT = 12 * 1024
SETTINGS = replace(MailerSettings.from_env(CONTRACT_ENV), max_message_bytes=LIMIT)
S3_MAX_KEY_BYTES = 1024

# Pieces that broke names before, mixed into arbitrary text so that Hypothesis tries them often.
HOSTILE = [
    "\u2028",
    "\u2029",
    "\x85",
    "\r\n",
    "\x00",
    "\u202e",
    "\u200b",
    "\\",
    "=?utf-8?q?",
    "?=",
    ".exe",
    ".EXE ",
    ".",
    " ",
    "INBOX-MAILER-ATTACHMENT-PLACEHOLDER",
    '"',
    ";",
    "\t",
    "%2F",
    "+",
    # Spaces that are not ASCII, and characters that normalise to a dot: clients drop them at a name's end too.
    "\xa0",
    "\u3000",
    "\u2007",
    "\u202f",
    "\uff0e",
    "\u2024",
    ".\xa0.",
]
# Every Unicode space (category Zs) and every character that compatibility-normalises to a single dot. (Line and
# paragraph separators and controls are shown as "_" before this, so they never end a name.)
TRAILING = [
    chr(c)
    for c in range(0x110000)
    if unicodedata.category(chr(c)) == "Zs" or unicodedata.normalize("NFKC", chr(c)) == "."
]
# The content codings S3 may carry for an object, known and unknown, single and stacked.
content_encodings = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(
            ["gzip", "x-gzip", "br", "zstd", "deflate", "compress", "identity", "aws-chunked", "xz", "GZIP"]
        ),
        min_size=1,
        max_size=3,
    ).map(", ".join),
)
names = st.lists(st.one_of(st.text(min_size=1, max_size=40), st.sampled_from(HOSTILE)), min_size=1, max_size=12).map(
    "".join
)
folders = st.lists(
    st.text(alphabet=st.characters(exclude_characters="/", exclude_categories=["Cs"]), min_size=1, max_size=8),
    max_size=3,
)
keys = st.builds(lambda path, name: PREFIX + "".join(f"{p}/" for p in path) + name, folders, names).filter(
    lambda key: len(key.encode("utf-8")) <= S3_MAX_KEY_BYTES and not key.endswith("/")
)
content_types = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(
        [
            "application/pdf",
            "message/rfc822",
            "multipart/mixed; boundary=x",
            'text/plain; name="evil.exe"',
            "binary/octet-stream",
            "text/html\r\nBcc: x@example.com",
            "image/png; charset=\u2028",
        ]
    ),
)
sizes = st.integers(min_value=0, max_value=LIMIT + 2048)


class MemoryS3:
    """One stored object, answering as S3 does for the calls `deliver` makes."""

    def __init__(self, key: str, data: bytes, content_type: str | None) -> None:
        self._key = key
        self._data = data
        self._type = content_type
        self.etag = hashlib.md5(data).hexdigest()

    def head_object(self, *, Bucket: str, Key: str, VersionId: str | None = None) -> dict[str, Any]:  # noqa: N803
        self._check(Key, VersionId)
        head: dict[str, Any] = {"ContentLength": len(self._data), "ETag": f'"{self.etag}"', "LastModified": NOW}
        if self._type is not None:
            head["ContentType"] = self._type
        return head

    def get_object(self, *, Bucket: str, Key: str, VersionId: str | None = None, IfMatch: str = "") -> Any:  # noqa: N803
        self._check(Key, VersionId)
        data = self._data

        class Body:
            def iter_chunks(self, size: int) -> Any:
                return (data[i : i + size] for i in range(0, len(data), size))

        return {"Body": Body()}

    def list_object_versions(self, *, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:  # noqa: N803
        versions = [{"Key": self._key, "VersionId": "v1", "IsLatest": True}] if Prefix == self._key else []
        return {"Versions": versions, "IsTruncated": False}

    def generate_presigned_url(self, operation: str, *, Params: dict[str, str], ExpiresIn: int) -> str:  # noqa: N803
        return f"https://{BUCKET}.s3.amazonaws.com/object?versionId={Params.get('VersionId')}&X-Amz-Expires={ExpiresIn}"

    def _check(self, key: str, version_id: str | None) -> None:
        if key != self._key or version_id not in (None, "v1"):
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")


class RecordingSes:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": f"m-{len(self.sent)}"}


def _deliver(key: str, data: bytes, content_type: str | None) -> tuple[Any, bytes, dict[str, Any]]:
    s3, ses = MemoryS3(key, data, content_type), RecordingSes()
    upload = UploadedObject(
        bucket=BUCKET,
        key=key,
        version_id="v1",
        etag=s3.etag,
        sequencer="0A",
        size=len(data),
        event_time=NOW,
        key_forms=((KeyForm.AS_GIVEN, key),),
    )
    result = deliver(upload, settings=SETTINGS, s3=cast(Any, s3), ses=cast(Any, ses), now=NOW)
    [request] = ses.sent
    return result, bytes(request["Content"]["Raw"]["Data"]), request


def _assert_valid(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        assert part.defects == [], part.defects
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    for _, value in message.items():
        assert "\r" not in str(value)
        assert "\n" not in str(value)
    assert [address.addr_spec for address in message["To"].addresses] == list(RECIPIENTS)
    assert message["From"] == SENDER
    return message


@given(key=keys, content_type=content_types, size=sizes, seed=st.binary(min_size=1, max_size=64))
def test_any_upload_is_mailed_as_a_valid_message_or_as_a_link(
    key: str, content_type: str | None, size: int, seed: bytes
) -> None:
    # GIVEN any key, any declared type and any size around the limit
    data = (seed * (size // len(seed) + 1))[:size]

    # WHEN the upload is delivered
    result, raw, request = _deliver(key, data, content_type)

    # THEN one valid message went to exactly the configured recipients
    assert request["Destination"] == {"ToAddresses": list(RECIPIENTS)}
    message = _assert_valid(raw)
    shown = display_name(key)
    assert shown == FileDetails(key=key, size_bytes=size, declared_type=content_type, uploaded_at=NOW).file_name
    attachments = list(message.iter_attachments())
    if result.outcome is Outcome.ATTACHED:
        # AND the attachment is the file, under the name recipients see, of a type that allows base64
        [attachment] = attachments
        assert attachment.get_payload(decode=True) == data
        assert attachment.get_filename() == shown
        assert not is_refused_attachment(shown)
        assert attachment.get_content_maintype() not in ("message", "multipart")
        assert dict(attachment["Content-Type"].params) == {}
        assert len(raw) <= LIMIT
    else:
        # AND a link goes instead when the file does not fit or its type is refused, never a refused attachment
        assert result.outcome is Outcome.LINKED
        assert attachments == []
        assert is_refused_attachment(shown) or size > LIMIT // 2
        assert "X-Amz-Expires" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@given(key=keys, content_type=content_types, content_encoding=content_encodings)
def test_the_name_a_parser_reads_back_is_the_name_the_rule_judged(
    key: str, content_type: str | None, content_encoding: str | None
) -> None:
    # GIVEN any key, declared type and content coding, framed as an attachment
    file = FileDetails(
        key=key, size_bytes=3, declared_type=content_type, content_encoding=content_encoding, uploaded_at=NOW
    )
    envelope = Envelope(sender=SENDER, recipients=RECIPIENTS, sent_at=NOW)
    frame = frame_attached_message(envelope, render_content(file, link=None), file)

    # WHEN the message is completed and parsed as a mail client would
    raw = b"".join(frame.pieces([b"abc"], 3))
    message = _assert_valid(raw)

    # THEN the name and type read back are exactly those the refused-type rule and the body used
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == file.file_name
    assert attachment.get_content_type() == file.attachment_type
    # (Python folds a long subject into encoded-words and may read back a space more or less between them:
    # the subject's text is compared without its spaces)
    assert "".join(message["Subject"].split()) == "".join(f"New file in the inbox: {file.file_name}".split())


@given(key=keys)
def test_the_name_rule_and_the_written_name_agree(key: str) -> None:
    # GIVEN any key
    name = display_name(key)

    # THEN the name is already in its final form, one line, and a refused type shows in no other spelling
    assert display_name(PREFIX + name) == name
    assert name
    assert name.strip() == name
    assert not name.endswith(".")
    assert name[-1] not in TRAILING
    assert "=?" not in name
    assert all(ch not in name for ch in "\r\n\x00\u2028\u2029\x85\\")


@given(
    stem=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
    extension=st.sampled_from(["txt", "pdf", "exe", "tar.gz"]),
    tail=st.lists(st.sampled_from(TRAILING), min_size=1, max_size=6).map("".join),
)
def test_trailing_dots_and_spaces_of_any_kind_are_dropped_until_none_is_left(
    stem: str, extension: str, tail: str
) -> None:
    # GIVEN a name followed by any mix of dots, dot-like characters and Unicode spaces
    key = f"{PREFIX}{stem}.{extension}{tail}"

    # THEN the name shown ends at its extension, and the refused-type rule judges that extension
    assert display_name(key) == f"{stem}.{extension}"
    assert is_refused_attachment(display_name(key)) == (extension == "exe")
