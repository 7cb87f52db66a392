"""The registry stack: the private ECR repository, serving as the staging place of the function's image.

It implements `IStagingResources` of the app staging synthesizer, so that the function stack's image asset
is built by the CDK CLI and pushed straight into this repository (after this stack is deployed), instead
of into the account-wide CDK bootstrap repository.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import CfnOutput, DefaultStackSynthesizer, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk.app_staging_synthesizer_alpha import (
    FileStagingLocation,
    ImageStagingLocation,
    IStagingResources,
)
from constructs import Construct

from inbox_mailer.contract import APP_NAME
from stacks.compliance import acknowledge
from stacks.registry import Registry, publishing_role_name
from stacks.removal import removal_for
from stacks.settings import Settings


def bootstrap_value(template: str) -> str:
    """A CDK bootstrap name or ARN template with this app's qualifier filled in (its other placeholders stay)."""
    return template.replace("${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER)


@jsii.implements(IStagingResources)
class RegistryStack(Stack):
    """Owns the repository; hands its name and publishing role to the synthesizer of the function stack."""

    def __init__(self, scope: Construct, id_: str, *, settings: Settings, **stack_props: Any) -> None:
        super().__init__(scope, id_, **stack_props)
        self.registry = Registry(
            self,
            "Registry",
            repository_name=settings.repository_name,
            publishing_role_name=publishing_role_name(APP_NAME, settings.stage, self.region),
            images_to_keep=settings.images_to_keep,
            rollback_images=settings.rollback_images,
            enhanced_scanning=settings.image_scanning == "enhanced",
            removal=removal_for(settings.removal_policy),
        )
        acknowledge(
            self.registry.publishing_role.node.find_child("DefaultPolicy"),
            nag=["AwsSolutions-IAM5[Resource::*]"],
            reason="ecr:GetAuthorizationToken has no resource-level permissions; it only returns a login token "
            "and the push itself is limited to this repository by the statement beside it.",
        )
        CfnOutput(
            self,
            "RepositoryUri",
            value=self.registry.repository.repository_uri,
            description="Where every deploy pushes the function image",
        )

    @property
    def repository(self) -> ecr.IRepository:
        return self.registry.repository

    # IStagingResources: called by the function stack's synthesizer for each asset.
    def add_docker_image(self, _asset: Any) -> ImageStagingLocation:
        return ImageStagingLocation(
            repo_name=self.registry.repository_name,
            assume_role_arn=self.registry.publishing_role_arn_for_assets,
            dependency_stack=self,
        )

    def add_file(self, _asset: Any) -> FileStagingLocation:
        return FileStagingLocation(
            bucket_name=bootstrap_value(DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME),
            assume_role_arn=bootstrap_value(DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN),
        )
