"""The function stack's mailer: the image function, where its image goes, and what its role may do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inbox_mailer.contract import METRICS_NAMESPACE, SERVICE_NAME
from stacks.mailer import ARCHITECTURE
from tests.handler.support import CONTRACT_ENV
from tests.infra.conftest import ROOT, Synthesized, ses_arn


def _function(synthesized: Synthesized) -> dict[str, Any]:
    functions = synthesized.function.find_resources("AWS::Lambda::Function")
    stack = synthesized.stacks.function
    mailer, mark = synthesized.logical_id(stack.mailer.function), synthesized.logical_id(stack.live_mark.handler)
    assert set(functions) == {mailer, mark}, "the stack's functions are the mailer and the live mark's handler"
    return dict(functions[mailer])


def _docker_image(synthesized: Synthesized) -> dict[str, Any]:
    images = synthesized.asset_manifest(synthesized.stacks.function.stack_name)["dockerImages"]
    assert len(images) == 1
    image: dict[str, Any] = next(iter(images.values()))
    return image


def _statements(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    role_ref = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.role)}
    policies = [
        p
        for p in synthesized.function.find_resources("AWS::IAM::Policy").values()
        if role_ref in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    return {
        s.get("Sid") or ",".join(sorted(s["Action"])): s
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
    }


def test_function_is_an_arm64_container_image(synthesized: Synthesized) -> None:
    props = _function(synthesized)["Properties"]
    assert props["PackageType"] == "Image"
    assert props["Architectures"] == ["arm64"]
    assert "Runtime" not in props
    assert "Handler" not in props


def test_image_uri_points_into_the_registry_repository_not_the_bootstrap_one(synthesized: Synthesized) -> None:
    image = _docker_image(synthesized)
    (destination,) = image["destinations"].values()
    uri = _function(synthesized)["Properties"]["Code"]["ImageUri"]["Fn::Sub"]
    assert uri == (
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
        f"{synthesized.settings.repository_name}:{destination['imageTag']}"
    )
    assert "container-assets" not in uri


def test_image_is_built_for_the_function_architecture_and_pushed_to_the_registry(synthesized: Synthesized) -> None:
    image = _docker_image(synthesized)
    architectures = _function(synthesized)["Properties"]["Architectures"]
    assert image["source"]["platform"] == ARCHITECTURE.docker_platform == f"linux/{architectures[0]}"
    (destination,) = image["destinations"].values()
    assert destination["repositoryName"] == synthesized.settings.repository_name
    assert destination["assumeRoleArn"] == (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/inbox-mailer-dev-publishing-${AWS::Region}"
    )


def test_image_is_built_from_lambda_image_with_its_dockerfile(synthesized: Synthesized) -> None:
    staged = Path(synthesized.assembly.directory) / _docker_image(synthesized)["source"]["directory"]
    assert (staged / "Dockerfile").read_text() == (ROOT / "lambda_image" / "Dockerfile").read_text()


def test_function_assets_are_published_only_after_the_registry_stack_is_deployed(synthesized: Synthesized) -> None:
    function_stack = synthesized.stacks.function.stack_name
    registry_stack = synthesized.stacks.registry.stack_name
    assets = synthesized.assembly.get_stack_by_name(function_stack).dependencies
    asset_artifact = next(a for a in assets if a.id == f"{function_stack}.assets")
    assert registry_stack in [d.id for d in asset_artifact.dependencies]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [("MemorySize", 512), ("Timeout", 60), ("TracingConfig", {"Mode": "Active"})],
)
def test_function_sizing_comes_from_the_settings(synthesized: Synthesized, prop: str, expected: Any) -> None:
    assert _function(synthesized)["Properties"][prop] == expected


def test_function_logs_to_its_own_log_group_with_the_configured_retention(synthesized: Synthesized) -> None:
    log_group_id = _function(synthesized)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = synthesized.function.to_json()["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == synthesized.settings.log_retention_days == 30
    assert log_group["DeletionPolicy"] == "Retain"


def test_function_role_is_its_own_trusted_by_lambda_without_managed_policies(synthesized: Synthesized) -> None:
    roles = synthesized.function.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Action": "sts:AssumeRole",
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ]
                }
            }
        },
    )
    stack = synthesized.stacks.function
    mailer_role, mark_role = stack.mailer.role, stack.live_mark.handler.role
    assert mark_role is not None
    # Each function has its own role: the mailer's and the live mark handler's.
    assert set(roles) == {synthesized.logical_id(mailer_role), synthesized.logical_id(mark_role)}
    for role in roles.values():
        assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    role_id = next(iter(roles))
    assert _function(synthesized)["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_role_may_write_only_its_own_log_group(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["logs:CreateLogStream,logs:PutLogEvents"]
    log_group_id = _function(synthesized)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert statement["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}


def test_role_may_read_objects_under_the_inbox_prefix_only(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["ReadUploadedFiles"]
    assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    bucket_id = synthesized.stacks.function.inbox.bucket_logical_id
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/incoming/*"]]}


def test_role_may_list_the_bucket_so_a_deleted_file_reads_as_404_not_403(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["TellDeletedFilesFromForbiddenOnes"]
    assert statement["Action"] == "s3:ListBucket"
    bucket_id = synthesized.stacks.function.inbox.bucket_logical_id
    assert statement["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}


def test_role_may_list_versions_only_inside_the_inbox_prefix_to_see_whether_an_upload_was_withdrawn(
    synthesized: Synthesized,
) -> None:
    # The delete-marker check lists the event's key (Prefix=<key>); without the condition the role could list
    # every key of the bucket, and without the action it could not tell a withdrawn upload from a live one.
    bucket_id = synthesized.stacks.function.inbox.bucket_logical_id
    assert _statements(synthesized)["SeeWhetherAnUploadWasWithdrawn"] == {
        "Sid": "SeeWhetherAnUploadWasWithdrawn",
        "Effect": "Allow",
        "Action": "s3:ListBucketVersions",
        "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": "incoming/*"}},
    }


def test_only_the_withdrawal_check_may_list_versions(synthesized: Synthesized) -> None:
    listing = [key for key, s in _statements(synthesized).items() if "s3:ListBucketVersions" in s["Action"]]
    assert listing == ["SeeWhetherAnUploadWasWithdrawn"]


def test_role_may_send_mail_only_from_the_configured_identity_and_address(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["SendFromTheConfiguredSenderOnly"]
    assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert statement["Resource"] == ses_arn(":identity/mailer@example.com")
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "mailer@example.com"}}


def test_role_may_use_only_item_actions_on_the_idempotency_table(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["RememberMailedFiles"]
    assert statement["Action"] == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    (table_id,) = synthesized.function.find_resources("AWS::DynamoDB::GlobalTable")
    assert statement["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_role_may_consume_only_the_inbox_queue(synthesized: Synthesized) -> None:
    (queue_statement,) = [s for s in _statements(synthesized).values() if "sqs:ReceiveMessage" in s["Action"]]
    queue_id = synthesized.logical_id(synthesized.stacks.function.inbox.queue)
    assert queue_statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert not any(a.startswith("sqs:Send") or a == "sqs:*" for a in queue_statement["Action"])


def test_role_may_put_messages_back_only_on_the_inbox_queue(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["PutThrottledFilesBack"]
    assert statement["Action"] == "sqs:SendMessage"
    queue_id = synthesized.logical_id(synthesized.stacks.function.inbox.queue)
    assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_role_may_read_the_sending_rate_which_has_no_resource(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["ReadTheAccountsSendingRate"]
    assert statement["Action"] == "ses:GetAccount"
    assert statement["Resource"] == "*"


def test_role_has_no_other_statements(synthesized: Synthesized) -> None:
    assert sorted(_statements(synthesized)) == sorted(
        [
            "logs:CreateLogStream,logs:PutLogEvents",
            "PutThrottledFilesBack",
            "ReadTheAccountsSendingRate",
            "ReadUploadedFiles",
            "TellDeletedFilesFromForbiddenOnes",
            "RememberMailedFiles",
            "SeeWhetherAnUploadWasWithdrawn",
            "SendFromTheConfiguredSenderOnly",
            "SendThroughTheAppsConfigurationSet",
            "xray:PutTelemetryRecords,xray:PutTraceSegments",
            "sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage",
        ]
    )


def test_function_environment_sets_exactly_the_variables_the_handler_tests_run_with(synthesized: Synthesized) -> None:
    variables = _function(synthesized)["Properties"]["Environment"]["Variables"]
    assert sorted(variables) == sorted(CONTRACT_ENV)


def test_function_environment_carries_the_settings_the_handler_reads(synthesized: Synthesized) -> None:
    variables = _function(synthesized)["Properties"]["Environment"]["Variables"]
    assert variables["SENDER_ADDRESS"] == "mailer@example.com"
    assert variables["RECIPIENTS"] == "ops@example.com"
    assert variables["INBOX_PREFIX"] == "incoming/"
    assert variables["MAX_MESSAGE_BYTES"] == str(10 * 1024 * 1024)
    assert variables["LINK_EXPIRY_SECONDS"] == "3600"
    assert variables["INBOX_BUCKET"] == {"Ref": synthesized.stacks.function.inbox.bucket_logical_id}
    (table_id,) = synthesized.function.find_resources("AWS::DynamoDB::GlobalTable")
    assert variables["IDEMPOTENCY_TABLE"] == {"Ref": table_id}
    assert variables["QUEUE_URL"] == {"Ref": synthesized.logical_id(synthesized.stacks.function.inbox.queue)}
    assert variables["MAX_CONCURRENCY"] == "2"


def test_the_bench_runs_the_function_with_the_same_variables_as_the_stack() -> None:
    from bench.cold_start import FUNCTION_ENV

    assert sorted(name for name in FUNCTION_ENV if not name.startswith("AWS_")) == sorted(CONTRACT_ENV)


def test_function_logs_and_publishes_metrics_under_the_names_the_alarms_and_dashboard_watch(
    synthesized: Synthesized,
) -> None:
    # Powertools reads these: another namespace or service would leave FilesFailed and UnexpectedSkips silent.
    variables = _function(synthesized)["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE == "InboxMailer"
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME == "inbox-mailer"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_function_and_role_describe_themselves_in_the_console(synthesized: Synthesized) -> None:
    assert _function(synthesized)["Properties"]["Description"] == (
        "Mails each file uploaded to the inbox to the configured recipients"
    )
    role = synthesized.function_resource(synthesized.stacks.function.mailer.role)
    assert role["Properties"]["Description"] == (
        "The inbox mailer function: read inbox files, send mail from one identity, log"
    )


def test_role_may_send_through_the_apps_configuration_set_only_as_the_sender(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["SendThroughTheAppsConfigurationSet"]
    configuration_set = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.configuration_set)}
    assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert statement["Resource"] == ses_arn(":configuration-set/", configuration_set)
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "mailer@example.com"}}


def test_role_may_write_traces_which_have_no_resource(synthesized: Synthesized) -> None:
    statement = _statements(synthesized)["xray:PutTelemetryRecords,xray:PutTraceSegments"]
    assert statement["Resource"] == "*"
    assert statement["Effect"] == "Allow"


def test_every_statement_of_the_role_allows_and_none_has_a_wildcard_action(synthesized: Synthesized) -> None:
    for key, statement in _statements(synthesized).items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Effect"] == "Allow", key
        assert not [a for a in actions if "*" in a], key
