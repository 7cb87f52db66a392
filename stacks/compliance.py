"""The security gate: cdk-nag rule packs on the whole app, and the one way findings are acknowledged."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

MIN_REASON_WORDS = 8
# checkov's check ids (CKV_AWS_18, CKV2_AWS_5): what tells a checkov id from a cdk-nag rule id.
_CHECKOV_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def attach_checks(app: App) -> None:
    """Run AwsSolutions and Serverless checks at synth; any unacknowledged finding fails it."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(construct: IConstruct, *, reason: str, nag: Sequence[str] = (), checkov: Sequence[str] = ()) -> None:
    """Acknowledge one finding on one construct, for cdk-nag, checkov or both, with one reason.

    `nag` holds cdk-nag rule ids (`AwsSolutions-IAM5[Resource::*]`), `checkov` holds checkov check ids
    (`CKV_AWS_116`). A finding both tools raise is acknowledged in one call, so both reports give the same
    sentence for it. Both land on the construct's CloudFormation resource when it has one; checkov's skip is
    written to the resource's `Metadata.checkov.skip`, where checkov reads it and reports the reason.
    Refuses stacks and apps (an acknowledgement there covers every child) and reasons that are not one full
    sentence, before anything is written.
    """
    target = _resource_of(construct, nag, checkov, reason)
    reason = reason.strip()
    for rule_id in nag:
        Validations.of(target).acknowledge(Acknowledgment(id=rule_id, reason=reason))
    if checkov:
        assert isinstance(target, CfnResource)
        skips = [
            *((target.get_metadata("checkov") or {}).get("skip", [])),
            *({"id": check_id, "comment": reason} for check_id in checkov),
        ]
        target.add_metadata("checkov", {"skip": skips})


def _resource_of(construct: IConstruct, nag: Sequence[str], checkov: Sequence[str], reason: str) -> IConstruct:
    """Where the acknowledgement goes, once everything about it was checked."""
    where = construct.node.path or "the app"
    if isinstance(nag, str) or isinstance(checkov, str):
        raise TypeError(f"nag and checkov are lists of ids, not one string, on {where}")
    ids = [*nag, *checkov]
    if not ids:
        raise ValueError(f"Name the cdk-nag rules or checkov checks acknowledged on {where}")
    # A checkov id among cdk-nag's would be acknowledged where no tool reads it, and the finding would stay.
    misplaced = [i for i in nag if _CHECKOV_ID.match(i)] + [i for i in checkov if not _CHECKOV_ID.match(i)]
    if misplaced:
        raise ValueError(f"{', '.join(misplaced)} on {where}: cdk-nag rule ids go in nag, checkov check ids in checkov")
    if isinstance(construct, (Stack, App)):
        raise ValueError(f"Acknowledge {', '.join(ids)} on the resource it concerns, not on {where}")
    if len(reason.split()) < MIN_REASON_WORDS or not reason.rstrip().endswith("."):
        raise ValueError(f"The reason for {', '.join(ids)} on {where} must be a full sentence: {reason!r}")
    target = construct.node.default_child or construct
    if checkov and not isinstance(target, CfnResource):
        raise ValueError(
            f"Acknowledge {', '.join(checkov)} on a construct with a CloudFormation resource, not on {where}"
        )
    return target
