"""Operations: alarms tell a person through one topic, mail goes through the app's configuration set, one dashboard.

Three synths: the cdk.json defaults (no address: a topic nobody is subscribed to), two addresses with a longer
timeout (the derived thresholds move with it), and an existing topic instead of a new one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from inbox_mailer.contract import METRICS_NAMESPACE, SERVICE_NAME, UNEXPECTED_SKIPS, Metric
from stacks.inbox import VISIBILITY_TIMEOUT_FACTOR
from stacks.operations import (
    ALARM_PERIOD,
    BOUNCE_RATE_ALARM,
    COMPLAINT_RATE_ALARM,
    QUEUE_AGE_RETRY_CYCLES,
    REPUTATION_PERIOD,
    UNEXPECTED_SKIPS_PER_PERIOD,
    UNEXPECTED_SKIPS_PERIOD,
)
from tests.infra.conftest import ROOT, Synthesized, cdk_json_context, ses_arn, synthesize
from tools.docs_check import anchors

EMAILS = ["ops@example.com", "oncall@example.org"]
TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"
GTE = "GreaterThanOrEqualToThreshold"
GT = "GreaterThanThreshold"
FIVE_MINUTES = int(ALARM_PERIOD.to_seconds())


@pytest.fixture(scope="module")
def with_emails(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {**cdk_json_context(), "alarm_emails": EMAILS, "timeout_seconds": 120}
    return synthesize(context, tmp_path_factory.mktemp("with-emails"))


@pytest.fixture(scope="module")
def with_topic(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {**cdk_json_context(), "alarm_topic_arn": TOPIC_ARN}
    return synthesize(context, tmp_path_factory.mktemp("with-topic"))


def _resources(synthesized: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in synthesized.function.find_resources(kind).items()}


def _alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Alarm properties by alarm name (the runbook section)."""
    resources = synthesized.function.to_json()["Resources"]
    operations = synthesized.stacks.function.operations
    return {name: resources[synthesized.logical_id(alarm)]["Properties"] for name, alarm in operations.alarms.items()}


def _topic_ref(synthesized: Synthesized) -> dict[str, str]:
    (topic_id,) = synthesized.function.find_resources("AWS::SNS::Topic")
    return {"Ref": topic_id}


def _expected_alarms(synthesized: Synthesized) -> dict[str, tuple[str, str, str, float, int, str]]:
    """name -> (namespace, metric, statistic, threshold, period, comparison), thresholds derived from settings."""
    queue_age = synthesized.settings.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR * QUEUE_AGE_RETRY_CYCLES
    reputation = int(REPUTATION_PERIOD.to_seconds())
    return {
        "DeadLetterQueue": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1, FIVE_MINUTES, GTE),
        "UndeliverableEvents": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1, FIVE_MINUTES, GTE),
        "QueueAge": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", queue_age, FIVE_MINUTES, GT),
        "FunctionErrors": ("AWS/Lambda", "Errors", "Sum", 1, FIVE_MINUTES, GTE),
        "FunctionThrottles": ("AWS/Lambda", "Throttles", "Sum", 1, FIVE_MINUTES, GTE),
        "EventDeliveryFailed": ("AWS/Events", "FailedInvocations", "Sum", 1, FIVE_MINUTES, GTE),
        "FilesFailed": (METRICS_NAMESPACE, Metric.FILES_FAILED, "Sum", 1, FIVE_MINUTES, GTE),
        "FilesUnreadable": (METRICS_NAMESPACE, Metric.FILES_UNREADABLE, "Sum", 1, FIVE_MINUTES, GTE),
        "BounceRate": ("AWS/SES", "Reputation.BounceRate", "Maximum", BOUNCE_RATE_ALARM, reputation, GT),
        "ComplaintRate": ("AWS/SES", "Reputation.ComplaintRate", "Maximum", COMPLAINT_RATE_ALARM, reputation, GT),
    }


