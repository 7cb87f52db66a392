"""The live mark in the function stack's template: what CloudFormation runs, when, and what the handler may do."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.registry_marks import MARK_ACTIONS
from tests.infra.conftest import Synthesized


def _mark(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.function_resource(synthesized.stacks.function.live_mark.custom_resource)


def test_the_mark_follows_the_function_s_image_uri_and_the_rollback_setting(synthesized: Synthesized) -> None:
    mark = _mark(synthesized)
    function = synthesized.function_resource(synthesized.stacks.function.mailer.function)
    assert mark["Type"] == "Custom::LiveImageMark"
    assert mark["Properties"]["ImageUri"] == function["Properties"]["Code"]["ImageUri"]
    assert mark["Properties"]["RollbackImages"] == synthesized.settings.rollback_images
    assert mark["Properties"]["RepositoryName"] == synthesized.settings.repository_name


def test_the_mark_moves_only_after_the_function_was_updated(synthesized: Synthesized) -> None:
    # CloudFormation updates in dependency order and rolls back in reverse: mark after the function, rollback first.
    function_id = synthesized.logical_id(synthesized.stacks.function.mailer.function)
    assert function_id in _mark(synthesized)["DependsOn"]


def test_cloudformation_calls_the_handler_directly(synthesized: Synthesized) -> None:
    handler_id = synthesized.logical_id(synthesized.stacks.function.live_mark.handler)
    assert _mark(synthesized)["Properties"]["ServiceToken"] == {"Fn::GetAtt": [handler_id, "Arn"]}
    handler = synthesized.function_resource(synthesized.stacks.function.live_mark.handler)["Properties"]
    assert (handler["Handler"], handler["Architectures"], handler["MemorySize"]) == (
        "live_image.on_event",
        ["arm64"],
        128,
    )
    assert "Environment" not in handler


def test_the_handler_may_mark_images_of_this_repository_only(synthesized: Synthesized) -> None:
    role = synthesized.stacks.function.live_mark.handler.role
    assert role is not None
    policy = synthesized.function_resource(role.node.find_child("DefaultPolicy"))
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"MarkImagesOfThisRepositoryOnly", "WriteTheHandlerLog"}
    mark = statements["MarkImagesOfThisRepositoryOnly"]
    assert sorted(mark["Action"]) == sorted(MARK_ACTIONS)
    assert mark["Resource"]["Fn::Join"][1][-1] == ":repository/inbox-mailer-dev"
    log_group_id = synthesized.logical_id(synthesized.stacks.function.live_mark.log_group)
    assert statements["WriteTheHandlerLog"]["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}


def test_the_handler_logs_with_the_stage_s_retention(synthesized: Synthesized) -> None:
    log_group = synthesized.function_resource(synthesized.stacks.function.live_mark.log_group)
    assert log_group["Properties"]["RetentionInDays"] == synthesized.settings.log_retention_days


def test_code_signing_is_answered_on_the_image_function_with_the_documented_reason(synthesized: Synthesized) -> None:
    function = synthesized.function_resource(synthesized.stacks.function.mailer.function)
    (skip,) = [s for s in function["Metadata"]["checkov"]["skip"] if s["id"] == "CKV_AWS_272"]
    assert (
        "code signing applies to functions deployed as .zip archives only, not to container images" in skip["comment"]
    )


@pytest.fixture(scope="module")
def cloud(synthesized_cloud: Synthesized) -> Synthesized:
    return synthesized_cloud


def test_with_the_cloud_build_the_mark_follows_the_tag_the_build_answers(cloud: Synthesized) -> None:
    mark = _mark(cloud)
    function = cloud.function_resource(cloud.stacks.function.mailer.function)
    assert mark["Properties"]["ImageUri"] == function["Properties"]["Code"]["ImageUri"]
    assert "CloudImageBuild69FFC561" in str(mark["Properties"]["ImageUri"])
