"""cdk-nag acknowledgements and checkov skips: narrow, reasoned, and the audit fails when they are not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from checks.nag import acknowledgement_problems, acknowledgements
from stacks.compliance import acknowledge
from tests.conftest import Synthesized

REASON = "A reason long enough to be accepted, written as one full sentence."


def test_every_acknowledgement_of_the_app_is_narrow_and_reasoned(
    synthesized: Synthesized, report: Callable[[str], None]
) -> None:
    app = synthesized.stacks.registry.node.root
    assert acknowledgement_problems(app) == []
    report(f"cdk-nag: {len(acknowledgements(app))} acknowledgements, each on one resource with a full-sentence reason")


def test_an_acknowledgement_made_on_a_stack_or_without_reason_is_caught() -> None:
    app = App()
    stack = Stack(app, "Unsafe")
    bucket = s3.Bucket(stack, "NoSslNoLogs")
    assert len(AwsSolutionsChecks(app).validate_scope(app).violations) == 2
    # Around the helper, straight through the CDK: cdk-nag honours both, so only the audit can catch them.
    Validations.of(stack).acknowledge(Acknowledgment(id="AwsSolutions-S1", reason=REASON))
    Validations.of(bucket.node.default_child).acknowledge(Acknowledgment(id="AwsSolutions-S10", reason=""))  # type: ignore[arg-type]
    assert AwsSolutionsChecks(app).validate_scope(app).violations == []
    assert acknowledgement_problems(app) == [
        "AwsSolutions-S1 is acknowledged on the whole of Unsafe",
        "AwsSolutions-S10 on Unsafe/NoSslNoLogs/Resource has no full-sentence reason: ''",
    ]


def test_checkov_skips_are_written_with_their_reason_into_the_resource_metadata() -> None:
    app = App()
    stack = Stack(app, "Any")
    queue = sqs.Queue(stack, "Queue")
    acknowledge(queue, checkov=["CKV_AWS_27"], reason=REASON)
    acknowledge(queue, checkov=["CKV_AWS_999"], reason=REASON)
    resources = Template.from_stack(stack).find_resources("AWS::SQS::Queue")
    (queue_resource,) = resources.values()
    assert queue_resource["Metadata"]["checkov"] == {
        "skip": [{"id": "CKV_AWS_27", "comment": REASON}, {"id": "CKV_AWS_999", "comment": REASON}]
    }


def test_a_checkov_skip_is_refused_on_a_stack_and_without_a_full_sentence(tmp_path: Path) -> None:
    app = App()
    stack = Stack(app, "Any")
    with pytest.raises(ValueError, match="on the resource it concerns"):
        acknowledge(stack, checkov=["CKV_AWS_27"], reason=REASON)
    for reason in ("", "Not needed.", "a long enough reason but without the final full stop"):
        with pytest.raises(ValueError, match="must be a full sentence"):
            acknowledge(sqs.Queue(stack, f"Queue{len(reason)}"), checkov=["CKV_AWS_27"], reason=reason)


# Findings that cdk-nag and checkov both raise, by their two ids: one acknowledgement, one reason.
SAME_FINDING = {
    "AwsSolutions-S1": "CKV_AWS_18",  # a bucket without access logs
    "Serverless-LambdaDLQ": "CKV_AWS_116",  # a function without a dead-letter queue
}


def test_a_finding_both_tools_raise_is_acknowledged_with_one_reason_in_both(synthesized: Synthesized) -> None:
    app = synthesized.stacks.registry.node.root
    templates = {
        synthesized.stacks.registry: synthesized.registry.to_json(),
        synthesized.stacks.function: synthesized.function.to_json(),
    }
    pairs = []
    for construct, rule, reason in acknowledgements(app):
        if rule not in SAME_FINDING:
            continue
        stack = Stack.of(construct)
        resource = templates[stack]["Resources"][stack.get_logical_id(construct)]  # type: ignore[arg-type]
        skips = {skip["id"]: skip["comment"] for skip in resource["Metadata"]["checkov"]["skip"]}
        assert skips.get(SAME_FINDING[rule]) == reason, f"{rule} and {SAME_FINDING[rule]} on {construct.node.path}"
        pairs.append(rule)
    # The access-log bucket, the mailer function and the live mark's handler.
    assert sorted(pairs) == ["AwsSolutions-S1", "Serverless-LambdaDLQ", "Serverless-LambdaDLQ"]
