"""The demo's SQS event source mapping against moto in this process: batch size and partial batch responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tools.demo.emulator import EventSourceMapping, Queue
from tools.demo.event_source import EventSource
from tools.demo.runtime_api import FunctionError

REGION = "us-east-1"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _queue(sqs: Any, name: str, *, visibility: int = 300) -> Queue:
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(name, name, url, arn, {"VisibilityTimeout": str(visibility)})


def _counts(sqs: Any, queue: Queue) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch_size=st.integers(min_value=1, max_value=10),
    outcomes=st.lists(st.booleans(), min_size=1, max_size=10),
    report=st.booleans(),
)
def test_a_batch_is_at_most_the_batch_size_and_only_its_failures_stay(
    sqs: Any, batch_size: int, outcomes: list[bool], report: bool
) -> None:
    # GIVEN messages on a queue, some of which the function will fail
    queue = _queue(sqs, f"q-{batch_size}-{len(outcomes)}-{sum(outcomes)}-{report}")
    failing = set()
    for index, succeeds in enumerate(outcomes):
        body = json.dumps({"n": index})
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)
        if not succeeds:
            failing.add(body)
    batches: list[int] = []

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        batches.append(len(event["Records"]))
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            assert record["eventSourceARN"] == queue.arn
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in failing]
        }

    mapping = EventSourceMapping(queue=queue, batch_size=batch_size, report_batch_item_failures=report)
    source = EventSource(sqs=sqs, mapping=mapping, region=REGION, invoke=invoke, retry_after_seconds=None)
    # WHEN it polls until every message was handed over once
    while sum(batches) < len(outcomes):
        source.poll_once()
    # THEN no invocation carried more than the batch size
    assert max(batches) <= batch_size
    # AND with ReportBatchItemFailures only the failed messages stay (hidden for the visibility timeout); without it
    # a partial failure response means nothing to Lambda, and every message counts as done
    assert _counts(sqs, queue) == (0, len(failing) if report else 0)
    assert source.tally.failed_records == (len(failing) if report else 0)


def test_a_function_error_keeps_the_whole_batch_and_the_retry_comes_sooner_when_asked(sqs: Any) -> None:
    # GIVEN a queue whose visibility timeout is long, and a function that answers with an error
    queue = _queue(sqs, "errors", visibility=600)
    for index in range(3):
        sqs.send_message(QueueUrl=queue.url, MessageBody=str(index))

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        raise FunctionError("boom")

    mapping = EventSourceMapping(queue=queue, batch_size=10, report_batch_item_failures=True)
    source = EventSource(sqs=sqs, mapping=mapping, region=REGION, invoke=invoke, retry_after_seconds=0)
    # WHEN it polls once
    source.poll_once()
    # THEN every message stays, and (retry after 0 s) is visible again at once
    assert source.tally.failed_records == 3
    assert _counts(sqs, queue) == (3, 0)


def test_an_unknown_identifier_fails_the_whole_batch(sqs: Any) -> None:
    queue = _queue(sqs, "unknown")
    for index in range(2):
        sqs.send_message(QueueUrl=queue.url, MessageBody=str(index))
    mapping = EventSourceMapping(queue=queue, batch_size=10, report_batch_item_failures=True)
    source = EventSource(
        sqs=sqs,
        mapping=mapping,
        region=REGION,
        invoke=lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        retry_after_seconds=None,
    )
    source.poll_once()
    # As Lambda does: nothing is deleted
    assert _counts(sqs, queue) == (0, 2)
