"""A deployed-looking account in moto for the operator tools, and fakes where moto lacks an API."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError

from tools.deployed import Clients

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REGION = "us-east-1"
STACK = "inbox-mailer-dev-function"
REGISTRY_STACK = "inbox-mailer-dev-registry"
QUEUE = "inbox-mailer-dev-function-InboxQueue-ABC"
DEAD_LETTER_QUEUE = "inbox-mailer-dev-function-InboxDeadLetterQueue-ABC"
UNDELIVERABLE = "inbox-mailer-dev-function-InboxUndeliverableEvents-ABC"
LOG_GROUP = "inbox-mailer-dev-function-MailerLogGroup-ABC"
FUNCTION = "inbox-mailer-dev-function-MailerFunction-ABC"
REPOSITORY = "inbox-mailer-dev"
# CloudWatch's own wording, longer than the screen.
ALARM_REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (05/12/26 01:10:00)] was greater than or equal to "
    "the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
)
BUCKET = "inbox-mailer-dev-function-inboxbucket-abc"
# CloudFormation's physical name for the stack's alarm: stack, logical id (with its hash), random suffix.
ALARM = f"{STACK}-OperationsDeadLetterQueueAlarm1A2B3C4D-XYZ123"
SINGLE_PLATFORM = "application/vnd.docker.distribution.manifest.v2+json"
IMAGE_INDEX = "application/vnd.oci.image.index.v1+json"
# SES GetAccount's SendQuota: a new account's sandbox, and a production account a day into sending.
SANDBOX_QUOTA = {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 17.0}
PRODUCTION_QUOTA = {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 1234.0}


def moto_clients(**overrides: Any) -> Clients:
    """moto's clients (SES v2 faked), with any of them replaced by the fake given under its field name."""
    clients = Clients(
        cloudformation=boto3.client("cloudformation", region_name=REGION),
        sqs=boto3.client("sqs", region_name=REGION),
        cloudwatch=boto3.client("cloudwatch", region_name=REGION),
        logs=boto3.client("logs", region_name=REGION),
        sesv2=cast(Any, FakeSesAccount()),
        lambda_=boto3.client("lambda", region_name=REGION),
        ecr=boto3.client("ecr", region_name=REGION),
        region=REGION,
    )
    return replace(clients, **{name: fake for name, fake in overrides.items() if fake is not None})


def _stack(name: str, outputs: dict[str, str]) -> None:
    """A stack whose outputs are the given literals (moto creates the one placeholder resource)."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName=name, TemplateBody=json.dumps(template))


def deploy(*, media_type: str = SINGLE_PLATFORM, quiet: bool = False) -> dict[str, str]:
    """What `make deploy` leaves behind, as far as the tools look: returns the queue URLs by name.

    Twelve failures logged and one alarm in ALARM, or with `quiet` neither.
    """
    sqs = boto3.client("sqs", region_name=REGION)
    urls = {}
    for name in (DEAD_LETTER_QUEUE, UNDELIVERABLE):
        urls[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=urls[DEAD_LETTER_QUEUE], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    urls[QUEUE] = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5})},
    )["QueueUrl"]

    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="2026/11/28/[$LATEST]abc")
    now = int(time.time() * 1000)
    entries = [
        {"level": "INFO", "message": "File mailed", "key": "incoming/ok.pdf"},
        *(
            {
                "level": "ERROR",
                "message": "Mailing failed permanently",
                "reason": failure_reason(n),
                # The newest failed as a whole message (throttled too often): it names its uploads' keys.
                **({"keys": [f"incoming/file-{n}.pdf"]} if n == 11 else {"key": f"incoming/file-{n}.pdf"}),
            }
            for n in range(0 if quiet else 12)
        ),
    ]
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName="2026/11/28/[$LATEST]abc",
        logEvents=[
            {"timestamp": now - 1000 * (len(entries) - i), "message": json.dumps(e)} for i, e in enumerate(entries)
        ],
    )

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name, runbook in ((ALARM, "DeadLetterQueue"), (f"{STACK}-OperationsQueueAgeAlarm5E6F7A8B-XYZ", "QueueAge")):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            # The stack's wording (stacks/operations.py, not imported: it loads the CDK): the runbook section is
            # the last quoted name.
            AlarmDescription=f"Files wait. What to do: docs/runbook.md, '{runbook}'.",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    if not quiet:
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason=ALARM_REASON)

    ecr = boto3.client("ecr", region_name=REGION)
    repository_uri = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    manifest = {"schemaVersion": 2, "mediaType": media_type, "config": {}, "layers": []}
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag="abc123")
    # The deploy's live mark on the image the function runs (stacks/registry_marks.py)
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag="live")
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="mailer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=FUNCTION, Role=role, PackageType="Image", Code={"ImageUri": f"{repository_uri}:abc123"}
    )

    _stack(
        STACK,
        {
            "QueueName": QUEUE,
            "DeadLetterQueueName": DEAD_LETTER_QUEUE,
            "UndeliverableEventsQueueName": UNDELIVERABLE,
            "FunctionName": FUNCTION,
            "LogGroupName": LOG_GROUP,
            "InboxBucketName": BUCKET,
            "DashboardUrl": f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
            f"#dashboards/dashboard/inbox-mailer-dev-{REGION}",
        },
    )
    _stack(REGISTRY_STACK, {"RepositoryUri": repository_uri})
    return urls


def failure_reason(n: int) -> str:
    """A failure's reason as the mailer logs it: SES's message whole, far wider than a screen."""
    return (
        f"MessageRejected ({n}): Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: mailer@example.com, ops@example.com. Verify the sender identity in SES, or move the account out "
        "of the sandbox; every recipient must be verified while it is in the sandbox, and the file stays in the "
        "dead-letter queue until then."
    )


def event_body(key: str) -> str:
    return json.dumps({"detail-type": "Object Created", "source": "aws.s3", "detail": {"object": {"key": key}}})


def bodies(sqs: SQSClient, url: str) -> list[str]:
    """Every message body of a queue (drained; moto makes them visible again only after the timeout)."""
    found: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get(
        "Messages", []
    ):
        found.extend(m["Body"] for m in messages)
    return found


def counts(sqs: SQSClient, url: str) -> int:
    """Messages in a queue, visible or not."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@dataclass
