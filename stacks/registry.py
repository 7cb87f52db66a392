"""The project's private image registry: one ECR repository and the role that may push to it."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.compliance import acknowledge
from stacks.removal import Removal

# What `cdk deploy` does with the publishing role: check the repository and the image, then push layers.
PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# What Lambda needs to pull the function's image at create and update time.
LAMBDA_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
UNTAGGED_IMAGE_DAYS = 1


def publishing_role_name(app_name: str, stage: str, region: str) -> str:
    """The fixed name of the role that pushes the function's image: the asset manifest and CI's deploy role use it."""
    return f"{app_name}-{stage}-publishing-{region}"


class Registry(Construct):
    """A private ECR repository with scan on push, immutable tags and lifecycle rules.

    `publishing_role_arn_for_assets` is the role ARN in the form the CDK CLI understands
    (`${AWS::AccountId}` placeholders), used to push the function's image during `cdk deploy`.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        repository_name: str,
        publishing_role_name: str,
        images_to_keep: int,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        self.repository_name = repository_name
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            removal_policy=removal.policy,
            empty_on_delete=removal.empty_repository,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"Expire untagged images (leftover layers of failed pushes) after "
                    f"{UNTAGGED_IMAGE_DAYS} day",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"Keep the newest {images_to_keep} tagged images, enough to roll back",
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_pattern_list=["*"],
                    max_image_count=images_to_keep,
                ),
            ],
        )
        acknowledge(
            self.repository,
            checkov=["CKV_AWS_136"],
            reason="ECR encrypts the repository at rest with AES-256; it holds only the function's code, for which a "
            "customer managed KMS key would add cost and a key policy without a reader who needs it.",
        )
        # Declared so that Lambda does not add it by itself on first pull (which would drift the stack).
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LambdaPullForFunctionsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal("lambda.amazonaws.com")],
                actions=list(LAMBDA_PULL_ACTIONS),
                conditions={
                    "StringLike": {
                        "aws:sourceArn": f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{Aws.ACCOUNT_ID}:function:*"
                    }
                },
            )
        )

        stack = Stack.of(self)
        self.publishing_role = iam.Role(
            self,
            "PublishingRole",
            role_name=publishing_role_name,
            description="Assumed by the CDK CLI during deploy to push the function image to its repository",
            assumed_by=iam.AccountPrincipal(stack.account),
        )
        self.publishing_role.add_to_policy(
            iam.PolicyStatement(
                sid="PushToThisRepositoryOnly",
                actions=list(PUSH_ACTIONS),
                resources=[self.repository.repository_arn],
            )
        )
        self.publishing_role.add_to_policy(
            iam.PolicyStatement(
                sid="LogInToTheRegistry",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            )
        )
        self.publishing_role_arn_for_assets = stack.format_arn(
            partition="${AWS::Partition}",
            region="",
            service="iam",
            resource="role",
            resource_name=publishing_role_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
