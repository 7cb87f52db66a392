"""moto's threaded server on loopback, the local stand-in for AWS, holding the function stack's resources.

The resources are created with boto3 from the template's properties rather than by deploying the template into
the stand-in: its CloudFormation has no alarms (a reference to one fails the stack) and tries to run the image
function. What the stand-in lacks and the demo needs, it adds while it runs (`_MessageMoveTasks`).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
import uuid
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sqs.models import sqs_backends
from moto.sqs.responses import SQSResponse

from inbox_mailer.contract import ENVIRONMENT
from tools.demo.templates import Resolver, Template, UnresolvedError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

STAND_IN = "moto, the local stand-in for AWS"
# Any key works with the stand-in; set so that no real credentials of this machine are ever picked up.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_SESSION_TOKEN": "demo"}
# The SQS queue attributes a template's AWS::SQS::Queue properties set, under the same names.
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
)


@dataclass(frozen=True)
class Clients:
    s3: S3Client
    sqs: SQSClient
    events: EventBridgeClient
    sesv2: SESV2Client
    dynamodb: DynamoDBClient
    logs: CloudWatchLogsClient
    cloudformation: CloudFormationClient

    @classmethod
    def of(cls, endpoint: str, region: str) -> Clients:
        session = boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        return cls(
            s3=session.client("s3", endpoint_url=endpoint),
            sqs=session.client("sqs", endpoint_url=endpoint),
            events=session.client("events", endpoint_url=endpoint),
            sesv2=session.client("sesv2", endpoint_url=endpoint),
            dynamodb=session.client("dynamodb", endpoint_url=endpoint),
            logs=session.client("logs", endpoint_url=endpoint),
            cloudformation=session.client("cloudformation", endpoint_url=endpoint),
        )


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str
    url: str
    arn: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class Function:
    """The function as the template declares it; the demo runs its code, not a copy of it in the stand-in."""

    logical_id: str
    name: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mib: int
    log_group: str
    image: str


@dataclass(frozen=True)
class EventSourceMapping:
    queue: Queue
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class Resources:
    """What the demo created, by the template's logical ids."""

    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    rule: str = ""
    table: str = ""
    # The attribute whose time ends an idempotency record, when the table has a time to live.
    table_ttl_attribute: str = ""
    configuration_set: str = ""
    sender: str = ""
    log_groups: dict[str, str] = field(default_factory=dict)
    function: Function | None = None
    mapping: EventSourceMapping | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    # Outputs naming what the stand-in does not hold (the function, alarms, the dashboard).
    outputs_left_out: list[str] = field(default_factory=list)

    @property
    def inbox_bucket(self) -> str:
        (bucket,) = [name for name in self.buckets.values() if name == self.environment_value("inbox_bucket")]
        return bucket

    def environment_value(self, setting: str) -> str:
        assert self.function is not None
        return self.function.environment[ENVIRONMENT[setting].name]

    def queue_named_by(self, output: str) -> Queue:
        name = self.outputs[output]
        (queue,) = [queue for queue in self.queues.values() if queue.name == name]
        return queue


