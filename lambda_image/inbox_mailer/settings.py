"""The function's settings, read once from the environment the infrastructure sets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from inbox_mailer.contract import (
    MAX_LINK_EXPIRY_SECONDS,
    SES_MAX_MESSAGE_BYTES,
    SES_MAX_RECIPIENTS,
    SettingsError,
    is_email_address,
)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class MailerSettings:
    sender_address: str
    recipients: tuple[str, ...]
    inbox_bucket: str
    inbox_prefix: str
    idempotency_table: str
    idempotency_ttl_seconds: int
    max_message_bytes: int
    link_expiry_seconds: int
    metrics_namespace: str
    # The queue the function consumes: a throttled message is put back on it.
    queue_url: str
    # How many instances may send at once: each keeps to this share of the account's SES rate.
    max_concurrency: int
    configuration_set: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MailerSettings:
        return cls(
            sender_address=_email(environ, "SENDER_ADDRESS"),
            recipients=_recipients(environ, "RECIPIENTS"),
            inbox_bucket=_bucket(environ, "INBOX_BUCKET"),
            inbox_prefix=_prefix(environ, "INBOX_PREFIX"),
            idempotency_table=_required(environ, "IDEMPOTENCY_TABLE"),
            idempotency_ttl_seconds=_int(environ, "IDEMPOTENCY_TTL_SECONDS", minimum=1),
            max_message_bytes=_int(environ, "MAX_MESSAGE_BYTES", minimum=1, maximum=SES_MAX_MESSAGE_BYTES),
            link_expiry_seconds=_int(environ, "LINK_EXPIRY_SECONDS", minimum=1, maximum=MAX_LINK_EXPIRY_SECONDS),
            metrics_namespace=_required(environ, "POWERTOOLS_METRICS_NAMESPACE"),
            queue_url=_url(environ, "QUEUE_URL"),
            max_concurrency=_int(environ, "MAX_CONCURRENCY", minimum=1),
            configuration_set=_required(environ, "SES_CONFIGURATION_SET"),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _email(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not is_email_address(value):
        raise SettingsError(f"{name} is not an email address: {value!r}")
    return value


def _recipients(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    addresses = [part.strip() for part in _required(environ, name).split(",")]
    if any(not address for address in addresses):
        raise SettingsError(f"{name} has an empty entry; expected comma-separated email addresses")
    invalid = [address for address in addresses if not is_email_address(address)]
    if invalid:
        raise SettingsError(f"{name} has entries that are not email addresses: {invalid!r}")
    unique = tuple(dict.fromkeys(addresses))
    if len(unique) > SES_MAX_RECIPIENTS:
        raise SettingsError(f"{name} has {len(unique)} addresses; SES accepts at most {SES_MAX_RECIPIENTS} per message")
    return unique


def _url(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not value.startswith("https://") and not value.startswith("http://"):
        raise SettingsError(f"{name} is not a queue URL: {value!r}")
    return value


def _bucket(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not _BUCKET.match(value):
        raise SettingsError(f"{name} is not a valid S3 bucket name: {value!r}")
    return value


def _prefix(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    # Without the trailing slash "incoming" would also match "incoming-old/...".
    if value.startswith("/") or not value.endswith("/"):
        raise SettingsError(f"{name} must be a folder prefix like 'incoming/', got {value!r}")
    return value


def _int(environ: Mapping[str, str], name: str, *, minimum: int, maximum: int | None = None) -> int:
    raw = _required(environ, name)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} is not an integer: {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value
