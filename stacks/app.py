"""The app's stacks and how they are put together; `app.py` calls `build_stacks` with the settings from context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import App, Environment
from aws_cdk.app_staging_synthesizer_alpha import AppStagingSynthesizer, IStagingResources

from stacks.deployer_stack import DeployerStack
from stacks.function_stack import FunctionStack
from stacks.registry_stack import RegistryStack
from stacks.settings import Settings


@dataclass(frozen=True)
class Stacks:
    registry: RegistryStack
    function: FunctionStack
    # Only when `github_repository` is set: the role GitHub Actions deploys with.
    deployer: DeployerStack | None = None


def build_stacks(app: App, settings: Settings) -> Stacks:
    """Add the stacks to `app`: the function stack's image is staged in the registry stack's repository.

    With `github_repository` set, a third stack holds the role that repository's deploy workflow uses.
    """
    env = Environment(account=settings.account, region=settings.region)
    names = settings.stack_names
    registry = RegistryStack(
        app,
        names.registry,
        settings=settings,
        env=env,
        description="Private ECR repository of the inbox mailer's function image",
    )
    function = FunctionStack(
        app,
        names.function,
        settings=settings,
        env=env,
        description="Inbox bucket, queue and the mailer function built from lambda_image/",
        # jsii calls the staging methods with one struct argument, which mypy cannot match to the protocol.
        synthesizer=AppStagingSynthesizer.custom_resources(resources=cast(IStagingResources, registry)),
    )
    # The local build pushes between the two stacks (the synthesizer orders them); the cloud build pushes while
    # the function stack deploys, into a repository that must exist by then.
    function.add_stack_dependency(registry, "the function's image is pushed to the registry's repository")
    deployer = None
    if settings.github_subject is not None:
        deployer = DeployerStack(
            app,
            names.deployer,
            settings=settings,
            subject_repository=settings.github_subject,
            env=env,
            description=f"Role for GitHub Actions of {settings.github_repository} to deploy the {settings.stage} stage",
        )
    return Stacks(registry=registry, function=function, deployer=deployer)
