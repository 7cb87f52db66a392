"""The SES quota in files: exact figures at the sandbox's and a production quota, and properties over any quota.

SES counts recipients: a file mailed to r recipients uses r of the daily quota and r of the send rate.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tools.support import PRODUCTION_QUOTA as PRODUCTION
from tests.tools.support import SANDBOX_QUOTA as SANDBOX
from tools.ses_quota import duration, files_a_day, files_left_today, files_quota, limits


@pytest.mark.parametrize(
    ("recipients", "in_files", "left"),
    [
        (1, "200 recipients a day, 1 per second = 200 files a day to your 1 recipient; 100 files take at least "
            "1 min 40 s", "183 files"),
        (2, "200 recipients a day, 1 per second = 100 files a day to your 2 recipients; 100 files take at least "
            "3 min 20 s", "91 files"),
        (20, "200 recipients a day, 1 per second = 10 files a day to your 20 recipients; 100 files take at least "
             "33 min 20 s", "9 files"),
        (50, "200 recipients a day, 1 per second = 4 files a day to your 50 recipients; 100 files take at least "
             "1 h 23 min", "3 files"),
    ],
)  # fmt: skip
def test_the_sandbox_quota_in_files(recipients: int, in_files: str, left: str) -> None:
    quota = files_quota(SANDBOX, recipients)
    assert limits(quota) == in_files
    assert files_left_today(quota) == left


@pytest.mark.parametrize(
    ("recipients", "in_files", "left"),
    [
        (1, "50,000 recipients a day, 14 per second = 50,000 files a day to your 1 recipient; 100 files take at "
            "least 7 s", "48,766 files"),
        (2, "50,000 recipients a day, 14 per second = 25,000 files a day to your 2 recipients; 100 files take at "
            "least 14 s", "24,383 files"),
        (20, "50,000 recipients a day, 14 per second = 2,500 files a day to your 20 recipients; 100 files take at "
             "least 2 min 22 s", "2,438 files"),
        (50, "50,000 recipients a day, 14 per second = 1,000 files a day to your 50 recipients; 100 files take at "
             "least 5 min 57 s", "975 files"),
    ],
)  # fmt: skip
def test_a_production_quota_in_files(recipients: int, in_files: str, left: str) -> None:
    quota = files_quota(PRODUCTION, recipients)
    assert limits(quota) == in_files
    assert files_left_today(quota) == left


def test_what_is_left_today_counts_whole_files_and_never_goes_below_none() -> None:
    # 200 - 181 = 19 recipients left: one more file to 19 recipients, none to 20
    assert files_left_today(files_quota({**SANDBOX, "SentLast24Hours": 181.0}, 19)) == "1 file"
    assert files_left_today(files_quota({**SANDBOX, "SentLast24Hours": 181.0}, 20)) == "0 files"
    # SES may count a little past the quota while it stops sending
    assert files_left_today(files_quota({**SANDBOX, "SentLast24Hours": 205.0}, 1)) == "0 files"


@pytest.mark.parametrize(
    ("send_quota", "in_files", "left"),
    [
        # SES reports -1 for an unlimited quota on some accounts
        ({"Max24HourSend": -1.0, "MaxSendRate": 14.0, "SentLast24Hours": 1234.0},
         "no daily limit reported, 14 per second = 100 files to your 2 recipients take at least 14 s",
         "no daily limit reported"),
        ({"Max24HourSend": 200.0, "MaxSendRate": -1.0, "SentLast24Hours": 17.0},
         "200 recipients a day, no rate limit reported = 100 files a day to your 2 recipients", "91 files"),
        ({"Max24HourSend": -1.0, "MaxSendRate": -1.0}, "no daily limit reported, no rate limit reported",
         "no daily limit reported"),
        ({"Max24HourSend": 0.0, "MaxSendRate": 0.0, "SentLast24Hours": 0.0},
         "daily quota unknown, send rate unknown", "unknown"),
        ({}, "daily quota unknown, send rate unknown", "unknown"),
        ({"Max24HourSend": 200.0, "MaxSendRate": 1.0},
         "200 recipients a day, 1 per second = 100 files a day to your 2 recipients; 100 files take at least "
         "3 min 20 s", "unknown"),
        ({"Max24HourSend": "200", "MaxSendRate": None, "SentLast24Hours": float("nan")},
         "daily quota unknown, send rate unknown", "unknown"),
    ],
    ids=["unlimited day", "unlimited rate", "both unlimited", "zero", "missing", "no sent count", "not numbers"],
)  # fmt: skip
def test_a_quota_missing_zero_or_unlimited_is_said_never_divided(
    send_quota: dict[str, object], in_files: str, left: str
) -> None:
    quota = files_quota(send_quota, 2)
    assert limits(quota) == in_files
    assert files_left_today(quota) == left


def test_one_recipient_per_file_at_least() -> None:
    with pytest.raises(ValueError, match="at least one recipient, not 0"):
        files_quota(SANDBOX, 0)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 s"), (0.5, "500 ms"), (Fraction(100, 14), "7 s"), (59.99, "59 s"), (200, "3 min 20 s"),
     (3599.9, "59 min 59 s"), (5000, "1 h 23 min"), (725, "12 min 5 s")],
)  # fmt: skip
def test_durations_are_rounded_down(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


# --- Properties ---------------------------------------------------------------------------------------------

# What SES reports: whole numbers mostly, sometimes fractional rates; up to far beyond any real account.
limits_reported = st.one_of(
    st.integers(min_value=1, max_value=10**9).map(float),
    st.floats(min_value=0.001, max_value=1e9, allow_nan=False, allow_infinity=False),
)
recipient_counts = st.integers(min_value=1, max_value=50)


@given(per_day=limits_reported, recipients=recipient_counts)
def test_files_a_day_use_the_quota_and_one_more_would_exceed_it(per_day: float, recipients: int) -> None:
    quota = files_quota({"Max24HourSend": per_day}, recipients)
    assert quota.files_a_day is not None
    # int and float compare exactly in Python
    assert quota.files_a_day * recipients <= per_day
    assert (quota.files_a_day + 1) * recipients > per_day
    assert files_a_day(quota) == (
        f"{quota.files_a_day:,} file{'s' * (quota.files_a_day != 1)} a day to your {recipients} "
        f"recipient{'s' * (recipients != 1)}"
    )


@given(per_day=limits_reported, sent=st.floats(min_value=0, max_value=2e9), recipients=recipient_counts)
def test_files_left_today_fit_in_what_is_left_and_one_more_would_not(
    per_day: float, sent: float, recipients: int
) -> None:
    left = files_quota({"Max24HourSend": per_day, "SentLast24Hours": sent}, recipients).files_left_today
    assert left is not None
    remaining = Fraction(per_day) - Fraction(sent)
    assert left >= 0
    assert left * recipients <= max(Fraction(0), remaining)
    assert (left + 1) * recipients > remaining


@given(per_second=limits_reported, recipients=recipient_counts, burst=st.integers(min_value=1, max_value=10_000))
def test_a_burst_takes_at_least_its_recipients_at_the_send_rate(per_second: float, recipients: int, burst: int) -> None:
    seconds = files_quota({"MaxSendRate": per_second}, recipients, burst_files=burst).burst_seconds
    assert seconds is not None
    assert seconds * Fraction(per_second) >= burst * recipients


UNITS = {"h": Fraction(3600), "min": Fraction(60), "s": Fraction(1), "ms": Fraction(1, 1000)}


@given(seconds=st.fractions(min_value=0, max_value=10**7))
def test_a_duration_shown_is_never_more_than_the_time_it_stands_for(seconds: Fraction) -> None:
    shown = duration(seconds)
    parts = re.findall(r"(\d+) (h|min|s|ms)", shown)
    assert " ".join(f"{n} {unit}" for n, unit in parts) == shown
    total = sum(int(n) * UNITS[unit] for n, unit in parts)
    assert total <= seconds
    # and it drops less than its last unit
    assert seconds - total < UNITS[parts[-1][1]]


weird = st.one_of(
    st.none(),
    st.just(0),
    st.floats(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=3),
    st.booleans(),
)


@given(per_day=weird, per_second=weird, sent=weird, recipients=recipient_counts)
def test_any_answer_from_ses_gives_a_line_never_an_exception(
    per_day: object, per_second: object, sent: object, recipients: int
) -> None:
    quota = files_quota({"Max24HourSend": per_day, "MaxSendRate": per_second, "SentLast24Hours": sent}, recipients)
    assert limits(quota)
    assert files_left_today(quota)
    if quota.files_a_day is not None:
        assert isinstance(per_day, int | float)
        assert quota.files_a_day == math.floor(per_day) // recipients
