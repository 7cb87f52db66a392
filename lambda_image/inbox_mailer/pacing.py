"""Keeps one function instance's sends under its share of the account's SES sending rate.

SES accepts at most `MaxSendRate` mails a second for the whole account (1 in the sandbox, 14 for a new
production account). Up to `max_concurrency` instances send at once, so each keeps to `rate / max_concurrency`:
sends are spaced by the inverse of that share, across the invocations of a warm instance. The rate is read once
per instance (cold start), the first time a mail is about to go out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


def account_max_send_rate(ses: SESV2Client) -> float | None:
    """The account's SES sending rate in mails per second, or None when it cannot be read.

    Without it nothing is paced, and throttled sends are still retried soon (processing.Mailer).
    """
    try:
        rate = float(ses.get_account()["SendQuota"]["MaxSendRate"])
    except (ClientError, BotoCoreError, KeyError, TypeError, ValueError, NotImplementedError):
        return None
    return rate if rate > 0 and math.isfinite(rate) else None


class SendPacer:
    def __init__(
        self,
        *,
        max_send_rate: Callable[[], float | None],
        instances: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._max_send_rate = max_send_rate
        self._instances = max(1, instances)
        self._clock = clock
        self._sleep = sleep
        self._interval: float | None = None
        self._looked_up = False
        self._next_turn = -math.inf

    @property
    def share(self) -> float | None:
        """Mails a second this instance may send; None when the account's rate is unknown (no pacing)."""
        if not self._looked_up:
            self._looked_up = True
            rate = self._max_send_rate()
            self._interval = None if rate is None else self._instances / rate
        return None if self._interval is None else 1 / self._interval

    def wait_for_turn(self, seconds_left: float) -> bool:
        """Sleeps until this instance's next turn to send and takes it; False, without waiting, if the turn
        comes later than `seconds_left` from now. A turn that is due now is always taken."""
        if self.share is None or self._interval is None:
            return True
        now = self._clock()
        turn = max(now, self._next_turn)
        if turn > now and turn - now > seconds_left:
            return False
        if turn > now:
            self._sleep(turn - now)
        self._next_turn = turn + self._interval
        return True
