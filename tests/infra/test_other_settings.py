"""The same app with every optional setting turned the other way: synthesized once for this module."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Synthesized, cdk_json_context, synthesize

OTHER_SETTINGS = {
    "stage": "prod",
    "account": "123456789012",
    "region": "eu-west-1",
    "sender": "mailer@mail.example.org",
    "sender_identity": "mail.example.org",
    "recipients": "a@example.org,b@example.org",
    "create_sender_identity": "true",
    "removal_policy": "destroy",
    "reserved_concurrency": "6",
    "max_concurrency": "4",
    "timeout_seconds": "120",
    "memory_mib": "1024",
    "images_to_keep": "25",
    "inbox_prefix": "drop/box/",
    "log_retention_days": "90",
    "max_message_bytes": "20971520",
    "link_expiry_seconds": "900",
    "alarm_emails": "oncall@example.org",
    "github_repository": "octo-org/inbox-mailer",
}


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize({**cdk_json_context(), **OTHER_SETTINGS}, tmp_path_factory.mktemp("other.out"))


def test_the_deployer_stack_is_named_after_the_stage_and_pinned_to_the_same_account_and_region(
    other: Synthesized,
) -> None:
    # Its role may only assume the roles of a deploy in its own account and region.
    assert other.stacks.deployer is not None
    assert other.stacks.deployer.stack_name == "inbox-mailer-prod-deployer"
    assert (other.stacks.deployer.account, other.stacks.deployer.region) == ("123456789012", "eu-west-1")


def _function(other: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = other.function_resource(other.stacks.function.mailer.function)["Properties"]
    return props


def test_stacks_are_named_after_the_stage_and_pinned_to_the_account_and_region(other: Synthesized) -> None:
    for stack, suffix in ((other.stacks.registry, "registry"), (other.stacks.function, "function")):
        assert stack.stack_name == f"inbox-mailer-prod-{suffix}"
        assert (stack.account, stack.region) == ("123456789012", "eu-west-1")


def test_stack_creates_the_sender_domain_identity_when_asked(other: Synthesized) -> None:
    identities = other.function.find_resources("AWS::SES::EmailIdentity")
    assert [i["Properties"]["EmailIdentity"] for i in identities.values()] == ["mail.example.org"]


def test_sending_is_allowed_from_the_domain_identity_for_the_sender_address_only(other: Synthesized) -> None:
    (policy,) = [
        p
        for p in other.function.find_resources("AWS::IAM::Policy").values()
        if any(
            s.get("Sid") == "SendFromTheConfiguredSenderOnly" for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    (statement,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "SendFromTheConfiguredSenderOnly"
    ]
    assert statement["Resource"] == "arn:aws:ses:eu-west-1:123456789012:identity/mail.example.org"
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "mailer@mail.example.org"}}


def test_destroy_removal_policy_deletes_repository_bucket_and_logs(other: Synthesized) -> None:
    (repository,) = other.registry.find_resources("AWS::ECR::Repository").values()
    assert repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["EmptyOnDelete"] is True
    for bucket in other.function.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Delete"
    log_groups = other.function.find_resources("AWS::Logs::LogGroup").values()
    assert log_groups
    for log_group in log_groups:
        assert log_group["DeletionPolicy"] == "Delete"


def test_a_reservation_when_one_is_set_and_the_rest_follows_the_settings(other: Synthesized) -> None:
    props = _function(other)
    assert props["ReservedConcurrentExecutions"] == 6
    assert (props["Timeout"], props["MemorySize"]) == (120, 1024)
    assert props["Environment"]["Variables"]["RECIPIENTS"] == "a@example.org,b@example.org"
    assert props["Environment"]["Variables"]["INBOX_PREFIX"] == "drop/box/"
    queue = other.function_resource(other.stacks.function.inbox.queue)["Properties"]
    assert queue["VisibilityTimeout"] == 6 * 120
    (mapping,) = other.function.find_resources("AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 4}


def test_rule_and_read_permission_follow_the_inbox_prefix(other: Synthesized) -> None:
    rule = other.function_resource(other.stacks.function.inbox.rule)
    assert rule["Properties"]["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "drop/box/"}]}
    bucket_id = other.stacks.function.inbox.bucket_logical_id
    reads = [
        s
        for p in other.function.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ReadUploadedFiles"
    ]
    assert reads[0]["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/drop/box/*"]]}


def test_listing_versions_follows_the_inbox_prefix(other: Synthesized) -> None:
    (listing,) = [
        s
        for p in other.function.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "SeeWhetherAnUploadWasWithdrawn"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "drop/box/*"}}


def test_lifecycle_keeps_the_configured_number_of_images(other: Synthesized) -> None:
    (repository,) = other.registry.find_resources("AWS::ECR::Repository").values()
    assert '"countNumber":25' in repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    assert repository["Properties"]["RepositoryName"] == "inbox-mailer-prod"


def test_the_function_is_told_every_limit_from_the_settings(other: Synthesized) -> None:
    variables = _function(other)["Environment"]["Variables"]
    assert variables["SENDER_ADDRESS"] == "mailer@mail.example.org"
    assert variables["MAX_MESSAGE_BYTES"] == "20971520"
    assert variables["LINK_EXPIRY_SECONDS"] == "900"
    assert variables["MAX_CONCURRENCY"] == "4"
    # The queue's retention does not depend on the settings, and neither does how long a record lives.
    assert variables["IDEMPOTENCY_TTL_SECONDS"] == "345600"


def test_the_function_log_keeps_the_configured_number_of_days(other: Synthesized) -> None:
    log_group = other.function_resource(other.stacks.function.mailer.log_group)
    assert log_group["Properties"]["RetentionInDays"] == 90


def test_destroy_also_deletes_the_alarm_topic_key_and_the_table_stays_deletable(other: Synthesized) -> None:
    key = other.function_resource(other.stacks.function.operations.node.find_child("AlarmTopicKey"))
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")
    table = other.function_resource(other.stacks.function.mailer.idempotency_table)
    assert table["DeletionPolicy"] == "Delete"


def test_the_domain_identity_keeps_its_logical_id_so_a_verified_domain_is_never_replaced(other: Synthesized) -> None:
    # A replacement would create the identity again under the same name, which SES refuses while the old one exists.
    (logical_id,) = other.function.find_resources("AWS::SES::EmailIdentity")
    assert logical_id == "SenderIdentity5AECAF6F"


def test_the_dashboard_marks_the_thresholds_of_these_settings(other: Synthesized) -> None:
    (dashboard,) = other.function.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))
    annotations = {
        a["label"]: a["value"]
        for widget in body["widgets"]
        for a in widget["properties"].get("annotations", {}).get("horizontal", [])
    }
    assert annotations["timeout"] == 120 * 1000
    assert annotations["max_concurrency"] == 4
    assert annotations["QueueAge alarm"] == 120 * 6 * 2


def test_the_alarm_topic_is_named_after_the_stage_and_mails_the_configured_address(other: Synthesized) -> None:
    (topic_id, topic), *_ = other.function.find_resources("AWS::SNS::Topic").items()
    assert topic["Properties"]["DisplayName"] == "inbox-mailer prod alarms"
    (subscription,) = other.function.find_resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {
        "Endpoint": "oncall@example.org",
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }


def test_with_a_reservation_the_reserved_concurrency_check_is_no_longer_skipped(other: Synthesized) -> None:
    function = other.function_resource(other.stacks.function.mailer.function)
    assert [s["id"] for s in function["Metadata"]["checkov"]["skip"]] == [
        "CKV_AWS_116",
        "CKV_AWS_117",
        "CKV_AWS_173",
        "CKV_AWS_272",
    ]
