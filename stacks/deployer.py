"""The role GitHub Actions deploys with: trusted through GitHub's OIDC by one repository, and able only to hand over.

The workflow exchanges its OIDC token for this role's credentials (no stored keys). The role itself can do one
thing: assume the roles a `cdk deploy` of this app uses, which hold the actual permissions.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.settings import GITHUB_OIDC_HOST

# The audience aws-actions/configure-aws-credentials asks GitHub to put in the token (its default).
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# The only branch whose jobs may deploy without naming an environment.
DEPLOY_BRANCH = "main"
# A deploy's role chain (this role, then the CDK's) cannot last longer than an hour anyway.
MAX_SESSION = Duration.hours(1)


def subject_claims(subject_repository: str, environment: str) -> tuple[str, str]:
    """The `sub` claims GitHub gives a job of the main branch and a job in the stage's environment."""
    return (
        f"repo:{subject_repository}:ref:refs/heads/{DEPLOY_BRANCH}",
        f"repo:{subject_repository}:environment:{environment}",
    )


class GitHubDeployRole(Construct):
    """GitHub's OIDC provider (created, or an existing one imported by ARN) and the role it lets one repository use.

    `assumable_role_arns` are the only resources the role may act on, with `sts:AssumeRole` only.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        subject_repository: str,
        environment: str,
        existing_provider_arn: str | None,
        assumable_role_arns: Sequence[str],
    ) -> None:
        super().__init__(scope, id_)
        if existing_provider_arn is None:
            # The native resource: CDK's OpenIdConnectProvider would deploy a custom-resource Lambda for it.
            # Retained: an account holds one provider per URL, and other stages or tools may come to rely on it.
            self.provider: iam.IOidcProvider = iam.OidcProviderNative(
                self,
                "GitHubOidcProvider",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_ids=[GITHUB_OIDC_AUDIENCE],
                removal_policy=RemovalPolicy.RETAIN,
            )
        else:
            self.provider = iam.OidcProviderNative.from_oidc_provider_arn(
                self, "GitHubOidcProvider", existing_provider_arn
            )
        self.role = iam.Role(
            self,
            "Role",
            description=f"Assumed by GitHub Actions of {subject_repository} to deploy the {environment} stage",
            max_session_duration=MAX_SESSION,
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": list(subject_claims(subject_repository, environment)),
                    }
                },
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="HandOverToTheRolesOfACdkDeployOnly",
                actions=["sts:AssumeRole"],
                resources=list(assumable_role_arns),
            )
        )
