"""The mailer: the container-image function, its own role, log group and idempotency table."""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from inbox_mailer.contract import METRICS_NAMESPACE, MailerSettings, function_environment
from stacks import IMAGE_DIRECTORY as IMAGE_DIRECTORY
from stacks.compliance import acknowledge
from stacks.inbox import Inbox
from stacks.log_groups import log_group
from stacks.removal import Removal

# The one place the CPU architecture is decided: the function runs on it and the image is built for it.
ARCHITECTURE = lambda_.Architecture.ARM_64
SQS_BATCH_SIZE = 5
SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
READ_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
IDEMPOTENCY_ACTIONS = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")


def local_image() -> lambda_.DockerImageCode:
    """The function's image as an asset: `cdk deploy` builds it with the local engine and pushes it."""
    return lambda_.DockerImageCode.from_image_asset(
        str(IMAGE_DIRECTORY), platform=ecr_assets.Platform.custom(ARCHITECTURE.docker_platform)
    )


class Mailer(Construct):
    """Mails every file of `inbox`'s queue to `recipients` from `sender`, once per upload.

    `image` is the function's code: `local_image()`, or the image a `CloudImageBuild` pushes. `ses_identity` is the
    SES identity `sender` sends as: the address itself, or its domain. `timeout` is the consumer timeout `inbox` was
    built with; `max_concurrency` bounds both the event source and each instance's share of the SES rate.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        inbox: Inbox,
        image: lambda_.DockerImageCode,
        sender: str,
        ses_identity: str,
        recipients: tuple[str, ...],
        memory_mib: int,
        timeout: Duration,
        max_concurrency: int,
        reserved_concurrency: int | None,
        max_message_bytes: int,
        link_expiry: Duration,
        log_retention_days: int,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        self.idempotency_table = self._idempotency_table()
        self.log_group = self._log_group(log_retention_days, removal)
        self.configuration_set = self._configuration_set()
        self.role = self._role(inbox, sender=sender, ses_identity=ses_identity)
        self.function = self._function(
            image,
            memory_mib=memory_mib,
            timeout=timeout,
            reserved_concurrency=reserved_concurrency,
            # Named and written by the contract, which the function reads them back with at cold start.
            environment=function_environment(
                MailerSettings(
                    sender_address=sender,
                    recipients=recipients,
                    inbox_bucket=inbox.bucket.bucket_name,
                    inbox_prefix=inbox.prefix,
                    idempotency_table=self.idempotency_table.table_name,
                    # Records live as long as a message may wait in the queue, so a late duplicate is still caught.
                    idempotency_ttl_seconds=int(inbox.queue_retention.to_seconds()),
                    max_message_bytes=max_message_bytes,
                    link_expiry_seconds=int(link_expiry.to_seconds()),
                    configuration_set=self.configuration_set.configuration_set_name,
                    metrics_namespace=METRICS_NAMESPACE,
                    queue_url=inbox.queue.queue_url,
                    max_concurrency=max_concurrency,
                )
            ),
        )
        self.event_source = self._event_source(inbox.queue, max_concurrency)
        self._acknowledge_function_findings(inbox.queue, reserves_concurrency=reserved_concurrency is not None)
        self._acknowledge_policy_findings(inbox)

    def _idempotency_table(self) -> dynamodb.TableV2:
        return dynamodb.TableV2(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute="expiration",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Only short-lived "already mailed" markers: nothing to keep once the app is gone.
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _log_group(self, retention_days: int, removal: Removal) -> logs.LogGroup:
        return log_group(self, "LogGroup", retention_days=retention_days, removal=removal.policy)

    def _configuration_set(self) -> ses.ConfigurationSet:
        # Every mail goes through this set: it turns on reputation metrics and gives this app's own mail
        # numbers (sends, bounces, complaints) apart from the rest of the account (see stacks/operations.py).
        return ses.ConfigurationSet(self, "ConfigurationSet", reputation_metrics=True)

    def _role(self, inbox: Inbox, *, sender: str, ses_identity: str) -> iam.Role:
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="The inbox mailer function: read inbox files, send mail from one identity, log",
        )
        self.log_group.grant_write(role)
        for statement in (
            *self._reading_statements(inbox),
            *self._bookkeeping_statements(inbox.queue),
            *self._sending_statements(sender=sender, ses_identity=ses_identity),
        ):
            role.add_to_policy(statement)
        return role

    @staticmethod
    def _reading_statements(inbox: Inbox) -> list[iam.PolicyStatement]:
        """Read the uploaded files, and tell a file deleted or withdrawn before it was mailed from a forbidden one."""
        return [
            iam.PolicyStatement(
                sid="ReadUploadedFiles",
                actions=list(READ_OBJECT_ACTIONS),
                resources=[inbox.bucket.arn_for_objects(f"{inbox.prefix}*")],
            ),
            # Without it S3 answers 403 instead of 404 for a file deleted before it was mailed, and the
            # function could not tell "deleted, skip it" from "forbidden, retry it".
            iam.PolicyStatement(
                sid="TellDeletedFilesFromForbiddenOnes",
                actions=["s3:ListBucket"],
                resources=[inbox.bucket.bucket_arn],
            ),
            # An upload withdrawn before it was mailed is followed by a delete marker. Listing the key's versions
            # shows the event's own version and its neighbour only; a HEAD of the key would read its current version
            # instead, which may be one the function cannot read. The condition keeps the listing inside the prefix.
            iam.PolicyStatement(
                sid="SeeWhetherAnUploadWasWithdrawn",
                actions=["s3:ListBucketVersions"],
                resources=[inbox.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{inbox.prefix}*"}},
            ),
        ]

    def _bookkeeping_statements(self, queue: sqs.IQueue) -> list[iam.PolicyStatement]:
        """Remember which files were mailed, and put a throttled file back on the queue."""
        return [
            iam.PolicyStatement(
                sid="RememberMailedFiles",
                actions=list(IDEMPOTENCY_ACTIONS),
                resources=[self.idempotency_table.table_arn],
            ),
            # A throttled file goes back on the queue as a new message, so throttling never counts towards the
            # dead-letter queue (lambda_image/inbox_mailer/processing.py).
            iam.PolicyStatement(
                sid="PutThrottledFilesBack",
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
            ),
        ]

    def _sending_statements(self, *, sender: str, ses_identity: str) -> list[iam.PolicyStatement]:
        """Send as `sender` only, from `ses_identity` and through the app's configuration set, at the account's rate."""
        stack = Stack.of(self)
        from_sender_only = {"StringEquals": {"ses:FromAddress": sender}}
        return [
            # Each instance paces its sends to its share of the account's SES rate, read once per cold start.
            iam.PolicyStatement(
                sid="ReadTheAccountsSendingRate",
                actions=["ses:GetAccount"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="SendFromTheConfiguredSenderOnly",
                actions=list(SEND_ACTIONS),
                resources=[stack.format_arn(service="ses", resource="identity", resource_name=ses_identity)],
                conditions=from_sender_only,
            ),
            # SES authorizes a send on the configuration set as well as on the identity.
            iam.PolicyStatement(
                sid="SendThroughTheAppsConfigurationSet",
                actions=list(SEND_ACTIONS),
                resources=[
                    stack.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=self.configuration_set.configuration_set_name,
                    )
                ],
                conditions=from_sender_only,
            ),
        ]

    def _function(
        self,
        image: lambda_.DockerImageCode,
        *,
        memory_mib: int,
        timeout: Duration,
        reserved_concurrency: int | None,
        environment: dict[str, str],
    ) -> lambda_.DockerImageFunction:
        return lambda_.DockerImageFunction(
            self,
            "Function",
            description="Mails each file uploaded to the inbox to the configured recipients",
            code=image,
            architecture=ARCHITECTURE,
            memory_size=memory_mib,
            timeout=timeout,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            environment=environment,
        )

    def _event_source(self, queue: sqs.IQueue, max_concurrency: int) -> event_sources.SqsEventSource:
        event_source = event_sources.SqsEventSource(
            queue,
            batch_size=SQS_BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
        self.function.add_event_source(event_source)
        return event_source

    def _acknowledge_function_findings(self, queue: sqs.IQueue, *, reserves_concurrency: bool) -> None:
        acknowledge(
            self.function,
            nag=["Serverless-LambdaDLQ"],
            checkov=["CKV_AWS_116"],
            reason="The function is only invoked synchronously by its SQS event source, so a function dead-letter "
            "queue would never receive anything; failed files go to the queue's dead-letter queue.",
        )
        acknowledge(
            self.function.node.find_child(f"SqsEventSource:{Names.node_unique_id(queue.node)}"),
            nag=["Serverless-LambdaEventSourceMappingDestination"],
            reason="On-failure destinations are not supported for SQS event sources; the source queue's redrive "
            "policy moves a file that keeps failing to the dead-letter queue instead.",
        )
        acknowledge(
            self.log_group,
            checkov=["CKV_AWS_158"],
            reason="CloudWatch Logs encrypts every log group at rest with its own keys; the logs hold file names and "
            "addresses only, so a customer managed key would add cost and a key policy without a reader who needs it.",
        )
        acknowledge(
            self.function,
            checkov=["CKV_AWS_117"],
            reason="The function only talks to public AWS endpoints (S3, SES, DynamoDB, X-Ray, CloudWatch), so a VPC "
            "would add NAT or endpoint costs without reaching anything private.",
        )
        if not reserves_concurrency:
            acknowledge(
                self.function,
                checkov=["CKV_AWS_115"],
                reason="The SQS event source's maximum concurrency already bounds how many copies run at once; a "
                "reservation takes concurrency a new account (10 in all) cannot give, so it is an opt-in setting.",
            )
        acknowledge(
            self.function,
            checkov=["CKV_AWS_173"],
            reason="The environment holds names, addresses and limits but no secrets, and Lambda already encrypts it "
            "at rest with an AWS managed key.",
        )

    def _acknowledge_policy_findings(self, inbox: Inbox) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            nag=[f"AwsSolutions-IAM5[Resource::<{inbox.bucket_logical_id}.Arn>/{inbox.prefix}*]"],
            reason="The function reads whatever file users upload under the inbox prefix; the object names are "
            "not known in advance, so the resource ends in a wildcard limited to that prefix.",
        )
        acknowledge(
            policy,
            nag=["AwsSolutions-IAM5[Resource::*]"],
            reason="X-Ray's PutTraceSegments and PutTelemetryRecords and SES's GetAccount (the account's sending "
            "rate) have no resource-level permissions, so they can only be granted on every resource.",
        )
