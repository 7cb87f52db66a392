"""The SQS event source mapping, as Lambda runs it: poll, invoke with a batch, delete what succeeded.

- at most the mapping's batch size per invocation;
- with ReportBatchItemFailures, the records the function names stay on the queue and the others are deleted;
  without it (or when the function answers with an error) the whole batch stays;
- a record that stays comes back after the queue's visibility timeout, and after `maxReceiveCount` receives the
  stand-in's SQS moves it to the dead-letter queue itself, as SQS does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.demo.runtime_api import FunctionError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from tools.demo.emulator import EventSourceMapping

# SQS' largest receive.
SQS_MAX_BATCH = 10
POLL_WAIT_SECONDS = 1


@dataclass
class Tally:
    invocations: int = 0
    records: int = 0
    failed_records: int = 0
    # message id -> how many times the function was given it
    attempts: dict[str, int] = field(default_factory=dict)


class EventSource:
    def __init__(
        self,
        *,
        sqs: SQSClient,
        mapping: EventSourceMapping,
        region: str,
        invoke: Callable[[dict[str, Any]], Any],
        retry_after_seconds: int | None,
    ) -> None:
        """`retry_after_seconds`, when shorter than the queue's visibility timeout, is how soon a failed record
        comes back (the demo cannot wait the template's minutes; the scenario says so)."""
        self._sqs = sqs
        self._mapping = mapping
        self._region = region
        self._invoke = invoke
        self._retry_after = retry_after_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-source", daemon=True)
        self.tally = Tally()
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.poll_once()
        except BaseException as error:  # noqa: BLE001 - handed to the scenario, which ends the demo with it
            self.error = error

    def poll_once(self) -> None:
        queue = self._mapping.queue
        messages: list[dict[str, Any]] = self._sqs.receive_message(  # type: ignore[assignment]
            QueueUrl=queue.url,
            MaxNumberOfMessages=min(self._mapping.batch_size, SQS_MAX_BATCH),
            WaitTimeSeconds=POLL_WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages or self._stop.is_set():
            return
        tally = self.tally
        tally.invocations += 1
        tally.records += len(messages)
        for message in messages:
            tally.attempts[message["MessageId"]] = tally.attempts.get(message["MessageId"], 0) + 1
        event = {"Records": [self._record(message) for message in messages]}
        try:
            answer = self._invoke(event)
            failed = self._failed_ids(answer, messages)
        except FunctionError:
            failed = {message["MessageId"] for message in messages}
        tally.failed_records += len(failed)
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        visibility = int(queue.attributes.get("VisibilityTimeout", "30"))
        if self._retry_after is not None and self._retry_after < visibility:
            for message in messages:
                if message["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self._retry_after
                    )

    def _failed_ids(self, answer: Any, messages: list[dict[str, Any]]) -> set[str]:
        if not self._mapping.report_batch_item_failures:
            return set()
        failures = (answer or {}).get("batchItemFailures", []) if isinstance(answer, dict) else []
        named = {str(failure.get("itemIdentifier")) for failure in failures}
        known = {message["MessageId"] for message in messages}
        # Lambda treats an identifier it did not send as a failure of the whole batch.
        return known if named - known else named

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return sqs_record(message, self._mapping.queue.arn, self._region)


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record in the shape Lambda gives a received SQS message to a function (the bench's burst uses it too)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
