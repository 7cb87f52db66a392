"""Operations: the alarm topic, an alarm for every way a file can fail to reach a person, and the dashboard.

Every alarm sends ALARM and OK to one topic: a new, encrypted one with an email subscription per
`alarm_emails` address, or the existing `alarm_topic_arn`. Each alarm's description links its section of the
runbook (docs/runbook.md). Thresholds are constants with their reason, or derived from the inputs they depend on
(the queue's age from the inbox's visibility timeout).

The topic also hears about the function's images: a scan of the image repository that finds CRITICAL or HIGH
vulnerabilities sends it a readable message (`scan_findings_message`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from inbox_mailer.contract import APP_NAME, METRICS_NAMESPACE, SERVICE_NAME, UNEXPECTED_SKIPS, Metric
from stacks.compliance import acknowledge
from stacks.inbox import MAX_RECEIVE_COUNT, Inbox
from stacks.removal import Removal

# Long enough to smooth one noisy minute, short enough that a person hears within minutes.
ALARM_PERIOD = Duration.minutes(5)
# Anything at all in these metrics is a file that did not reach its recipients (yet).
ANY = 1
# A file mailed normally leaves the queue within its first visibility timeout. Older than two means it is being
# retried again and again or the function cannot keep up, before it is old enough to reach the dead-letter queue.
QUEUE_AGE_RETRY_CYCLES = 2
# SES updates the reputation rates a few times a day; an hour's maximum is as fresh as they get.
REPUTATION_PERIOD = Duration.hours(1)
# AWS puts an account under review at a 5 % bounce rate and may pause sending around 10 %: alarming at 2 %
# leaves time to clean the recipient list before every file starts failing.
BOUNCE_RATE_ALARM = 0.02
# Review at 0.1 % complaints, pause around 0.5 %: half the review rate.
COMPLAINT_RATE_ALARM = 0.0005
# A person deleting or replacing a file before it was mailed happens now and then; five such uploads in an hour
# is a pattern, for example a wrong assumption about how S3 encodes keys in events.
UNEXPECTED_SKIPS_PERIOD = Duration.hours(1)
UNEXPECTED_SKIPS_PER_PERIOD = 5
# The events SES counts per configuration set; bounces and complaints also go to the alarm topic.
SES_METRIC_EVENTS = (
    ses.EmailSendingEvent.SEND,
    ses.EmailSendingEvent.DELIVERY,
    ses.EmailSendingEvent.BOUNCE,
    ses.EmailSendingEvent.COMPLAINT,
    ses.EmailSendingEvent.REJECT,
    ses.EmailSendingEvent.DELIVERY_DELAY,
)
SES_TOPIC_EVENTS = (ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT)
# SES tags every mail with its configuration set under this name; the dimension keeps this app's mail apart.
SES_DIMENSION = "ses:configuration-set"
# The CloudWatch metric names SES uses for the events above, in the dashboard's order.
SES_METRIC_NAMES = ("Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay")
# Scan completions of both scanners: ECR's basic scan on push and Amazon Inspector's enhanced scanning. Both
# events carry the repository's ARN in `resources` and the same detail fields (AWS's ECR EventBridge samples).
SCAN_SOURCES = ("aws.ecr", "aws.inspector2")
SCAN_DETAIL_TYPES = ("ECR Image Scan", "Inspector2 Scan")
SCAN_COMPLETE = ("COMPLETE", "INITIAL_SCAN_COMPLETE")
# The severities a person must hear about; the others wait for `make images`.
ALERTING_SEVERITIES = ("CRITICAL", "HIGH")
# Where an operator reads what to do; each alarm's description links its own heading there, '### Alarm `Name`'.
RUNBOOK = "docs/runbook.md"
WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
# The dashboard's graphs show minutes; the alarms look at longer periods.
MINUTE = Duration.minutes(1)


class Operations(Construct):
    """Tells a person about every failure of `inbox` and of the mailer's `function`, and shows both on one dashboard.

    Alarms go to a new topic with an email subscription per `alarm_emails` address, or to the existing
    `alarm_topic_arn` (one of the two, or neither). `configuration_set` is the one the mailer sends through: its
    events are counted and its bounces and complaints sent to the topic. `function_timeout` and `max_concurrency`
    are the mailer's, marked on the dashboard. `stage` names the topic and the dashboard.

    Attributes: `topic` (where alarms go), `alarms` (by name, the name is also the runbook section) and
    `dashboard`. With neither `alarm_emails` nor `alarm_topic_arn` the new topic has no subscriber: the alarms
    and their actions exist, and adding an address later changes nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        inbox: Inbox,
        function: lambda_.IFunction,
        configuration_set: ses.IConfigurationSet,
        function_timeout: Duration,
        max_concurrency: int,
        stage: str,
        alarm_emails: tuple[str, ...],
        alarm_topic_arn: str | None,
        repository_name: str,
        removal: Removal,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        # A fixed name: the topic's key policy names the rule, and the rule's generated ARN would make a cycle.
        self.scan_rule_name = f"{APP_NAME}-{stage}-image-scan-findings"
        self.scan_rule_arn = stack.format_arn(service="events", resource="rule", resource_name=self.scan_rule_name)
        if alarm_emails and alarm_topic_arn:
            raise ValueError("Alarms go to the addresses of a new topic or to an existing topic, not both")
        configuration_set_name = configuration_set.configuration_set_name
        self.topic = self._topic(
            stage=stage,
            alarm_emails=alarm_emails,
            alarm_topic_arn=alarm_topic_arn,
            configuration_set_name=configuration_set_name,
            removal=removal,
        )
        self._count_and_report_mail_events(configuration_set)
        self.scan_rule = self._scan_findings_rule(repository_name)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.queue_age_threshold = Duration.seconds(inbox.visibility_timeout.to_seconds() * QUEUE_AGE_RETRY_CYCLES)
        self._queue_alarms(inbox)
        self._service_alarms(function, inbox.rule)
        self._mail_alarms()
        self.dashboard = self._dashboard(
            stage=stage,
            inbox=inbox,
            function=function,
            function_timeout=function_timeout,
            max_concurrency=max_concurrency,
            configuration_set_name=configuration_set_name,
        )
        region = Stack.of(self).region
        self.dashboard_url = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#dashboards/dashboard/{self.dashboard.dashboard_name}"
        )

    @staticmethod
    def mailer_metric(name: Metric, *, period: Duration = ALARM_PERIOD, label: str | None = None) -> cloudwatch.Metric:
        """One of the function's own metrics, as Powertools publishes it (with the `service` dimension)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=str(name),
            dimensions_map={"service": SERVICE_NAME},
            period=period,
            statistic=cloudwatch.Stats.SUM,
            label=label,
        )

    def _topic(
        self,
        *,
        stage: str,
        alarm_emails: tuple[str, ...],
        alarm_topic_arn: str | None,
        configuration_set_name: str,
        removal: Removal,
    ) -> sns.ITopic:
        if alarm_topic_arn:
            return sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn)
        stack = Stack.of(self)
        alarms_arn = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        publishers = {
            "CloudWatchAlarms": ("cloudwatch.amazonaws.com", alarms_arn),
            "SesEvents": (
                "ses.amazonaws.com",
                stack.format_arn(service="ses", resource="configuration-set", resource_name=configuration_set_name),
            ),
            "ImageScanFindings": ("events.amazonaws.com", self.scan_rule_arn),
        }
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{APP_NAME} {stage} alarms",
            master_key=self._topic_key(publishers, removal),
            enforce_ssl=True,
        )
        # SES's own statement (this configuration set only) is added by its event destination.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": alarms_arn},
                },
            )
        )
        for address in alarm_emails:
            subscription = topic.add_subscription(subscriptions.EmailSubscription(address))
            acknowledge(
                subscription,
                nag=["Serverless-SNSRedrivePolicy"],
                reason="An alarm mail that cannot be delivered has nobody else to tell; a dead-letter queue would hold "
                "notifications nobody reads, while the alarm itself stays red in CloudWatch and on the dashboard.",
            )
        return topic

    def _topic_key(self, publishers: Mapping[str, tuple[str, str]], removal: Removal) -> kms.Key:
        """The topic's key, usable by each publisher (sid -> service, source ARN) of this account only."""
        # CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key: a key of our own.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the inbox mailer's alarm topic",
            enable_key_rotation=True,
            removal_policy=removal.policy,
        )
        for sid, (service, source_arn) in publishers.items():
            # SNS asks KMS for a data key and decrypts it on the publisher's behalf.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"{sid}OfThisAccountPublishToTheTopic",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],  # In a key policy "*" means this key.
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                        "ArnLike": {"aws:SourceArn": source_arn},
                    },
                )
            )
        return key

    def _count_and_report_mail_events(self, configuration_set: ses.IConfigurationSet) -> None:
        """Count the set's mail events in CloudWatch, and send its bounces and complaints to the topic."""
        ses.ConfigurationSetEventDestination(
            self,
            "SesEventsToCloudWatch",
            configuration_set=configuration_set,
            destination=ses.EventDestination.cloud_watch_dimensions(
                [
                    ses.CloudWatchDimension(
                        name=SES_DIMENSION,
                        source=ses.CloudWatchDimensionSource.MESSAGE_TAG,
                        default_value=configuration_set.configuration_set_name,
                    )
                ]
            ),
            events=list(SES_METRIC_EVENTS),
        )
        ses.ConfigurationSetEventDestination(
            self,
            "BouncesAndComplaintsToTopic",
            configuration_set=configuration_set,
            destination=ses.EventDestination.sns_topic(self.topic),
            events=list(SES_TOPIC_EVENTS),
        )

    def _scan_findings_rule(self, repository_name: str) -> events.Rule:
        """Tell the topic's people when a scan of this repository's image finds CRITICAL or HIGH vulnerabilities."""
        stack = Stack.of(self)
        repository_arn = stack.format_arn(service="ecr", resource="repository", resource_name=repository_name)
        rule = events.Rule(
            self,
            "ImageScanFindingsRule",
            rule_name=self.scan_rule_name,
            description=f"A scan of an image in {repository_name} found CRITICAL or HIGH vulnerabilities",
            event_pattern=events.EventPattern(
                source=list(SCAN_SOURCES),
                detail_type=list(SCAN_DETAIL_TYPES),
                resources=[repository_arn],
                detail={
                    "scan-status": list(SCAN_COMPLETE),
                    # A severity without findings is absent from the counts, which no numeric filter matches.
                    "finding-severity-counts": {
                        "$or": [{severity: [{"numeric": [">", 0]}]} for severity in ALERTING_SEVERITIES]
                    },
                },
            ),
        )
        rule.add_target(_Topic(self.topic))
        # CDK's SNS target would grant every rule of every account; this statement grants this rule only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ImageScanFindingsRuleOfThisAccount",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": self.scan_rule_arn},
                },
            )
        )
        # CDK's texts for a target are JSON strings, which SNS would mail with their quotes and escapes.
        cfn_rule: events.CfnRule = rule.node.default_child  # type: ignore[assignment]
        cfn_rule.add_property_override("Targets.0.InputTransformer", scan_findings_message(repository_name))
        acknowledge(
            rule,
            nag=["Serverless-EventBusDLQ"],
            reason="A scan notice that cannot reach the topic loses no data: the findings stay on the image in ECR, "
            "and make status and make images show them; a dead-letter queue would hold notices nobody reads.",
        )
        return rule

    def _queue_alarms(self, inbox: Inbox) -> None:
        """Files or events waiting in a dead-letter queue, and uploads waiting too long in the queue."""
        dead_letters = {
            "DeadLetterQueue": (
                inbox.dead_letter_queue,
                f"Files wait in the dead-letter queue: the mailer failed on them {MAX_RECEIVE_COUNT} times.",
            ),
            "UndeliverableEvents": (
                inbox.undeliverable_events,
                "Upload events wait in UndeliverableEvents: EventBridge could not put them on the queue.",
            ),
        }
        for name, (queue, what) in dead_letters.items():
            self._alarm(
                name,
                what,
                queue.metric_approximate_number_of_messages_visible(
                    period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=ANY,
            )
        self._alarm(
            "QueueAge",
            f"The oldest upload has waited more than {int(self.queue_age_threshold.to_seconds())} s in the queue "
            f"({QUEUE_AGE_RETRY_CYCLES} visibility timeouts): files are retried again and again or wait for the "
            "function.",
            inbox.queue.metric_approximate_age_of_oldest_message(
                period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=self.queue_age_threshold.to_seconds(),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def _service_alarms(self, function: lambda_.IFunction, rule: events.IRule) -> None:
        """Lambda failing or refusing to run the function, and EventBridge failing to deliver upload events."""
        self._alarm(
            "FunctionErrors",
            "The mailer function failed outside its own error handling (a crash or a timeout); the whole batch "
            "is retried.",
            function.metric_errors(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=ANY,
        )
        self._alarm(
            "FunctionThrottles",
            "Lambda refused to run the mailer function: its concurrency is exhausted.",
            function.metric_throttles(period=ALARM_PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=ANY,
        )
        self._alarm(
            "EventDeliveryFailed",
            "EventBridge failed to put upload events on the queue; they are retried, then go to UndeliverableEvents.",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                period=ALARM_PERIOD,
                statistic=cloudwatch.Stats.SUM,
            ),
            threshold=ANY,
        )

    def _mail_alarms(self) -> None:
        """What the mailer and SES report: failed and unreadable files, the account's reputation, unexpected skips."""
        self._alarm(
            "FilesFailed",
            "The mailer could not mail a file on this try; the queue retries it, then moves it to the "
            "dead-letter queue.",
            self.mailer_metric(Metric.FILES_FAILED),
            threshold=ANY,
        )
        # Nothing mends itself: the file stays unreadable until its owner restores it or lets the mailer use its key.
        self._alarm(
            "FilesUnreadable",
            "Recipients were told about a file nobody can read yet: it is archived and not restored, or encrypted "
            "with a key the mailer cannot use.",
            self.mailer_metric(Metric.FILES_UNREADABLE),
            threshold=ANY,
        )
        self._alarm(
            "BounceRate",
            f"The SES account's bounce rate is above {BOUNCE_RATE_ALARM * 100:g} %; AWS reviews the account at 5 % "
            "and may pause all sending.",
            self._reputation("Reputation.BounceRate"),
            threshold=BOUNCE_RATE_ALARM,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "ComplaintRate",
            f"The SES account's complaint rate is above {COMPLAINT_RATE_ALARM * 100:g} %; AWS reviews the account at "
            "0.1 % and may pause all sending.",
            self._reputation("Reputation.ComplaintRate"),
            threshold=COMPLAINT_RATE_ALARM,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        skip_ids = {f"skip{index}": metric for index, metric in enumerate(UNEXPECTED_SKIPS)}
        self._alarm(
            "UnexpectedSkips",
            f"At least {UNEXPECTED_SKIPS_PER_PERIOD} uploads in an hour were not mailed because they were deleted "
            "or superseded before the mailer read them.",
            cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({id_}, 0)" for id_ in skip_ids),
                using_metrics={
                    id_: self.mailer_metric(metric, period=UNEXPECTED_SKIPS_PERIOD) for id_, metric in skip_ids.items()
                },
                label="Unexpected skips",
                period=UNEXPECTED_SKIPS_PERIOD,
            ),
            threshold=UNEXPECTED_SKIPS_PER_PERIOD,
        )

    def _alarm(
        self,
        name: str,
        what: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"{name}Alarm",
            alarm_description=f"{what} What to do: {RUNBOOK}#alarm-{name.lower()}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            # No data means nothing happened: no files, no failures.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm

    @staticmethod
    def _reputation(name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SES", metric_name=name, period=REPUTATION_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
        )

    def _dashboard(
        self,
        *,
        stage: str,
        inbox: Inbox,
        function: lambda_.IFunction,
        function_timeout: Duration,
        max_concurrency: int,
        configuration_set_name: str,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Dashboards are global to the account: the region keeps two deployments of one stage apart.
            dashboard_name=f"{APP_NAME}-{stage}-{Aws.REGION}",
            default_interval=Duration.days(1),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=f"Alarms (runbook: {RUNBOOK})",
                alarms=list(self.alarms.values()),
                width=3 * WIDGET_WIDTH,
                height=3,
            )
        )
        dashboard.add_widgets(*self._file_widgets())
        dashboard.add_widgets(*self._queue_widgets(inbox))
        dashboard.add_widgets(*_function_widgets(function, function_timeout, max_concurrency))
        dashboard.add_widgets(
            _graph("This app's mail in SES", _ses_metrics(configuration_set_name), width=3 * WIDGET_WIDTH)
        )
        return dashboard

    def _file_widgets(self) -> list[cloudwatch.IWidget]:
        """What became of the uploads: mailed, linked, failed, unreadable, skipped; and how their keys matched."""
        skips = [metric for metric in Metric if metric.name.startswith("SKIPPED_")]
        key_forms = [metric for metric in Metric if metric.name.startswith("KEY_MATCHED_")]
        return [
            _graph(
                "Files mailed, linked, failed and unreadable",
                [self.mailer_metric(m, period=MINUTE) for m in (Metric.FILES_MAILED, Metric.FILES_LINKED)],
                # The outcomes someone must act on: few, so on their own axis.
                right=[self.mailer_metric(m, period=MINUTE) for m in (Metric.FILES_FAILED, Metric.FILES_UNREADABLE)],
            ),
            _graph(
                "Skipped uploads and throttled sends",
                [self.mailer_metric(m, period=MINUTE) for m in skips],
                right=[self.mailer_metric(Metric.SENDS_THROTTLED, period=MINUTE)],
            ),
            _graph("How event keys matched objects", [self.mailer_metric(m, period=MINUTE) for m in key_forms]),
        ]

    def _queue_widgets(self, inbox: Inbox) -> list[cloudwatch.IWidget]:
        """The queue against its age alarm, the dead-letter queues, and SES's reputation against its alarms."""
        return [
            _graph(
                "Queue: files waiting, oldest (s)",
                [inbox.queue.metric_approximate_number_of_messages_visible(period=MINUTE)],
                right=[
                    inbox.queue.metric_approximate_age_of_oldest_message(
                        period=MINUTE, statistic=cloudwatch.Stats.MAXIMUM
                    )
                ],
                right_annotations=[_line("QueueAge alarm", self.queue_age_threshold.to_seconds())],
            ),
            _graph(
                "Dead-letter queues",
                [
                    inbox.dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=MINUTE, statistic=cloudwatch.Stats.MAXIMUM, label="DeadLetterQueue"
                    ),
                    inbox.undeliverable_events.metric_approximate_number_of_messages_visible(
                        period=MINUTE, statistic=cloudwatch.Stats.MAXIMUM, label="UndeliverableEvents"
                    ),
                ],
            ),
            _graph(
                "SES reputation (account)",
                [self._reputation("Reputation.BounceRate"), self._reputation("Reputation.ComplaintRate")],
                left_annotations=[
                    _line("BounceRate alarm", BOUNCE_RATE_ALARM),
                    _line("ComplaintRate alarm", COMPLAINT_RATE_ALARM),
                ],
            ),
        ]


def _function_widgets(function: lambda_.IFunction, timeout: Duration, max_concurrency: int) -> list[cloudwatch.IWidget]:
    """The function's duration against its timeout, its errors and throttles, its concurrency against the limit."""
    return [
        _graph(
            "Function duration (ms) against the timeout",
            [
                function.metric_duration(period=MINUTE, statistic=cloudwatch.Stats.p(50)),
                function.metric_duration(period=MINUTE, statistic=cloudwatch.Stats.p(99)),
            ],
            left_annotations=[_line("timeout", timeout.to_milliseconds())],
        ),
        _graph(
            "Function errors and throttles",
            [
                function.metric_errors(period=MINUTE, statistic=cloudwatch.Stats.SUM),
                function.metric_throttles(period=MINUTE, statistic=cloudwatch.Stats.SUM),
            ],
        ),
        _graph(
            "Concurrency against max_concurrency",
            [function.metric("ConcurrentExecutions", period=MINUTE, statistic=cloudwatch.Stats.MAXIMUM)],
            left_annotations=[_line("max_concurrency", max_concurrency)],
        ),
    ]


def _ses_metrics(configuration_set_name: str) -> list[cloudwatch.IMetric]:
    """SES's counts of this app's mail, kept apart from the account's other mail by the configuration set."""
    return [
        cloudwatch.Metric(
            namespace="AWS/SES",
            metric_name=name,
            dimensions_map={SES_DIMENSION: configuration_set_name},
            period=MINUTE,
            statistic=cloudwatch.Stats.SUM,
        )
        for name in SES_METRIC_NAMES
    ]


def _graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    right: Sequence[cloudwatch.IMetric] = (),
    left_annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
    right_annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
    width: int = WIDGET_WIDTH,
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        right=list(right),
        left_annotations=list(left_annotations),
        right_annotations=list(right_annotations),
        width=width,
        height=WIDGET_HEIGHT,
    )


def _line(label: str, value: float) -> cloudwatch.HorizontalAnnotation:
    return cloudwatch.HorizontalAnnotation(value=value, label=label, color=cloudwatch.Color.RED)


@jsii.implements(events.IRuleTarget)
class _Topic:
    """The alarm topic as a rule's target, with no grant of its own (the topic's policy names the rule)."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.topic = topic

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn)


def scan_findings_message(repository_name: str) -> dict[str, Any]:
    """The input transformer of the scan rule: plain lines a person reads, with the numbers and where to look.

    Plain text, not JSON: EventBridge then inserts each value as it is (a text as text, the tags and the counts
    as JSON), and SNS mails the lines as they are. The counts come as the scanners give them: only the
    severities that have findings. The link opens the image's page in the ECR console, its findings included.
    """
    lines = [
        f"A vulnerability scan found CRITICAL or HIGH findings in an image of the ECR repository {repository_name}.",
        "Tags: <tags>",
        "Digest: <digest>",
        "Findings by severity: <counts>",
        "Scanned: <time> (<scanner>)",
        f"Scan results: https://<region>.console.aws.amazon.com/ecr/repositories/private/<account>/{repository_name}"
        "/_/image/<digest>/details?region=<region>",
        "What to do: docs/images.md#scan-findings-what-to-do (`make images` lists every image with its findings).",
    ]
    return {
        "InputPathsMap": {
            "tags": "$.detail.image-tags",
            "digest": "$.detail.image-digest",
            "counts": "$.detail.finding-severity-counts",
            "time": "$.time",
            "scanner": "$.detail-type",
            "region": "$.region",
            "account": "$.account",
        },
        "InputTemplate": "\n".join(lines),
    }
