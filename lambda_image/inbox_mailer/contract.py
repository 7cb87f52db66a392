"""What the stacks, the function and the operator tools must agree on, stated once. Standard library only.

- the function's environment: each setting's variable, how the stack writes it (`function_environment`) and how
  the function reads it back at cold start (`MailerSettings.from_env`), so a renamed variable renames both sides;
- the limits both sides rely on: SES's sizes and how long a download link can live;
- the metric names the function emits and the dashboard and alarms watch;
- the stack names the app deploys and the tools look up;
- one `SettingsError` and one notion of an email address for the deploy's settings and the function's.

It lives in the function's package so that the image copies it with the rest of `inbox_mailer/`. The stacks and the
tools import it as `inbox_mailer.contract` too: `stacks/__init__.py` puts `lambda_image/` on the import path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class MailerSettings:
    """The function's settings, each carried by one environment variable (`ENVIRONMENT`).

    The stack builds them, with CloudFormation tokens for the names not known before deploy, and writes them with
    `function_environment`; the function reads them back at cold start with `from_env`, which checks every value.
    """

    sender_address: str
    recipients: tuple[str, ...]
    inbox_bucket: str
    inbox_prefix: str
    idempotency_table: str
    idempotency_ttl_seconds: int
    max_message_bytes: int
    link_expiry_seconds: int
    configuration_set: str
    metrics_namespace: str
    # The queue the function consumes: a throttled message is put back on it.
    queue_url: str
    # How many instances may send at once: each keeps to this share of the account's SES rate.
    max_concurrency: int

    def to_environment(self) -> dict[str, str]:
        return {variable.name: _written(getattr(self, setting)) for setting, variable in ENVIRONMENT.items()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MailerSettings:
        """Read every setting from its variable; a missing or malformed one raises SettingsError naming it."""
        values: dict[str, Any] = {}
        for setting, variable in ENVIRONMENT.items():
            raw = environ.get(variable.name, "").strip()
            if not raw:
                raise SettingsError(f"{variable.name} is not set")
            values[setting] = variable.read(variable.name, raw)
        return cls(**values)


@dataclass(frozen=True)
class Variable:
    """Where one of `MailerSettings` lives in the environment, and how the function reads it (name, raw) -> value."""

    name: str
    read: Callable[[str, str], Any]


# Read by Powertools itself (the Logger's service and level, the service dimension of every metric), under
# Powertools' own names.
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
LOG_LEVEL = "INFO"


def function_environment(settings: MailerSettings) -> dict[str, str]:
    """Every variable the stack gives the function: its settings, and the service and log level for Powertools."""
    return {**settings.to_environment(), POWERTOOLS_SERVICE_NAME: SERVICE_NAME, POWERTOOLS_LOG_LEVEL: LOG_LEVEL}


def _written(value: str | int | tuple[str, ...]) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _text(name: str, raw: str) -> str:
    return raw


def _email(name: str, raw: str) -> str:
    if not is_email_address(raw):
        raise SettingsError(f"{name} is not an email address: {raw!r}")
    return raw


def _recipients(name: str, raw: str) -> tuple[str, ...]:
    addresses = [part.strip() for part in raw.split(",")]
    if any(not address for address in addresses):
        raise SettingsError(f"{name} has an empty entry; expected comma-separated email addresses")
    invalid = [address for address in addresses if not is_email_address(address)]
    if invalid:
        raise SettingsError(f"{name} has entries that are not email addresses: {invalid!r}")
    unique = tuple(dict.fromkeys(addresses))
    if len(unique) > SES_MAX_RECIPIENTS:
        raise SettingsError(f"{name} has {len(unique)} addresses; SES accepts at most {SES_MAX_RECIPIENTS} per message")
    return unique


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("https://", "http://")):
        raise SettingsError(f"{name} is not a queue URL: {raw!r}")
    return raw


def _bucket(name: str, raw: str) -> str:
    if not _BUCKET.match(raw):
        raise SettingsError(f"{name} is not a valid S3 bucket name: {raw!r}")
    return raw


def _prefix(name: str, raw: str) -> str:
    # Without the trailing slash "incoming" would also match "incoming-old/...".
    if raw.startswith("/") or not raw.endswith("/"):
        raise SettingsError(f"{name} must be a folder prefix like 'incoming/', got {raw!r}")
    return raw


def _whole_number(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    def read(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} is not an integer: {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}")
        return value

    return read


# Each of MailerSettings' fields, in order, and the variable that carries it.
ENVIRONMENT: dict[str, Variable] = {
    "sender_address": Variable("SENDER_ADDRESS", _email),
    "recipients": Variable("RECIPIENTS", _recipients),
    "inbox_bucket": Variable("INBOX_BUCKET", _bucket),
    "inbox_prefix": Variable("INBOX_PREFIX", _prefix),
    "idempotency_table": Variable("IDEMPOTENCY_TABLE", _text),
    "idempotency_ttl_seconds": Variable("IDEMPOTENCY_TTL_SECONDS", _whole_number(1)),
    "max_message_bytes": Variable("MAX_MESSAGE_BYTES", _whole_number(1, SES_MAX_MESSAGE_BYTES)),
    "link_expiry_seconds": Variable("LINK_EXPIRY_SECONDS", _whole_number(1, MAX_LINK_EXPIRY_SECONDS)),
    "configuration_set": Variable("SES_CONFIGURATION_SET", _text),
    # Powertools' name: the namespace is also passed to Metrics explicitly.
    "metrics_namespace": Variable("POWERTOOLS_METRICS_NAMESPACE", _text),
    "queue_url": Variable("QUEUE_URL", _url),
    "max_concurrency": Variable("MAX_CONCURRENCY", _whole_number(1)),
}
