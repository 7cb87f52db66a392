"""The inbox: bucket → EventBridge → queue → function, with every number that keeps mail flowing once."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.inbox import DEAD_LETTER_RETENTION, MAX_RECEIVE_COUNT, QUEUE_RETENTION, VISIBILITY_TIMEOUT_FACTOR
from tests.handler.support import upload_rule_pattern
from tests.infra.conftest import Synthesized

NO_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
S3_MANAGED_ENCRYPTION = [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]


def _resource(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return synthesized.function_resource(construct)


def _queue(synthesized: Synthesized, name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resource(synthesized, getattr(synthesized.stacks.function.inbox, name))["Properties"]
    return props


def _function_props(synthesized: Synthesized) -> dict[str, Any]:
    props: dict[str, Any] = _resource(synthesized, synthesized.stacks.function.mailer.function)["Properties"]
    return props


def _mapping(synthesized: Synthesized) -> dict[str, Any]:
    (mapping,) = synthesized.function.find_resources("AWS::Lambda::EventSourceMapping").values()
    props: dict[str, Any] = mapping["Properties"]
    return props


def _bucket(synthesized: Synthesized) -> dict[str, Any]:
    return _resource(synthesized, synthesized.stacks.function.inbox.bucket)


def test_bucket_is_private_encrypted_versioned_and_ssl_only(synthesized: Synthesized) -> None:
    props = _bucket(synthesized)["Properties"]
    assert props["PublicAccessBlockConfiguration"] == NO_PUBLIC_ACCESS
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == S3_MANAGED_ENCRYPTION
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    bucket_id = synthesized.stacks.function.inbox.bucket_logical_id
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.function.find_resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert len(policies) == 1
    (deny,) = [s for s in policies[0] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "s3:*"


def test_bucket_expires_old_versions_and_logs_access(synthesized: Synthesized) -> None:
    props = _bucket(synthesized)["Properties"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synthesized.logical_id(synthesized.stacks.function.inbox.access_logs)
    }


def test_bucket_is_retained_on_delete_by_default(synthesized: Synthesized) -> None:
    assert _bucket(synthesized)["DeletionPolicy"] == "Retain"


def test_bucket_sends_events_to_eventbridge_natively_without_a_custom_resource(synthesized: Synthesized) -> None:
    props = _bucket(synthesized)["Properties"]
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert synthesized.function.find_resources("Custom::S3BucketNotifications") == {}
    # The stack's functions are the mailer and the live mark's handler: no notifications handler was added.
    functions = synthesized.function.find_resources("AWS::Lambda::Function")
    stack = synthesized.stacks.function
    assert set(functions) == {
        synthesized.logical_id(stack.mailer.function),
        synthesized.logical_id(stack.live_mark.handler),
    }


def test_rule_matches_objects_created_under_the_inbox_prefix_of_this_bucket(synthesized: Synthesized) -> None:
    rule = synthesized.function_resource(synthesized.stacks.function.inbox.rule)
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": synthesized.stacks.function.inbox.bucket_logical_id}]},
            "object": {"key": [{"prefix": synthesized.settings.inbox_prefix}]},
        },
    }


def test_handler_tests_route_uploads_with_the_same_rule_as_the_stack(synthesized: Synthesized) -> None:
    rule = synthesized.function_resource(synthesized.stacks.function.inbox.rule)
    bucket_ref = {"Ref": synthesized.stacks.function.inbox.bucket_logical_id}
    assert rule["Properties"]["EventPattern"] == upload_rule_pattern(bucket_ref, synthesized.settings.inbox_prefix)


def test_rule_target_is_the_queue_with_its_own_dead_letter_queue(synthesized: Synthesized) -> None:
    stack = synthesized.stacks.function
    inbox = stack.inbox
    rule = synthesized.function_resource(synthesized.stacks.function.inbox.rule)
    (target,) = rule["Properties"]["Targets"]
    queue_id = synthesized.logical_id(inbox.queue)
    undeliverable_id = synthesized.logical_id(inbox.undeliverable_events)
    dead_letter_id = synthesized.logical_id(inbox.dead_letter_queue)
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [undeliverable_id, "Arn"]}}
    assert undeliverable_id not in (queue_id, dead_letter_id)


def test_queues_are_encrypted(synthesized: Synthesized) -> None:
    for name in ("queue", "dead_letter_queue", "undeliverable_events"):
        assert _queue(synthesized, name)["SqsManagedSseEnabled"] is True, name


def test_visibility_timeout_is_six_times_the_function_timeout(synthesized: Synthesized) -> None:
    timeout = _function_props(synthesized)["Timeout"]
    assert _queue(synthesized, "queue")["VisibilityTimeout"] == VISIBILITY_TIMEOUT_FACTOR * timeout == 360


def test_failed_messages_move_to_the_dead_letter_queue_after_five_receives(synthesized: Synthesized) -> None:
    stack = synthesized.stacks.function
    dead_letter_id = synthesized.logical_id(stack.inbox.dead_letter_queue)
    assert _queue(synthesized, "queue")["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert MAX_RECEIVE_COUNT == 5


def test_dead_letter_queue_keeps_messages_14_days_longer_than_the_source(synthesized: Synthesized) -> None:
    source = _queue(synthesized, "queue")["MessageRetentionPeriod"]
    dead = _queue(synthesized, "dead_letter_queue")["MessageRetentionPeriod"]
    assert dead == DEAD_LETTER_RETENTION.to_seconds() == 14 * 86400
    assert source == QUEUE_RETENTION.to_seconds()
    assert dead > source


def test_event_source_reports_batch_item_failures(synthesized: Synthesized) -> None:
    mapping = _mapping(synthesized)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    stack = synthesized.stacks.function
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [synthesized.logical_id(stack.inbox.queue), "Arn"]}


def test_maximum_concurrency_is_the_setting_and_the_default_reserves_nothing(
    synthesized: Synthesized,
) -> None:
    # The event source's maximum bounds the function; a reservation would fail on a new account.
    maximum = _mapping(synthesized)["ScalingConfig"]["MaximumConcurrency"]
    assert maximum == synthesized.settings.max_concurrency == 2
    assert "ReservedConcurrentExecutions" not in _function_props(synthesized)


def test_idempotency_records_outlive_every_message_of_the_queue(synthesized: Synthesized) -> None:
    variables = _function_props(synthesized)["Environment"]["Variables"]
    assert int(variables["IDEMPOTENCY_TTL_SECONDS"]) >= _queue(synthesized, "queue")["MessageRetentionPeriod"]
    (table,) = synthesized.function.find_resources("AWS::DynamoDB::GlobalTable").values()
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_outputs_tell_how_to_try_it(synthesized: Synthesized) -> None:
    outputs = synthesized.function.to_json()["Outputs"]
    bucket_ref = {"Ref": synthesized.stacks.function.inbox.bucket_logical_id}
    assert outputs["InboxBucketName"]["Value"] == bucket_ref
    assert outputs["TryIt"]["Value"] == {
        "Fn::Join": ["", ["aws s3 cp ./report.pdf s3://", bucket_ref, "/incoming/report.pdf"]]
    }
    assert {"QueueName", "DeadLetterQueueName"} <= set(outputs)


def test_function_never_gets_write_access_to_the_bucket(synthesized: Synthesized) -> None:
    for policy in synthesized.function.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            reads = ("s3:Get", "s3:List")
            assert not [a for a in actions if a.startswith("s3:") and not a.startswith(reads)], statement


def _statements(synthesized: Synthesized, kind: str, target: Any) -> list[dict[str, Any]]:
    """The statements of the one resource policy of `kind` attached to `target` (a bucket or a queue)."""
    ref = {"Ref": synthesized.logical_id(target)}
    attached = "Bucket" if kind == "AWS::S3::BucketPolicy" else "Queues"
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.function.find_resources(kind).values()
        if p["Properties"][attached] in (ref, [ref])
    ]
    statements: list[dict[str, Any]] = policy
    return statements


def test_access_log_bucket_is_private_encrypted_ssl_only_and_owned_by_the_account(synthesized: Synthesized) -> None:
    access_logs = synthesized.stacks.function.inbox.access_logs
    props = _resource(synthesized, access_logs)["Properties"]
    assert props["PublicAccessBlockConfiguration"] == NO_PUBLIC_ACCESS
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == S3_MANAGED_ENCRYPTION
    # No ACLs: the log objects belong to the account, not to the S3 logging service that writes them.
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (deny,) = [s for s in _statements(synthesized, "AWS::S3::BucketPolicy", access_logs) if s["Effect"] == "Deny"]
    assert (deny["Action"], deny["Condition"]) == ("s3:*", {"Bool": {"aws:SecureTransport": "false"}})


def test_access_logs_expire_after_90_days(synthesized: Synthesized) -> None:
    # Without the rule the logs of every upload would be kept, and paid for, forever.
    props = _resource(synthesized, synthesized.stacks.function.inbox.access_logs)["Properties"]
    assert props["LifecycleConfiguration"] == {"Rules": [{"ExpirationInDays": 90, "Status": "Enabled"}]}
    assert "VersioningConfiguration" not in props


def test_access_log_bucket_is_retained_with_its_logs_by_default(synthesized: Synthesized) -> None:
    access_logs = _resource(synthesized, synthesized.stacks.function.inbox.access_logs)
    assert (access_logs["DeletionPolicy"], access_logs["UpdateReplacePolicy"]) == ("Retain", "Retain")
    # Nothing empties a bucket on delete: no auto-delete custom resource.
    assert synthesized.function.find_resources("Custom::S3AutoDeleteObjects") == {}


def test_bucket_logs_access_under_inbox_and_only_s3_logging_for_this_bucket_may_write_there(
    synthesized: Synthesized,
) -> None:
    inbox = synthesized.stacks.function.inbox
    logging = _bucket(synthesized)["Properties"]["LoggingConfiguration"]
    assert logging == {
        "DestinationBucketName": {"Ref": synthesized.logical_id(inbox.access_logs)},
        "LogFilePrefix": "inbox/",
    }
    (allow,) = [
        s for s in _statements(synthesized, "AWS::S3::BucketPolicy", inbox.access_logs) if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    logs_arn = {"Fn::GetAtt": [synthesized.logical_id(inbox.access_logs), "Arn"]}
    assert allow["Resource"] == {"Fn::Join": ["", [logs_arn, "/inbox/*"]]}
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [inbox.bucket_logical_id, "Arn"]}},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }


def test_inbox_bucket_policy_only_refuses_plain_http(synthesized: Synthesized) -> None:
    # Nobody is granted anything by the bucket's own policy: reads go through the function's role only.
    statements = _statements(synthesized, "AWS::S3::BucketPolicy", synthesized.stacks.function.inbox.bucket)
    assert [s["Effect"] for s in statements] == ["Deny"]


@pytest.mark.parametrize("name", ["queue", "dead_letter_queue", "undeliverable_events"])
def test_every_queue_refuses_plain_http(synthesized: Synthesized, name: str) -> None:
    queue = getattr(synthesized.stacks.function.inbox, name)
    (deny,) = [s for s in _statements(synthesized, "AWS::SQS::QueuePolicy", queue) if s["Effect"] == "Deny"]
    assert deny["Action"] == "sqs:*"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == {"Fn::GetAtt": [synthesized.logical_id(queue), "Arn"]}


@pytest.mark.parametrize("name", ["queue", "undeliverable_events"])
def test_only_the_upload_rule_may_put_messages_on_the_queue_and_its_dead_letter_queue(
    synthesized: Synthesized, name: str
) -> None:
    inbox = synthesized.stacks.function.inbox
    allows = [
        s for s in _statements(synthesized, "AWS::SQS::QueuePolicy", getattr(inbox, name)) if s["Effect"] == "Allow"
    ]
    assert [s["Principal"] for s in allows] == [{"Service": "events.amazonaws.com"}]
    assert allows[0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [synthesized.logical_id(inbox.rule), "Arn"]}}
    }


def test_the_dead_letter_queue_lets_nobody_but_the_account_in(synthesized: Synthesized) -> None:
    # Messages reach it by the source queue's redrive policy, which needs no grant.
    dead_letters = synthesized.stacks.function.inbox.dead_letter_queue
    assert [s["Effect"] for s in _statements(synthesized, "AWS::SQS::QueuePolicy", dead_letters)] == ["Deny"]


def test_undeliverable_events_wait_14_days_and_go_nowhere_else(synthesized: Synthesized) -> None:
    props = _queue(synthesized, "undeliverable_events")
    assert props["MessageRetentionPeriod"] == DEAD_LETTER_RETENTION.to_seconds() == 14 * 86400
    assert "RedrivePolicy" not in props
    assert "RedrivePolicy" not in _queue(synthesized, "dead_letter_queue")


def test_the_queue_keeps_a_message_four_days(synthesized: Synthesized) -> None:
    assert _queue(synthesized, "queue")["MessageRetentionPeriod"] == 4 * 86400


def test_eventbridge_retries_an_event_185_times_within_a_day_before_giving_it_up(synthesized: Synthesized) -> None:
    rule = synthesized.function_resource(synthesized.stacks.function.inbox.rule)
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert rule["Properties"]["State"] == "ENABLED"
    assert rule["Properties"]["Description"] == "Files created under incoming/ in the inbox bucket"


def test_event_source_hands_the_function_five_files_at_a_time_without_waiting_to_fill_a_batch(
    synthesized: Synthesized,
) -> None:
    mapping = _mapping(synthesized)
    assert mapping["BatchSize"] == 5
    # No batching window: a file is picked up as soon as it arrives.
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping["FunctionName"] == {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.function)}
    assert mapping.get("Enabled", True) is True


def _table(synthesized: Synthesized) -> dict[str, Any]:
    return _resource(synthesized, synthesized.stacks.function.mailer.idempotency_table)


def test_idempotency_table_is_billed_per_request_and_keyed_by_a_string_id(synthesized: Synthesized) -> None:
    props = _table(synthesized)["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert "GlobalSecondaryIndexes" not in props
    assert "WriteProvisionedThroughputSettings" not in props


def test_idempotency_table_has_point_in_time_recovery_in_its_one_region(synthesized: Synthesized) -> None:
    assert _table(synthesized)["Properties"]["Replicas"] == [
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}, "Region": {"Ref": "AWS::Region"}}
    ]


def test_idempotency_table_is_deleted_with_the_stack_since_it_only_holds_short_lived_markers(
    synthesized: Synthesized,
) -> None:
    # Even with removal_policy retain: "already mailed" markers are worth nothing once the app is gone.
    table = _table(synthesized)
    assert synthesized.settings.removal_policy == "retain"
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_idempotency_records_live_exactly_as_long_as_a_message_may_wait_in_the_queue(synthesized: Synthesized) -> None:
    variables = _function_props(synthesized)["Environment"]["Variables"]
    assert variables["IDEMPOTENCY_TTL_SECONDS"] == str(_queue(synthesized, "queue")["MessageRetentionPeriod"])
    assert variables["IDEMPOTENCY_TTL_SECONDS"] == "345600"
