"""Least privilege as a property of every synthesized template.

Every Allow statement of every IAM policy document (identity policies, inline role policies, managed policies
and the resource policies of ECR repositories, SQS queues, SNS topics and S3 buckets) must name exact actions
(no `*` or `?`), must not use NotAction or NotResource, and may use `Resource: "*"` only for actions on the
allow-list.
Deny statements may be as broad as they like.

Run alone: `python -m checks.iam [cdk.out]` (after `make synth`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.allowlist import load_section
from checks.assembly import load_json, stack_templates

SECTION = "iam_resource_wildcard"

# Where each resource type keeps its policy documents (list-valued properties hold several).
_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("Policies[].PolicyDocument",),
    "AWS::IAM::User": ("Policies[].PolicyDocument",),
    "AWS::IAM::Group": ("Policies[].PolicyDocument",),
    "AWS::ECR::Repository": ("RepositoryPolicyText",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
}
# KMS key policies are not walked: there `Resource: "*"` means the key itself, and the account's own
# administration statement (`kms:*` for the account root) is what keeps a key manageable.


@dataclass(frozen=True)
class Violation:
    where: str
    statement: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where} [{self.statement}]: {self.problem}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource id / property, document) for every policy document in a template."""
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        for path in _DOCUMENTS.get(resource.get("Type", ""), ()):
            if path.endswith("[].PolicyDocument"):
                for index, policy in enumerate(props.get(path.split("[]")[0]) or []):
                    if isinstance(policy, dict) and isinstance(policy.get("PolicyDocument"), dict):
                        yield f"{logical_id}.Policies[{index}]", policy["PolicyDocument"]
            elif isinstance(props.get(path), dict):
                yield f"{logical_id}.{path}", props[path]


def statement_violations(
    where: str, statement: Mapping[str, Any], resource_wildcard_actions: Mapping[str, str]
) -> list[Violation]:
    if statement.get("Effect") != "Allow":
        return []
    label = str(statement.get("Sid") or "no Sid")
    found = [Violation(where, label, f"uses {key}") for key in ("NotAction", "NotResource") if key in statement]
    actions = _as_list(statement.get("Action", []))
    for action in actions:
        if not isinstance(action, str) or "*" in action or "?" in action:
            found.append(Violation(where, label, f"action wildcard {action!r}"))
    if "*" in _as_list(statement.get("Resource", [])):
        not_allowed = [a for a in actions if a not in resource_wildcard_actions]
        if not_allowed:
            found.append(Violation(where, label, f'Resource "*" for {", ".join(map(str, not_allowed))}'))
    return found


def template_violations(
    name: str, template: Mapping[str, Any], resource_wildcard_actions: Mapping[str, str]
) -> list[Violation]:
    found: list[Violation] = []
    for where, document in policy_documents(template):
        for statement in _as_list(document.get("Statement", [])):
            found.extend(statement_violations(f"{name}/{where}", statement, resource_wildcard_actions))
    return found


def assembly_violations(assembly: Path) -> tuple[int, list[Violation]]:
    """(number of policy documents read, violations) over every stack of an assembly."""
    allowed = load_section(SECTION)
    documents, found = 0, []
    for name, path in stack_templates(assembly).items():
        template = load_json(path)
        documents += sum(1 for _ in policy_documents(template))
        found.extend(template_violations(name, template, allowed))
    return documents, found


def main(assembly: Path) -> int:
    documents, found = assembly_violations(assembly)
    for violation in found:
        print(f"FAIL {violation}")
    print(f"least privilege: {documents} policy documents, {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
