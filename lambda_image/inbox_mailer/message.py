"""What the mail says and how it is put together as MIME.

Change the wording here: every template of the subject and both bodies is at the top of this module.
Values are HTML-escaped before they go into the HTML body.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from string import Template

SUBJECT = Template("New file in the inbox: $file_name")

TEXT_BODY = Template(
    """A new file was uploaded to the inbox.

File name:    $file_name
Full key:     $key
Size:         $size
Content type: $content_type
Uploaded at:  $uploaded_at

$delivery
"""
)

HTML_BODY = Template(
    """<!DOCTYPE html>
<html><body>
<p>A new file was uploaded to the inbox.</p>
<table>
<tr><th align="left">File name</th><td>$file_name</td></tr>
<tr><th align="left">Full key</th><td>$key</td></tr>
<tr><th align="left">Size</th><td>$size</td></tr>
<tr><th align="left">Content type</th><td>$content_type</td></tr>
<tr><th align="left">Uploaded at</th><td>$uploaded_at</td></tr>
</table>
$delivery
</body></html>
"""
)

ATTACHED_TEXT = Template("The file is attached to this email.")
ATTACHED_HTML = Template("<p>The file is attached to this email.</p>")

LINKED_TEXT = Template(
    """$link_reason
Download it here (the link expires at $link_expires_at):
$link_url"""
)
LINKED_HTML = Template(
    """<p>$link_reason</p>
<p><a href="$link_url">Download $file_name</a> (the link expires at $link_expires_at).</p>"""
)

UNAVAILABLE_TEXT = Template(
    """$unavailable_reason
Nobody can download it yet: it is not attached and no link is given.
What the inbox's owner must do: $owner_action"""
)
UNAVAILABLE_HTML = Template(
    """<p>$unavailable_reason</p>
<p>Nobody can download it yet: it is not attached and no link is given.</p>
<p>What the inbox's owner must do: $owner_action</p>"""
)

LINK_REASON_TOO_LARGE = "The file is too large to attach to an email."
LINK_REASON_REFUSED_TYPE = "Email does not allow attaching files of this type."

TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

# RFC 2045 base64 lines: 57 bytes of data become 76 characters.
_BASE64_LINE_BYTES = 57
_BASE64_LINE_CHARS = 76
_CRLF = b"\r\n"
# Encode this much of the file at a time: whole base64 lines, about 230 KB (the working memory).
_ENCODE_CHUNK_BYTES = _BASE64_LINE_BYTES * 4096

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
# An object stored with a Content-Encoding holds the encoded bytes: it is attached as what it holds, under a name
# that says so (report.csv stored gzip-compressed arrives as report.csv.gz, application/gzip), so the recipient's
# computer opens it with the right program. Tokens that change nothing stored are ignored.
CONTENT_ENCODINGS = {
    "gzip": (".gz", "application/gzip"),
    "x-gzip": (".gz", "application/gzip"),
    "compress": (".Z", "application/x-compress"),
    "x-compress": (".Z", "application/x-compress"),
    "deflate": (".zz", "application/zlib"),
    "br": (".br", "application/octet-stream"),
    "zstd": (".zst", "application/zstd"),
}
IDENTITY_ENCODINGS = frozenset({"", "identity", "aws-chunked"})
# What S3 reports when the uploader set no type: the name says more.
UNDECLARED_TYPES = frozenset({"binary/octet-stream", "application/octet-stream"})
FALLBACK_TYPE = "application/octet-stream"
# RFC 2045/2046 allow only 7bit, 8bit or binary for these; a base64 attachment must not declare them.
_NO_BASE64_MAINTYPES = frozenset({"message", "multipart"})
# RFC 2045: a token is any printable US-ASCII character but space and the tspecials ()<>@,;:\"/[]?=
_TOKEN = r"[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
# Characters that break a header line or change what a reader sees without being seen: controls, line and
# paragraph separators, format characters (bidirectional overrides, zero-width), surrogates. A backslash is a
# path separator to some mail clients, which would then show only what follows it.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_REPLACEMENT = "_"
# Mail clients decode RFC 2047 encoded-words ("=?utf-8?q?...?=") in file names: the name must never start one.
_ENCODED_WORD_START = "=?"
_DEFUSED_ENCODED_WORD_START = "=\uff1f"
# Parsers drop a pair of double quotes or angle brackets around a parameter value ('"a.exe"' shows as a.exe).
_UNQUOTED = str.maketrans({'"': "'", "<": "_", ">": "_"})
UNNAMED = "unnamed"


def visible_text(value: str) -> str:
    """`value` as one line of text a reader sees as it is: every unsafe character replaced by '_'."""
    return "".join(_REPLACEMENT if ch == "\\" or unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in value)


def display_name(key: str) -> str:
    """The one name recipients see for the object `key`: in the subject, both bodies and the attachment.

    The last path segment, made visible (`visible_text`), with no encoded-word a mail client would decode, no
    double quotes or angle brackets a parser would strip, and without the leading and trailing spaces and
    trailing dots that clients drop when they save a file.
    """
    name = visible_text(key.rpartition("/")[2]).translate(_UNQUOTED)
    name = name.replace(_ENCODED_WORD_START, _DEFUSED_ENCODED_WORD_START)
    return without_dropped_ends(name) or UNNAMED


