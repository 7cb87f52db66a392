"""Each construct built alone, from explicit typed inputs, in a bare stack: what each input changes in its template.

No settings and no checks: an app with only the CDK's feature flags of cdk.json (the access-log bucket needs them),
one stack, one construct, and small fakes for what it works with (an image from an existing repository, an existing
function, an existing configuration set or topic). The app-wide tests (test_inbox.py, test_function.py, ...) prove
that the stacks hand these inputs over from the settings and that the parts fit together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk.assertions import Capture, Match, Template
from constructs import Construct, IConstruct

from inbox_mailer.contract import ENVIRONMENT
from stacks.deployer import GitHubDeployRole
from stacks.inbox import MAX_RECEIVE_COUNT, QUEUE_RETENTION, VISIBILITY_TIMEOUT_FACTOR, Inbox
from stacks.mailer import SQS_BATCH_SIZE, Mailer
from stacks.operations import QUEUE_AGE_RETRY_CYCLES, Operations
from stacks.registry import UNTAGGED_IMAGE_DAYS, Registry
from stacks.removal import removal_for
from tests.handler.support import CONTRACT_ENV
from tests.infra.conftest import cdk_json_context

C = TypeVar("C", bound=Construct)


@dataclass(frozen=True)
class Alone(Generic[C]):
    """A construct built alone, and its stack's template."""

    unit: C
    template: Template

    def logical_id(self, construct: IConstruct) -> str:
        resource = construct.node.default_child or construct
        return Stack.of(construct).get_logical_id(resource)  # type: ignore[arg-type]

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.template.to_json()["Resources"][self.logical_id(construct)]
        return resource


def _bare_stack() -> Stack:
    """One stack in an app that knows the CDK's feature flags of cdk.json and none of the app's settings."""
    flags = {key: value for key, value in cdk_json_context().items() if key.startswith("@")}
    return Stack(App(context=flags), "Alone")


def _alone(build: Callable[[Stack], C]) -> Alone[C]:
    stack = _bare_stack()
    unit = build(stack)
    return Alone(unit, Template.from_stack(stack))


CONSUMER_TIMEOUT = Duration.seconds(45)


def _inbox_in(stack: Stack, *, consumer_timeout: Duration = CONSUMER_TIMEOUT) -> Inbox:
    return Inbox(stack, "Inbox", prefix="drop/box/", consumer_timeout=consumer_timeout, removal=removal_for("retain"))


def _statement(sid: str, **properties: Any) -> dict[str, Any]:
    """A matcher for the policy document holding the statement `sid` with `properties`."""
    return {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Sid": sid, **properties})])}}


# --- Inbox: prefix, consumer_timeout, removal ---


@pytest.fixture(scope="module")
def inbox() -> Alone[Inbox]:
    return _alone(_inbox_in)


@pytest.fixture(scope="module")
def destroyed_inbox() -> Alone[Inbox]:
    return _alone(
        lambda stack: Inbox(
            stack, "Inbox", prefix="incoming/", consumer_timeout=Duration.minutes(1), removal=removal_for("destroy")
        )
    )


def test_the_queues_visibility_timeout_is_derived_from_the_consumers_timeout(inbox: Alone[Inbox]) -> None:
    # GIVEN a consumer that may run 45 s THEN a message stays hidden for six of its runs
    assert inbox.unit.visibility_timeout.to_seconds() == 45 * VISIBILITY_TIMEOUT_FACTOR == 270
    assert inbox.resource(inbox.unit.queue)["Properties"]["VisibilityTimeout"] == 270


def test_a_file_that_keeps_failing_moves_to_the_inboxs_dead_letter_queue(inbox: Alone[Inbox]) -> None:
    target = Capture()
    inbox.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [target, "Arn"]},
                "maxReceiveCount": MAX_RECEIVE_COUNT,
            }
        },
    )
    assert target.as_string() == inbox.logical_id(inbox.unit.dead_letter_queue)


