"""Render the email a recipient gets as one HTML page, for the README's screenshot (`make email-picture`).

Uses the handler's own templates (`inbox_mailer.message.render_content`), for one attached and one
linked file. Usage: python tools/render_email.py OUTDIR
"""

from __future__ import annotations

import html
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda_image"))

from inbox_mailer.message import (
    LINK_REASON_TOO_LARGE,
    DownloadLink,
    FileDetails,
    MailContent,
    render_content,
)

SENDER = "mailer@example.com"
RECIPIENTS = "ops@example.com"
UPLOADED = datetime(2026, 11, 27, 9, 30, 12, tzinfo=UTC)


def _page(content: MailContent, attachment: str | None) -> str:
    clip = f'<div class="att">Attachment: {html.escape(attachment)}</div>' if attachment else ""
    return f"""<div class="mail">
<div class="head"><div class="subject">{html.escape(content.subject)}</div>
From: {SENDER}<br>To: {RECIPIENTS}</div>
<div class="body">{content.html}</div>{clip}</div>"""


def _document(*mails: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ font-family: 'Noto Sans', Arial, sans-serif; margin: 0; background: #f3f4f6; }}
.mail {{ width: 760px; margin: 16px; background: white; border: 1px solid #d1d5db; border-radius: 6px; }}
.head {{ padding: 14px 18px; border-bottom: 1px solid #e5e7eb; font-size: 14px; color: #374151; }}
.subject {{ font-size: 18px; font-weight: 600; color: #111827; margin-bottom: 6px; }}
.body {{ padding: 4px 18px 14px; font-size: 14px; }}
.body th {{ padding: 2px 16px 2px 0; color: #4b5563; }}
.att {{ margin: 0 18px 16px; padding: 8px 12px; border: 1px solid #d1d5db; border-radius: 4px;
        display: inline-block; font-size: 13px; }}
</style></head><body>{"".join(mails)}</body></html>"""


def main(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    attached = FileDetails(
        key="incoming/reports/2026/Q4 sales 報告.pdf",
        size_bytes=1_532_118,
        declared_type="application/pdf",
        uploaded_at=UPLOADED,
    )
    linked = FileDetails(
        key="incoming/exports/warehouse-2026-11-27.zip",
        size_bytes=58_720_256,
        declared_type="application/zip",
        uploaded_at=UPLOADED,
    )
    link = DownloadLink(
        url="https://inbox-bucket.s3.eu-west-1.amazonaws.com/incoming/exports/warehouse-2026-11-27.zip?versionId=...",
        expires_at=UPLOADED + timedelta(hours=1),
        reason=LINK_REASON_TOO_LARGE,
    )
    page = _document(
        _page(render_content(attached, link=None), attached.file_name),
        _page(render_content(linked, link=link), None),
    )
    (outdir / "email.html").write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
