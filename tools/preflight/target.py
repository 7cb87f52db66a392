"""Where the deploy goes: the account the credentials reach and the region the CDK CLI picks, checked against
the account and region the settings pin."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from stacks.settings import Settings
from tools.deployed import cdk_region as cdk_region
from tools.preflight.results import CheckError, error_code


@dataclass(frozen=True)
class Target:
    account: str
    region: str


def resolve_target(session: boto3.Session, settings: Settings, region: str) -> tuple[Target, str]:
    try:
        identity = session.client("sts", region_name=region).get_caller_identity()
    except ClientError as error:
        raise CheckError(
            f"AWS refused the credentials ({error_code(error)})",
            "`aws sso login` (SSO) or `aws configure` (access keys), then run this again",
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        raise CheckError(
            f"AWS could not be reached: {error}", "check your network (and AWS_ENDPOINT_URL, if you set it)"
        ) from None
    except BotoCoreError as error:
        raise CheckError(
            f"no usable AWS credentials: {error}",
            "`aws configure` or `aws sso login`; for a named profile add --profile NAME to ARGS or set AWS_PROFILE",
        ) from None
    account = identity["Account"]
    if settings.account and settings.account != account:
        raise CheckError(
            f"the credentials are for account {account}, but the account setting pins {settings.account}",
            f"use credentials of account {settings.account} (--profile NAME in ARGS, or AWS_PROFILE), "
            "or change the account setting",
        )
    if settings.region and settings.region != region:
        raise CheckError(
            f"your AWS configuration's region is {region}, but the region setting pins {settings.region}",
            f"set AWS_REGION={settings.region} for this deploy, or change the region setting",
        )
    return Target(account=account, region=region), f"account {account}, region {region}, as {identity['Arn']}"
