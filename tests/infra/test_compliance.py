"""The security gate: cdk-nag finds nothing unacknowledged, and every acknowledgement is narrow and reasoned."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

from stacks.compliance import MIN_REASON_WORDS, acknowledge, attach_checks
from tests.infra.conftest import Synthesized


def _acknowledgements(scope: IConstruct) -> list[tuple[IConstruct, str, str]]:
    found: list[tuple[IConstruct, str, str]] = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.extend((construct, rule, reason) for rule, reason in entry.data.items())
    return found


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_both_rule_packs_find_no_unacknowledged_violation(synthesized: Synthesized, pack: Any) -> None:
    app = synthesized.stacks.registry.node.root
    report = pack(app).validate_scope(app)
    assert [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations] == []


def test_every_acknowledgement_sits_on_a_resource_with_a_full_sentence(synthesized: Synthesized) -> None:
    acknowledgements = _acknowledgements(synthesized.stacks.registry.node.root)
    assert len(acknowledgements) >= 8
    for construct, rule, reason in acknowledgements:
        assert not isinstance(construct, (Stack, App)), f"{rule} is acknowledged on a whole stack"
        assert len(reason.split()) >= MIN_REASON_WORDS, f"{rule}: {reason!r}"
        assert reason.endswith("."), f"{rule}: {reason!r}"


def test_wildcard_acknowledgements_name_the_exact_finding(synthesized: Synthesized) -> None:
    iam5 = [rule for _, rule, _ in _acknowledgements(synthesized.stacks.registry.node.root) if "IAM5" in rule]
    assert sorted(iam5) == sorted(
        [
            "Annotation::AwsSolutions-IAM5[Resource::*]",
            "Annotation::AwsSolutions-IAM5[Resource::<InboxBucket1EDE8E4F.Arn>/incoming/*]",
            "Annotation::AwsSolutions-IAM5[Resource::*]",
        ]
    )


def _app_with_an_unsafe_bucket(tmp_path: Any) -> App:
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Unsafe"), "NoSslNoLogs")
    attach_checks(app)
    return app


def test_synth_fails_on_an_unacknowledged_finding(tmp_path: Any) -> None:
    app = _app_with_an_unsafe_bucket(tmp_path)
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    assert "AwsSolutions-S1'" in str(raised.value)
    assert "AwsSolutions-S10'" in str(raised.value)
    assert "Unsafe/NoSslNoLogs/Resource" in (tmp_path / "validation-report.json").read_text()


def test_acknowledging_on_a_stack_is_refused() -> None:
    app = App()
    stack = Stack(app, "Any")
    with pytest.raises(ValueError, match="on the resource it concerns"):
        acknowledge(stack, "AwsSolutions-S1", "A long enough reason that would otherwise be accepted here.")


@pytest.mark.parametrize("reason", ["", "Not needed.", "no sentence without a full stop at the end of it"])
def test_acknowledging_without_a_full_sentence_is_refused(reason: str) -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    with pytest.raises(ValueError, match="must be a full sentence"):
        acknowledge(bucket, "AwsSolutions-S1", reason)