class FakeSesAccount:
    """SES v2 GetAccount, which moto does not implement: a fake at the boto3 boundary, in the API's shape."""

    production: bool = False
    sending: bool = True
    quota: dict[str, Any] = field(default_factory=lambda: dict(SANDBOX_QUOTA))

    def get_account(self) -> dict[str, Any]:
        return {
            "ProductionAccessEnabled": self.production,
            "SendingEnabled": self.sending,
            "EnforcementStatus": "HEALTHY",
            "SendQuota": self.quota,
        }


@dataclass
class MoveTaskSqs:
    """moto's SQS plus StartMessageMoveTask and ListMessageMoveTasks, which moto does not implement.

    A fake at the boto3 boundary: the task moves `per_poll` messages back to the source queue (from the dead-letter
    queue's RedrivePolicy owner) each time it is listed, as the real task progresses while it is watched.
    """

    real: SQSClient
    source_url: str
    per_poll: int = 4
    fail_with: str | None = None
    started: list[str] = field(default_factory=list)
    _moved: int = 0
    _to_move: int = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def start_message_move_task(self, *, SourceArn: str) -> dict[str, Any]:  # noqa: N803 (the API's own names)
        if self.started and self._status() == "RUNNING":
            raise ClientError({"Error": {"Code": "UnsupportedOperation", "Message": "task running"}}, "Start")
        self.started.append(SourceArn)
        self._to_move = counts(self.real, self._dead_letter_url(SourceArn))
        return {"TaskHandle": "handle-1"}

    def list_message_move_tasks(self, *, SourceArn: str, MaxResults: int) -> dict[str, Any]:  # noqa: N803
        if not self.started:
            return {"Results": []}
        if self.fail_with is None:
            url = self._dead_letter_url(SourceArn)
            messages = self.real.receive_message(QueueUrl=url, MaxNumberOfMessages=min(self.per_poll, 10)).get(
                "Messages", []
            )
            for message in messages:
                self.real.send_message(QueueUrl=self.source_url, MessageBody=message["Body"])
                self.real.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            self._moved += len(messages)
        task = {
            "Status": self._status(),
            "SourceArn": SourceArn,
            "ApproximateNumberOfMessagesMoved": self._moved,
            "ApproximateNumberOfMessagesToMove": self._to_move,
        }
        if self.fail_with:
            task["FailureReason"] = self.fail_with
        return {"Results": [task]}

    def _status(self) -> str:
        if self.fail_with:
            return "FAILED"
        return "COMPLETED" if self._moved >= self._to_move else "RUNNING"

    def _dead_letter_url(self, arn: str) -> str:
        return self.real.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]


# AWS's documented answer to a call the identity's policies do not allow.
DENIED_MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/operator/me is not authorized to perform: {action} "
    "because no identity-based policy allows the {action} action"
)


@dataclass
class Refusing:
    """A client whose `method` answers with AWS's error `code` and HTTP `status` (a denial, throttling, a 5xx).

    The error is built the way botocore builds it from AWS's answer, at the boto3 boundary: moto grants
    everything and never throttles. `action` puts AWS's denial message in, naming the IAM action.
    """

    real: Any
    method: str
    code: str = "AccessDenied"
    status: int = 403
    action: str | None = None
    # The answer's message as given, e.g. an emulator's HTML page, instead of AWS's denial.
    message: str | None = None

    def __getattr__(self, name: str) -> Any:
        if name != self.method:
            return getattr(self.real, name)
        operation = "".join(part.title() for part in name.split("_"))
        message = self.message or (DENIED_MESSAGE.format(action=self.action) if self.action else "")

        def refuse(**_: Any) -> Any:
            answer = {
                "Error": {"Code": self.code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": self.status},
            }
            raise ClientError(cast(Any, answer), operation)

        return refuse
