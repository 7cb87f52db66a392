"""Test helpers: the inbox wired in moto as the stack wires it, event samples, fakes."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from inbox_mailer.contract import MailerSettings, function_environment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

EVENTS_DIR = Path(__file__).parent.parent / "events"
REGION = "us-east-1"
BUCKET = "inbox-bucket-test"
PREFIX = "incoming/"
SENDER = "inbox@example.com"
RECIPIENTS = ("alice@example.com", "bob@example.org")
TABLE = "idempotency-test"
QUEUE = "inbox-uploads"

# The function's environment in these tests, written by the contract as the stack writes it.
CONTRACT_ENV = function_environment(
    MailerSettings(
        sender_address=SENDER,
        recipients=RECIPIENTS,
        inbox_bucket=BUCKET,
        inbox_prefix=PREFIX,
        idempotency_table=TABLE,
        idempotency_ttl_seconds=86400,
        max_message_bytes=1024 * 1024,
        link_expiry_seconds=3600,
        configuration_set="inbox-mailer-test",
        metrics_namespace="InboxMailerTest",
        queue_url=f"https://sqs.{REGION}.amazonaws.com/{DEFAULT_ACCOUNT_ID}/{QUEUE}",
        max_concurrency=2,
    )
)


def upload_rule_pattern(bucket: Any, prefix: str) -> dict[str, Any]:
    """The EventBridge rule of the function stack, as these tests rebuild it in moto.

    tests/infra checks that the synthesized rule has exactly this shape, so the two cannot drift apart.
    """
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


def load_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def sqs_record(
    body: str, message_id: str, *, receipt_handle: str | None = None, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Lambda SQS record; message attributes in the shape Lambda gives them (camel-cased keys)."""
    record: dict[str, Any] = load_event("sqs_event.json")["Records"][0]
    lambda_attributes = {
        name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
        for name, value in (attributes or {}).items()
    }
    return {
        **record,
        "messageId": message_id,
        "body": body,
        "receiptHandle": receipt_handle or record["receiptHandle"],
        "messageAttributes": lambda_attributes,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def handle(function_module: Any, lambda_context: Any, *records: dict[str, Any]) -> Any:
    """The real handler's answer to one SQS batch of `records`."""
    return function_module.handler(sqs_event(*records), lambda_context)


@dataclass
class LambdaContext:
    function_name: str = "inbox-mailer"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:inbox-mailer"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class SentMail:
    source: str
    destinations: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        return _body(self.message, "plain")

    @property
    def html(self) -> str:
        return _body(self.message, "html")

    @property
    def attachments(self) -> list[tuple[str | None, bytes]]:
        """(file name, decoded bytes) of every attachment."""
        found = []
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append((part.get_filename(), payload))
        return found


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} body"
    content: str = part.get_content()
    return content


@dataclass(frozen=True)
class AwsClients:
    """The clients the tests look into moto with. They hold no AWS state, so one set serves a module's tests
    (creating a client takes longer than most calls through it)."""

    s3: S3Client
    sqs: SQSClient
    events: EventBridgeClient
    ses: SESV2Client
    dynamodb: DynamoDBClient

    @classmethod
    def create(cls) -> AwsClients:
        return cls(
            s3=boto3.client("s3", region_name=REGION),
            sqs=boto3.client("sqs", region_name=REGION),
            events=boto3.client("events", region_name=REGION),
            ses=boto3.client("sesv2", region_name=REGION),
            dynamodb=boto3.client("dynamodb", region_name=REGION),
        )