@pytest.mark.parametrize("variant", ["defaults", "with_emails"])
def test_each_alarm_watches_its_metric_with_the_threshold_derived_from_the_settings(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synthesized: Synthesized = request.getfixturevalue("synthesized" if variant == "defaults" else variant)
    alarms = _alarms(synthesized)
    for name, (namespace, metric, statistic, threshold, period, comparison) in _expected_alarms(synthesized).items():
        props = alarms[name]
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (namespace, metric, statistic), name
        assert (props["Threshold"], props["Period"], props["ComparisonOperator"]) == (threshold, period, comparison)
        assert (props["EvaluationPeriods"], props["TreatMissingData"]) == (1, "notBreaching"), name


def test_the_queue_age_threshold_follows_the_function_timeout(
    synthesized: Synthesized, with_emails: Synthesized
) -> None:
    # GIVEN a 60 s and a 120 s function timeout THEN the age alarm is two visibility timeouts of each
    assert _alarms(synthesized)["QueueAge"]["Threshold"] == 60 * 6 * 2
    assert _alarms(with_emails)["QueueAge"]["Threshold"] == 120 * 6 * 2


def test_each_alarm_watches_the_resource_it_is_about(synthesized: Synthesized) -> None:
    function_stack = synthesized.stacks.function
    inbox, mailer = function_stack.inbox, function_stack.mailer
    alarms = _alarms(synthesized)

    def dimension(name: str) -> Any:
        (only,) = alarms[name]["Dimensions"]
        return only

    def queue_name(queue: Any) -> dict[str, Any]:
        return {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(queue), "QueueName"]}}

    assert dimension("DeadLetterQueue") == queue_name(inbox.dead_letter_queue)
    assert dimension("UndeliverableEvents") == queue_name(inbox.undeliverable_events)
    assert dimension("QueueAge") == queue_name(inbox.queue)
    function_ref = {"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(mailer.function)}}
    assert dimension("FunctionErrors") == dimension("FunctionThrottles") == function_ref
    assert dimension("EventDeliveryFailed") == {
        "Name": "RuleName",
        "Value": {"Ref": synthesized.logical_id(inbox.rule)},
    }
    assert dimension("FilesFailed") == dimension("FilesUnreadable") == {"Name": "service", "Value": SERVICE_NAME}
    assert "Dimensions" not in alarms["BounceRate"]
    assert "Dimensions" not in alarms["ComplaintRate"]


def test_unexpected_skips_alarm_sums_the_shared_list_of_unexpected_skips_over_an_hour(synthesized: Synthesized) -> None:
    props = _alarms(synthesized)["UnexpectedSkips"]
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    stats = [m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m]
    assert expression["ReturnData"] is True
    assert sorted(s["Metric"]["MetricName"] for s in stats) == sorted(UNEXPECTED_SKIPS)
    for stat in stats:
        assert stat["Metric"]["Namespace"] == METRICS_NAMESPACE
        assert (stat["Stat"], stat["Period"]) == ("Sum", int(UNEXPECTED_SKIPS_PERIOD.to_seconds()))
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    referenced = set(re.findall(r"\b[a-z]\w*\b", expression["Expression"])) - {"FILL"}
    assert referenced == {m["Id"] for m in props["Metrics"] if "MetricStat" in m}
    assert " + " in expression["Expression"]
    assert (props["Threshold"], props["ComparisonOperator"]) == (UNEXPECTED_SKIPS_PER_PERIOD, GTE)


@pytest.mark.parametrize("variant", ["defaults", "with_emails"])
def test_every_alarm_sends_alarm_and_ok_to_the_topic(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue("synthesized" if variant == "defaults" else variant)
    topic = _topic_ref(synthesized)
    alarms = _resources(synthesized, "AWS::CloudWatch::Alarm")
    assert len(alarms) == len(_expected_alarms(synthesized)) + 1
    for props in alarms.values():
        assert props["AlarmActions"] == [topic]
        assert props["OKActions"] == [topic]


# What decides when an alarm fires and whom it tells.
EXACT_ALARM_KEYS = (
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "Threshold",
    "ComparisonOperator",
    "EvaluationPeriods",
    "TreatMissingData",
    "AlarmActions",
    "OKActions",
)


@pytest.mark.parametrize("variant", ["defaults", "with_topic"])
def test_an_unreadable_file_alarms_on_its_first_occurrence_and_tells_the_topic(
    variant: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN recipients were told about a file nobody can read THEN one count in five minutes is enough to alarm
    synthesized: Synthesized = request.getfixturevalue("synthesized" if variant == "defaults" else variant)
    topic = TOPIC_ARN if variant == "with_topic" else _topic_ref(synthesized)
    props = _alarms(synthesized)["FilesUnreadable"]
    assert {key: props.get(key) for key in EXACT_ALARM_KEYS} == {
        "Namespace": "InboxMailer",
        "MetricName": "FilesUnreadable",
        "Dimensions": [{"Name": "service", "Value": "inbox-mailer"}],
        "Statistic": "Sum",
        "Period": 300,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
        "OKActions": [topic],
    }


def test_every_alarm_belongs_to_operations_and_links_its_section_of_the_runbook(synthesized: Synthesized) -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^### Alarm `(\w+)`$", runbook, flags=re.MULTILINE))
    alarms = _alarms(synthesized)
    assert len(alarms) == len(_resources(synthesized, "AWS::CloudWatch::Alarm"))
    for name, props in alarms.items():
        link = re.search(r"What to do: docs/runbook\.md#(\S+)$", props["AlarmDescription"])
        assert link, f"{name}: its description should end with a link into docs/runbook.md"
        assert link.group(1) in anchors(runbook), f"{name}: docs/runbook.md has no heading #{link.group(1)}"
        assert name in sections, f"docs/runbook.md has no section for {name}"
    assert sections == set(alarms)


def test_the_topic_is_encrypted_with_a_rotated_key_that_cloudwatch_and_ses_may_use(synthesized: Synthesized) -> None:
    (topic,) = _resources(synthesized, "AWS::SNS::Topic").values()
    (key_id, key), *others = _resources(synthesized, "AWS::KMS::Key").items()
    assert not others
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["EnableKeyRotation"] is True
    services = {
        s["Principal"]["Service"]: s
        for s in key["KeyPolicy"]["Statement"]
        if isinstance(s.get("Principal"), dict) and "Service" in s["Principal"]
    }
    assert set(services) == {"cloudwatch.amazonaws.com", "ses.amazonaws.com", "events.amazonaws.com"}
    for statement in services.values():
        assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    alarms = services["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert alarms[-1] == ":alarm:*"
    configuration_set = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.configuration_set)}
    ses = services["ses.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert ses[-2:] == [":configuration-set/", configuration_set]


def test_the_topic_refuses_plain_http_and_accepts_only_this_accounts_alarms_and_configuration_set(
    synthesized: Synthesized,
) -> None:
    (policy,) = _resources(synthesized, "AWS::SNS::TopicPolicy").values()
    statements = policy["PolicyDocument"]["Statement"]
    topic = _topic_ref(synthesized)
    assert policy["Topics"] == [topic]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert (deny["Principal"], deny["Action"], deny["Resource"]) == ("*", "sns:Publish", topic)
    allows = {s["Principal"]["Service"]: s for s in statements if s["Effect"] == "Allow"}
    assert set(allows) == {"cloudwatch.amazonaws.com", "ses.amazonaws.com", "events.amazonaws.com"}
    alarms = allows["cloudwatch.amazonaws.com"]
    assert (alarms["Action"], alarms["Resource"]) == ("sns:Publish", topic)
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = alarms["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source_arn[1:] == [
        {"Ref": "AWS::Partition"},
        ":cloudwatch:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
        ":alarm:*",
    ]
    ses = allows["ses.amazonaws.com"]
    configuration_set = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.configuration_set)}
    assert configuration_set in ses["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]


def test_one_email_subscription_per_address(synthesized: Synthesized, with_emails: Synthesized) -> None:
    assert _resources(synthesized, "AWS::SNS::Subscription") == {}
    subscriptions = _resources(with_emails, "AWS::SNS::Subscription").values()
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(EMAILS)
    assert {s["Protocol"] for s in subscriptions} == {"email"}
    assert all(s["TopicArn"] == _topic_ref(with_emails) for s in subscriptions)


def test_an_existing_topic_is_used_instead_of_a_new_one(with_topic: Synthesized) -> None:
    # GIVEN alarm_topic_arn THEN no topic, key or subscription is created and everything goes to that topic
    for kind in ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription", "AWS::KMS::Key"):
        assert _resources(with_topic, kind) == {}, kind
    alarms = _resources(with_topic, "AWS::CloudWatch::Alarm").values()
    assert alarms
    assert all(a["AlarmActions"] == [TOPIC_ARN] and a["OKActions"] == [TOPIC_ARN] for a in alarms)
    destinations = _resources(with_topic, "AWS::SES::ConfigurationSetEventDestination").values()
    sns = [d["EventDestination"]["SnsDestination"] for d in destinations if "SnsDestination" in d["EventDestination"]]
    assert sns == [{"TopicARN": TOPIC_ARN}]
    assert with_topic.function.to_json()["Outputs"]["AlarmTopicArn"]["Value"] == TOPIC_ARN


def test_the_configuration_set_has_reputation_metrics_and_both_event_destinations(synthesized: Synthesized) -> None:
    configuration_set = synthesized.stacks.function.mailer.configuration_set
    props = synthesized.function_resource(configuration_set)["Properties"]
    assert props["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    destinations = {
        k: d["EventDestination"]
        for k, d in _resources(synthesized, "AWS::SES::ConfigurationSetEventDestination").items()
    }
    assert {
        d["ConfigurationSetName"]["Ref"]
        for d in _resources(synthesized, "AWS::SES::ConfigurationSetEventDestination").values()
    } == {synthesized.logical_id(configuration_set)}
    (cloudwatch,) = [d for d in destinations.values() if "CloudWatchDestination" in d]
    assert sorted(cloudwatch["MatchingEventTypes"]) == sorted(
        ["send", "delivery", "bounce", "complaint", "reject", "deliveryDelay"]
    )
    (dimension,) = cloudwatch["CloudWatchDestination"]["DimensionConfigurations"]
    assert (dimension["DimensionName"], dimension["DimensionValueSource"]) == ("ses:configuration-set", "messageTag")
    (sns,) = [d for d in destinations.values() if "SnsDestination" in d]
    assert sorted(sns["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert sns["SnsDestination"] == {"TopicARN": _topic_ref(synthesized)}
    assert all(d["Enabled"] for d in destinations.values())


def test_the_function_sends_through_the_configuration_set_and_may_use_it(synthesized: Synthesized) -> None:
    mailer = synthesized.stacks.function.mailer
    configuration_set = {"Ref": synthesized.logical_id(mailer.configuration_set)}
    variables = synthesized.function_resource(mailer.function)["Properties"]["Environment"]["Variables"]
    assert variables["SES_CONFIGURATION_SET"] == configuration_set
    policy = synthesized.function_resource(mailer.role.node.find_child("DefaultPolicy"))
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    grant = statements["SendThroughTheAppsConfigurationSet"]
    assert grant["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert grant["Resource"]["Fn::Join"][1][-2:] == [":configuration-set/", configuration_set]
    assert grant["Condition"] == {"StringEquals": {"ses:FromAddress": synthesized.settings.sender}}


def _dashboard_body(synthesized: Synthesized) -> dict[str, Any]:
    (dashboard,) = _resources(synthesized, "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["DashboardBody"]["Fn::Join"][1]
    # Tokens (Refs, GetAtts) sit inside JSON strings; a placeholder keeps the body parseable.
    body: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))
    return body


def _dashboard_metrics(synthesized: Synthesized) -> list[tuple[str, str]]:
    """(namespace, metric name) of every metric drawn on the dashboard."""
    found = []
    for widget in _dashboard_body(synthesized)["widgets"]:
        for row in widget["properties"].get("metrics", []):
            names = [item for item in row if isinstance(item, str)]
            if names:
                found.append((names[0], names[1]))
    return found


def test_every_mailer_metric_on_the_dashboard_is_one_the_handler_emits(synthesized: Synthesized) -> None:
    own = [name for namespace, name in _dashboard_metrics(synthesized) if namespace == METRICS_NAMESPACE]
    assert own
    assert set(own) <= {str(m) for m in Metric}


def test_the_dashboard_shows_files_queues_function_and_ses(synthesized: Synthesized) -> None:
    drawn = set(_dashboard_metrics(synthesized))
    expected = {
        *(
            (METRICS_NAMESPACE, str(m))
            for m in (Metric.FILES_MAILED, Metric.FILES_LINKED, Metric.FILES_FAILED, Metric.FILES_UNREADABLE)
        ),
        *((METRICS_NAMESPACE, str(m)) for m in UNEXPECTED_SKIPS),
        (METRICS_NAMESPACE, str(Metric.SENDS_THROTTLED)),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "ConcurrentExecutions"),
        *(("AWS/SES", name) for name in ("Send", "Delivery", "Bounce", "Complaint", "Reject")),
    }
    assert expected <= drawn
    annotations = {
        a["label"]: a["value"]
        for w in _dashboard_body(synthesized)["widgets"]
        for a in w["properties"].get("annotations", {}).get("horizontal", [])
    }
    assert annotations["timeout"] == synthesized.settings.timeout_seconds * 1000
    assert annotations["max_concurrency"] == synthesized.settings.max_concurrency


def test_the_dashboard_url_is_an_output(synthesized: Synthesized) -> None:
    output = synthesized.function.to_json()["Outputs"]["DashboardUrl"]
    (dashboard_id,) = synthesized.function.find_resources("AWS::CloudWatch::Dashboard")
    parts = output["Value"]["Fn::Join"][1]
    assert parts[-1] == {"Ref": dashboard_id}
    assert parts[0] == "https://"
    assert "#dashboards/dashboard/" in parts


def test_the_plan_says_when_alarms_notify_nobody(
    synthesized: Synthesized, with_emails: Synthesized, with_topic: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import show_plan

    def plan(assembly: Path) -> list[str]:
        show_plan.main([str(assembly)])
        # One line per sentence: a wrapped line's continuation is indented further than its start.
        text = re.sub(r"\n {6}", " ", capsys.readouterr().out)
        return [line for line in text.splitlines() if "alarms notify" in line]

    (nobody,) = plan(synthesized.outdir)
    assert "notify nobody" in nobody
    assert "alarm_emails" in nobody
    assert "alarm_topic_arn" in nobody
    (emails,) = plan(with_emails.outdir)
    assert "2 email addresses" in emails
    assert "nobody" not in emails
    (topic,) = plan(with_topic.outdir)
    assert TOPIC_ARN in topic
    assert "nobody" not in topic


# What a person reads in the alarm mail: what happened, then where the runbook is.
DESCRIPTIONS = {
    "DeadLetterQueue": "Files wait in the dead-letter queue: the mailer failed on them 5 times.",
    "UndeliverableEvents": "Upload events wait in UndeliverableEvents: EventBridge could not put them on the queue.",
    "QueueAge": "The oldest upload has waited more than 720 s in the queue (2 visibility timeouts): files are retried "
    "again and again or wait for the function.",
    "FunctionErrors": "The mailer function failed outside its own error handling (a crash or a timeout); the whole "
    "batch is retried.",
    "FunctionThrottles": "Lambda refused to run the mailer function: its concurrency is exhausted.",
    "EventDeliveryFailed": "EventBridge failed to put upload events on the queue; they are retried, then go to "
    "UndeliverableEvents.",
    "FilesFailed": "The mailer could not mail a file on this try; the queue retries it, then moves it to the "
    "dead-letter queue.",
    "FilesUnreadable": "Recipients were told about a file nobody can read yet: it is archived and not restored, or "
    "encrypted with a key the mailer cannot use.",
    "BounceRate": "The SES account's bounce rate is above 2 %; AWS reviews the account at 5 % and may pause all "
    "sending.",
    "ComplaintRate": "The SES account's complaint rate is above 0.05 %; AWS reviews the account at 0.1 % and may "
    "pause all sending.",
    "UnexpectedSkips": "At least 5 uploads in an hour were not mailed because they were deleted or superseded "
    "before the mailer read them.",
}


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_each_alarm_says_what_happened_and_where_its_runbook_section_is(synthesized: Synthesized, name: str) -> None:
    description = _alarms(synthesized)[name]["AlarmDescription"]
    assert description == f"{DESCRIPTIONS[name]} What to do: docs/runbook.md#alarm-{name.lower()}"


def test_unexpected_skips_alarm_adds_both_skips_counting_a_missing_one_as_zero(synthesized: Synthesized) -> None:
    props = _alarms(synthesized)["UnexpectedSkips"]
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "FILL(skip0, 0) + FILL(skip1, 0)"
    assert expression["Label"] == "Unexpected skips"
    assert [(m["Id"], m["MetricStat"]["Metric"]["MetricName"]) for m in props["Metrics"] if "MetricStat" in m] == [
        ("skip0", "SkippedDeleted"),
        ("skip1", "SkippedSuperseded"),
    ]
    assert all(m["ReturnData"] is False for m in props["Metrics"] if "MetricStat" in m)
    assert (props["EvaluationPeriods"], props["TreatMissingData"]) == (1, "notBreaching")


def _key(synthesized: Synthesized) -> dict[str, Any]:
    (key,) = synthesized.function.find_resources("AWS::KMS::Key").values()
    return dict(key)


def test_the_topic_key_is_described_and_kept_when_the_stack_goes_by_default(synthesized: Synthesized) -> None:
    # A deleted key would leave every message encrypted with it unreadable.
    key = _key(synthesized)
    assert key["Properties"]["Description"] == "Encrypts the inbox mailer's alarm topic"
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_the_topic_key_lets_cloudwatch_alarms_and_this_configuration_set_use_it_by_name(
    synthesized: Synthesized,
) -> None:
    statements = {s.get("Sid"): s for s in _key(synthesized)["Properties"]["KeyPolicy"]["Statement"]}
    assert set(statements) == {
        None,
        "CloudWatchAlarmsOfThisAccountPublishToTheTopic",
        "SesEventsOfThisAccountPublishToTheTopic",
        "ImageScanFindingsOfThisAccountPublishToTheTopic",
    }
    assert statements[None]["Action"] == "kms:*"  # The account's own administration of its key.
    ses = statements["SesEventsOfThisAccountPublishToTheTopic"]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Resource"] == "*"
    configuration_set = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.configuration_set)}
    assert ses["Condition"]["ArnLike"]["aws:SourceArn"] == ses_arn(":configuration-set/", configuration_set)
    alarms = statements["CloudWatchAlarmsOfThisAccountPublishToTheTopic"]
    assert (alarms["Principal"], alarms["Resource"]) == ({"Service": "cloudwatch.amazonaws.com"}, "*")


def test_the_topic_policy_names_its_cloudwatch_statement(synthesized: Synthesized) -> None:
    (policy,) = _resources(synthesized, "AWS::SNS::TopicPolicy").values()
    (alarms,) = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Principal"] != "*" and s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert alarms["Sid"] == "CloudWatchAlarmsOfThisAccount"


def test_the_topic_has_a_display_name_mail_readers_recognise(synthesized: Synthesized) -> None:
    (topic,) = _resources(synthesized, "AWS::SNS::Topic").values()
    assert topic["DisplayName"] == "inbox-mailer dev alarms"


def test_ses_counts_this_apps_mail_under_its_configuration_set_even_untagged(synthesized: Synthesized) -> None:
    configuration_set = {"Ref": synthesized.logical_id(synthesized.stacks.function.mailer.configuration_set)}
    destinations = _resources(synthesized, "AWS::SES::ConfigurationSetEventDestination").values()
    (cloudwatch,) = [d["EventDestination"] for d in destinations if "CloudWatchDestination" in d["EventDestination"]]
    assert cloudwatch["CloudWatchDestination"]["DimensionConfigurations"] == [
        {
            "DefaultDimensionValue": configuration_set,
            "DimensionName": "ses:configuration-set",
            "DimensionValueSource": "messageTag",
        }
    ]


# The dashboard, widget by widget: tokens in its body are shown as "Ref:<id>" or "GetAtt:<id>.<attribute>".

QUEUE = "GetAtt:InboxQueue96F60793.QueueName"
DEAD_LETTER_QUEUE = "GetAtt:InboxDeadLetterQueueAFDED11D.QueueName"
UNDELIVERABLE = "GetAtt:InboxUndeliverableEventsC115EECF.QueueName"
FUNCTION = "Ref:MailerFunctionEB1F8359"
CONFIGURATION_SET = "Ref:MailerConfigurationSet5BCF2945"
MINUTE = {"period": 60, "stat": "Sum"}
MINUTE_MAX = {"period": 60, "stat": "Maximum"}
RIGHT = {"yAxis": "right"}


def _own(name: Metric, **options: Any) -> list[Any]:
    return [METRICS_NAMESPACE, str(name), "service", SERVICE_NAME, {**MINUTE, **options}]


def _annotation(label: str, value: float, axis: str) -> dict[str, Any]:
    return {"value": value, "color": "#d62728", "label": label, "yAxis": axis}


# title -> (width, metric rows, horizontal annotations)
GRAPHS: dict[str, tuple[int, list[list[Any]], list[dict[str, Any]]]] = {
    "Files mailed, linked, failed and unreadable": (
        8,
        [
            _own(Metric.FILES_MAILED),
            _own(Metric.FILES_LINKED),
            _own(Metric.FILES_FAILED, **RIGHT),
            _own(Metric.FILES_UNREADABLE, **RIGHT),
        ],
        [],
    ),
    "Skipped uploads and throttled sends": (
        8,
        [*(_own(m) for m in Metric if m.name.startswith("SKIPPED_")), _own(Metric.SENDS_THROTTLED, **RIGHT)],
        [],
    ),
    "How event keys matched objects": (8, [_own(m) for m in Metric if m.name.startswith("KEY_MATCHED_")], []),
    "Queue: files waiting, oldest (s)": (
        8,
        [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", QUEUE, MINUTE_MAX],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", QUEUE, {**MINUTE_MAX, **RIGHT}],
        ],
        [_annotation("QueueAge alarm", 720, "right")],
    ),
    "Dead-letter queues": (
        8,
        [
            [
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                DEAD_LETTER_QUEUE,
                {"label": "DeadLetterQueue", **MINUTE_MAX},
            ],
            [
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                UNDELIVERABLE,
                {"label": "UndeliverableEvents", **MINUTE_MAX},
            ],
        ],
        [],
    ),
    "SES reputation (account)": (
        8,
        [
            ["AWS/SES", "Reputation.BounceRate", {"period": 3600, "stat": "Maximum"}],
            ["AWS/SES", "Reputation.ComplaintRate", {"period": 3600, "stat": "Maximum"}],
        ],
        [_annotation("BounceRate alarm", 0.02, "left"), _annotation("ComplaintRate alarm", 0.0005, "left")],
    ),
    "Function duration (ms) against the timeout": (
        8,
        [
            ["AWS/Lambda", "Duration", "FunctionName", FUNCTION, {"period": 60, "stat": "p50"}],
            ["AWS/Lambda", "Duration", "FunctionName", FUNCTION, {"period": 60, "stat": "p99"}],
        ],
        [_annotation("timeout", 60000, "left")],
    ),
    "Function errors and throttles": (
        8,
        [
            ["AWS/Lambda", "Errors", "FunctionName", FUNCTION, MINUTE],
            ["AWS/Lambda", "Throttles", "FunctionName", FUNCTION, MINUTE],
        ],
        [],
    ),
    "Concurrency against max_concurrency": (
        8,
        [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", FUNCTION, MINUTE_MAX]],
        [_annotation("max_concurrency", 2, "left")],
    ),
    "This app's mail in SES": (
        24,
        [
            ["AWS/SES", name, "ses:configuration-set", CONFIGURATION_SET, MINUTE]
            for name in ("Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay")
        ],
        [],
    ),
}


def _readable(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return f"Ref:{token['Ref']}"
    logical_id, attribute = token["Fn::GetAtt"]
    return f"GetAtt:{logical_id}.{attribute}"


def _dashboard(synthesized: Synthesized) -> dict[str, Any]:
    (dashboard,) = _resources(synthesized, "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["DashboardBody"]["Fn::Join"][1]
    body: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else _readable(p) for p in parts))
    return {"name": dashboard["DashboardName"], **body}


def _widget(synthesized: Synthesized, title: str) -> dict[str, Any]:
    (widget,) = [w for w in _dashboard(synthesized)["widgets"] if w["properties"]["title"] == title]
    return dict(widget)


def test_the_dashboard_is_named_per_stage_and_region_and_shows_the_last_day(synthesized: Synthesized) -> None:
    dashboard = _dashboard(synthesized)
    assert dashboard["name"] == {"Fn::Join": ["", ["inbox-mailer-dev-", {"Ref": "AWS::Region"}]]}
    assert dashboard["start"] == "-P1D"


def test_the_dashboard_opens_with_every_alarm_across_its_whole_width(synthesized: Synthesized) -> None:
    first = _dashboard(synthesized)["widgets"][0]
    assert (first["type"], first["width"], first["height"], first["x"], first["y"]) == ("alarm", 24, 3, 0, 0)
    assert first["properties"]["title"] == "Alarms (runbook: docs/runbook.md)"
    operations = synthesized.stacks.function.operations
    assert first["properties"]["alarms"] == [
        f"GetAtt:{synthesized.logical_id(alarm)}.Arn" for alarm in operations.alarms.values()
    ]


def test_the_dashboard_has_exactly_these_graphs_in_rows_of_three(synthesized: Synthesized) -> None:
    graphs = _dashboard(synthesized)["widgets"][1:]
    assert [w["properties"]["title"] for w in graphs] == list(GRAPHS)
    assert [(w["x"], w["y"]) for w in graphs] == [
        *((x, 3) for x in (0, 8, 16)),
        *((x, 9) for x in (0, 8, 16)),
        *((x, 15) for x in (0, 8, 16)),
        (0, 21),
    ]


@pytest.mark.parametrize("title", list(GRAPHS))
def test_each_graph_draws_its_metrics_with_their_statistic_period_and_axis(
    synthesized: Synthesized, title: str
) -> None:
    width, rows, annotations = GRAPHS[title]
    widget = _widget(synthesized, title)
    assert (widget["type"], widget["width"], widget["height"]) == ("metric", width, 6)
    assert widget["properties"]["metrics"] == rows
    assert widget["properties"].get("annotations", {}).get("horizontal", []) == annotations
