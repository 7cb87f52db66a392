"""The function stack: the inbox, the mailer function wired to it, and the outputs to try it with.

With `image_build` cloud it also holds the CodeBuild build of the function's image (`CloudImageBuild`).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from constructs import Construct

from stacks.cloud_image import CloudImageBuild
from stacks.compliance import acknowledge
from stacks.inbox import Inbox
from stacks.mailer import ARCHITECTURE, IMAGE_DIRECTORY, Mailer, local_image
from stacks.operations import Operations
from stacks.registry_marks import LiveImageMark
from stacks.removal import Removal, removal_for
from stacks.settings import Settings


class FunctionStack(Stack):
    def __init__(self, scope: Construct, id_: str, *, settings: Settings, **stack_props: Any) -> None:
        super().__init__(scope, id_, **stack_props)
        removal = removal_for(settings.removal_policy)
        # The one timeout: the function runs for it, the queue's visibility and the alarms are derived from it.
        timeout = Duration.seconds(settings.timeout_seconds)
        self.inbox = Inbox(self, "Inbox", prefix=settings.inbox_prefix, consumer_timeout=timeout, removal=removal)
        self.cloud_image: CloudImageBuild | None = None
        self._imported_repository: ecr.IRepository | None = None
        self.mailer = Mailer(
            self,
            "Mailer",
            inbox=self.inbox,
            image=self._image(settings, removal),
            sender=settings.sender,
            ses_identity=settings.ses_identity,
            recipients=settings.recipients,
            memory_mib=settings.memory_mib,
            timeout=timeout,
            max_concurrency=settings.max_concurrency,
            reserved_concurrency=settings.reserved_concurrency,
            max_message_bytes=settings.max_message_bytes,
            link_expiry=Duration.seconds(settings.link_expiry_seconds),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        acknowledge(
            self.mailer.function,
            checkov=["CKV_AWS_272"],
            reason="Lambda code signing applies to functions deployed as .zip archives only, not to container images; "
            "this function's code is an image whose tags in its own repository cannot be overwritten.",
        )
        self.live_mark = LiveImageMark(
            self,
            "LiveImageMark",
            function=self.mailer.function,
            repository=self._repository(settings),
            rollback_images=settings.rollback_images,
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        self.operations = Operations(
            self,
            "Operations",
            inbox=self.inbox,
            function=self.mailer.function,
            configuration_set=self.mailer.configuration_set,
            function_timeout=timeout,
            max_concurrency=settings.max_concurrency,
            stage=settings.stage,
            alarm_emails=settings.alarm_emails,
            alarm_topic_arn=settings.alarm_topic_arn,
            repository_name=settings.repository_name,
            removal=removal,
        )
        if settings.create_sender_identity:
            identity = settings.ses_identity
            ses.EmailIdentity(
                self,
                "SenderIdentity",
                identity=ses.Identity.domain(identity) if "@" not in identity else ses.Identity.email(identity),
            )

        self._outputs(settings.inbox_prefix)

    def _repository(self, settings: Settings) -> ecr.IRepository:
        """The registry stack's repository, by its fixed name: no export ties the two stacks together."""
        if self._imported_repository is None:
            self._imported_repository = ecr.Repository.from_repository_name(
                self, "Repository", settings.repository_name
            )
        return self._imported_repository

    def _image(self, settings: Settings, removal: Removal) -> lambda_.DockerImageCode:
        """The function's image: built by `cdk deploy` on this machine, or by `CloudImageBuild` in CodeBuild."""
        if not settings.builds_in_the_cloud:
            return local_image()
        self.cloud_image = CloudImageBuild(
            self,
            "CloudImage",
            directory=IMAGE_DIRECTORY,
            architecture=ARCHITECTURE,
            repository=self._repository(settings),
            log_retention_days=settings.log_retention_days,
            removal=removal,
        )
        return self.cloud_image.code

    def _outputs(self, inbox_prefix: str) -> None:
        bucket = self.inbox.bucket.bucket_name
        CfnOutput(self, "InboxBucketName", value=bucket, description="Upload files here")
        CfnOutput(
            self,
            "TryIt",
            value=f"aws s3 cp ./report.pdf s3://{bucket}/{inbox_prefix}report.pdf",
            description="Upload a file; the recipients get one email about it",
        )
        CfnOutput(self, "QueueName", value=self.inbox.queue.queue_name)
        CfnOutput(
            self,
            "DeadLetterQueueName",
            value=self.inbox.dead_letter_queue.queue_name,
            description="Files that could not be mailed after every retry",
        )
        CfnOutput(self, "FunctionName", value=self.mailer.function.function_name)
        CfnOutput(self, "LogGroupName", value=self.mailer.log_group.log_group_name)
        CfnOutput(
            self,
            "UndeliverableEventsQueueName",
            value=self.inbox.undeliverable_events.queue_name,
            description="Upload events EventBridge could not put on the queue (make redrive replays them)",
        )
        CfnOutput(
            self,
            "DashboardUrl",
            value=self.operations.dashboard_url,
            description="The mailer's dashboard: files, queues, function, SES",
        )
        CfnOutput(self, "AlarmTopicArn", value=self.operations.topic.topic_arn, description="Where every alarm goes")
