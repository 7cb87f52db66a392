"""The mail's wording and MIME structure, its exact size, and the memory it takes to build."""

from __future__ import annotations

import io
import os
import tracemalloc
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox_mailer.delivery import DOWNLOAD_CHUNK_BYTES
from inbox_mailer.message import (
    REFUSED_EXTENSIONS,
    DownloadLink,
    Envelope,
    FileDetails,
    build_linked_message,
    frame_attached_message,
    human_size,
    is_refused_attachment,
    media_type,
    render_content,
)
from inbox_mailer.raw_body import EncodedMessage

NOW = datetime(2026, 11, 12, 10, 21, 0, tzinfo=UTC)
ENVELOPE = Envelope(sender="inbox@example.com", recipients=("a@example.com",), sent_at=NOW)


def _file(name: str = "report.pdf", size: int = 5) -> FileDetails:
    return FileDetails(key=f"incoming/{name}", size_bytes=size, declared_type="application/pdf", uploaded_at=NOW)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1,023 bytes"),
        (1024, "1.0 KiB (1,024 bytes)"),
        (1536, "1.5 KiB (1,536 bytes)"),
        (5 * 1024 * 1024, "5.0 MiB (5,242,880 bytes)"),
        (3 * 1024**4, "3.0 TiB (3,298,534,883,328 bytes)"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_every_value_in_the_html_body_is_escaped() -> None:
    # GIVEN a file name made to break out of HTML, and a link with a query string
    name = '<script>alert("x")</script>&.pdf'
    link = DownloadLink(url="https://s3/x?a=1&b=2", expires_at=NOW, reason="Too <big>.")

    content = render_content(_file(name), link=link)

    assert "<script>" not in content.html
    assert "incoming/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;.pdf" in content.html
    # (the name is the last segment, with the brackets a mail parser would strip replaced)
    assert _file(name).file_name == "script_&.pdf"
    assert "script_&amp;.pdf" in content.html
    assert 'href="https://s3/x?a=1&amp;b=2"' in content.html
    assert "Too &lt;big&gt;." in content.html
    assert 'incoming/<script>alert("x")</script>&.pdf' in content.text


def test_subject_stays_on_one_line() -> None:
    content = render_content(_file("evil\r\nBcc: someone@example.com.pdf"), link=None)

    assert "\n" not in content.subject
    assert "\r" not in content.subject


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 76, 57 * 4096 - 1, 57 * 4096 + 1, 57 * 4096 * 3])
def test_predicted_size_is_the_encoded_size_and_the_file_survives(size: int) -> None:
    # GIVEN a file of an awkward length, read in chunks that do not align with base64 lines
    data = os.urandom(size)
    frame = frame_attached_message(ENVELOPE, render_content(_file(), link=None), _file())
    chunks = [data[i : i + 1000] for i in range(0, size, 1000)]

    # WHEN the message is rendered
    message = b"".join(frame.pieces(chunks, size))

    # THEN its size is the one predicted before download, and the attachment decodes to the file
    assert len(message) == frame.message_size(size)
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(message))
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_payload(decode=True) == data
    assert max(len(line) for line in bytes(message).split(b"\r\n")) <= 78


def test_a_file_of_another_size_than_announced_is_refused() -> None:
    frame = frame_attached_message(ENVELOPE, render_content(_file(), link=None), _file())

    with pytest.raises(ValueError, match="larger"):
        b"".join(frame.pieces([b"x" * 100], 10))
    with pytest.raises(ValueError, match="smaller"):
        b"".join(frame.pieces([b"x" * 10], 100))


def test_attaching_costs_little_more_than_the_encoded_message() -> None:
    # GIVEN an 8 MB file streamed from S3 in the chunks the function reads
    size = 8 * 1024 * 1024
    body = io.BytesIO(os.urandom(size))
    frame = frame_attached_message(ENVELOPE, render_content(_file(), link=None), _file())
    chunks = iter(lambda: body.read(DOWNLOAD_CHUNK_BYTES), b"")

    # WHEN the message is encoded for the SES request as the function does it, measuring the memory it allocates
    tracemalloc.start()
    encoded = EncodedMessage(frame.pieces(chunks, size), frame.message_size(size))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # THEN the peak is the request's base64 of the message (about 1.83x the file) plus a few chunks
    assert len(encoded.encoded) > size * 1.8
    assert peak < len(encoded.encoded) + 3 * 1024 * 1024
    assert peak < 2.1 * size


@given(st.text(alphabet=st.characters(blacklist_characters=".\uff0e\u2024\ufe52"), min_size=1))
def test_a_name_without_a_dot_has_no_extension_so_it_is_never_refused(name: str) -> None:
    # GIVEN a file name with no dot in any spelling (e.g. "exe" or "bat"), THEN it is attached, not refused
    assert not is_refused_attachment(name)
    assert not is_refused_attachment(name.upper())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v1.2.png", "image/png"),
        ("report.final.pdf", "application/pdf"),
        ("notes.2026.11.txt", "text/plain"),
        ("photo.jpeg.exe.png", "image/png"),
        # gzip-compressed: not a tar archive, and no type of its own among the guesses
        ("backup.tar.gz", "application/octet-stream"),
    ],
)
def test_an_undeclared_type_is_guessed_from_the_last_extension_only(name: str, expected: str) -> None:
    # GIVEN a file uploaded without a type whose name has several dots
    # WHEN its media type is decided THEN only what follows the last dot counts
    assert media_type(None, name) == expected
    assert media_type("binary/octet-stream", name) == expected


@given(
    stem=st.text(alphabet="abc.-_ 1", min_size=1).filter(lambda stem: stem.strip(". ")),
    extension=st.sampled_from(sorted(REFUSED_EXTENSIONS)),
)
def test_a_name_whose_last_extension_is_refused_is_refused_whatever_comes_before(stem: str, extension: str) -> None:
    # GIVEN a name with any number of dots before a refused extension ("setup.tar.exe", "a.b.c.bat")
    # THEN it is refused (sent as a link), and the same name with a harmless last extension is not
    assert is_refused_attachment(f"{stem}.{extension}")
    assert not is_refused_attachment(f"{stem}.{extension}.pdf")


@pytest.mark.parametrize("name", ["Отчёт за ноябрь.pdf", "報告書.pdf", "façade ünïcode \u2013 long " * 6 + ".pdf"])
def test_the_mail_is_seven_bit_clean_with_readable_quoted_printable_bodies_whatever_the_script(name: str) -> None:
    # GIVEN a file whose name is in another script, or long, mailed as a link
    link = DownloadLink(url="https://s3/x?a=1&b=2", expires_at=NOW, reason="Too big.")
    raw = build_linked_message(ENVELOPE, render_content(_file(name), link=link))

    # THEN every byte is 7-bit and every line short, so any relay passes it unchanged
    assert max(raw) < 128
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    # AND both bodies are quoted-printable, readable in the raw source, and decode to the name
    message = BytesParser(policy=policy.default).parsebytes(raw)
    parts = [part for part in message.walk() if part.get_content_maintype() == "text"]
    assert [part["Content-Transfer-Encoding"] for part in parts] == ["quoted-printable", "quoted-printable"]
    assert all(name.split()[0] in part.get_content() for part in parts)
