"""The security gate: cdk-nag rule packs on the whole app, and the one way findings are acknowledged or skipped."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
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
    _require_narrow_and_reasoned(construct, rule_id, reason)
    target = construct.node.default_child or construct
    Validations.of(target).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip one checkov check on one construct's CloudFormation resource, with a full-sentence reason.

    Written as the resource's `Metadata.checkov.skip` entry, where checkov reads it and reports the reason.
    Same rules as `acknowledge`: no stacks or apps, and a reason of one full sentence.
    """
    _require_narrow_and_reasoned(construct, check_id, reason)
    target = construct.node.default_child or construct
    if not isinstance(target, CfnResource):
        raise ValueError(f"Skip {check_id} on a construct with a CloudFormation resource, not on {construct.node.path}")
    skips = [*((target.get_metadata("checkov") or {}).get("skip", [])), {"id": check_id, "comment": reason}]
    target.add_metadata("checkov", {"skip": skips})


def _require_narrow_and_reasoned(construct: IConstruct, rule_id: str, reason: str) -> None:
    if isinstance(construct, (Stack, App)):
        raise ValueError(
            f"Acknowledge or skip {rule_id} on the resource it concerns, not on {construct.node.path or 'the app'}"
        )
    if len(reason.split()) < MIN_REASON_WORDS or not reason.rstrip().endswith("."):
        raise ValueError(f"The reason for {rule_id} on {construct.node.path} must be a full sentence: {reason!r}")
