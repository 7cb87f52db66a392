"""Stateful resources keep their logical ids: a changed id makes CloudFormation replace the resource.

A rename of a construct id (or of a construct above it) changes the logical id; CloudFormation then creates a new
resource and deletes the old one: files, messages in flight or "already mailed" markers are lost, or the deploy
fails on a fixed name. docs/checks.md, "Renaming a stateful resource on purpose", says how to rename one
deliberately.
"""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized


def _resource(template: Any, logical_id: str, kind: str) -> None:
    resources = template.to_json()["Resources"]
    assert logical_id in resources, f"{logical_id} is gone: a deploy would replace the {kind}"
    assert resources[logical_id]["Type"] == kind


def test_image_repository_keeps_its_id_so_the_images_the_function_runs_are_never_deleted(
    synthesized: Synthesized,
) -> None:
    _resource(synthesized.registry, "RegistryRepositoryC6C96DCD", "AWS::ECR::Repository")
    assert synthesized.logical_id(synthesized.stacks.registry.repository) == "RegistryRepositoryC6C96DCD"


def test_inbox_bucket_keeps_its_id_so_a_deploy_never_replaces_it_and_loses_uploaded_files(
    synthesized: Synthesized,
) -> None:
    _resource(synthesized.function, "InboxBucket1EDE8E4F", "AWS::S3::Bucket")
    assert synthesized.logical_id(synthesized.stacks.function.inbox.bucket) == "InboxBucket1EDE8E4F"


def test_access_log_bucket_keeps_its_id_so_the_access_history_stays(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "InboxAccessLogsB866979D", "AWS::S3::Bucket")
    assert synthesized.logical_id(synthesized.stacks.function.inbox.access_logs) == "InboxAccessLogsB866979D"


def test_queue_keeps_its_id_so_messages_in_flight_are_not_lost(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "InboxQueue96F60793", "AWS::SQS::Queue")
    assert synthesized.logical_id(synthesized.stacks.function.inbox.queue) == "InboxQueue96F60793"


def test_dead_letter_queue_keeps_its_id_so_failed_files_waiting_there_are_not_lost(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "InboxDeadLetterQueueAFDED11D", "AWS::SQS::Queue")
    inbox = synthesized.stacks.function.inbox
    assert synthesized.logical_id(inbox.dead_letter_queue) == "InboxDeadLetterQueueAFDED11D"


def test_undeliverable_events_queue_keeps_its_id_so_events_waiting_there_are_not_lost(
    synthesized: Synthesized,
) -> None:
    _resource(synthesized.function, "InboxUndeliverableEventsC115EECF", "AWS::SQS::Queue")
    inbox = synthesized.stacks.function.inbox
    assert synthesized.logical_id(inbox.undeliverable_events) == "InboxUndeliverableEventsC115EECF"


def test_idempotency_table_keeps_its_id_so_mailed_markers_survive_and_nothing_is_mailed_twice(
    synthesized: Synthesized,
) -> None:
    _resource(synthesized.function, "MailerIdempotencyTable2014A358", "AWS::DynamoDB::GlobalTable")
    table = synthesized.stacks.function.mailer.idempotency_table
    assert synthesized.logical_id(table) == "MailerIdempotencyTable2014A358"


def test_log_group_keeps_its_id_so_the_function_logs_are_kept(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "MailerLogGroup4F7F9170", "AWS::Logs::LogGroup")
    assert synthesized.logical_id(synthesized.stacks.function.mailer.log_group) == "MailerLogGroup4F7F9170"


def test_alarm_topic_keeps_its_id_so_confirmed_email_subscriptions_are_not_dropped(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "OperationsAlarmTopic909EF7A3", "AWS::SNS::Topic")
    assert synthesized.logical_id(synthesized.stacks.function.operations.topic) == "OperationsAlarmTopic909EF7A3"


def test_alarm_topic_key_keeps_its_id_so_a_deploy_never_schedules_the_key_for_deletion(
    synthesized: Synthesized,
) -> None:
    _resource(synthesized.function, "OperationsAlarmTopicKey52078457", "AWS::KMS::Key")


def test_configuration_set_keeps_its_id_so_the_apps_ses_numbers_keep_their_history(synthesized: Synthesized) -> None:
    _resource(synthesized.function, "MailerConfigurationSet5BCF2945", "AWS::SES::ConfigurationSet")
    configuration_set = synthesized.stacks.function.mailer.configuration_set
    assert synthesized.logical_id(configuration_set) == "MailerConfigurationSet5BCF2945"


def test_upload_rule_keeps_its_id_so_the_event_delivery_alarm_keeps_watching_the_same_rule(
    synthesized: Synthesized,
) -> None:
    # The rule's name is made from its id: a new one would start the alarm's metric, and the queues' grants, over.
    _resource(synthesized.function, "InboxUploadedRuleC356DFBC", "AWS::Events::Rule")
    assert synthesized.logical_id(synthesized.stacks.function.inbox.rule) == "InboxUploadedRuleC356DFBC"


def test_dashboard_keeps_its_id_since_a_resource_with_a_fixed_name_cannot_be_replaced(synthesized: Synthesized) -> None:
    # The dashboard is named per stage and region: CloudFormation refuses to replace a custom-named resource.
    _resource(synthesized.function, "OperationsDashboardE19B83FC", "AWS::CloudWatch::Dashboard")
    assert synthesized.logical_id(synthesized.stacks.function.operations.dashboard) == "OperationsDashboardE19B83FC"