def test_only_uploads_under_the_prefix_of_the_inbox_bucket_become_messages(inbox: Alone[Inbox]) -> None:
    inbox.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Description": "Files created under drop/box/ in the inbox bucket",
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [{"Ref": inbox.unit.bucket_logical_id}]},
                    "object": {"key": [{"prefix": "drop/box/"}]},
                },
            },
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [inbox.logical_id(inbox.unit.queue), "Arn"]}})],
        },
    )


def test_the_inbox_tells_its_consumer_how_long_a_message_may_wait(inbox: Alone[Inbox]) -> None:
    assert inbox.unit.prefix == "drop/box/"
    assert inbox.unit.queue_retention is QUEUE_RETENTION
    assert inbox.resource(inbox.unit.queue)["Properties"]["MessageRetentionPeriod"] == QUEUE_RETENTION.to_seconds()


@pytest.mark.parametrize(("fixture", "policy"), [("inbox", "Retain"), ("destroyed_inbox", "Delete")])
def test_both_buckets_follow_the_removal_and_are_never_emptied_by_a_function(
    request: pytest.FixtureRequest, fixture: str, policy: str
) -> None:
    built: Alone[Inbox] = request.getfixturevalue(fixture)
    for bucket in (built.unit.bucket, built.unit.access_logs):
        assert built.resource(bucket)["DeletionPolicy"] == policy
    built.template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


# --- Registry: repository_name, publishing_role_name, images_to_keep, rollback_images, enhanced_scanning, removal ---


def _registry(images_to_keep: int, removal_policy: str) -> Alone[Registry]:
    return _alone(
        lambda stack: Registry(
            stack,
            "Registry",
            repository_name="mailer-images",
            publishing_role_name="mailer-test-publishing-eu-west-1",
            images_to_keep=images_to_keep,
            rollback_images=2,
            enhanced_scanning=False,
            removal=removal_for(removal_policy),
        )
    )


@pytest.fixture(scope="module")
def registry() -> Alone[Registry]:
    return _registry(7, "retain")


@pytest.fixture(scope="module")
def destroyed_registry() -> Alone[Registry]:
    return _registry(3, "destroy")


def _lifecycle_rules(registry: Alone[Registry]) -> list[dict[str, Any]]:
    text = Capture()
    registry.template.has_resource_properties(
        "AWS::ECR::Repository", {"LifecyclePolicy": {"LifecyclePolicyText": text}}
    )
    rules: list[dict[str, Any]] = json.loads(text.as_string())["rules"]
    return rules


@pytest.mark.parametrize(("fixture", "kept"), [("registry", 7), ("destroyed_registry", 3)])
def test_the_lifecycle_protects_the_marks_then_keeps_images_to_keep_tagged_images(
    request: pytest.FixtureRequest, fixture: str, kept: int
) -> None:
    live, rollback, untagged, tagged = _lifecycle_rules(request.getfixturevalue(fixture))
    assert [r["rulePriority"] for r in (live, rollback, untagged, tagged)] == [1, 2, 3, 4]
    assert (live["selection"]["tagPatternList"], live["selection"]["countNumber"]) == (["live"], 1)
    assert (rollback["selection"]["tagPatternList"], rollback["selection"]["countNumber"]) == (["rollback-*"], 2)
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": UNTAGGED_IMAGE_DAYS,
        "countUnit": "days",
    }
    assert tagged["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": kept,
    }
    assert f"newest {kept} tagged images" in tagged["description"]


def test_the_repository_and_the_publishing_role_have_the_given_names(registry: Alone[Registry]) -> None:
    registry.template.has_resource_properties("AWS::ECR::Repository", {"RepositoryName": "mailer-images"})
    registry.template.has_resource_properties("AWS::IAM::Role", {"RoleName": "mailer-test-publishing-eu-west-1"})
    assert registry.unit.repository_name == "mailer-images"
    assert registry.unit.publishing_role_arn_for_assets.startswith("arn:${AWS::Partition}:iam::")
    assert registry.unit.publishing_role_arn_for_assets.endswith(":role/mailer-test-publishing-eu-west-1")


