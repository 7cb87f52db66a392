"""Keeps one function instance's sends under its share of the account's SES sending rate.

SES counts recipients, not messages: `MaxSendRate` is recipients a second for the whole account (1 in the
sandbox, 14 for a new production account), and a mail to r recipients uses r of it. Up to `max_concurrency`
instances send at once, so each keeps to `rate / max_concurrency` recipients a second: after a mail to r
recipients the instance's next turn comes r / share seconds later, across the invocations of a warm instance.
A burst of N files to r recipients therefore takes at least N·r / rate seconds. The rate is read once per
instance (cold start), the first time a mail is about to go out.
"""

from __future__ import annotations

import math
import random
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
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._max_send_rate = max_send_rate
        self._instances = max(1, instances)
        self._clock = clock
        self._sleep = sleep
        self._share: float | None = None
        self._looked_up = False
        self._next_turn = -math.inf
        self._jitter = jitter
        self._last_interval = 0.0

    @property
    def share(self) -> float | None:
        """Recipients a second this instance may send to; None when the account's rate is unknown (no pacing)."""
        if not self._looked_up:
            self._looked_up = True
            rate = self._max_send_rate()
            self._share = None if rate is None else rate / self._instances
        return self._share

    def wait_for_turn(self, seconds_left: float, *, recipients: int) -> bool:
        """Sleeps until this instance's next turn to send a mail to `recipients` addresses and takes it; False,
        without waiting, if the turn comes later than `seconds_left` from now. A turn that is due now is always
        taken. The turn after it comes `recipients / share` seconds later."""
        share = self.share
        if share is None:
            return True
        now = self._clock()
        turn = max(now, self._next_turn)
        if turn > now and turn - now > seconds_left:
            return False
        if turn > now:
            self._sleep(turn - now)
        self._last_interval = max(1, recipients) / share
        self._next_turn = turn + self._last_interval
        return True

    def throttled(self) -> None:
        """SES refused this instance's last send for the account's rate: another instance sent at the same moment.

        Instances that start together keep their turns in step, and each refusal then costs a turn. Moving this
        instance's next turn later by a random part of its interval puts them out of step; it only ever slows
        this instance down, so it never sends more than its share.
        """
        self._next_turn += self._jitter() * self._last_interval
