"""What the stacks, the function and the operator tools must agree on, stated once. Standard library only.

- the limits both sides rely on: SES's sizes and how long a download link can live;
- the metric names the function emits and the dashboard and alarms watch;
- the stack names the app deploys and the tools look up;
- one `SettingsError` and one notion of an email address for the deploy's settings and the function's.

It lives in the function's package so that the image copies it with the rest of `inbox_mailer/`. The stacks and the
tools import it as `inbox_mailer.contract` too: `stacks/__init__.py` puts `lambda_image/` on the import path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

APP_NAME = "inbox-mailer"

# SES v2 SendEmail refuses messages above 40 MB after MIME encoding.
SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024
# SES refuses a message with more than 50 recipients.
SES_MAX_RECIPIENTS = 50
# A presigned URL is signed with the function role's temporary credentials and dies with them, whatever expiry it
# states (SigV4 itself would allow 7 days): an hour is what a mail can promise.
MAX_LINK_EXPIRY_SECONDS = 3600

# Powertools publishes the function's metrics in this namespace, with a `service` dimension of SERVICE_NAME.
METRICS_NAMESPACE = "InboxMailer"
SERVICE_NAME = "inbox-mailer"


class Metric(StrEnum):
    """Every metric the function emits: the one list that the dashboard and the alarms read too."""

    # A file reached the recipients.
    FILES_MAILED = "FilesMailed"  # attached
    FILES_LINKED = "FilesLinked"  # as a download link
    # Recipients were told a file arrived that nobody can read yet (archived, or encrypted with a key the function
    # may not use); the owner must act. Alarmed on every occurrence.
    FILES_UNREADABLE = "FilesUnreadable"
    BYTES_ATTACHED = "BytesAttached"
    # One failed try; the queue retries the file, then moves it to the dead-letter queue.
    FILES_FAILED = "FilesFailed"
    # SES said "slow down": the file is retried soon, without counting towards the dead-letter queue.
    SENDS_THROTTLED = "SendsThrottled"
    # Uploads that were deliberately not mailed, one metric per reason.
    SKIPPED_DELETED = "SkippedDeleted"
    SKIPPED_SUPERSEDED = "SkippedSuperseded"
    SKIPPED_OUTSIDE_PREFIX = "SkippedOutsidePrefix"
    SKIPPED_FOLDER_MARKER = "SkippedFolderMarker"
    SKIPPED_TEST_EVENT = "SkippedTestEvent"
    SKIPPED_OTHER_EVENT = "SkippedOtherEvent"
    # A message that announces nothing at all (an S3 notification with an empty Records list).
    SKIPPED_EMPTY_EVENT = "SkippedEmptyEvent"
    # Which form of the event's key named the object (settles how S3 encodes keys in events).
    KEY_MATCHED_AS_GIVEN = "KeyMatchedAsGiven"
    KEY_MATCHED_DECODED = "KeyMatchedDecoded"


# Skips that mean "a file someone uploaded was not mailed": alarmed on when they become frequent.
UNEXPECTED_SKIPS = (Metric.SKIPPED_DELETED, Metric.SKIPPED_SUPERSEDED)


@dataclass(frozen=True)
class StackNames:
    """The CloudFormation stacks of one stage, by name: the app creates them so and the tools find them so."""

    registry: str
    function: str
    # Only deployed when CI deploys are on (`github_repository`).
    deployer: str

    @classmethod
    def of_stage(cls, stage: str) -> StackNames:
        prefix = f"{APP_NAME}-{stage}"
        return cls(registry=f"{prefix}-registry", function=f"{prefix}-function", deployer=f"{prefix}-deployer")


class SettingsError(ValueError):
    """A setting is missing or malformed. The message is one line for whoever set it, and names the setting."""


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$"
)


def is_email_address(text: str) -> bool:
    """A plain address SES sends from or to: no display name, RFC 5321's lengths, a top-level domain not all digits."""
    match = _EMAIL.fullmatch(text)
    return (
        match is not None
        and len(text) <= 254
        and len(text.partition("@")[0]) <= 64
        and not match["domain"].rsplit(".", 1)[1].isdigit()
    )