def test_the_publishing_role_pushes_to_its_own_repository_only(registry: Alone[Registry]) -> None:
    repository_arn = {"Fn::GetAtt": [registry.logical_id(registry.unit.repository), "Arn"]}
    registry.template.has_resource_properties(
        "AWS::IAM::Policy", _statement("PushToThisRepositoryOnly", Resource=repository_arn)
    )


@pytest.mark.parametrize(
    ("fixture", "policy", "emptied"), [("registry", "Retain", False), ("destroyed_registry", "Delete", True)]
)
def test_the_repository_follows_the_removal_and_is_emptied_only_when_deleted(
    request: pytest.FixtureRequest, fixture: str, policy: str, emptied: bool
) -> None:
    built: Alone[Registry] = request.getfixturevalue(fixture)
    built.template.has_resource(
        "AWS::ECR::Repository",
        {"DeletionPolicy": policy, "Properties": Match.object_like({"EmptyOnDelete": emptied})},
    )


# --- Mailer: the inbox and image it works with, and every limit of the function ---

MAILER_TIMEOUT = Duration.seconds(90)


def _mailer(*, reserved_concurrency: int | None, removal_policy: str) -> Alone[Mailer]:
    """Every input away from cdk.json's values, so that each assertion shows the input it follows."""

    def build(stack: Stack) -> Mailer:
        return Mailer(
            stack,
            "Mailer",
            inbox=_inbox_in(stack, consumer_timeout=MAILER_TIMEOUT),
            # An image already in a repository: the function's own folder is not built for these tests.
            image=lambda_.DockerImageCode.from_ecr(ecr.Repository.from_repository_name(stack, "Images", "mailer")),
            sender="mailer@mail.example.org",
            ses_identity="mail.example.org",
            recipients=("a@example.org", "b@example.org"),
            memory_mib=1024,
            timeout=MAILER_TIMEOUT,
            max_concurrency=3,
            reserved_concurrency=reserved_concurrency,
            max_message_bytes=20 * 1024 * 1024,
            link_expiry=Duration.minutes(15),
            log_retention_days=90,
            removal=removal_for(removal_policy),
        )

    return _alone(build)


@pytest.fixture(scope="module")
def mailer() -> Alone[Mailer]:
    return _mailer(reserved_concurrency=4, removal_policy="destroy")


@pytest.fixture(scope="module")
def unreserved_mailer() -> Alone[Mailer]:
    return _mailer(reserved_concurrency=None, removal_policy="retain")


def _variables(mailer: Alone[Mailer]) -> dict[str, Any]:
    variables = Capture()
    mailer.template.has_resource_properties("AWS::Lambda::Function", {"Environment": {"Variables": variables}})
    return dict(variables.as_object())


def test_the_function_runs_with_the_given_memory_timeout_and_reservation(mailer: Alone[Mailer]) -> None:
    mailer.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "MemorySize": 1024,
            "Timeout": 90,
            "ReservedConcurrentExecutions": 4,
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_without_a_reservation_the_function_reserves_nothing_and_says_why(unreserved_mailer: Alone[Mailer]) -> None:
    unreserved_mailer.template.has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.absent()}
    )
    skips = unreserved_mailer.resource(unreserved_mailer.unit.function)["Metadata"]["checkov"]["skip"]
    assert [s["id"] for s in skips] == ["CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_115", "CKV_AWS_173"]


def test_the_function_gets_the_contracts_variables_and_no_other(mailer: Alone[Mailer]) -> None:
    # CONTRACT_ENV, which the handler's tests run with, is written by the same contract function
    assert list(_variables(mailer)) == list(CONTRACT_ENV)


