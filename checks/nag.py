"""Every cdk-nag acknowledgement in an app sits on one resource and carries a full-sentence reason.

`stacks.compliance.acknowledge` already refuses anything else; this audit also catches an acknowledgement
made around it (`Validations.of(stack).acknowledge(...)`), which cdk-nag honours: on a stack, even with an
empty reason, it silences the rule for every resource of the stack.
"""

from __future__ import annotations

from aws_cdk import App, Stack, Validations
from constructs import IConstruct

from checks.allowlist import MIN_REASON_WORDS


def acknowledgements(scope: IConstruct) -> list[tuple[IConstruct, str, str]]:
    """(construct, rule id, reason) for every acknowledgement under `scope`; ids lose CDK's `Annotation::`."""
    found: list[tuple[IConstruct, str, str]] = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.extend(
                    (construct, rule.removeprefix("Annotation::"), str(reason or ""))
                    for rule, reason in entry.data.items()
                )
    return found


def acknowledgement_problems(scope: IConstruct) -> list[str]:
    problems = []
    for construct, rule, reason in acknowledgements(scope):
        where = construct.node.path or "the app"
        if isinstance(construct, (Stack, App)):
            problems.append(f"{rule} is acknowledged on the whole of {where}")
        if len(reason.split()) < MIN_REASON_WORDS or not reason.rstrip().endswith("."):
            problems.append(f"{rule} on {where} has no full-sentence reason: {reason!r}")
    return problems
