"""What the account's SES sending quota means in files, stated once for `make status` and the preflight.

SES counts recipients, not messages (AWS's SES quotas page: "Quotas are based on the number of recipients, rather
than on the number of messages"), and the mailer sends one mail per file to every configured recipient: a file to
r recipients uses r of `Max24HourSend` and r of `MaxSendRate`. Pure: no AWS calls, so the preflight can import it
without the stacks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

# A round burst to state the sending rate with; an operator thinks in batches of uploads, not in mails a second.
BURST_FILES = 100
NO_DAILY_LIMIT = "no daily limit reported"
NO_RATE_LIMIT = "no rate limit reported"
UNKNOWN = "unknown"


def _number(value: object) -> Fraction | None:
    # Fractions keep the arithmetic exact: a floor shown as "at least" must never round above the truth.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return Fraction(value)


@dataclass(frozen=True)
class FilesQuota:
    """An SES SendQuota in files of `recipients` recipients each; None where SES gave no usable figure."""

    recipients: int
    per_day: Fraction | None  # recipients a day
    per_second: Fraction | None  # recipients a second
    sent_today: Fraction | None  # recipients in the last 24 hours
    # SES reports -1 for an unlimited quota on some accounts: said as such, never divided by.
    no_daily_limit: bool
    no_rate_limit: bool
    files_a_day: int | None
    files_left_today: int | None
    burst_files: int
    burst_seconds: Fraction | None  # the least time `burst_files` files take at the send rate


def files_quota(send_quota: Mapping[str, object], recipients: int, *, burst_files: int = BURST_FILES) -> FilesQuota:
    """Read GetAccount's `SendQuota`: a missing, zero or non-numeric limit is unknown, a negative one absent."""
    if recipients < 1:
        raise ValueError(f"a file is mailed to at least one recipient, not {recipients}")
    day = _number(send_quota.get("Max24HourSend"))
    rate = _number(send_quota.get("MaxSendRate"))
    sent = _number(send_quota.get("SentLast24Hours"))
    per_day = day if day is not None and day > 0 else None
    per_second = rate if rate is not None and rate > 0 else None
    sent_today = sent if sent is not None and sent >= 0 else None
    # A recipient is whole: floor(floor(q) / r) == floor(q / r) for a whole r.
    files_a_day = None if per_day is None else math.floor(per_day) // recipients
    files_left_today = (
        None if per_day is None or sent_today is None else max(0, math.floor(per_day - sent_today)) // recipients
    )
    return FilesQuota(
        recipients=recipients,
        per_day=per_day,
        per_second=per_second,
        sent_today=sent_today,
        no_daily_limit=day is not None and day < 0,
        no_rate_limit=rate is not None and rate < 0,
        files_a_day=files_a_day,
        files_left_today=files_left_today,
        burst_files=burst_files,
        burst_seconds=None if per_second is None else burst_files * recipients / per_second,
    )


def number(value: Fraction | int) -> str:
    """50,000 or 0.5: thousands grouped, no trailing '.0'."""
    return f"{int(value):,}" if value == int(value) else f"{float(value):,g}"


def counted(value: Fraction | int, noun: str) -> str:
    return f"{number(value)} {noun}{'' if value == 1 else 's'}"


def duration(seconds: Fraction | float) -> str:
    """Rounded down, so that "at least" stays true: 1 h 23 min, 3 min 20 s, 7 s, 500 ms."""
    if 0 < seconds < 1:
        return f"{math.floor(seconds * 1000)} ms"
    minutes, rest = divmod(math.floor(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s" if minutes else f"{rest} s"


def recipients_a_day(quota: FilesQuota) -> str:
    if quota.per_day is not None:
        return f"{counted(quota.per_day, 'recipient')} a day"
    return NO_DAILY_LIMIT if quota.no_daily_limit else "daily quota unknown"


def send_rate(quota: FilesQuota) -> str:
    if quota.per_second is not None:
        return f"{counted(quota.per_second, 'recipient')} per second"
    return NO_RATE_LIMIT if quota.no_rate_limit else UNKNOWN


def files_a_day(quota: FilesQuota) -> str | None:
    """'200 files a day to your 1 recipient', or None without a daily limit to divide."""
    if quota.files_a_day is None:
        return None
    return f"{counted(quota.files_a_day, 'file')} a day to your {counted(quota.recipients, 'recipient')}"


def files_left_today(quota: FilesQuota) -> str:
    if quota.files_left_today is not None:
        return counted(quota.files_left_today, "file")
    return NO_DAILY_LIMIT if quota.no_daily_limit else UNKNOWN


def burst(quota: FilesQuota) -> str | None:
    """'100 files take at least 1 min 40 s', naming the recipients when the daily figure cannot; None without a rate."""
    if quota.burst_seconds is None:
        return None
    files = counted(quota.burst_files, "file")
    if quota.files_a_day is None:
        files += f" to your {counted(quota.recipients, 'recipient')}"
    return f"{files} take{'s' * (quota.burst_files == 1)} at least {duration(quota.burst_seconds)}"


def limits(quota: FilesQuota) -> str:
    """One line: '200 recipients a day, 1 per second = 200 files a day to your 1 recipient; 100 files take ...'."""
    rate = f"{number(quota.per_second)} per second" if quota.per_second is not None else None
    stated = f"{recipients_a_day(quota)}, {rate or (NO_RATE_LIMIT if quota.no_rate_limit else 'send rate unknown')}"
    in_files = [part for part in (files_a_day(quota), burst(quota)) if part]
    return f"{stated} = {'; '.join(in_files)}" if in_files else stated
