"""The live mark: a custom resource of the function stack that tags the function's image `live` on every deploy.

The handler (stacks/live_image_handler/live_image.py) moves `live` to the image the function was just updated to
and shifts the images live before it to `rollback-1..N`; the registry's lifecycle rules never expire an image
carrying one of those tags (stacks/registry.py). What each part guarantees:

- The resource's properties are the function's image URI and the number of rollback marks, so CloudFormation
  sends a request exactly when the function's image changes, and only after the function was updated to it.
- When a later resource fails, CloudFormation rolls this resource back first with its old properties: the
  handler moves `live` back to the image the function returns to, before the function returns to it.
- The handler may list, read and tag images of this repository only, and write its own log group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnResource, CustomResource, Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.compliance import acknowledge
from stacks.log_groups import log_group
from stacks.removal import Removal

HANDLER_DIRECTORY = Path(__file__).resolve().parent / "live_image_handler"
RESOURCE_TYPE = "Custom::LiveImageMark"
# List the tags, read the manifests, put the marks on them and take stale marks off (untagging, never deleting
# an image: every marked image keeps its own content-hash tag).
MARK_ACTIONS = ("ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:ListImages", "ecr:PutImage")
# A handful of ECR calls per deploy.
HANDLER_MEMORY_MIB = 128
HANDLER_TIMEOUT = Duration.seconds(60)
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14


def image_uri_of(function: lambda_.DockerImageFunction) -> Any:
    """The image URI the function's template names (a tag of the registry, or a token the cloud build answers)."""
    cfn_function: lambda_.CfnFunction = function.node.default_child  # type: ignore[assignment]
    code: Any = cfn_function.code
    return code.image_uri


class LiveImageMark(Construct):
    """Keeps the tag `live` on `function`'s image in `repository`, and `rollback-1..rollback_images` behind it."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        function: lambda_.DockerImageFunction,
        repository: ecr.IRepository,
        rollback_images: int,
        log_retention_days: int,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        self.log_group = log_group(self, "HandlerLogs", retention_days=log_retention_days, removal=removal.policy)
        role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Moves the live and rollback tags in the function's image repository",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="MarkImagesOfThisRepositoryOnly", actions=list(MARK_ACTIONS), resources=[repository.repository_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteTheHandlerLog",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.handler = lambda_.Function(
            self,
            "Handler",
            description="Tags the function's image live and the images before it rollback-N",
            code=lambda_.Code.from_asset(str(HANDLER_DIRECTORY), exclude=["__pycache__", "*.pyc"]),
            handler="live_image.on_event",
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=HANDLER_MEMORY_MIB,
            timeout=HANDLER_TIMEOUT,
            role=role,
            log_group=self.log_group,
        )
        self.custom_resource = CustomResource(
            self,
            "Mark",
            service_token=self.handler.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={
                "RepositoryName": repository.repository_name,
                "ImageUri": image_uri_of(function),
                "RollbackImages": rollback_images,
            },
        )
        # Marked once the function runs the image, so that a failed function update never moves the mark.
        self.custom_resource.node.add_dependency(function)
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.log_group,
            checkov=["CKV_AWS_158"],
            reason="CloudWatch Logs encrypts every log group at rest with its own keys; the handler logs image "
            "tags and digests only, so a customer managed key would add cost and a key policy without a reader "
            "who needs it.",
        )
        acknowledge(
            self.handler,
            nag=["Serverless-LambdaDLQ"],
            checkov=["CKV_AWS_116"],
            reason="CloudFormation invokes the handler synchronously while the stack deploys and waits for its "
            "answer; a dead-letter queue would hold requests that nobody answers any more.",
        )
        acknowledge(
            self.handler,
            nag=["Serverless-LambdaTracing"],
            reason="The handler runs once per image change for a second or so to make a few ECR calls; a trace would "
            "show those calls and need X-Ray permissions on every resource.",
        )
        acknowledge(
            self.handler,
            checkov=["CKV_AWS_117"],
            reason="The handler only calls the public ECR endpoint once per image change, so a VPC would add NAT or "
            "endpoint costs without reaching anything private.",
        )
        acknowledge(
            self.handler,
            checkov=["CKV_AWS_115"],
            reason="The handler runs once per image change; reserving concurrency for it would take capacity from the "
            "account for nothing and fails on new accounts whose total concurrency is ten.",
        )
        acknowledge(
            self.handler,
            checkov=["CKV_AWS_173"],
            reason="The handler has no environment variables at all, so there is nothing for a customer managed key "
            "to protect beyond Lambda's own encryption at rest.",
        )

    @property
    def resource(self) -> CfnResource:
        found: CfnResource = self.custom_resource.node.default_child  # type: ignore[assignment]
        return found
