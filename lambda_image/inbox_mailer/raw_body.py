"""Hands SES v2 a large raw message without botocore copying it five times over.

botocore's rest-json serializer turns a blob into a base64 `str`, keeps it in a dict, dumps the dict to a
JSON `str` and encodes that to `bytes`: with the message itself, about five copies at once (measured 6.9
times the file for an attached file). Here the message is base64-encoded once, in blocks, into one buffer;
botocore serializes a short placeholder instead, and the request body becomes a reader over botocore's
JSON around that buffer. The bytes on the wire are the same as botocore's own.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable
from typing import Any

# What botocore serializes in place of the message; its base64 is replaced in the JSON body.
PLACEHOLDER = b"\x00inbox-mailer: the encoded raw message goes here\x00"
_PLACEHOLDER_JSON = base64.b64encode(PLACEHOLDER)
_CONTEXT_KEY = "inbox_mailer_encoded_message"
# botocore keeps one handler per id across all events: one id each.
_SWAP_ID = "inbox-mailer-raw-message-placeholder"
_SPLICE_ID = "inbox-mailer-raw-message-splice"


class EncodedMessage:
    """The base64 of a raw MIME message, written once from the message's pieces."""

    def __init__(self, pieces: Iterable[bytes | memoryview], size: int) -> None:
        """`pieces` concatenated are the message, exactly `size` bytes long."""
        self.size = size
        self.encoded = bytearray(4 * -(-size // 3))
        view = memoryview(self.encoded)
        position = 0
        consumed = 0
        pending = b""
        for piece in pieces:
            consumed += len(piece)
            if consumed > size:
                raise ValueError("the message is larger than its announced size")
            data = pending + piece if pending else piece
            usable = len(data) - len(data) % 3
            encoded = binascii.b2a_base64(memoryview(data)[:usable], newline=False)
            view[position : position + len(encoded)] = encoded
            position += len(encoded)
            pending = bytes(memoryview(data)[usable:])
        if consumed != size:
            raise ValueError("the message is smaller than its announced size")
        view[position:] = binascii.b2a_base64(pending, newline=False)

    def decoded(self) -> bytes:
        """The message itself: for clients that cannot take the encoded form (test fakes)."""
        return base64.b64decode(self.encoded)


def accepts_encoded_messages(ses: Any) -> bool:
    """Teaches a botocore SES v2 client to send an `EncodedMessage` as `Content.Raw.Data` (idempotent).

    False for objects that are not botocore clients: they are given the decoded message instead.
    """
    events = getattr(getattr(ses, "meta", None), "events", None)
    if events is None:
        return False
    events.register("before-parameter-build.sesv2.SendEmail", _swap_in_placeholder, unique_id=_SWAP_ID)
    events.register("before-call.sesv2.SendEmail", _splice_message, unique_id=_SPLICE_ID)
    return True


def _swap_in_placeholder(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    raw = params.get("Content", {}).get("Raw")
    if raw is not None and isinstance(raw.get("Data"), EncodedMessage):
        context[_CONTEXT_KEY] = raw["Data"]
        params["Content"] = {**params["Content"], "Raw": {**raw, "Data": PLACEHOLDER}}


def _splice_message(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    message = context.pop(_CONTEXT_KEY, None)
    if message is None:
        return
    body: bytes = params["body"]
    head, found, tail = body.partition(_PLACEHOLDER_JSON)
    if not found or _PLACEHOLDER_JSON in tail:
        raise AssertionError("the raw message placeholder must appear exactly once in the request body")
    params["body"] = JoinedBody(head, message.encoded, tail)


class JoinedBody(io.RawIOBase):
    """A seekable reader over several buffers in a row, without joining them into one."""

    def __init__(self, *parts: bytes | bytearray) -> None:
        super().__init__()
        self._parts = [memoryview(part) for part in parts]
        self._length = sum(len(part) for part in self._parts)
        self._position = 0

    def __len__(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        return b"".join(self._take(size))

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        written = 0
        for piece in self._take(len(target)):
            target[written : written + len(piece)] = piece
            written += len(piece)
        return written

    def _take(self, size: int | None) -> list[memoryview]:
        """Views of the next `size` bytes (all that is left when `size` is None or negative); moves on."""
        end = self._length if size is None or size < 0 else min(self._length, self._position + size)
        views = []
        start = 0
        for part in self._parts:
            stop = start + len(part)
            low, high = max(self._position, start), min(end, stop)
            if low < high:
                views.append(part[low - start : high - start])
            start = stop
        self._position = max(self._position, end)
        return views
