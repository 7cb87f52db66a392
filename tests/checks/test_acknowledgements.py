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
from stacks.compliance import skip_checkov
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


def test_skip_checkov_writes_every_skip_with_its_reason_into_the_resource_metadata() -> None:
    app = App()
    stack = Stack(app, "Any")
    queue = sqs.Queue(stack, "Queue")
    skip_checkov(queue, "CKV_AWS_27", REASON)
    skip_checkov(queue, "CKV_AWS_999", REASON)
    resources = Template.from_stack(stack).find_resources("AWS::SQS::Queue")
    (queue_resource,) = resources.values()
    assert queue_resource["Metadata"]["checkov"] == {
        "skip": [{"id": "CKV_AWS_27", "comment": REASON}, {"id": "CKV_AWS_999", "comment": REASON}]
    }


def test_skip_checkov_refuses_stacks_and_reasons_that_are_not_a_full_sentence(tmp_path: Path) -> None:
    app = App()
    stack = Stack(app, "Any")
    with pytest.raises(ValueError, match="on the resource it concerns"):
        skip_checkov(stack, "CKV_AWS_27", REASON)
    for reason in ("", "Not needed.", "a long enough reason but without the final full stop"):
        with pytest.raises(ValueError, match="must be a full sentence"):
            skip_checkov(sqs.Queue(stack, f"Queue{len(reason)}"), "CKV_AWS_27", reason)
