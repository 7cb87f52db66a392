"""`removal_policy`: every resource that holds data is kept or deleted as stacks/removal.py says, for each value.

One synth per value of the setting, with the cloud build and the deployer stack on, so that every stateful
resource of the app is in the templates.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import RemovalPolicy, Stack
from aws_cdk.assertions import Template
from constructs import IConstruct

from stacks.removal import REMOVALS, Removal
from stacks.settings import REMOVAL_POLICIES
from tests.infra.conftest import Synthesized, cdk_json_context, synthesize

# How CloudFormation spells each policy in DeletionPolicy and UpdateReplacePolicy.
CLOUDFORMATION = {RemovalPolicy.RETAIN: "Retain", RemovalPolicy.DESTROY: "Delete"}
# Types that hold data: each of their resources must be named below, following the setting or fixed.
STATEFUL_TYPES = (
    "AWS::DynamoDB::GlobalTable",
    "AWS::ECR::Repository",
    "AWS::IAM::OIDCProvider",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
)


@pytest.fixture(scope="module", params=sorted(REMOVALS))
def removal_synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = cdk_json_context() | {
        "removal_policy": request.param,
        "image_build": "cloud",
        "github_repository": "octo-org/inbox-mailer",
    }
    return synthesize(context, tmp_path_factory.mktemp(f"removal-{request.param}.out"))


def _following_the_setting(synthesized: Synthesized) -> dict[str, IConstruct]:
    function = synthesized.stacks.function
    assert function.cloud_image is not None
    return {
        "image repository": synthesized.stacks.registry.registry.repository,
        "inbox bucket": function.inbox.bucket,
        "access-log bucket": function.inbox.access_logs,
        "function log group": function.mailer.log_group,
        "image build log group": function.cloud_image.build_log_group,
        "image build handler log group": function.cloud_image.handler_log_group,
        "live mark handler log group": function.live_mark.log_group,
        "alarm topic key": function.operations.node.find_child("AlarmTopicKey"),
    }


def _fixed(synthesized: Synthesized) -> dict[str, tuple[IConstruct, RemovalPolicy]]:
    assert synthesized.stacks.deployer is not None
    return {
        "idempotency table": (synthesized.stacks.function.mailer.idempotency_table, RemovalPolicy.DESTROY),
        "GitHub OIDC provider": (synthesized.stacks.deployer.deployer.provider, RemovalPolicy.RETAIN),
    }


def _templates(synthesized: Synthesized) -> dict[str, Template]:
    assert synthesized.deployer is not None
    stacks = synthesized.stacks
    assert stacks.deployer is not None
    return {
        stacks.registry.stack_name: synthesized.registry,
        stacks.function.stack_name: synthesized.function,
        stacks.deployer.stack_name: synthesized.deployer,
    }


def _resource(synthesized: Synthesized, construct: IConstruct) -> dict[str, Any]:
    stack = Stack.of(construct)
    resource: dict[str, Any] = _templates(synthesized)[stack.stack_name].to_json()["Resources"][
        synthesized.logical_id(construct)
    ]
    return resource


def _policies(resource: dict[str, Any]) -> tuple[str, str]:
    return resource["DeletionPolicy"], resource["UpdateReplacePolicy"]


def _removal(synthesized: Synthesized) -> Removal:
    return REMOVALS[synthesized.settings.removal_policy]


def test_the_mapping_has_one_entry_per_accepted_value_of_the_setting() -> None:
    assert sorted(REMOVALS) == sorted(REMOVAL_POLICIES)
    assert all(removal.policy in CLOUDFORMATION for removal in REMOVALS.values())


def test_every_resource_that_follows_the_setting_is_kept_or_deleted_as_the_mapping_says(
    removal_synth: Synthesized,
) -> None:
    expected = CLOUDFORMATION[_removal(removal_synth).policy]
    for name, construct in _following_the_setting(removal_synth).items():
        assert _policies(_resource(removal_synth, construct)) == (expected, expected), name


def test_the_repository_is_emptied_before_deletion_exactly_when_the_mapping_says(removal_synth: Synthesized) -> None:
    repository = _resource(removal_synth, removal_synth.stacks.registry.registry.repository)
    assert repository["Properties"].get("EmptyOnDelete", False) is _removal(removal_synth).empty_repository


def test_no_bucket_is_ever_emptied_by_the_stack(removal_synth: Synthesized) -> None:
    # CDK's auto-delete is a custom resource with a function that deletes every object of the bucket.
    removal = _removal(removal_synth)
    assert removal.empty_buckets is False
    assert removal_synth.function.find_resources("Custom::S3AutoDeleteObjects") == {}


def test_the_idempotency_table_and_the_oidc_provider_do_not_follow_the_setting(removal_synth: Synthesized) -> None:
    for name, (construct, policy) in _fixed(removal_synth).items():
        expected = CLOUDFORMATION[policy]
        assert _policies(_resource(removal_synth, construct)) == (expected, expected), name


def test_every_stateful_resource_of_the_app_is_one_of_those_above(removal_synth: Synthesized) -> None:
    # A new bucket, log group, key, table or repository must be added here, following the setting or fixed.
    named = {
        (Stack.of(construct).stack_name, removal_synth.logical_id(construct))
        for construct in [
            *_following_the_setting(removal_synth).values(),
            *(construct for construct, _ in _fixed(removal_synth).values()),
        ]
    }
    present = {
        (stack_name, logical_id)
        for stack_name, template in _templates(removal_synth).items()
        for kind in STATEFUL_TYPES
        for logical_id in template.find_resources(kind)
    }
    assert present == named
