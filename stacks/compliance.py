"""The security gate: cdk-nag rule packs on the whole app, and the one way findings are acknowledged."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

MIN_REASON_WORDS = 8


def attach_checks(app: App) -> None:
    """Run AwsSolutions and Serverless checks at synth; any unacknowledged finding fails it."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct, with a reason a reviewer would accept.

    The acknowledgement lands on the construct's CloudFormation resource when it has one. Refuses stacks
    and apps (an acknowledgement there covers every child) and reasons that are not one full sentence.
    """
    if isinstance(construct, (Stack, App)):
        raise ValueError(
            f"Acknowledge {rule_id} on the resource it concerns, not on {construct.node.path or 'the app'}"
        )
    if len(reason.split()) < MIN_REASON_WORDS or not reason.rstrip().endswith("."):
        raise ValueError(f"The reason for {rule_id} on {construct.node.path} must be a full sentence: {reason!r}")
    target = construct.node.default_child or construct
    Validations.of(target).acknowledge(Acknowledgment(id=rule_id, reason=reason))
