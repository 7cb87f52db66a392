"""The raw message spliced into the SES request body: the same bytes on the wire as botocore's own."""

from __future__ import annotations

import base64
import functools
import io
import json
import os
from collections.abc import Callable
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from inbox_mailer.contract import MailerSettings
from inbox_mailer.delivery import Outcome, deliver
from inbox_mailer.events import UploadedObject
from inbox_mailer.raw_body import EncodedMessage, JoinedBody, accepts_encoded_messages
from tests.handler.fakes import NOW, FakeS3
from tests.handler.support import BUCKET, CONTRACT_ENV, REGION, SentMail


class _Answer:
    def stream(self, **_: Any) -> Any:
        yield b'{"MessageId": "captured"}'


def _capturing_client() -> tuple[Any, list[tuple[dict[str, str], bytes]]]:
    """An SES v2 client whose requests stop at the HTTP boundary, recording headers and body."""
    client = boto3.client("sesv2", region_name=REGION)
    sent: list[tuple[dict[str, str], bytes]] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        body = request.body
        data = body if isinstance(body, bytes) else b"".join(iter(functools.partial(body.read, 8192), b""))
        sent.append((dict(request.headers), data))
        return AWSResponse(request.url, 200, {}, _Answer())  # type: ignore[arg-type]

    client.meta.events.register_first("before-send.sesv2.SendEmail", cast(Callable[..., None], capture))
    return client, sent


def _send(client: Any, data: Any) -> None:
    client.send_email(
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": ["a@example.com", "b@example.org"]},
        Content={"Raw": {"Data": data}},
    )


@pytest.mark.parametrize("size", [0, 1, 2, 3, 100, 300_001])
def test_an_encoded_message_goes_out_exactly_as_botocore_would_send_its_bytes(size: int) -> None:
    # GIVEN a raw message, and a client that sends encoded messages
    message = os.urandom(size)
    client, sent = _capturing_client()
    assert accepts_encoded_messages(client)

    # WHEN it is sent once as plain bytes and once encoded from uneven pieces
    _send(client, message)
    pieces = [message[i : i + 7777] for i in range(0, size, 7777)]
    _send(client, EncodedMessage(pieces, size))

    # THEN both requests carry the same body and the same length
    (plain_headers, plain_body), (spliced_headers, spliced_body) = sent
    assert spliced_body == plain_body
    assert spliced_headers["Content-Length"] == plain_headers["Content-Length"] == str(len(plain_body))


def test_a_message_of_another_size_than_announced_is_refused() -> None:
    with pytest.raises(ValueError, match="smaller than its announced size"):
        EncodedMessage([b"abcd"], 5)
    with pytest.raises(ValueError, match="larger than its announced size"):
        EncodedMessage([b"abc", b"def"], 5)


def test_a_client_that_is_not_botocore_gets_the_decoded_message() -> None:
    class Fake:
        pass

    assert not accepts_encoded_messages(Fake())
    assert EncodedMessage([b"hello ", b"world"], 11).decoded() == b"hello world"


def test_joined_body_reads_seeks_and_reports_its_length_like_a_file() -> None:
    body = JoinedBody(b"abc", bytearray(b"defgh"), b"ij")
    assert len(body) == 10
    assert body.read(4) == b"abcd"
    assert body.read() == b"efghij"
    assert body.read() == b""
    body.seek(2)
    buffer = bytearray(5)
    assert body.readinto(buffer) == 5
    assert buffer == b"cdefg"
    assert body.seek(0, io.SEEK_END) == 10
    body.seek(0)
    assert b"".join(iter(functools.partial(body.read, 3), b"")) == b"abcdefghij"


def test_joined_body_can_be_wrapped_like_any_readable_seekable_raw_stream() -> None:
    # GIVEN the streamed body; WHEN code that wants a buffered file wraps it (the io protocol checks
    # readable() and seekable() first) THEN it reads and rewinds it like a file, as an HTTP client resending it would
    buffered = io.BufferedReader(JoinedBody(b"abc", bytearray(b"defgh"), b"ij"), buffer_size=4)
    assert buffered.read() == b"abcdefghij"
    buffered.seek(3)
    assert buffered.read(2) == b"de"


def test_an_attached_file_reaches_the_wire_as_a_stream_not_as_a_copy_of_the_message() -> None:
    # GIVEN a real SES v2 client whose requests stop at the HTTP boundary, and a 300 kB file to attach
    client = boto3.client("sesv2", region_name=REGION)
    bodies: list[Any] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        bodies.append(request.body)
        return AWSResponse(request.url, 200, {}, _Answer())  # type: ignore[arg-type]

    client.meta.events.register_first("before-send.sesv2.SendEmail", cast(Callable[..., None], capture))
    s3 = FakeS3()
    data = os.urandom(300_000)
    stored = s3.put("incoming/data.bin", data)
    upload = UploadedObject(
        bucket=BUCKET,
        key="incoming/data.bin",
        version_id=stored.version_id,
        etag="",
        sequencer="",
        size=None,
        event_time=NOW,
    )

    # WHEN it is delivered
    result = deliver(upload, settings=MailerSettings.from_env(CONTRACT_ENV), s3=s3, ses=client, now=NOW)  # type: ignore[arg-type]

    # THEN the request body botocore sends is the reader over the once-encoded message, read in blocks
    assert result.outcome is Outcome.ATTACHED
    [body] = bodies
    assert isinstance(body, JoinedBody)
    blocks = list(iter(functools.partial(body.read, 64 * 1024), b""))
    assert len(blocks) > 1
    # AND those bytes are the SendEmail request, whose raw message is the mail with the file attached
    request = json.loads(b"".join(blocks))
    assert request["FromEmailAddress"] == CONTRACT_ENV["SENDER_ADDRESS"]
    mail = SentMail(source="", destinations=[], raw=base64.b64decode(request["Content"]["Raw"]["Data"]))
    assert mail.attachments == [("data.bin", data)]
