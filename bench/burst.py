"""Figure 6: a burst of uploads drains through SES's sending rate without a file in the dead-letter queue.

SES counts recipients, not mails: its rate R is recipients a second, and a mail to r recipients takes r of it.
A scenario sends N files to r recipients at rate R, so its floor is N·r / R seconds.

Each scenario runs in a fresh interpreter (`python -m bench.burst SCENARIO OUT.json`), moto in process:

- The inbox as the stack wires it: a versioned bucket whose uploads EventBridge routes to the queue; the queue's
  redrive policy moves a message to the dead-letter queue after `MAX_RECEIVE_COUNT` receives, and its visibility
  timeout is `VISIBILITY_TIMEOUT_FACTOR` times the function's timeout (stacks/inbox.py), all in moto's SQS.
- N files are uploaded at once, then `INSTANCES` threads play the function's instances under the event source
  mapping: each receives batches of `SQS_BATCH_SIZE`, runs them through the handler's own processing (a `Mailer`
  built as lambda_function builds it, with its own pacer, and Powertools' `process_partial_response`), and
  deletes what succeeded; failed records come back after the visibility timeout and count a receive. The
  mailer's `RECIPIENTS` holds r distinct addresses.
- SES is stopped at the boundary by a token bucket of recipients refilled at rate R: a mail to r recipients
  takes r tokens, and a send finding fewer is refused with SES's throttling error. SES says its rate "can be
  exceeded for short bursts" without saying by how much; what it documents is that one message may have 50
  recipients at any rate, the sandbox's 1 a second included. So the bucket holds max(R, 50) recipients: one
  second of the rate, or one largest message. `GetAccount` reports R, as SES does. A mail-counting pacer sends r
  times too fast for this bucket and is throttled over and over; a recipient-counting one stays within it.

Timings are scaled: a scenario runs `speed` times faster than real time. The rate is R x speed, and every
duration the design depends on is divided by speed: the function's timeout (so the visibility timeout), the
throttle backoff's base and ceiling and the margin kept before the timeout. The bucket's size is a number of
recipients and is not scaled. Two durations cannot scale. SQS delays are whole seconds, so the shortest backoff
is 1 s of real time, `speed` seconds of bench time (40 s at speed 40, where the design waits 1 s); and no SQS
delay is longer than 15 minutes, so below speed 1 the backoff's ceiling stays 15 minutes. A delay holds back
only the throttled file while the rest of the queue keeps the instances busy, so the first distorts only the end
of a burst, and only where files are put back. Each scenario's speed makes it mail `REAL_MAILS_PER_SECOND` files
a second of real time, so every scenario paces alike in real time, slowly enough for moto, and its floor is 50 s.
Drain time is the wall time from the first receive until every file is mailed and the queue is empty, compared
with the floor N·r / (R x speed).
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from bench.common import LAMBDA_IMAGE, ROOT, Figure, run_case_in_fresh_interpreter

GOAL_RATIO = 1.3
# SES accepts one message to at most this many recipients, at any sending rate.
SES_MAX_RECIPIENTS = 50
REGION = "us-east-1"
BUCKET = "inbox-bucket-burst"
PREFIX = "incoming/"
SENDER = "mailer@example.com"
TABLE = "idempotency-burst"
# The stack's defaults (stacks/inbox.py, stacks/mailer.py, stacks/settings.py).
TIMEOUT_SECONDS = 60
INSTANCES = 2
# Each scenario's speed makes it mail 4 files a second of real time: a floor of 50 s for 200 files, and a turn
# every 0.5 s per instance, well above moto's own cost of a mail (tens of milliseconds) on a shared machine.
REAL_MAILS_PER_SECOND = 4.0


@dataclass(frozen=True)
class Scenario:
    name: str
    files: int
    rate: float
    recipients: int

    @property
    def speed(self) -> float:
        """How many times faster than real time the scenario runs (a 10-recipient sandbox burst: 40)."""
        return REAL_MAILS_PER_SECOND * self.recipients / self.rate

    @property
    def ses_capacity(self) -> float:
        """Recipients SES takes at once: one second of its rate, or one message to the most recipients it allows."""
        return max(self.rate, float(SES_MAX_RECIPIENTS))

    @property
    def floor_s(self) -> float:
        """The shortest drain SES's rate allows, in real seconds: N·r / (R x speed)."""
        return self.files * self.recipients / (self.rate * self.speed)


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("sandbox_1_per_s_1_recipient", files=200, rate=1.0, recipients=1),
        Scenario("sandbox_1_per_s_10_recipients", files=200, rate=1.0, recipients=10),
        Scenario("production_14_per_s_1_recipient", files=200, rate=14.0, recipients=1),
        Scenario("production_14_per_s_10_recipients", files=200, rate=14.0, recipients=10),
    )
}


def recipient_addresses(count: int) -> list[str]:
    return [f"ops-{number:02d}@example.com" for number in range(count)]