class Emulator:
    """Starts the stand-in on a free loopback port; `stop()` ends its thread and closes the port."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.account = DEFAULT_ACCOUNT_ID
        # The stand-in's request log would interleave with the story.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # The stand-in warns that it does not model the outputs stack's placeholder, which is the point of it.
        warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle")
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._move_tasks = _MessageMoveTasks()
        self._started = False

    def start(self) -> None:
        self._move_tasks.install()
        self._server.start()
        self._started = True
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # The stand-in's state lives in this process: start from nothing, whatever ran here before.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).close()
        self.port = port
        self.clients = Clients.of(self.endpoint, self.region)

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False
        self._move_tasks.uninstall()

    def create(self, template: Template) -> Resources:
        """The template's resources, each property read from it; references resolve to what was created."""
        resolve = Resolver(region=self.region, account=self.account, refs={}, attributes={})
        created = Resources()
        clients = self.clients
        stack = template.stack_name
        for logical_id, properties in template.of_type("AWS::Logs::LogGroup").items():
            name = properties.get("LogGroupName") or _physical_name(stack, logical_id, limit=512)
            clients.logs.create_log_group(logGroupName=name)
            created.log_groups[logical_id] = resolve.refs[logical_id] = name
        for logical_id, properties in template.of_type("AWS::S3::Bucket").items():
            name = properties.get("BucketName") or _physical_name(stack, logical_id, limit=63).lower()
            self._create_bucket(name, properties)
            created.buckets[logical_id] = resolve.refs[logical_id] = name
            resolve.attributes[logical_id] = {"Arn": f"arn:aws:s3:::{name}"}
        self._create_queues(template, resolve, created)
        table_id, table = _one_table(template)
        created.table = resolve.refs[table_id] = table.get("TableName") or _physical_name(stack, table_id, limit=255)
        self._create_table(created.table, table)
        ttl = table.get("TimeToLiveSpecification", {})
        created.table_ttl_attribute = ttl.get("AttributeName", "") if ttl.get("Enabled") else ""
        set_id, configuration_set = template.only("AWS::SES::ConfigurationSet")
        created.configuration_set = configuration_set.get("Name") or _physical_name(stack, set_id, limit=64)
        resolve.refs[set_id] = created.configuration_set
        clients.sesv2.create_configuration_set(ConfigurationSetName=created.configuration_set)
        rule_id, rule = template.upload_rule()
        created.rule = resolve.refs[rule_id] = rule.get("Name") or _physical_name(stack, rule_id, limit=64)
        clients.events.put_rule(
            Name=created.rule,
            EventPattern=json.dumps(resolve(rule["EventPattern"])),
            State=rule.get("State", "ENABLED"),
            Description=rule.get("Description", ""),
        )
        clients.events.put_targets(Rule=created.rule, Targets=resolve(rule["Targets"]))
        # Not resolvable: the function runs beside the stand-in, not in it (its FunctionName output is left out).
        created.function = self._function(template, resolve)
        for identity in template.of_type("AWS::SES::EmailIdentity").values():
            clients.sesv2.create_email_identity(EmailIdentity=resolve(identity["EmailIdentity"]))
        # The sender's identity is verified outside the app (README, "SES sandbox"): here, from the function's
        # own setting.
        created.sender = created.environment_value("sender_address")
        clients.sesv2.create_email_identity(EmailIdentity=created.sender)
        created.mapping = self._mapping(template, resolve, created)
        self._resolve_outputs(template, resolve, created)
        return created

    def _create_bucket(self, name: str, properties: dict[str, Any]) -> None:
        s3 = self.clients.s3
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})  # type: ignore[typeddict-item]
        versioning = properties.get("VersioningConfiguration", {}).get("Status")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        notifications = properties.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _create_queues(self, template: Template, resolve: Resolver, created: Resources) -> None:
        waiting = dict(template.of_type("AWS::SQS::Queue"))
        # A queue's redrive policy names its dead-letter queue, which must exist first.
        while waiting:
            progressed = False
            for logical_id, properties in list(waiting.items()):
                try:
                    attributes = {
                        name: _attribute(resolve(properties[name])) for name in QUEUE_ATTRIBUTES if name in properties
                    }
                except UnresolvedError:
                    continue
                name = properties.get("QueueName") or _physical_name(template.stack_name, logical_id, limit=80)
                url = self.clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
                arn = f"arn:aws:sqs:{self.region}:{self.account}:{name}"
                created.queues[logical_id] = Queue(logical_id, name, url, arn, attributes)
                resolve.refs[logical_id] = url
                resolve.attributes[logical_id] = {"Arn": arn, "QueueName": name, "QueueUrl": url}
                del waiting[logical_id]
                progressed = True
            if not progressed:
                raise UnresolvedError(", ".join(waiting))

    def _create_table(self, name: str, table: dict[str, Any]) -> None:
        dynamodb = self.clients.dynamodb
        dynamodb.create_table(
            TableName=name,
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            BillingMode=table.get("BillingMode", "PAY_PER_REQUEST"),
        )
        ttl = table.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    def _function(self, template: Template, resolve: Resolver) -> Function:
        logical_id, function = template.mailer()
        name = function.get("FunctionName") or _physical_name(template.stack_name, logical_id, limit=64)
        log_group = resolve(function.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}"))
        image = function.get("Code", {}).get("ImageUri", "")
        try:
            image = resolve(image)
        except UnresolvedError:
            image = json.dumps(image)
        return Function(
            logical_id=logical_id,
            name=name,
            environment={key: str(resolve(value)) for key, value in function["Environment"]["Variables"].items()},
            timeout_seconds=int(function.get("Timeout", 3)),
            memory_mib=int(function.get("MemorySize", 128)),
            log_group=log_group,
            image=image,
        )

    def _mapping(self, template: Template, resolve: Resolver, created: Resources) -> EventSourceMapping:
        _, mapping = template.only("AWS::Lambda::EventSourceMapping")
        source = resolve(mapping["EventSourceArn"])
        (queue,) = [queue for queue in created.queues.values() if queue.arn == source]
        return EventSourceMapping(
            queue=queue,
            # Lambda's default for an SQS source.
            batch_size=int(mapping.get("BatchSize", 10)),
            report_batch_item_failures="ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
        )

    def _resolve_outputs(self, template: Template, resolve: Resolver, created: Resources) -> None:
        for key, output in template.outputs.items():
            try:
                created.outputs[key] = str(resolve(output["Value"]))
            except UnresolvedError:
                created.outputs_left_out.append(key)

    def publish_outputs(self, stack_name: str, outputs: dict[str, str]) -> None:
        """A stack of that name holding the outputs, so that the operator tools find what they look for.

        Slow the first time (the stand-in's CloudFormation loads every service it models, seconds): the scenario
        does it while the function works.
        """
        self.clients.cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(
                {
                    # The stand-in needs one resource; it keeps this one without creating anything.
                    "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                    "Outputs": {key: {"Value": value} for key, value in outputs.items()},
                }
            ),
        )