def without_dropped_ends(name: str) -> str:
    """`name` without the leading spaces and trailing spaces and dots that clients drop when they save a file.

    Any Unicode space counts, and any character that compatibility-normalises to a dot (a fullwidth dot, a one
    dot leader); stripped until nothing changes, so "notes.txt.\u00a0." ends in ".txt".
    """
    start, end = 0, len(name)
    while start < end and name[start].isspace():
        start += 1
    while end > start and _dropped_at_end(name[end - 1]):
        end -= 1
    return name[start:end]


def _dropped_at_end(character: str) -> bool:
    if character.isspace():
        return True
    return unicodedata.normalize("NFKC", character) == "."


def is_refused_attachment(file_name: str) -> bool:
    """SES refuses the whole message if an attachment's name ends in one of `REFUSED_EXTENSIONS`.

    Judged on the name as written, compatibility-normalised and case-folded, so that no spelling a client may
    show as a refused extension slips through; a refused file goes as a link instead.
    """
    normalised = without_dropped_ends(unicodedata.normalize("NFKC", file_name).casefold())
    extension = normalised.rpartition(".")[2] if "." in normalised else ""
    return extension in REFUSED_EXTENSIONS


def media_type(declared: str | None, file_name: str) -> str:
    """The file's media type: the uploader's `type/subtype` when it is valid, else a guess from the name.

    Parameters and anything that is not an RFC 2045 token pair are never taken from the uploader.
    """
    essence = (declared or "").split(";", 1)[0].strip().lower()
    if _MEDIA_TYPE.fullmatch(essence) and essence not in UNDECLARED_TYPES:
        return essence
    extension = file_name.rpartition(".")[2] if "." in file_name else ""
    guessed = mimetypes.guess_type(f"file.{extension}", strict=False)[0] if extension else None
    return guessed if guessed and _MEDIA_TYPE.fullmatch(guessed) else FALLBACK_TYPE


@dataclass(frozen=True, kw_only=True)
class FileDetails:
    """One uploaded file as the mail describes it; every name and type shown is derived here, once."""

    key: str
    size_bytes: int
    declared_type: str | None
    uploaded_at: datetime
    # S3's Content-Encoding of the stored object (e.g. "gzip"): the stored bytes are compressed.
    content_encoding: str | None = None

    @property
    def encodings(self) -> tuple[str, ...]:
        """The content codings applied to the stored bytes, in the order they were applied."""
        tokens = (token.strip().lower() for token in (self.content_encoding or "").split(","))
        return tuple(token for token in tokens if token not in IDENTITY_ENCODINGS)

    @property
    def file_name(self) -> str:
        """The name recipients see: the key's display name, plus the suffix of each content coding it is stored in."""
        name = display_name(self.key)
        for encoding in self.encodings:
            suffix = CONTENT_ENCODINGS.get(encoding, ("", ""))[0]
            if suffix and not name.lower().endswith(suffix.lower()):
                name += suffix
        return name

    @property
    def content_type(self) -> str:
        """The type of the file itself (before any content coding): what recipients are told it is."""
        return media_type(self.declared_type, display_name(self.key))

    @property
    def described_type(self) -> str:
        if not self.encodings:
            return self.content_type
        return f"{self.content_type}, stored compressed ({', '.join(self.encodings)})"

    @property
    def attachment_type(self) -> str:
        """The type the attachment is declared with: what its bytes are. Base64 is forbidden for message/* and
        multipart/*; an encoded file is the last coding's type (octet-stream for a coding without one)."""
        if self.encodings:
            return CONTENT_ENCODINGS.get(self.encodings[-1], ("", FALLBACK_TYPE))[1]
        content_type = self.content_type
        return FALLBACK_TYPE if content_type.partition("/")[0] in _NO_BASE64_MAINTYPES else content_type

    @property
    def may_attach(self) -> bool:
        return not is_refused_attachment(self.file_name)


@dataclass(frozen=True, kw_only=True)
class DownloadLink:
    url: str
    expires_at: datetime
    reason: str


@dataclass(frozen=True, kw_only=True)
class Unavailable:
    """Why nobody can read a file now, and what its owner must do about it."""

    # A short word for logs: archived, restoring, kms-key, sse-c.
    cause: str
    reason: str
    action: str


@dataclass(frozen=True, kw_only=True)
class MailContent:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, kw_only=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    sent_at: datetime


def human_size(size_bytes: int) -> str:
    """1536 -> '1.5 KiB (1,536 bytes)'."""
    if size_bytes < 1024:
        return f"{size_bytes:,} bytes" if size_bytes != 1 else "1 byte"
    value = size_bytes / 1024
    units = ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{value:.1f} {units[0]} ({size_bytes:,} bytes)"