class Inbox:
    """Bucket -> EventBridge rule -> SQS queue as the stack wires them, plus SES and DynamoDB."""

    def __init__(
        self, clients: AwsClients | None = None, *, verify_sender: bool = True, versioned: bool = True
    ) -> None:
        clients = clients or AwsClients.create()
        self.s3 = clients.s3
        self.sqs = clients.sqs
        self.events = clients.events
        self.ses = clients.ses
        self.dynamodb = clients.dynamodb
        self.s3.create_bucket(Bucket=BUCKET)
        if versioned:
            self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        self.queue_url = self.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        pattern = upload_rule_pattern(BUCKET, PREFIX)
        self.events.put_rule(Name="inbox-uploads", EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule="inbox-uploads", Targets=[{"Id": "queue", "Arn": queue_arn}])
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        if verify_sender:
            self.ses.create_email_identity(EmailIdentity=SENDER)

    def upload(self, key: str, body: bytes, **extra: Any) -> str | None:
        """Puts an object and returns its version id (None in an unversioned bucket)."""
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra).get("VersionId")

    def receive_records(self, *, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """Drains the queue and returns its messages as Lambda SQS records (waiting for delayed ones if asked)."""
        records: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0 if records else wait_seconds,
            )
            messages = response.get("Messages", [])
            if not messages:
                return records
            for message in messages:
                records.append(
                    sqs_record(message["Body"], message["MessageId"], attributes=message.get("MessageAttributes"))
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def upload_and_receive(self, key: str, body: bytes, **extra: Any) -> dict[str, Any]:
        self.upload(key, body, **extra)
        records = self.receive_records()
        assert len(records) == 1, records
        return records[0]

    def sent_mail(self) -> list[SentMail]:
        return sent_through_moto()


def sent_through_moto() -> list[SentMail]:
    """Every mail moto's SES accepted in this test, as sent."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [
        SentMail(
            source=message.source,
            destinations=list(message.destinations),
            raw=message.raw_data.encode("utf-8"),
        )
        for message in backend.sent_messages
    ]


_LINK = re.compile(r"https://\S+")


def download_links(mail: SentMail) -> list[str]:
    """The download links in a mail's plain-text body (the HTML body carries the same link)."""
    if not mail.message.get_body(("plain",)):
        return []
    return _LINK.findall(mail.text)


def emitted_metrics(output: str) -> Counter[str]:
    """Metric name -> summed value, from the CloudWatch embedded-metric JSON lines the handler printed."""
    totals: Counter[str] = Counter()
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return totals


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def at_level(self, level: str) -> list[dict[str, Any]]:
        return [record for record in self.records if record.get("level") == level]


class ThrottledOnceSes:
    """SES v2 that refuses the first send with throttling, then sends through moto."""

    def __init__(self, real: SESV2Client, *, code: str = "TooManyRequestsException") -> None:
        self._real = real
        self._code = code
        self.attempts = 0

    def send_email(self, **kwargs: Any) -> Any:
        self.attempts += 1
        if self.attempts == 1:
            raise ClientError(
                {"Error": {"Code": self._code, "Message": "Maximum sending rate exceeded."}},
                "SendEmail",
            )
        return self._real.send_email(**kwargs)


class FailingSes:
    """SES v2 that always answers with the given error."""

    def __init__(self, code: str, message: str) -> None:
        self._error = {"Error": {"Code": code, "Message": message}}

    def send_email(self, **kwargs: Any) -> Any:
        raise ClientError(self._error, "SendEmail")  # type: ignore[arg-type]


class RecordingS3:
    """S3 that records which operations were called, backed by moto."""

    def __init__(self, real: S3Client, *, head_error: str | None = None) -> None:
        self._real = real
        self._head_error = head_error
        self.calls: list[str] = []

    def head_object(self, **kwargs: Any) -> Any:
        self.calls.append("head_object")
        if self._head_error is not None:
            raise ClientError({"Error": {"Code": self._head_error, "Message": ""}}, "HeadObject")
        return self._real.head_object(**kwargs)

    def get_object(self, **kwargs: Any) -> Any:
        self.calls.append("get_object")
        return self._real.get_object(**kwargs)

    def list_object_versions(self, **kwargs: Any) -> Any:
        self.calls.append("list_object_versions")
        return self._real.list_object_versions(**kwargs)

    def generate_presigned_url(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append("generate_presigned_url")
        return self._real.generate_presigned_url(*args, **kwargs)


KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SSE_C_MESSAGE = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to "
    "retrieve the object."
)


class ObjectGuard:
    """S3 through moto, answering for the listed version ids as AWS does where moto cannot."""

    def __init__(self, real: Any, *, all_under_kms: bool = False) -> None:
        self._real = real
        self.kms_denied: set[str] = set()
        self.kms_disabled: set[str] = set()
        self.sse_c: set[str] = set()
        self.archive_tier: dict[str, str] = {}
        # Raised by every ListObjectVersions (a role without the grant, an emulator that cannot list a key).
        self.list_error: ClientError | None = None
        # Every object's HEAD names KMS_KEY, as for a bucket whose default encryption is that key.
        self.all_under_kms = all_under_kms
        self.calls: list[str] = []

    def head_object(self, **params: Any) -> Any:
        self.calls.append("head_object")
        version = self._version(params)
        if version in self.sse_c:
            raise ClientError({"Error": {"Code": "400", "Message": "Bad Request"}}, "HeadObject")
        head = dict(self._real.head_object(**params))
        if self.all_under_kms or version in self.kms_denied or version in self.kms_disabled:
            head.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY)
        if version in self.archive_tier:
            head.update(StorageClass="INTELLIGENT_TIERING", ArchiveStatus=self.archive_tier[version])
        return head

    def get_object(self, **params: Any) -> Any:
        self.calls.append("get_object" + (" ranged" if "Range" in params else ""))
        version = self._version(params)
        if version in self.sse_c:
            raise ClientError({"Error": {"Code": "InvalidRequest", "Message": SSE_C_MESSAGE}}, "GetObject")
        if version in self.kms_denied:
            message = (
                "User: arn:aws:sts::123456789012:assumed-role/mailer is not authorized to perform: kms:Decrypt "
                f"on resource: {KMS_KEY}"
            )
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "GetObject")
        if version in self.kms_disabled:
            raise ClientError(
                {"Error": {"Code": "KMS.DisabledException", "Message": f"{KMS_KEY} is disabled."}}, "GetObject"
            )
        if version in self.archive_tier:
            error: dict[str, Any] = {
                "Code": "InvalidObjectState",
                "Message": "The operation is not valid for the object's access tier",
                "AccessTier": self.archive_tier[version],
            }
            raise ClientError({"Error": error}, "GetObject")  # type: ignore[typeddict-item]
        return self._real.get_object(**params)

    def list_object_versions(self, **params: Any) -> Any:
        self.calls.append("list_object_versions")
        if self.list_error is not None:
            raise self.list_error
        return self._real.list_object_versions(**params)

    def generate_presigned_url(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append("generate_presigned_url")
        return str(self._real.generate_presigned_url(*args, **kwargs))

    def _version(self, params: dict[str, Any]) -> str:
        if "VersionId" in params:
            return str(params["VersionId"])
        return str(self._real.head_object(Bucket=params["Bucket"], Key=params["Key"])["VersionId"])
