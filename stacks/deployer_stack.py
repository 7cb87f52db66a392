"""The deployer stack: what GitHub Actions needs to deploy this app's stage with short-lived credentials.

Deployed once from a laptop (`make deploy ARGS="-c github_repository=owner/name"`); its `DeployRoleArn` output goes
into the GitHub environment of the stage (docs/github-actions.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Fn, Stack
from constructs import Construct

from inbox_mailer.contract import APP_NAME
from stacks.deployer import GitHubDeployRole
from stacks.registry import publishing_role_name
from stacks.registry_stack import bootstrap_value
from stacks.settings import Settings

# The GitHub environment variable the deploy workflow reads the role ARN from.
ROLE_ARN_VARIABLE = "AWS_DEPLOY_ROLE_ARN"
# The roles of the CDK bootstrap that `cdk diff` and `cdk deploy` of this app assume: deploy (CloudFormation),
# file publishing (templates) and lookup (reading deployed templates). Images go through the app's own role.
CDK_BOOTSTRAP_ROLE_ARNS = (
    DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
    DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
    DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN,
)


def deploy_role_arns(stage: str) -> list[str]:
    """The roles a deploy of `stage` assumes, as CloudFormation `Fn::Sub` strings of this account and region."""
    publishing = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + publishing_role_name(
        APP_NAME, stage, "${AWS::Region}"
    )
    return [Fn.sub(bootstrap_value(arn)) for arn in (*CDK_BOOTSTRAP_ROLE_ARNS, publishing)]


class DeployerStack(Stack):
    """The GitHub OIDC provider (or an existing one) and the stage's deploy role for one repository."""

    def __init__(
        self, scope: Construct, id_: str, *, settings: Settings, subject_repository: str, **stack_props: Any
    ) -> None:
        super().__init__(scope, id_, **stack_props)
        self.deployer = GitHubDeployRole(
            self,
            "GitHubDeployer",
            subject_repository=subject_repository,
            environment=settings.stage,
            existing_provider_arn=settings.github_oidc_provider_arn,
            assumable_role_arns=deploy_role_arns(settings.stage),
        )
        CfnOutput(
            self,
            "DeployRoleArn",
            value=self.deployer.role.role_arn,
            description=f"Put into the variable {ROLE_ARN_VARIABLE} of the GitHub environment {settings.stage}",
        )
        CfnOutput(
            self,
            "GitHubOidcProviderArn",
            value=self.deployer.provider.oidc_provider_arn,
            description="Pass to other stages of this account as -c github_oidc_provider_arn=<this value>",
        )