def render_content(
    file: FileDetails, *, link: DownloadLink | None, unavailable: Unavailable | None = None
) -> MailContent:
    values = {
        "file_name": file.file_name,
        "key": visible_text(file.key),
        "size": human_size(file.size_bytes),
        "content_type": file.described_type,
        "uploaded_at": file.uploaded_at.strftime(TIME_FORMAT),
    }
    if unavailable is not None:
        unavailable_values = {
            **values,
            "unavailable_reason": unavailable.reason,
            "owner_action": unavailable.action,
        }
        text_delivery = UNAVAILABLE_TEXT.substitute(unavailable_values)
        html_delivery = UNAVAILABLE_HTML.substitute(_escaped(unavailable_values))
    elif link is None:
        text_delivery = ATTACHED_TEXT.substitute(values)
        html_delivery = ATTACHED_HTML.substitute(_escaped(values))
    else:
        link_values = {
            **values,
            "link_url": link.url,
            "link_expires_at": link.expires_at.strftime(TIME_FORMAT),
            "link_reason": link.reason,
        }
        text_delivery = LINKED_TEXT.substitute(link_values)
        html_delivery = LINKED_HTML.substitute(_escaped(link_values))
    return MailContent(
        subject=visible_text(SUBJECT.substitute(values)),
        text=TEXT_BODY.substitute(values, delivery=text_delivery),
        html=HTML_BODY.substitute(_escaped(values), delivery=html_delivery),
    )


def build_linked_message(envelope: Envelope, content: MailContent) -> bytes:
    return _bodies(envelope, content).as_bytes(policy=SMTP)


@dataclass(frozen=True)
class AttachmentFrame:
    """The serialised message around the attachment's base64 body.

    Knowing the frame, the size of the whole encoded message follows from the file's size alone,
    so a file that cannot fit is never downloaded, and one that fits is encoded straight into a
    buffer of the final size without holding the raw file and its encoding at once.
    """

    head: bytes
    tail: bytes

    def message_size(self, file_size: int) -> int:
        return len(self.head) + encoded_size(file_size) + len(self.tail)

    def pieces(self, chunks: Iterable[bytes], file_size: int) -> Iterator[bytes]:
        """The message in consecutive pieces: the head, the file's base64 body in blocks, the tail.

        Raises ValueError as soon as the file read as `chunks` turns out not to be `file_size` bytes long.
        """
        body_size = encoded_size(file_size)
        yield self.head
        produced = 0
        for block in _whole_lines(chunks):
            encoded = base64.encodebytes(block).replace(b"\n", _CRLF)
            produced += len(encoded)
            if produced > body_size:
                raise ValueError("the file is larger than its announced size")
            yield encoded
        if produced != body_size:
            raise ValueError("the file is smaller than its announced size")
        yield self.tail


def frame_attached_message(envelope: Envelope, content: MailContent, file: FileDetails) -> AttachmentFrame:
    """The message with `file` attached, serialised around where the attachment's base64 body goes.

    The body's place is marked by a marker no input can produce: it holds a NUL byte, which never appears in
    a serialised message (headers are made visible, bodies are quoted-printable, the attachment is base64),
    and a random part drawn for this message alone.
    """
    message = _bodies(envelope, content)
    maintype, _, subtype = file.attachment_type.partition("/")
    message.add_attachment(b"", maintype=maintype, subtype=subtype, filename=file.file_name)
    *_, attachment = message.iter_attachments()
    marker = f"\x00{secrets.token_hex(16)}\x00"
    attachment.set_payload(marker)
    head, found, tail = message.as_bytes(policy=SMTP).partition(marker.encode("ascii"))
    if not found:
        raise AssertionError("the serialised message lost the attachment's marker")
    # The encoded body ends each line with CRLF, so the CRLF before the boundary is its own.
    return AttachmentFrame(head=head, tail=tail)


def encoded_size(file_size: int) -> int:
    """Bytes of the base64 body of a file: 76-character lines, each ending with CRLF."""
    characters = 4 * -(-file_size // 3)
    lines = -(-characters // _BASE64_LINE_CHARS)
    return characters + len(_CRLF) * lines


def _bodies(envelope: Envelope, content: MailContent) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = envelope.sender
    message["To"] = ", ".join(envelope.recipients)
    message["Subject"] = content.subject
    message["Date"] = format_datetime(envelope.sent_at, usegmt=True)
    # Quoted-printable keeps the message 7-bit clean whatever the file name's script.
    message.set_content(content.text, cte="quoted-printable")
    message.add_alternative(content.html, subtype="html", cte="quoted-printable")
    return message


def _whole_lines(chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
    """Regroups arbitrary chunks into blocks of whole base64 lines (the last may be shorter)."""
    pending = b""
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        usable = len(data) - len(data) % _BASE64_LINE_BYTES
        view = memoryview(data)
        for start in range(0, usable, _ENCODE_CHUNK_BYTES):
            yield view[start : min(start + _ENCODE_CHUNK_BYTES, usable)]
        pending = bytes(view[usable:])
    if pending:
        yield pending


def _escaped(values: dict[str, str]) -> dict[str, str]:
    return {name: html.escape(value, quote=True) for name, value in values.items()}