@pytest.mark.parametrize(
    ("setting", "written"),
    [
        ("sender_address", "mailer@mail.example.org"),
        ("recipients", "a@example.org,b@example.org"),
        ("inbox_prefix", "drop/box/"),
        ("max_message_bytes", str(20 * 1024 * 1024)),
        ("link_expiry_seconds", "900"),
        ("max_concurrency", "3"),
        # Not an input: records live exactly as long as the inbox keeps a message.
        ("idempotency_ttl_seconds", str(int(QUEUE_RETENTION.to_seconds()))),
    ],
)
def test_each_input_the_function_needs_is_written_under_its_contract_variable(
    mailer: Alone[Mailer], setting: str, written: str
) -> None:
    assert _variables(mailer)[ENVIRONMENT[setting].name] == written


def test_the_names_the_function_needs_point_at_the_inbox_and_the_mailers_own_resources(mailer: Alone[Mailer]) -> None:
    variables = _variables(mailer)
    inbox: Inbox = Stack.of(mailer.unit).node.find_child("Inbox")  # type: ignore[assignment]

    def ref(construct: IConstruct) -> dict[str, str]:
        return {"Ref": mailer.logical_id(construct)}

    assert variables[ENVIRONMENT["inbox_bucket"].name] == ref(inbox.bucket)
    assert variables[ENVIRONMENT["queue_url"].name] == ref(inbox.queue)
    assert variables[ENVIRONMENT["idempotency_table"].name] == ref(mailer.unit.idempotency_table)
    assert variables[ENVIRONMENT["configuration_set"].name] == ref(mailer.unit.configuration_set)


def test_the_event_source_hands_over_batches_at_the_given_concurrency(mailer: Alone[Mailer]) -> None:
    mailer.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": SQS_BATCH_SIZE,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 3},
        },
    )


def test_the_function_sends_as_the_sender_only_from_its_identity_and_configuration_set(mailer: Alone[Mailer]) -> None:
    from_sender = {"StringEquals": {"ses:FromAddress": "mailer@mail.example.org"}}
    identity = Capture()
    mailer.template.has_resource_properties(
        "AWS::IAM::Policy",
        _statement("SendFromTheConfiguredSenderOnly", Condition=from_sender, Resource=identity),
    )
    assert identity.as_object()["Fn::Join"][1][-1] == ":identity/mail.example.org"
    mailer.template.has_resource_properties(
        "AWS::IAM::Policy", _statement("SendThroughTheAppsConfigurationSet", Condition=from_sender)
    )


def test_the_function_reads_and_lists_under_the_inboxs_prefix_only(mailer: Alone[Mailer]) -> None:
    mailer.template.has_resource_properties(
        "AWS::IAM::Policy",
        _statement("SeeWhetherAnUploadWasWithdrawn", Condition={"StringLike": {"s3:prefix": "drop/box/*"}}),
    )
    reads = Capture()
    mailer.template.has_resource_properties("AWS::IAM::Policy", _statement("ReadUploadedFiles", Resource=reads))
    assert reads.as_object()["Fn::Join"][1][-1] == "/drop/box/*"


@pytest.mark.parametrize(("fixture", "policy"), [("mailer", "Delete"), ("unreserved_mailer", "Retain")])
def test_the_log_keeps_the_given_days_and_follows_the_removal_while_the_table_always_goes(
    request: pytest.FixtureRequest, fixture: str, policy: str
) -> None:
    built: Alone[Mailer] = request.getfixturevalue(fixture)
    built.template.has_resource(
        "AWS::Logs::LogGroup", {"DeletionPolicy": policy, "Properties": {"RetentionInDays": 90}}
    )
    assert built.resource(built.unit.idempotency_table)["DeletionPolicy"] == "Delete"


# --- Operations: the inbox, the mailer's function and configuration set, its limits, the stage, where alarms go ---

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:mailer"
CONFIGURATION_SET = "mailer-mail"
ALARM_EMAILS = ("ops@example.com", "oncall@example.org")
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
# The app passes one timeout to both; here they differ, so that each mark shows the input it follows.
INBOX_CONSUMER_TIMEOUT = Duration.minutes(2)
FUNCTION_TIMEOUT = Duration.seconds(100)


