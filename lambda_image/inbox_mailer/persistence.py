"""The idempotency table, with the one write that must not be lost retried.

Once SES has accepted a mail, the record saying so is what stops a later delivery of the same event from
mailing the file again. Its write is retried with backoff (`SUCCESS_WRITE_DELAYS`, each try with botocore's
own retries), so only a DynamoDB outage longer than that span can leave the upload unmarked. The tries stop
early rather than run into the function's timeout (`seconds_left`): a timed-out batch would be redelivered and
mailed again, while a failed write is reported to the caller, which still acknowledges the mailed file.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import BotoCoreError, ClientError

# Seconds between tries of the success write: 8 tries over about 12.7 s of waiting.
SUCCESS_WRITE_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)
# No retry starts with less than this left before the function's timeout.
TIMEOUT_MARGIN_SECONDS = 2.0


class DurableDynamoDBPersistenceLayer(DynamoDBPersistenceLayer):
    def __init__(
        self,
        *,
        success_write_delays: Sequence[float] = SUCCESS_WRITE_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        seconds_left: Callable[[], float] = lambda: math.inf,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._delays = tuple(success_write_delays)
        self._sleep = sleep
        self._seconds_left = seconds_left

    def _update_record(self, data_record: DataRecord) -> None:
        for delay in self._delays:
            try:
                super()._update_record(data_record)
            except (ClientError, BotoCoreError):
                if self._seconds_left() - delay < TIMEOUT_MARGIN_SECONDS:
                    raise
                self._sleep(delay)
            else:
                return
        super()._update_record(data_record)
