"""The security gate: cdk-nag finds nothing unacknowledged, and every acknowledgement is narrow and reasoned."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct, IConstruct

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
        acknowledge(
            stack, nag=["AwsSolutions-S1"], reason="A long enough reason that would otherwise be accepted here."
        )


@pytest.mark.parametrize("reason", ["", "Not needed.", "no sentence without a full stop at the end of it"])
def test_acknowledging_without_a_full_sentence_is_refused(reason: str) -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    with pytest.raises(ValueError, match="must be a full sentence"):
        acknowledge(bucket, nag=["AwsSolutions-S1"], reason=reason)


EIGHT_WORDS = "The reason is exactly eight words long here."


def test_both_rule_packs_run_at_synth(tmp_path: Any) -> None:
    # GIVEN a queue without a dead-letter queue, which only the Serverless pack flags by this rule
    app = App(outdir=str(tmp_path))
    sqs.Queue(Stack(app, "Unsafe"), "NoRedrive", enforce_ssl=True)
    attach_checks(app)
    # THEN synth fails on it: both packs are attached, not only AwsSolutions
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        app.synth()
    assert "Serverless-SQSRedrivePolicy" in str(raised.value)
    assert "AwsSolutions-SQS3" in str(raised.value)


def test_an_acknowledgement_lands_on_the_cloudformation_resource_of_a_construct() -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    acknowledge(bucket, nag=["AwsSolutions-S1"], reason=EIGHT_WORDS)
    resource = bucket.node.default_child
    assert resource is not None

    def acknowledged(construct: IConstruct) -> list[Any]:
        return [e.data for e in construct.node.metadata if e.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]

    assert acknowledged(resource) == [{"Annotation::AwsSolutions-S1": EIGHT_WORDS}]
    assert acknowledged(bucket) == []


@pytest.mark.parametrize("reason", [EIGHT_WORDS, EIGHT_WORDS + "  ", "  " + EIGHT_WORDS])
def test_a_full_sentence_of_eight_words_is_reason_enough_whatever_the_spaces_around_it(reason: str) -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    acknowledge(bucket, nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"], reason=reason)


def test_seven_words_are_not_reason_enough() -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    seven = "The reason is only seven words long."
    with pytest.raises(ValueError, match="must be a full sentence"):
        acknowledge(bucket, nag=["AwsSolutions-S1"], reason=seven)
    with pytest.raises(ValueError, match="must be a full sentence"):
        acknowledge(bucket, checkov=["CKV_AWS_18"], reason=seven)


def test_skips_are_written_where_checkov_reads_them_one_entry_per_check() -> None:
    app = App()
    stack = Stack(app, "Any")
    bucket = s3.Bucket(stack, "Bucket")
    acknowledge(bucket, checkov=["CKV_AWS_18"], reason=EIGHT_WORDS)
    acknowledge(bucket, checkov=["CKV_AWS_21"], reason="Another reason that is long enough to be accepted.")
    (resource,) = Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()
    assert resource["Metadata"]["checkov"] == {
        "skip": [
            {"id": "CKV_AWS_18", "comment": EIGHT_WORDS},
            {"id": "CKV_AWS_21", "comment": "Another reason that is long enough to be accepted."},
        ]
    }


def test_skipping_on_a_stack_or_on_a_construct_without_a_resource_is_refused() -> None:
    app = App()
    stack = Stack(app, "Any")
    with pytest.raises(ValueError, match="on the resource it concerns"):
        acknowledge(stack, checkov=["CKV_AWS_18"], reason=EIGHT_WORDS)
    with pytest.raises(
        ValueError, match=r"^Acknowledge CKV_AWS_18 on a construct with a CloudFormation resource, not on Any/Empty$"
    ):
        acknowledge(Construct(stack, "Empty"), checkov=["CKV_AWS_18"], reason=EIGHT_WORDS)
    with pytest.raises(ValueError, match="must be a full sentence"):
        acknowledge(s3.Bucket(stack, "Bucket"), checkov=["CKV_AWS_18"], reason="Too short.")


def test_the_mailers_skips_reach_the_template_with_their_reasons(synthesized: Synthesized) -> None:
    function = synthesized.function_resource(synthesized.stacks.function.mailer.function)
    skips = function["Metadata"]["checkov"]["skip"]
    assert [s["id"] for s in skips] == ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_115", "CKV_AWS_173", "CKV_AWS_272"]
    assert all(len(s["comment"].split()) >= MIN_REASON_WORDS for s in skips)


def test_acknowledging_on_the_app_is_refused_naming_the_app() -> None:
    app = App()
    with pytest.raises(ValueError, match=r"^Acknowledge AwsSolutions-S1 on the resource it concerns, not on the app$"):
        acknowledge(app, nag=["AwsSolutions-S1"], reason=EIGHT_WORDS)


def _acknowledged_on(construct: IConstruct) -> dict[str, str]:
    return {
        rule.removeprefix("Annotation::"): reason
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    }


def test_one_call_writes_the_cdk_nag_acknowledgement_and_the_checkov_skip_with_the_same_reason() -> None:
    # GIVEN a bucket without access logs, which cdk-nag (S1) and checkov (CKV_AWS_18) both flag
    app = App()
    stack = Stack(app, "Any")
    bucket = s3.Bucket(stack, "Bucket", enforce_ssl=True)
    assert "AwsSolutions-S1" in [v.rule_name for v in AwsSolutionsChecks(app).validate_scope(app).violations]

    # WHEN the finding is acknowledged once, for both tools, with spaces around the reason
    acknowledge(bucket, nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"], reason=f"  {EIGHT_WORDS} ")

    # THEN cdk-nag holds the acknowledgement and honours it, and checkov's skip carries the very same sentence
    resource = bucket.node.default_child
    assert resource is not None
    assert _acknowledged_on(resource) == {"AwsSolutions-S1": EIGHT_WORDS}
    assert AwsSolutionsChecks(app).validate_scope(app).violations == []
    (template_bucket,) = Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()
    assert template_bucket["Metadata"]["checkov"] == {"skip": [{"id": "CKV_AWS_18", "comment": EIGHT_WORDS}]}


def test_one_reason_can_cover_a_finding_that_two_rule_packs_raise() -> None:
    app = App()
    queue = sqs.Queue(Stack(app, "Any"), "DeadLetters", enforce_ssl=True)
    acknowledge(queue, nag=["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"], reason=EIGHT_WORDS)
    assert queue.node.default_child is not None
    assert _acknowledged_on(queue.node.default_child) == {
        "AwsSolutions-SQS3": EIGHT_WORDS,
        "Serverless-SQSRedrivePolicy": EIGHT_WORDS,
    }
    assert AwsSolutionsChecks(app).validate_scope(app).violations == []
    assert ServerlessChecks(app).validate_scope(app).violations == []


@pytest.mark.parametrize("reason", ["", "Not needed.", "eight words but no full stop at the end"])
def test_a_reason_that_is_not_a_sentence_is_refused_naming_the_construct_and_nothing_is_written(reason: str) -> None:
    app = App()
    stack = Stack(app, "Any")
    bucket = s3.Bucket(stack, "Bucket")
    expected = f"The reason for AwsSolutions-S1, CKV_AWS_18 on Any/Bucket must be a full sentence: {reason!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        acknowledge(bucket, nag=["AwsSolutions-S1"], checkov=["CKV_AWS_18"], reason=reason)
    # Neither tool got half of it.
    assert bucket.node.default_child is not None
    assert _acknowledged_on(bucket.node.default_child) == {}
    (template_bucket,) = Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()
    assert "Metadata" not in template_bucket


def test_an_id_in_the_wrong_list_or_no_id_at_all_is_refused() -> None:
    app = App()
    bucket = s3.Bucket(Stack(app, "Any"), "Bucket")
    with pytest.raises(ValueError, match=r"^CKV_AWS_18 on Any/Bucket: cdk-nag rule ids go in nag, checkov check ids"):
        acknowledge(bucket, nag=["CKV_AWS_18"], reason=EIGHT_WORDS)
    with pytest.raises(ValueError, match=r"^AwsSolutions-S1 on Any/Bucket: cdk-nag rule ids go in nag"):
        acknowledge(bucket, checkov=["AwsSolutions-S1"], reason=EIGHT_WORDS)
    with pytest.raises(ValueError, match=r"^Name the cdk-nag rules or checkov checks acknowledged on Any/Bucket$"):
        acknowledge(bucket, reason=EIGHT_WORDS)
    with pytest.raises(TypeError, match="lists of ids, not one string"):
        acknowledge(bucket, nag="AwsSolutions-S1", reason=EIGHT_WORDS)
