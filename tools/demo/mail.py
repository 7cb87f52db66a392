"""The mails the stand-in's SES accepted: what each carries, written as `.eml` files and one HTML page."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from inbox_mailer.message import LINK_REASON_REFUSED_TYPE, LINK_REASON_TOO_LARGE, SUBJECT, display_name

_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Mail:
    raw: bytes
    destinations: tuple[str, ...]

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def sender(self) -> str:
        return str(self.message["From"])

    @property
    def attachments(self) -> list[tuple[str, int]]:
        """(file name, size in bytes) of each attachment."""
        found = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            found.append((str(part.get_filename()), len(payload) if isinstance(payload, bytes) else 0))
        return found

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return str(part.get_content()) if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return str(part.get_content()) if part is not None else ""

    @property
    def carries(self) -> str:
        """One line: the attachment, or the link and why the file was not attached."""
        if self.attachments:
            return "; ".join(f"{name} attached ({size:,} bytes)" for name, size in self.attachments)
        links = _LINK.findall(self.text)
        if not links:
            return "no file and no link"
        reasons = {LINK_REASON_TOO_LARGE: "too large to attach", LINK_REASON_REFUSED_TYPE: "a type email refuses"}
        why = next((short for reason, short in reasons.items() if reason in self.text), "not attached")
        return f"a download link ({why})"

    def is_about(self, key: str) -> bool:
        return self.subject == SUBJECT.substitute(file_name=display_name(key))


def sent_mails(region: str) -> list[Mail]:
    """Every mail the stand-in's SES accepted, in order (its server thread runs in this process).

    The stand-in lists an address once per header it appears in: each recipient is named once here.
    """
    return [
        Mail(raw=message.raw_data.encode("utf-8"), destinations=tuple(dict.fromkeys(message.destinations)))
        for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages
    ]


def write(mails: list[Mail], directory: Path) -> tuple[list[Path], Path]:
    """Each mail as `<n>.eml`, and one page showing them all; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.eml"):
        old.unlink()
    emls = []
    sections = []
    for number, mail in enumerate(mails, start=1):
        eml = directory / f"{number}.eml"
        eml.write_bytes(mail.raw)
        emls.append(eml)
        sections.append(
            "<section><h2>{subject}</h2><p>From {sender} to {recipients}: {carries} "
            '(<a href="{eml}">{eml}</a>)</p><iframe sandbox srcdoc="{body}"></iframe></section>'.format(
                subject=html.escape(mail.subject),
                sender=html.escape(mail.sender),
                recipients=html.escape(", ".join(mail.destinations)),
                carries=html.escape(mail.carries),
                eml=html.escape(eml.name),
                body=html.escape(mail.html or f"<pre>{html.escape(mail.text)}</pre>"),
            )
        )
    page = directory / "mails.html"
    page.write_text(
        "<!doctype html><html><head><meta charset=utf-8><title>make demo: the mails</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto}iframe{width:100%;height:22em;border:1px solid #ccc}"
        "</style></head><body><h1>The mails <code>make demo</code> sent</h1>" + "".join(sections) + "</body></html>",
        encoding="utf-8",
    )
    return emls, page
