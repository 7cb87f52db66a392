"""`make status` on a deployed-looking account (moto) and on an empty one.

moto has no SES v2 GetAccount: that one call is answered by a fake at the boto3 boundary (tests/tools/support.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from tests.tools.support import (
    ALARM,
    DEAD_LETTER_QUEUE,
    FUNCTION,
    IMAGE_INDEX,
    REGION,
    SINGLE_PLATFORM,
    STACK,
    UNDELIVERABLE,
    FakeSesAccount,
    deploy,
    event_body,
    moto_clients,
)
from tools import status
from tools.deployed import run

# Between two table cells: spaces and the table's border.
CELL = r"[\s│]+"


def _status(console: Console, argv: list[str] | None = None, **clients: object) -> int:
    return run(lambda args: status.main(args, clients=moto_clients(**clients), console=console), argv or [])


def test_status_shows_outputs_queues_alarms_failures_ses_and_image(deployed: dict[str, str], console: Console) -> None:
    # GIVEN a deployed app with three files in the dead-letter queue, one alarm in ALARM and twelve failures logged
    clients = moto_clients()
    for n in range(3):
        clients.sqs.send_message(QueueUrl=deployed[DEAD_LETTER_QUEUE], MessageBody=event_body(f"incoming/{n}.pdf"))
    # AND CloudWatch saying the oldest of them is 12 minutes 5 seconds old
    clients.cloudwatch.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": DEAD_LETTER_QUEUE}],
                "Value": 725,
                "Unit": "Seconds",
                # A minute ago: moto leaves out a datapoint of the very second the tool asks in.
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
            }
        ],
    )

    # WHEN status runs
    assert _status(console) == 0
    screen = console.export_text()

    # THEN the outputs of both stacks are listed
    assert FUNCTION in screen
    assert "RepositoryUri" in screen
    # AND each queue with its waiting messages
    assert re.search(rf"dead-letter queue{CELL}{DEAD_LETTER_QUEUE}{CELL}3{CELL}0{CELL}12 min 5 s", screen)
    assert re.search(rf"undeliverable events{CELL}{UNDELIVERABLE}{CELL}0{CELL}0", screen)
    # AND the one alarm in ALARM with its reason, not the one that is fine
    assert ALARM in screen
    assert "Threshold Crossed: 3 files" in screen
    assert "QueueAgeAlarm" not in screen
    # AND the ten newest failures with their files and reasons, newest first
    failures = re.findall(r"incoming/file-(\d+)\.pdf", screen)
    assert failures == [str(n) for n in range(11, 1, -1)]
    assert "MessageRejected: Email address is not verified (11)" in screen
    # AND the SES account: sandbox, sending enabled, quota used, send rate
    assert "sandbox" in screen
    assert "enabled" in screen
    assert "17 of 200" in screen
    assert "1 mails per second" in screen
    # AND the function image's media type, which Lambda accepts
    assert SINGLE_PLATFORM in screen
    assert "refuses" not in screen


def test_status_flags_an_image_index_that_lambda_refuses(mocked_aws: None, console: Console) -> None:
    # GIVEN the function's image was pushed as an OCI image index
    deploy(media_type=IMAGE_INDEX)

    # WHEN status runs THEN the media type is shown as one Lambda refuses
    assert _status(console) == 0
    assert re.search(rf"{re.escape(IMAGE_INDEX)}: an image index, which Lambda refuses", console.export_text())


def test_status_shows_paused_sending(deployed: dict[str, str], console: Console) -> None:
    assert _status(console, sesv2=FakeSesAccount(production=True, sending=False)) == 0
    screen = console.export_text()
    assert "production" in screen
    assert "paused" in screen


def test_status_on_an_empty_account_says_in_one_line_that_nothing_is_deployed(
    mocked_aws: None, console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an account where nothing was deployed WHEN status runs
    code = _status(console)

    # THEN it fails with one line naming the stack, the region and what to do
    assert code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: The stack {STACK} is not deployed in {REGION}: run `make deploy` first")
    assert "-c stage=NAME" in line


def test_status_looks_for_the_stage_given_in_args(
    deployed: dict[str, str], console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deployed dev stage WHEN status is asked for prod THEN it names the prod stack as missing
    assert _status(console, ["-c", "stage=prod", "--require-approval", "never"]) == 1
    assert "inbox-mailer-prod-function is not deployed" in capsys.readouterr().err


def test_a_bad_setting_in_args_is_one_line(
    mocked_aws: None, console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _status(console, ["-c", "stage=Prod"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: Invalid setting 'stage' = 'Prod'")


def test_missing_credentials_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN no credentials at all (an unknown profile) WHEN status runs for real
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")

    # THEN one line says how to sign in, without a traceback
    assert run(status.main, []) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: No usable AWS credentials")
    assert "--profile NAME" in line
