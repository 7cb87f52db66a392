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
from constructs import Construct

from inbox_mailer.contract import METRICS_NAMESPACE, MailerSettings, function_environment
from stacks import IMAGE_DIRECTORY as IMAGE_DIRECTORY
from stacks.compliance import acknowledge
from stacks.inbox import Inbox
from stacks.removal import removal_for
from stacks.settings import Settings

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
    """Mails every file of `inbox`'s queue to the configured recipients, once per upload.

    `image` is the function's code: `local_image()`, or the image a `CloudImageBuild` pushes.
    """

    def __init__(
        self, scope: Construct, id_: str, *, settings: Settings, inbox: Inbox, image: lambda_.DockerImageCode
    ) -> None:
        super().__init__(scope, id_)
        # Records live as long as a message may wait in the queue, so a late duplicate is still caught.
        idempotency_ttl = inbox.queue_retention
        self.idempotency_table = dynamodb.TableV2(
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

        self.log_group = logs.LogGroup(self, "LogGroup", removal_policy=removal_for(settings.removal_policy).policy)
        # Set on the resource itself: the settings already hold one of CloudWatch's allowed day counts.
        cfn_log_group: logs.CfnLogGroup = self.log_group.node.default_child  # type: ignore[assignment]
        cfn_log_group.retention_in_days = settings.log_retention_days

        # Every mail goes through this set: it turns on reputation metrics and gives this app's own mail
        # numbers (sends, bounces, complaints) apart from the rest of the account (see stacks/operations.py).
        self.configuration_set = ses.ConfigurationSet(self, "ConfigurationSet", reputation_metrics=True)
        configuration_set_arn = Stack.of(self).format_arn(
            service="ses", resource="configuration-set", resource_name=self.configuration_set.configuration_set_name
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="The inbox mailer function: read inbox files, send mail from one identity, log",
        )
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadUploadedFiles",
                actions=list(READ_OBJECT_ACTIONS),
                resources=[inbox.bucket.arn_for_objects(f"{inbox.prefix}*")],
            )
        )
        # Without it S3 answers 403 instead of 404 for a file deleted before it was mailed, and the
        # function could not tell "deleted, skip it" from "forbidden, retry it".
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TellDeletedFilesFromForbiddenOnes",
                actions=["s3:ListBucket"],
                resources=[inbox.bucket.bucket_arn],
            )
        )
        # An upload withdrawn before it was mailed is followed by a delete marker. Listing the key's versions shows
        # the event's own version and its neighbour only; a HEAD of the key would read its current version instead,
        # which may be one the function cannot read. The condition keeps the listing inside the inbox prefix.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SeeWhetherAnUploadWasWithdrawn",
                actions=["s3:ListBucketVersions"],
                resources=[inbox.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": f"{inbox.prefix}*"}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RememberMailedFiles",
                actions=list(IDEMPOTENCY_ACTIONS),
                resources=[self.idempotency_table.table_arn],
            )
        )
        # A throttled file goes back on the queue as a new message, so throttling never counts towards the
        # dead-letter queue (lambda_image/inbox_mailer/processing.py).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PutThrottledFilesBack",
                actions=["sqs:SendMessage"],
                resources=[inbox.queue.queue_arn],
            )
        )
        # Each instance paces its sends to its share of the account's SES rate, read once per cold start.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheAccountsSendingRate",
                actions=["ses:GetAccount"],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendFromTheConfiguredSenderOnly",
                actions=list(SEND_ACTIONS),
                resources=[
                    Stack.of(self).format_arn(service="ses", resource="identity", resource_name=settings.ses_identity)
                ],
                conditions={"StringEquals": {"ses:FromAddress": settings.sender}},
            )
        )
        # SES authorizes a send on the configuration set as well as on the identity.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendThroughTheAppsConfigurationSet",
                actions=list(SEND_ACTIONS),
                resources=[configuration_set_arn],
                conditions={"StringEquals": {"ses:FromAddress": settings.sender}},
            )
        )

        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="Mails each file uploaded to the inbox to the configured recipients",
            code=image,
            architecture=ARCHITECTURE,
            memory_size=settings.memory_mib,
            timeout=Duration.seconds(settings.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=settings.reserved_concurrency,
            # Named and written by the contract, which the function reads them back with at cold start.
            environment=function_environment(
                MailerSettings(
                    sender_address=settings.sender,
                    recipients=settings.recipients,
                    inbox_bucket=inbox.bucket.bucket_name,
                    inbox_prefix=inbox.prefix,
                    idempotency_table=self.idempotency_table.table_name,
                    idempotency_ttl_seconds=int(idempotency_ttl.to_seconds()),
                    max_message_bytes=settings.max_message_bytes,
                    link_expiry_seconds=settings.link_expiry_seconds,
                    configuration_set=self.configuration_set.configuration_set_name,
                    metrics_namespace=METRICS_NAMESPACE,
                    queue_url=inbox.queue.queue_url,
                    max_concurrency=settings.max_concurrency,
                )
            ),
        )
        self.event_source = event_sources.SqsEventSource(
            inbox.queue,
            batch_size=SQS_BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=settings.max_concurrency,
        )
        self.function.add_event_source(self.event_source)

        acknowledge(
            self.function,
            nag=["Serverless-LambdaDLQ"],
            checkov=["CKV_AWS_116"],
            reason="The function is only invoked synchronously by its SQS event source, so a function dead-letter "
            "queue would never receive anything; failed files go to the queue's dead-letter queue.",
        )
        acknowledge(
            self.function.node.find_child(f"SqsEventSource:{Names.node_unique_id(inbox.queue.node)}"),
            nag=["Serverless-LambdaEventSourceMappingDestination"],
            reason="On-failure destinations are not supported for SQS event sources; the source queue's redrive "
            "policy moves a file that keeps failing to the dead-letter queue instead.",
        )

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
        if settings.reserved_concurrency is None:
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
