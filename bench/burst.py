"""Figure 6: a burst of uploads drains through SES's sending rate without a file in the dead-letter queue.

Each scenario runs in a fresh interpreter (`python -m bench.burst SCENARIO OUT.json`), moto in process:

- The inbox as the stack wires it: a versioned bucket whose uploads EventBridge routes to the queue; the queue's
  redrive policy moves a message to the dead-letter queue after `MAX_RECEIVE_COUNT` receives, and its visibility
  timeout is `VISIBILITY_TIMEOUT_FACTOR` times the function's timeout (stacks/inbox.py), all in moto's SQS.
- N files are uploaded at once, then `INSTANCES` threads play the function's instances under the event source
  mapping: each receives batches of `SQS_BATCH_SIZE`, runs them through the handler's own processing (a `Mailer`
  built as lambda_function builds it, with its own pacer, and Powertools' `process_partial_response`), and
  deletes what succeeded; failed records come back after the visibility timeout and count a receive.
- SES is stopped at the boundary by a token bucket at rate R (capacity max(2, R): SES accepts short bursts):
  a send without a token is refused with SES's throttling error. `GetAccount` reports R, as SES does.

Timings are scaled: a scenario runs `speed` times faster than real time. The rate is R x speed, and every
duration the design depends on is divided by speed: the function's timeout (so the visibility timeout), the
throttle backoff's base and ceiling and the margin kept before the timeout. SQS delays are whole seconds, so
the shortest backoff is 1 s of bench time (speed s of real time). Drain time is the wall time from the first
receive until every file is mailed and the queue is empty, compared with the floor N / (R x speed).
"""

from __future__ import annotations

import ast
import io
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

from bench.common import LAMBDA_IMAGE, ROOT, Figure, run_case_in_fresh_interpreter

GOAL_RATIO = 1.3
REGION = "us-east-1"
BUCKET = "inbox-bucket-burst"
PREFIX = "incoming/"
SENDER = "mailer@example.com"
TABLE = "idempotency-burst"
# The stack's defaults (stacks/inbox.py, stacks/mailer.py, stacks/settings.py).
TIMEOUT_SECONDS = 60
INSTANCES = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    files: int
    rate: float
    speed: float


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("sandbox_1_per_s", files=200, rate=1.0, speed=2.0),
        Scenario("production_14_per_s", files=200, rate=14.0, speed=0.2),
    )
}


class TokenBucketSes:
    """SES v2 at the boundary: refuses a send when the account's rate has no token left; records every mail."""

    def __init__(self, rate: float, capacity: float) -> None:
        self._rate = rate
        self._capacity = capacity
        self._tokens = capacity
        self._at = time.monotonic()
        self._lock = threading.Lock()
        self.mailed: Counter[str] = Counter()
        self.throttled = 0

    def get_account(self) -> dict[str, Any]:
        return {"SendQuota": {"MaxSendRate": self._rate, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}}

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        from botocore.exceptions import ClientError

        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1:
                self.throttled += 1
                raise ClientError(
                    {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}},
                    "SendEmail",
                )
            self._tokens -= 1
            raw = bytes(kwargs["Content"]["Raw"]["Data"])
            subject = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
            self.mailed[subject.decode()] += 1
        return {"MessageId": f"burst-{sum(self.mailed.values())}"}