class TokenBucketSes:
    """SES v2 at the boundary: a mail to r recipients takes r tokens of the account's rate, and a send finding
    fewer is refused with SES's throttling error. Records every mail: how often each file (by its subject) was
    mailed, and to how many recipients."""

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = capacity
        self._tokens = capacity
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()
        self.mailed: Counter[str] = Counter()
        self.recipients_per_mail: Counter[int] = Counter()
        self.throttled = 0

    def get_account(self) -> dict[str, Any]:
        return {"SendQuota": {"MaxSendRate": self._rate, "Max24HourSend": 1e9, "SentLast24Hours": 0.0}}

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        from botocore.exceptions import ClientError

        destination = kwargs["Destination"]
        recipients = sum(len(destination.get(field, [])) for field in ("ToAddresses", "CcAddresses", "BccAddresses"))
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < recipients:
                self.throttled += 1
                raise ClientError(
                    {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}},
                    "SendEmail",
                )
            self._tokens -= recipients
            raw = bytes(kwargs["Content"]["Raw"]["Data"])
            subject = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
            self.mailed[subject.decode()] += 1
            self.recipients_per_mail[recipients] += 1
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
    from inbox_mailer.processing import THROTTLED_ATTRIBUTE, Mailer
    from tools.demo.event_source import sqs_record

    max_receive_count = _stack_constant("inbox.py", "MAX_RECEIVE_COUNT")
    visibility_factor = _stack_constant("inbox.py", "VISIBILITY_TIMEOUT_FACTOR")
    batch_size = _stack_constant("mailer.py", "SQS_BATCH_SIZE")

    processing.THROTTLE_BACKOFF_BASE_SECONDS /= speed
    # The ceiling is SQS's longest delay already: below speed 1 it stays there.
    processing.MAX_DELAY_SECONDS = max(1, min(processing.MAX_DELAY_SECONDS, int(processing.MAX_DELAY_SECONDS / speed)))
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
        ses = TokenBucketSes(rate=rate, capacity=scenario.ses_capacity)
        # Throttled files go back on the queue through this client (the uploads reach it through EventBridge).
        put_backs: list[int] = []
        sqs.meta.events.register(
            "provide-client-params.sqs.SendMessage",
            lambda params, **_: put_backs.append(int(params["MessageAttributes"][THROTTLED_ATTRIBUTE]["StringValue"])),
        )
        settings = MailerSettings.from_env(
            {
                "SENDER_ADDRESS": SENDER,
                "RECIPIENTS": ",".join(recipient_addresses(scenario.recipients)),
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
                records = [sqs_record(cast(dict[str, Any], message), queue_arn, REGION) for message in messages]
                event = {"Records": records}
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
        deadline = start + 20 * scenario.floor_s + 120
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
        floor = scenario.floor_s
        return {
            "scenario": scenario.name,
            "files": scenario.files,
            "recipients": scenario.recipients,
            "rate_per_s": scenario.rate,
            "speed": round(speed, 4),
            "ses_capacity": scenario.ses_capacity,
            "files_mailed": len(ses.mailed),
            "duplicates": sum(ses.mailed.values()) - len(ses.mailed),
            "mails_per_file": _counts(Counter(ses.mailed.values())),
            "recipients_per_mail": _counts(ses.recipients_per_mail),
            "dead_letter": _waiting(sqs, dlq_url),
            "throttled_sends": ses.throttled,
            "put_back": len(put_backs),
            "most_throttled_in_a_row": max(put_backs, default=0),
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


def _counts(counter: Counter[int]) -> dict[str, int]:
    return {str(value): count for value, count in sorted(counter.items())}


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


def measure() -> tuple[Figure, list[dict[str, Any]]]:
    results = [run_case_in_fresh_interpreter("bench.burst", name) for name in SCENARIOS]
    return figure(results), results


def figure(results: list[dict[str, Any]]) -> Figure:
    """The worst scenario's drain against the goal; met only if every scenario mailed every file once, to all
    its recipients, with none left in the dead-letter queue."""
    worst = max(result["ratio"] for result in results)
    met = all(
        r["drained"]
        and r["files_mailed"] == r["files"]
        and r["duplicates"] == 0
        and r["recipients_per_mail"] == {str(r["recipients"]): r["files"]}
        and r["dead_letter"] == 0
        for r in results
    )
    return Figure(
        name="burst_drain",
        value=worst,
        reference=GOAL_RATIO,
        unit="x floor N x r/R",
        goal=f"every file mailed once to its r recipients, none in the DLQ; drain <= {GOAL_RATIO} x N x r/R",
        met=met and worst <= GOAL_RATIO,
        detail={
            "scenarios": results,
            "scaling": "rate x speed, durations / speed (see bench/burst.py)",
            "command": "python -m bench.burst SCENARIO OUT.json, one fresh interpreter per scenario, in turn",
        },
    )


if __name__ == "__main__":
    result = run_scenario(SCENARIOS[sys.argv[1]])
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result, indent=2))