def _build_operations(
    stack: Stack, *, alarm_emails: tuple[str, ...] = ALARM_EMAILS, alarm_topic_arn: str | None = None
) -> Operations:
    return Operations(
        stack,
        "Operations",
        inbox=_inbox_in(stack, consumer_timeout=INBOX_CONSUMER_TIMEOUT),
        # An existing function and configuration set: only their names reach the template.
        function=lambda_.Function.from_function_arn(stack, "Function", FUNCTION_ARN),
        configuration_set=ses.ConfigurationSet.from_configuration_set_name(stack, "Set", CONFIGURATION_SET),
        function_timeout=FUNCTION_TIMEOUT,
        max_concurrency=4,
        stage="prod",
        alarm_emails=alarm_emails,
        alarm_topic_arn=alarm_topic_arn,
        repository_name="mailer-images",
        removal=removal_for("destroy"),
    )


@pytest.fixture(scope="module")
def operations() -> Alone[Operations]:
    return _alone(_build_operations)


@pytest.fixture(scope="module")
def operations_to_a_topic() -> Alone[Operations]:
    return _alone(lambda stack: _build_operations(stack, alarm_emails=(), alarm_topic_arn=TOPIC_ARN))


def _topic_ref(operations: Alone[Operations]) -> dict[str, str]:
    return {"Ref": operations.logical_id(operations.unit.topic)}


def _dashboard_marks(operations: Alone[Operations]) -> dict[str, float]:
    body = Capture()
    operations.template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardBody": {"Fn::Join": ["", body]}}
    )
    parsed = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in body.as_array()))
    return {
        a["label"]: a["value"]
        for widget in parsed["widgets"]
        for a in widget["properties"].get("annotations", {}).get("horizontal", [])
    }


def test_the_queue_age_alarm_is_derived_from_the_inboxs_visibility_timeout(operations: Alone[Operations]) -> None:
    threshold = INBOX_CONSUMER_TIMEOUT.to_seconds() * VISIBILITY_TIMEOUT_FACTOR * QUEUE_AGE_RETRY_CYCLES
    assert operations.unit.queue_age_threshold.to_seconds() == threshold == 1440
    operations.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Threshold": 1440,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_the_function_alarms_watch_the_given_function(operations: Alone[Operations], metric: str) -> None:
    operations.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": [{"Name": "FunctionName", "Value": "mailer"}]},
    )


def test_every_alarm_sends_alarm_and_ok_to_the_new_topic(operations: Alone[Operations]) -> None:
    topic = _topic_ref(operations)
    operations.template.all_resources_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": [topic], "OKActions": [topic]}
    )


def test_each_alarm_email_is_subscribed_to_the_topic_and_nobody_else(operations: Alone[Operations]) -> None:
    operations.template.all_resources_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "TopicArn": _topic_ref(operations)}
    )
    subscriptions = operations.template.find_resources("AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == sorted(ALARM_EMAILS)


def test_the_topic_is_named_after_the_stage_and_its_key_follows_the_removal(operations: Alone[Operations]) -> None:
    operations.template.has_resource_properties("AWS::SNS::Topic", {"DisplayName": "inbox-mailer prod alarms"})
    key = operations.resource(operations.unit.node.find_child("AlarmTopicKey"))
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")


def test_the_dashboard_is_named_after_the_stage(operations: Alone[Operations]) -> None:
    operations.template.has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": {"Fn::Join": ["", ["inbox-mailer-prod-", {"Ref": "AWS::Region"}]]}},
    )


def test_the_dashboard_marks_the_functions_timeout_and_concurrency_and_the_queue_age_alarm(
    operations: Alone[Operations],
) -> None:
    marks = _dashboard_marks(operations)
    assert marks["timeout"] == 100 * 1000
    assert marks["max_concurrency"] == 4
    assert marks["QueueAge alarm"] == 1440


