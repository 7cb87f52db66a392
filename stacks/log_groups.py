"""Log groups kept as long as the `log_retention_days` setting says: the mailer's, the build's, the live mark's."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct


def log_group(scope: Construct, id_: str, *, retention_days: int, removal: RemovalPolicy) -> logs.LogGroup:
    group = logs.LogGroup(scope, id_, removal_policy=removal)
    # Set on the resource itself: the value is already one of CloudWatch's allowed day counts (the settings check
    # it), which the L2's enum would only restate.
    cfn_group: logs.CfnLogGroup = group.node.default_child  # type: ignore[assignment]
    cfn_group.retention_in_days = retention_days
    return group
