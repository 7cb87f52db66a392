"""The scan rule: AWS's "ECR Image Scan" and "Inspector2 Scan" samples (tests/events/) against the synthesized rule.

The pattern is tested with moto's implementation of EventBridge's matching (numeric matching and `$or` included;
moto's TestEventPattern API answers nothing, so its matcher is called directly), after the template's account,
region and partition are filled in as CloudFormation would. The message is the rule's input transformer applied
to the sample the way EventBridge documents it for a plain-text template: each `<name>` replaced by the value at
its path, a text as it is, a list or an object as JSON.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto.events.models import EventPattern

from stacks.operations import ALERTING_SEVERITIES
from tests.conftest import ROOT
from tests.infra.conftest import Synthesized
from tools import images
from tools.docs_check import anchors

ACCOUNT = "123456789012"
REGION = "eu-west-1"
EVENTS = ROOT / "tests" / "events"
BASIC: dict[str, Any] = json.loads((EVENTS / "ecr_image_scan.json").read_text())
ENHANCED: dict[str, Any] = json.loads((EVENTS / "inspector2_scan.json").read_text())
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


def _deployed(value: Any) -> Any:
    """A template value as CloudFormation resolves it in account ACCOUNT, region REGION."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in PSEUDO:
            return PSEUDO[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(_deployed(p) for p in parts)
        return {k: _deployed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deployed(v) for v in value]
    return value


def _rule(synthesized: Synthesized) -> dict[str, Any]:
    rule = synthesized.stacks.function.operations.scan_rule
    resource: dict[str, Any] = synthesized.function_resource(rule)["Properties"]
    return resource


@pytest.fixture(scope="module")
def matches(synthesized: Synthesized) -> Callable[[dict[str, Any]], bool]:
    pattern = EventPattern.load(json.dumps(_deployed(_rule(synthesized)["EventPattern"])))
    matches: Callable[[dict[str, Any]], bool] = pattern.matches_event  # type: ignore[assignment]
    return matches


def _render(transformer: dict[str, Any], event: dict[str, Any]) -> str:
    values = {}
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for key in path.removeprefix("$.").split("."):
            value = value[key]
        values[name] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return re.sub(r"<([a-z]+)>", lambda m: values[m[1]], transformer["InputTemplate"])


@pytest.mark.parametrize("sample", [BASIC, ENHANCED], ids=["basic", "enhanced"])
def test_a_scan_with_critical_or_high_findings_of_this_repository_matches(
    matches: Callable[[dict[str, Any]], bool], sample: dict[str, Any]
) -> None:
    assert matches(sample)


def test_a_scan_with_only_medium_findings_does_not(matches: Callable[[dict[str, Any]], bool]) -> None:
    event = copy.deepcopy(BASIC)
    event["detail"]["finding-severity-counts"] = {"MEDIUM": 9, "LOW": 3}
    assert not matches(event)


def test_zero_counts_do_not_match(matches: Callable[[dict[str, Any]], bool]) -> None:
    event = copy.deepcopy(ENHANCED)
    event["detail"]["finding-severity-counts"] = {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 62, "TOTAL": 62}
    assert not matches(event)


def test_another_repository_s_scan_does_not_match(matches: Callable[[dict[str, Any]], bool]) -> None:
    event = copy.deepcopy(BASIC)
    event["resources"] = [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/someone-else"]
    assert not matches(event)


def test_a_scan_that_did_not_complete_does_not_match(matches: Callable[[dict[str, Any]], bool]) -> None:
    event = copy.deepcopy(BASIC)
    event["detail"]["scan-status"] = "FAILED"
    assert not matches(event)


@given(critical=st.integers(min_value=0, max_value=50), high=st.integers(min_value=0, max_value=50))
def test_exactly_the_scans_with_a_critical_or_high_finding_match(
    matches: Callable[[dict[str, Any]], bool], critical: int, high: int
) -> None:
    event = copy.deepcopy(BASIC)
    # ECR leaves a severity without findings out of the counts.
    event["detail"]["finding-severity-counts"] = {k: v for k, v in {"CRITICAL": critical, "HIGH": high}.items() if v}
    assert matches(event) == (critical > 0 or high > 0)


def test_the_message_s_link_reaches_its_heading_in_the_docs() -> None:
    assert "scan-findings-what-to-do" in anchors((ROOT / "docs" / "images.md").read_text(encoding="utf-8"))


def test_make_images_highlights_the_severities_the_rule_mails_about() -> None:
    assert images.ALERTING == ALERTING_SEVERITIES


def test_the_rule_sends_to_the_alarm_topic(synthesized: Synthesized) -> None:
    (target,) = _rule(synthesized)["Targets"]
    assert target["Arn"] == {"Ref": synthesized.logical_id(synthesized.stacks.function.operations.topic)}


def test_the_message_is_plain_lines_with_repository_tags_counts_and_a_console_link(synthesized: Synthesized) -> None:
    (target,) = _rule(synthesized)["Targets"]
    assert _render(target["InputTransformer"], BASIC).splitlines() == [
        "A vulnerability scan found CRITICAL or HIGH findings in an image of the ECR repository inbox-mailer-dev.",
        'Tags: ["d001343a3fbc47b5c80aff89fa88df8ad111a408e5681aebad0444efeb2c2e59","live"]',
        "Digest: sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
        'Findings by severity: {"CRITICAL":10,"MEDIUM":9}',
        "Scanned: 2026-11-29T02:36:48Z (ECR Image Scan)",
        "Scan results: https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/"
        "inbox-mailer-dev/_/image/sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234/details"
        "?region=eu-west-1",
        "What to do: docs/images.md#scan-findings-what-to-do (`make images` lists every image with its findings).",
    ]


def test_only_this_rule_may_publish_to_the_topic_and_use_its_key(synthesized: Synthesized) -> None:
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{_rule(synthesized)['Name']}"
    (policy,) = synthesized.function.find_resources("AWS::SNS::TopicPolicy").values()
    (statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert _deployed(statement["Condition"]) == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": rule_arn},
    }
    (key,) = synthesized.function.find_resources("AWS::KMS::Key").values()
    (key_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert _deployed(key_statement["Condition"])["ArnLike"] == {"aws:SourceArn": rule_arn}