def test_the_given_configuration_sets_events_are_counted_by_its_name_and_bounces_reach_the_topic(
    operations: Alone[Operations],
) -> None:
    operations.template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": CONFIGURATION_SET,
            "EventDestination": Match.object_like(
                {
                    "CloudWatchDestination": {
                        "DimensionConfigurations": [Match.object_like({"DefaultDimensionValue": CONFIGURATION_SET})]
                    }
                }
            ),
        },
    )
    operations.template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": CONFIGURATION_SET,
            "EventDestination": Match.object_like(
                {"MatchingEventTypes": ["bounce", "complaint"], "SnsDestination": {"TopicARN": _topic_ref(operations)}}
            ),
        },
    )


def test_with_an_existing_topic_every_alarm_and_bounce_goes_there_and_nothing_is_created_for_it(
    operations_to_a_topic: Alone[Operations],
) -> None:
    template = operations_to_a_topic.template
    template.all_resources_properties("AWS::CloudWatch::Alarm", {"AlarmActions": [TOPIC_ARN], "OKActions": [TOPIC_ARN]})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {"EventDestination": Match.object_like({"SnsDestination": {"TopicARN": TOPIC_ARN}})},
    )
    for kind in ("AWS::SNS::Topic", "AWS::KMS::Key", "AWS::SNS::Subscription"):
        template.resource_count_is(kind, 0)


def test_addresses_and_an_existing_topic_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        _build_operations(_bare_stack(), alarm_topic_arn=TOPIC_ARN)


# --- GitHubDeployRole: the repository and environment it trusts, the provider, the roles it may hand over to ---

PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
ASSUMABLE = ["arn:aws:iam::123456789012:role/deploy", "arn:aws:iam::123456789012:role/publish"]


def _deployer(existing_provider_arn: str | None) -> Alone[GitHubDeployRole]:
    return _alone(
        lambda stack: GitHubDeployRole(
            stack,
            "Deployer",
            subject_repository="octo-org/inbox-mailer",
            environment="prod",
            existing_provider_arn=existing_provider_arn,
            assumable_role_arns=ASSUMABLE,
        )
    )


@pytest.fixture(scope="module")
def deployer() -> Alone[GitHubDeployRole]:
    return _deployer(None)


@pytest.fixture(scope="module")
def deployer_of_an_existing_provider() -> Alone[GitHubDeployRole]:
    return _deployer(PROVIDER_ARN)


def _trust(federated: Any) -> dict[str, Any]:
    return {
        "AssumeRolePolicyDocument": {
            "Statement": [
                Match.object_like(
                    {
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Principal": {"Federated": federated},
                        "Condition": {
                            "StringEquals": {
                                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                "token.actions.githubusercontent.com:sub": [
                                    "repo:octo-org/inbox-mailer:ref:refs/heads/main",
                                    "repo:octo-org/inbox-mailer:environment:prod",
                                ],
                            }
                        },
                    }
                )
            ]
        }
    }


def test_a_new_provider_is_created_kept_and_trusted_for_the_main_branch_and_the_environment(
    deployer: Alone[GitHubDeployRole],
) -> None:
    deployer.template.has_resource(
        "AWS::IAM::OIDCProvider",
        {
            "DeletionPolicy": "Retain",
            "Properties": {"Url": "https://token.actions.githubusercontent.com", "ClientIdList": ["sts.amazonaws.com"]},
        },
    )
    deployer.template.has_resource_properties(
        "AWS::IAM::Role", _trust({"Ref": deployer.logical_id(deployer.unit.provider)})
    )


def test_an_existing_provider_is_trusted_by_its_arn_and_none_is_created(
    deployer_of_an_existing_provider: Alone[GitHubDeployRole],
) -> None:
    deployer_of_an_existing_provider.template.has_resource_properties("AWS::IAM::Role", _trust(PROVIDER_ARN))
    deployer_of_an_existing_provider.template.resource_count_is("AWS::IAM::OIDCProvider", 0)


def test_the_role_may_only_assume_the_given_roles(deployer: Alone[GitHubDeployRole]) -> None:
    deployer.template.has_resource_properties(
        "AWS::IAM::Policy",
        _statement("HandOverToTheRolesOfACdkDeployOnly", Action="sts:AssumeRole", Resource=ASSUMABLE),
    )
