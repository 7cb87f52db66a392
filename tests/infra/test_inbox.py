"""The inbox: bucket → EventBridge → queue → function, with every number that keeps mail flowing once."""

from __future__ import annotations

from typing import Any

from stacks.inbox import DEAD_LETTER_RETENTION, MAX_RECEIVE_COUNT, QUEUE_RETENTION, VISIBILITY_TIMEOUT_FACTOR
from tests.handler.support import upload_rule_pattern
from tests.infra.conftest import Synthesized


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
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
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
    # The only function in the stack is the mailer: no notifications handler was added.
    assert len(synthesized.function.find_resources("AWS::Lambda::Function")) == 1


def test_rule_matches_objects_created_under_the_inbox_prefix_of_this_bucket(synthesized: Synthesized) -> None:
    (rule,) = synthesized.function.find_resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": synthesized.stacks.function.inbox.bucket_logical_id}]},
            "object": {"key": [{"prefix": synthesized.settings.inbox_prefix}]},
        },
    }


def test_handler_tests_route_uploads_with_the_same_rule_as_the_stack(synthesized: Synthesized) -> None:
    (rule,) = synthesized.function.find_resources("AWS::Events::Rule").values()
    bucket_ref = {"Ref": synthesized.stacks.function.inbox.bucket_logical_id}
    assert rule["Properties"]["EventPattern"] == upload_rule_pattern(bucket_ref, synthesized.settings.inbox_prefix)


def test_rule_target_is_the_queue_with_its_own_dead_letter_queue(synthesized: Synthesized) -> None:
    stack = synthesized.stacks.function
    inbox = stack.inbox
    (rule,) = synthesized.function.find_resources("AWS::Events::Rule").values()
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
