"""What the stacks tell the people and tools that deploy them: outputs and descriptions.

`make status` and `make redrive` find the queues, the function and its log group by these output names
(tools/status.py, tools/redrive.py); a renamed or repointed output breaks them after the next deploy.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import Synthesized


def _get_att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


# name -> (value, description); logical ids as tests/infra/test_logical_ids.py pins them.
FUNCTION_OUTPUTS: dict[str, tuple[Any, str | None]] = {
    "InboxBucketName": ({"Ref": "InboxBucket1EDE8E4F"}, "Upload files here"),
    "TryIt": (
        {"Fn::Join": ["", ["aws s3 cp ./report.pdf s3://", {"Ref": "InboxBucket1EDE8E4F"}, "/incoming/report.pdf"]]},
        "Upload a file; the recipients get one email about it",
    ),
    "QueueName": (_get_att("InboxQueue96F60793", "QueueName"), None),
    "DeadLetterQueueName": (
        _get_att("InboxDeadLetterQueueAFDED11D", "QueueName"),
        "Files that could not be mailed after every retry",
    ),
    "FunctionName": ({"Ref": "MailerFunctionEB1F8359"}, None),
    "LogGroupName": ({"Ref": "MailerLogGroup4F7F9170"}, None),
    "UndeliverableEventsQueueName": (
        _get_att("InboxUndeliverableEventsC115EECF", "QueueName"),
        "Upload events EventBridge could not put on the queue (make redrive replays them)",
    ),
    "DashboardUrl": (
        {
            "Fn::Join": [
                "",
                [
                    "https://",
                    {"Ref": "AWS::Region"},
                    ".console.aws.amazon.com/cloudwatch/home?region=",
                    {"Ref": "AWS::Region"},
                    "#dashboards/dashboard/",
                    {"Ref": "OperationsDashboardE19B83FC"},
                ],
            ]
        },
        "The mailer's dashboard: files, queues, function, SES",
    ),
    "AlarmTopicArn": ({"Ref": "OperationsAlarmTopic909EF7A3"}, "Where every alarm goes"),
}


def test_the_function_stack_has_exactly_these_outputs(synthesized: Synthesized) -> None:
    assert list(synthesized.function.to_json()["Outputs"]) == list(FUNCTION_OUTPUTS)


@pytest.mark.parametrize("name", list(FUNCTION_OUTPUTS))
def test_each_output_names_its_resource_and_says_what_it_is_for(synthesized: Synthesized, name: str) -> None:
    value, description = FUNCTION_OUTPUTS[name]
    output = synthesized.function.to_json()["Outputs"][name]
    assert output["Value"] == value
    assert output.get("Description") == description


def test_make_status_finds_the_queues_the_function_and_its_log_by_these_output_names() -> None:
    from tools import status

    assert {*status.QUEUE_OUTPUTS, "FunctionName", "LogGroupName"} <= set(FUNCTION_OUTPUTS)


def test_each_stack_says_what_it_holds(synthesized: Synthesized) -> None:
    assert (
        synthesized.registry.to_json()["Description"] == "Private ECR repository of the inbox mailer's function image"
    )
    assert synthesized.function.to_json()["Description"] == (
        "Inbox bucket, queue and the mailer function built from lambda_image/"
    )
