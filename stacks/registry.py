"""The project's private image registry: one ECR repository and the role that may push to it."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.compliance import acknowledge
from stacks.live_image_handler.live_image import LIVE_TAG, ROLLBACK_TAG_PREFIX
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
# The marks the function stack moves on every deploy (stacks/live_image_handler/live_image.py).
MARK_PATTERNS = (LIVE_TAG, f"{ROLLBACK_TAG_PREFIX}*")


def lifecycle_rules(*, images_to_keep: int, rollback_images: int) -> list[ecr.LifecycleRule]:
    """The repository's rules: the marked images first, so that no rule after them may expire one.

    ECR never lets a rule expire an image that a rule of higher priority selected (tools/ecr_lifecycle.py), and
    the count rules never expire anything a deploy marked: there is one `live` tag and `rollback_images`
    rollback tags. The last rule then keeps the newest `images_to_keep` tagged images; it counts the marked ones
    among them, so that the repository holds at most `images_to_keep` tagged images beyond the marked ones.
    """
    return [
        ecr.LifecycleRule(
            rule_priority=1,
            description="Never expire the image the function runs (tag live, moved by every deploy)",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[LIVE_TAG],
            max_image_count=1,
        ),
        ecr.LifecycleRule(
            rule_priority=2,
            description=f"Never expire the {rollback_images} images live before it (tags {ROLLBACK_TAG_PREFIX}1..)",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[f"{ROLLBACK_TAG_PREFIX}*"],
            max_image_count=rollback_images,
        ),
        ecr.LifecycleRule(
            rule_priority=3,
            description=f"Expire untagged images (leftover layers of failed pushes) after {UNTAGGED_IMAGE_DAYS} day",
            tag_status=ecr.TagStatus.UNTAGGED,
            max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
        ),
        ecr.LifecycleRule(
            rule_priority=4,
            description=f"Keep the newest {images_to_keep} tagged images; marked ones count among them and stay",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=["*"],
            max_image_count=images_to_keep,
        ),
    ]


def publishing_role_name(app_name: str, stage: str, region: str) -> str:
    """The fixed name of the role that pushes the function's image: the asset manifest and CI's deploy role use it."""
    return f"{app_name}-{stage}-publishing-{region}"


class Registry(Construct):
    """A private ECR repository with scan on push, immutable content tags, movable marks and lifecycle rules.

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
        rollback_images: int,
        enhanced_scanning: bool,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        self.repository_name = repository_name
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            # Content-hash tags never move; only the marks the deploy keeps on the live image and those before it.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=[
                ecr.ImageTagMutabilityExclusionFilter.wildcard(pattern) for pattern in MARK_PATTERNS
            ],
            encryption=ecr.RepositoryEncryption.AES_256,
            removal_policy=removal.policy,
            empty_on_delete=removal.empty_repository,
            lifecycle_rules=lifecycle_rules(images_to_keep=images_to_keep, rollback_images=rollback_images),
        )
        if enhanced_scanning:
            self.scanning = self._enhanced_scanning(repository_name)
        acknowledge(
            self.repository,
            checkov=["CKV_AWS_51"],
            reason="Every content-hash tag is immutable; only the live and rollback marks, which each deploy moves to "
            "protect the running image from the lifecycle rules, are excluded from immutability by their pattern.",
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

    def _enhanced_scanning(self, repository_name: str) -> ecr.CfnRegistryScanningConfiguration:
        """Amazon Inspector's continuous scanning for this repository.

        The configuration belongs to the whole registry (account and region): it replaces any other, and a
        repository it does not name is no longer scanned at all. Removing it (the setting back to basic, or the
        stack destroyed) returns the registry to basic scanning.
        """
        return ecr.CfnRegistryScanningConfiguration(
            self,
            "EnhancedScanning",
            scan_type="ENHANCED",
            rules=[
                ecr.CfnRegistryScanningConfiguration.ScanningRuleProperty(
                    scan_frequency="CONTINUOUS_SCAN",
                    repository_filters=[
                        ecr.CfnRegistryScanningConfiguration.RepositoryFilterProperty(
                            filter=repository_name, filter_type="WILDCARD"
                        )
                    ],
                )
            ],
        )
