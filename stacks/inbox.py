"""The inbox: the bucket users upload to, and the queue that holds one message per uploaded file."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.compliance import acknowledge
from stacks.removal import Removal

# SQS' advice for Lambda consumers: a message becomes visible again only after every retry of a batch
# by the function has had its chance.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 5
QUEUE_RETENTION = Duration.days(4)
# Longer than the source queue's retention, so a message moved late still has two weeks to be looked at.
DEAD_LETTER_RETENTION = Duration.days(14)
NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_DAYS = 90
EVENT_RETRY_ATTEMPTS = 185
EVENT_MAX_AGE = Duration.hours(24)


class Inbox(Construct):
    """A private, versioned bucket whose uploads under `prefix` each become one message on `queue`.

    Upload notifications go S3 → EventBridge (enabled natively on the bucket) → a rule filtered on the
    bucket and prefix → the queue. The queue hands failures to `dead_letter_queue` after
    `MAX_RECEIVE_COUNT` tries; events EventBridge cannot deliver go to `undeliverable_events`.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        prefix: str,
        consumer_timeout: Duration,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        self.prefix = prefix
        self.queue_retention = QUEUE_RETENTION

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_DAYS))],
            removal_policy=removal.policy,
            auto_delete_objects=removal.empty_buckets,
        )
        acknowledge(
            self.access_logs,
            nag=["AwsSolutions-S1"],
            checkov=["CKV_AWS_18"],
            reason="This bucket receives the inbox bucket's access logs; logging it to itself would loop and "
            "logging it elsewhere would only move the question.",
        )
        acknowledge(
            self.access_logs,
            checkov=["CKV_AWS_21"],
            reason="Access logs are written once by the S3 logging service and expire by lifecycle rule, so "
            "versioning would only keep copies of logs that are meant to expire.",
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="inbox/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal.policy,
            auto_delete_objects=removal.empty_buckets,
        )
        # Native EventBridge notifications: CDK's `event_bridge_enabled=True` would deploy a custom-resource
        # Lambda to set what CloudFormation can set itself.
        cfn_bucket: s3.CfnBucket = self.bucket.node.default_child  # type: ignore[assignment]
        self.bucket_logical_id = Stack.of(self).get_logical_id(cfn_bucket)
        cfn_bucket.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

        self.dead_letter_queue = self._queue("DeadLetterQueue", retention=DEAD_LETTER_RETENTION)
        self.visibility_timeout = Duration.seconds(consumer_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR)
        self.queue = self._queue(
            "Queue",
            retention=QUEUE_RETENTION,
            visibility_timeout=self.visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue),
        )
        self.undeliverable_events = self._queue("UndeliverableEvents", retention=DEAD_LETTER_RETENTION)
        for dead_letters in (self.dead_letter_queue, self.undeliverable_events):
            acknowledge(
                dead_letters,
                nag=["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
                reason="This queue is itself a dead-letter queue; its messages wait here for a person to redrive "
                "them, so it has no dead-letter queue or redrive policy of its own.",
            )

        self.rule = events.Rule(
            self,
            "UploadedRule",
            description=f"Files created under {prefix} in the inbox bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"prefix": prefix}]},
                },
            ),
        )
        self.rule.add_target(
            targets.SqsQueue(
                self.queue,
                dead_letter_queue=self.undeliverable_events,
                retry_attempts=EVENT_RETRY_ATTEMPTS,
                max_event_age=EVENT_MAX_AGE,
            )
        )

    def _queue(
        self,
        id_: str,
        *,
        retention: Duration,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            id_,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
        )
        acknowledge(
            queue,
            checkov=["CKV_AWS_27"],
            reason="checkov counts only KMS keys, but the queue is encrypted at rest with SQS-managed keys, chosen "
            "over the cost and key policy of a customer managed key.",
        )
        return queue
