"""The 80-column examples in docs/operating.md, printed by the tools themselves against moto.

`python -m tests.tools.operating_example` rewrites them; tests/tools/test_operating_doc.py fails when they differ
from what the tools print now.
"""

from __future__ import annotations

import io
import os
import re
from functools import cache
from pathlib import Path
from unittest import mock

from moto import mock_aws
from rich.console import Console

from tests.tools.support import DEAD_LETTER_QUEUE, QUEUE, UNDELIVERABLE, MoveTaskSqs, deploy, event_body, moto_clients
from tools import redrive, status
from tools.deployed import run

DOC = Path(__file__).resolve().parents[2] / "docs" / "operating.md"
FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Times change from run to run; the examples are compared without them.
_TIMES = re.compile(r"\d\d-\d\d \d\d:\d\d|\d:\d\d:\d\d")


def _terminal() -> Console:
    return Console(width=80, record=True, force_terminal=False, color_system=None, file=io.StringIO())


def _text(console: Console) -> str:
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


@cache
def examples() -> dict[str, str]:
    """Block name -> what the tool prints: a busy `make status`, and a `make redrive` of both queues."""
    with mock.patch.dict(os.environ, FAKE_ENVIRONMENT), mock_aws():
        urls = deploy()
        sqs = moto_clients().sqs
        for n in range(3):
            sqs.send_message(QueueUrl=urls[DEAD_LETTER_QUEUE], MessageBody=event_body(f"incoming/{n}.pdf"))
        for n in range(2):
            sqs.send_message(QueueUrl=urls[UNDELIVERABLE], MessageBody=event_body(f"incoming/late-{n}.pdf"))
        screens = {}
        console = _terminal()
        run(lambda args: status.main(args, clients=moto_clients(), console=console), [])
        screens["status"] = _text(console)
        console = _terminal()
        mover = MoveTaskSqs(sqs, urls[QUEUE])
        clients = moto_clients(sqs=mover)
        run(lambda args: redrive.main(args, clients=clients, console=console, sleep=lambda _: None), [])
        screens["redrive"] = _text(console)
    return screens


def block(name: str, text: str) -> str:
    return f"<!-- example: {name} -->\n```text\n{text}\n```\n<!-- end of example: {name} -->"


def _block_pattern(name: str) -> re.Pattern[str]:
    fence = r"(?:```text\n(?P<text>.*?)\n```\n)?"
    return re.compile(rf"<!-- example: {name} -->\n{fence}<!-- end of example: {name} -->", re.S)


def _with_block(doc: str, name: str, text: str) -> str:
    # A function as the replacement, so that a backslash in the screen is not read as a group reference.
    return _block_pattern(name).sub(lambda _: block(name, text), doc)


def in_doc(name: str, doc: str) -> str | None:
    found = _block_pattern(name).search(doc)
    return found["text"] if found else None


def without_times(text: str) -> str:
    return _TIMES.sub("…", text)


def main() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for name, text in examples().items():
        doc = _with_block(doc, name, text)
    DOC.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