class _Context:
    function_name = "inbox-mailer"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:inbox-mailer"
    aws_request_id = "burst"

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def run_scenario(scenario: Scenario) -> dict[str, Any]:
    speed = scenario.speed
    timeout_s = TIMEOUT_SECONDS / speed
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": "inbox-mailer",
            "POWERTOOLS_METRICS_NAMESPACE": "InboxMailerBench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(LAMBDA_IMAGE))
    sys.path.insert(0, str(ROOT))
    import boto3
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from moto import mock_aws

    from inbox_mailer import processing
    from inbox_mailer.contract import MailerSettings
    from inbox_mailer.pacing import SendPacer, account_max_send_rate
    from inbox_mailer.persistence import DurableDynamoDBPersistenceLayer
    from inbox_mailer.processing import Mailer

    max_receive_count = _stack_constant("inbox.py", "MAX_RECEIVE_COUNT")
    visibility_factor = _stack_constant("inbox.py", "VISIBILITY_TIMEOUT_FACTOR")
    batch_size = _stack_constant("mailer.py", "SQS_BATCH_SIZE")

    processing.THROTTLE_BACKOFF_BASE_SECONDS /= speed
    processing.MAX_DELAY_SECONDS = max(1, int(processing.MAX_DELAY_SECONDS / speed))
    processing.SEND_MARGIN_SECONDS /= speed

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        dlq_url = sqs.create_queue(QueueName="burst-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="burst-queue",
            Attributes={
                "VisibilityTimeout": str(max(1, round(timeout_s * visibility_factor))),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="uploads",
            EventPattern=json.dumps(
                {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [BUCKET]}}}
            ),
        )
        events.put_targets(Rule="uploads", Targets=[{"Id": "queue", "Arn": queue_arn}])
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for number in range(scenario.files):
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}file-{number:04d}.txt", Body=f"file {number}".encode())

        rate = scenario.rate * speed
        ses = TokenBucketSes(rate=rate, capacity=max(2.0, rate))
        settings = MailerSettings.from_env(
            {
                "SENDER_ADDRESS": SENDER,
                "RECIPIENTS": "ops@example.com",
                "INBOX_BUCKET": BUCKET,
                "INBOX_PREFIX": PREFIX,
                "IDEMPOTENCY_TABLE": TABLE,
                "IDEMPOTENCY_TTL_SECONDS": "345600",
                "MAX_MESSAGE_BYTES": str(10 * 1024 * 1024),
                "LINK_EXPIRY_SECONDS": "3600",
                "POWERTOOLS_METRICS_NAMESPACE": "InboxMailerBench",
                "QUEUE_URL": queue_url,
                "MAX_CONCURRENCY": str(INSTANCES),
                "SES_CONFIGURATION_SET": "inbox-mailer-burst",
            }
        )
        failed_records = Counter[str]()
        stop = threading.Event()

        def instance(number: int) -> None:
            logger = Logger(service=f"instance-{number}", stream=io.StringIO())
            config = IdempotencyConfig(expires_after_seconds=settings.idempotency_ttl_seconds)
            mailer = Mailer(
                settings=settings,
                s3=s3,
                ses=ses,  # type: ignore[arg-type]
                sqs=lambda: sqs,
                pacer=SendPacer(max_send_rate=lambda: account_max_send_rate(ses), instances=INSTANCES),  # type: ignore[arg-type]
                persistence_store=DurableDynamoDBPersistenceLayer(
                    table_name=TABLE, boto3_client=boto3.client("dynamodb", region_name=REGION)
                ),
                idempotency_config=config,
                logger=logger,
                metrics=Metrics(namespace="InboxMailerBench"),
            )
            processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
            while not stop.is_set():
                messages = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=batch_size,
                    MessageAttributeNames=["All"],
                    AttributeNames=["All"],
                    WaitTimeSeconds=1,
                ).get("Messages", [])
                if not messages:
                    continue
                context = _Context(timeout_s)
                config.register_lambda_context(context)  # type: ignore[arg-type]
                event = {"Records": [_lambda_record(cast(dict[str, Any], message), queue_arn) for message in messages]}
                response = process_partial_response(
                    event=event,
                    record_handler=mailer.process_record,
                    processor=processor,
                    context=cast(Any, context),
                )
                failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
                for message in messages:
                    if message["MessageId"] in failed:
                        failed_records[message["MessageId"]] += 1
                    else:
                        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        # The metrics the mailer prints (EMF) would interleave with the result; stdout is restored below.
        sys.stdout = io.StringIO()
        start = time.monotonic()
        threads = [threading.Thread(target=instance, args=(n,), daemon=True) for n in range(INSTANCES)]
        for thread in threads:
            thread.start()
        deadline = start + 20 * scenario.files / rate + 120
        drained_at = None
        while time.monotonic() < deadline:
            # Counting mails is free; asking moto for the queue's depth walks every message, so it waits for that.
            if len(ses.mailed) < scenario.files:
                time.sleep(0.02)
                continue
            if _waiting(sqs, queue_url) == 0:
                drained_at = time.monotonic()
                break
            time.sleep(0.25)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        drain = (drained_at or time.monotonic()) - start
        sys.stdout = sys.__stdout__
        floor = scenario.files / rate
        return {
            "scenario": scenario.name,
            "files": scenario.files,
            "rate_per_s": scenario.rate,
            "speed": speed,
            "files_mailed": len(ses.mailed),
            "duplicates": sum(ses.mailed.values()) - len(ses.mailed),
            "dead_letter": _waiting(sqs, dlq_url),
            "throttled_sends": ses.throttled,
            "failed_records": sum(failed_records.values()),
            "drained": drained_at is not None,
            "drain_s": round(drain, 2),
            "floor_s": round(floor, 2),
            "ratio": round(drain / floor, 3),
            "drain_s_unscaled": round(drain * speed, 1),
            "floor_s_unscaled": round(floor * speed, 1),
        }


def _stack_constant(module: str, name: str) -> int:
    """A number the stacks define, read from their source (importing them would start the CDK's Node process)."""
    tree = ast.parse((ROOT / "stacks" / module).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, int):
                return value
    raise LookupError(f"{name} is not a whole number in stacks/{module}")


def _waiting(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def measure() -> tuple[Figure, list[dict[str, Any]]]:
    results = [run_case_in_fresh_interpreter("bench.burst", name) for name in SCENARIOS]
    worst = max(result["ratio"] for result in results)
    met = all(
        r["drained"] and r["files_mailed"] == r["files"] and r["duplicates"] == 0 and r["dead_letter"] == 0
        for r in results
    )
    figure = Figure(
        name="burst_drain",
        value=worst,
        reference=GOAL_RATIO,
        unit="x floor N/R",
        goal=f"every file mailed once, none in the DLQ; drain <= {GOAL_RATIO} x N/R",
        met=met and worst <= GOAL_RATIO,
        detail={"scenarios": results, "scaling": "rate x speed, durations / speed (see bench/burst.py)"},
    )
    return figure, results


if __name__ == "__main__":
    result = run_scenario(SCENARIOS[sys.argv[1]])
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result, indent=2))