def _one_table(template: Template) -> tuple[str, dict[str, Any]]:
    tables = {**template.of_type("AWS::DynamoDB::GlobalTable"), **template.of_type("AWS::DynamoDB::Table")}
    if len(tables) != 1:
        raise UnresolvedError(f"{len(tables)} DynamoDB tables")
    return next(iter(tables.items()))


def _physical_name(stack: str, logical_id: str, *, limit: int) -> str:
    """A name shaped like CloudFormation's generated ones: stack, logical id, a random suffix."""
    suffix = uuid.uuid4().hex[:8]
    return f"{stack}-{logical_id}"[: limit - len(suffix) - 1] + "-" + suffix


def _attribute(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class _MessageMoveTasks:
    """SQS StartMessageMoveTask and ListMessageMoveTasks, which the stand-in lacks; `make redrive` needs them.

    A task moves every message at once, as SQS does when no rate is given, and is COMPLETED when it returns.
    """

    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []

    def install(self) -> None:
        tasks = self.tasks

        def start_message_move_task(response: SQSResponse) -> str:
            source_arn = response._get_param("SourceArn")
            backend = sqs_backends[response.current_account][response.region]
            source = backend.get_queue(source_arn.rsplit(":", 1)[1])
            destination_arn = response._get_param("DestinationArn")
            if destination_arn:
                destinations = [backend.get_queue(destination_arn.rsplit(":", 1)[1])]
            else:
                # Without a destination SQS moves each message back to the queue it came from.
                destinations = backend.list_dead_letter_source_queues(source.name)
            messages = list(source._messages)
            for message in messages:
                source._messages.remove(message)
                for destination in destinations[:1]:
                    backend.send_message(destination.name, message.body, message.message_attributes)
            handle = uuid.uuid4().hex
            tasks.insert(
                0,
                {
                    "TaskHandle": handle,
                    "Status": "COMPLETED",
                    "SourceArn": source_arn,
                    **({"DestinationArn": destination_arn} if destination_arn else {}),
                    "ApproximateNumberOfMessagesMoved": len(messages),
                    "ApproximateNumberOfMessagesToMove": len(messages),
                    "StartedTimestamp": int(time.time() * 1000),
                },
            )
            return json.dumps({"TaskHandle": handle})

        def list_message_move_tasks(response: SQSResponse) -> str:
            source_arn = response._get_param("SourceArn")
            limit = int(response._get_param("MaxResults") or 1)
            return json.dumps({"Results": [task for task in tasks if task["SourceArn"] == source_arn][:limit]})

        SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
        SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        for name in ("start_message_move_task", "list_message_move_tasks"):
            if name in vars(SQSResponse):
                delattr(SQSResponse, name)
