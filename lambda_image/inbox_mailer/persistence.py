"""The idempotency table, with the one write that must not be lost retried.

Once SES has accepted a mail, the record saying so is what stops a later delivery of the same event from
mailing the file again. Its write is retried with backoff (`SUCCESS_WRITE_DELAYS`, each try with botocore's
own retries), so only a DynamoDB outage longer than that span can leave the upload unmarked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import BotoCoreError, ClientError

# Seconds between tries of the success write: 8 tries over about 12.7 s of waiting.
SUCCESS_WRITE_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4)


class DurableDynamoDBPersistenceLayer(DynamoDBPersistenceLayer):
    def __init__(
        self,
        *,
        success_write_delays: Sequence[float] = SUCCESS_WRITE_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._delays = tuple(success_write_delays)
        self._sleep = sleep

    def _update_record(self, data_record: DataRecord) -> None:
        for delay in self._delays:
            try:
                super()._update_record(data_record)
            except (ClientError, BotoCoreError):
                self._sleep(delay)
            else:
                return
        super()._update_record(data_record)
