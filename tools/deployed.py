"""What the operator tools share: which deployed stacks to look at, their AWS clients, and one-line failures.

The tools take the same CDK options as `make deploy` (`-c stage=prod`, `-c region=...`, `--profile NAME`), read
the settings the way the CDK CLI gives them to the app (tools/deploy_settings.py) and find the stacks by the names
the app gives them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from stacks.settings import SettingsError
from tools import aws_problem, deploy_settings
from tools.deploy_settings import UsageError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient


class ToolError(Exception):
    """Something the person running the tool must fix; the message is one line that says what to do."""


@dataclass(frozen=True)
class Target:
    """The deployed copy of the app a tool looks at."""

    stage: str
    function_stack: str
    registry_stack: str
    region: str | None
    profile: str | None
    # From the settings like the stage: each file is one mail to all of them, which is what SES's quota counts.
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Clients:
    cloudformation: CloudFormationClient
    sqs: SQSClient
    cloudwatch: CloudWatchClient
    logs: CloudWatchLogsClient
    sesv2: SESV2Client
    lambda_: LambdaClient
    ecr: ECRClient
    region: str

    @classmethod
    def for_target(cls, target: Target) -> Clients:
        # The region the CDK CLI deployed to: AWS_REGION counts for it, and boto3 alone would not read it.
        region = target.region or cdk_region(os.environ, boto3.Session(profile_name=target.profile))
        session = boto3.Session(profile_name=target.profile, region_name=region)
        return cls(
            cloudformation=session.client("cloudformation"),
            sqs=session.client("sqs"),
            cloudwatch=session.client("cloudwatch"),
            logs=session.client("logs"),
            sesv2=session.client("sesv2"),
            lambda_=session.client("lambda"),
            ecr=session.client("ecr"),
            region=session.region_name,
        )


# Where the CDK CLI looks for the region, before the profile's; without any it deploys to us-east-1.
REGION_VARIABLES = ("AWS_REGION", "AMAZON_REGION", "AWS_DEFAULT_REGION", "AMAZON_DEFAULT_REGION")
CDK_FALLBACK_REGION = "us-east-1"


def cdk_region(environment: Mapping[str, str], session: boto3.Session) -> str:
    """The region the CDK CLI deploys an environment-agnostic stack to, found the way the CLI finds it."""
    named = (environment.get(name) for name in REGION_VARIABLES)
    return next((region for region in named if region), None) or session.region_name or CDK_FALLBACK_REGION


def argument_parser(description: str) -> argparse.ArgumentParser:
    """A parser for a tool's own options; the CDK options in `ARGS` are left to `target_from`."""
    return argparse.ArgumentParser(
        description=description,
        epilog="CDK options (-c KEY=VALUE, --profile NAME) are read as `cdk deploy` reads them, together with "
        "cdk.json, cdk.context.json and ~/.cdk.json.",
    )


def target_from(args: Sequence[str]) -> Target:
    """The deployed copy a `cdk deploy` with the same options would have made."""
    try:
        deploy = deploy_settings.read(args)
    except (UsageError, SettingsError) as error:
        raise ToolError(str(error)) from None
    settings = deploy.settings
    return Target(
        stage=settings.stage,
        function_stack=settings.stack_names.function,
        registry_stack=settings.stack_names.registry,
        region=settings.region,
        profile=deploy.profile,
        recipients=settings.recipients,
    )


def stack_outputs(clients: Clients, stack_name: str) -> dict[str, str]:
    try:
        stacks = clients.cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise ToolError(
                f"The stack {stack_name} is not deployed in {clients.region}: run `make deploy` first, or name "
                'the stage and region you deployed with ARGS="-c stage=NAME -c region=REGION".'
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def run(main: Callable[[Sequence[str]], int], argv: Sequence[str] | None = None) -> int:
    """Run a tool's main; anything the person must fix ends as one line on stderr, never a traceback."""
    try:
        return main(sys.argv[1:] if argv is None else argv)
    except ToolError as error:
        return _fail(str(error))
    except (NoCredentialsError, ProfileNotFound) as error:
        return _fail(
            f"No usable AWS credentials ({error}): sign in (`aws configure` or `aws sso login`), then pass the "
            'profile with ARGS="--profile NAME" or AWS_PROFILE.'
        )
    except NoRegionError:
        return _fail('No AWS region: set one with `aws configure`, AWS_REGION, or ARGS="-c region=eu-west-1".')
    except ClientError as error:
        return _fail(aws_problem.describe(error, needed_for="this tool") + ".")
    except BotoCoreError as error:
        return _fail(f"Could not reach AWS: {error}.")
    except KeyboardInterrupt:
        return _fail("Interrupted. Nothing was lost: a message is only deleted after it was sent; run it again.", 130)


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
