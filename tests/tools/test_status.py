"""`make status` on a deployed-looking account (moto) and on an empty one.

moto has no SES v2 GetAccount: that one call is answered by a fake at the boto3 boundary (tests/tools/support.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from tests.tools.support import (
    ALARM,
    DEAD_LETTER_QUEUE,
    FUNCTION,
    IMAGE_INDEX,
    PRODUCTION_QUOTA,
    REGION,
    SANDBOX_QUOTA,
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
    assert re.search(rf"quota used today{CELL}17 of 200 recipients a day", screen)
    assert re.search(rf"maximum send rate{CELL}1 recipient per second", screen)
    # AND what that means in files for cdk.json's one recipient
    assert re.search(rf"in files{CELL}200 files a day to your 1 recipient", screen)
    assert re.search(rf"left today{CELL}183 files", screen)
    assert re.search(rf"at that rate{CELL}100 files take at least 1 min 40 s", screen)
    # AND the function image's media type, which Lambda accepts
    assert SINGLE_PLATFORM in screen
    assert "refuses" not in screen


def test_status_counts_files_for_the_recipients_given_in_args(deployed: dict[str, str], console: Console) -> None:
    # GIVEN the deploy's own recipients, passed again as the deploy got them
    recipients = ",".join(f"ops{n}@example.com" for n in range(20))

    # WHEN status runs with them THEN the quota is counted in files to those 20 recipients
    assert _status(console, ["-c", f"recipients={recipients}"]) == 0
    screen = console.export_text()
    assert re.search(rf"in files{CELL}10 files a day to your 20 recipients", screen)
    assert re.search(rf"left today{CELL}9 files", screen)
    assert re.search(rf"at that rate{CELL}100 files take at least 33 min 20 s", screen)


def _ses_rows(console: Console, send_quota: dict[str, Any], recipients: int) -> dict[str, str]:
    """The SES table's rows, label to value, and each line of it within 80 columns."""
    table = status._ses_account(moto_clients(sesv2=FakeSesAccount(quota=send_quota)), recipients)
    console.print(table)
    lines = console.export_text().splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert too_wide == []
    cells = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    return {label: value for label, value in cells}


@pytest.mark.parametrize(
    ("recipients", "in_files", "left", "burst"),
    [
        (1, "200 files a day to your 1 recipient", "183 files", "100 files take at least 1 min 40 s"),
        (2, "100 files a day to your 2 recipients", "91 files", "100 files take at least 3 min 20 s"),
        (20, "10 files a day to your 20 recipients", "9 files", "100 files take at least 33 min 20 s"),
        (50, "4 files a day to your 50 recipients", "3 files", "100 files take at least 1 h 23 min"),
    ],
)
def test_the_sandbox_quota_in_files(console: Console, recipients: int, in_files: str, left: str, burst: str) -> None:
    rows = _ses_rows(console, SANDBOX_QUOTA, recipients)
    assert rows["access"] == "sandbox (verified recipients only, 200 recipients a day)"
    assert rows["quota used today"] == "17 of 200 recipients a day"
    assert rows["in files"] == in_files
    assert rows["left today"] == left
    assert rows["maximum send rate"] == "1 recipient per second"
    assert rows["at that rate"] == burst


@pytest.mark.parametrize(
    ("recipients", "in_files", "left", "burst"),
    [
        (1, "50,000 files a day to your 1 recipient", "48,766 files", "100 files take at least 7 s"),
        (2, "25,000 files a day to your 2 recipients", "24,383 files", "100 files take at least 14 s"),
        (20, "2,500 files a day to your 20 recipients", "2,438 files", "100 files take at least 2 min 22 s"),
        (50, "1,000 files a day to your 50 recipients", "975 files", "100 files take at least 5 min 57 s"),
    ],
)
def test_a_production_quota_in_files(console: Console, recipients: int, in_files: str, left: str, burst: str) -> None:
    rows = _ses_rows(console, PRODUCTION_QUOTA, recipients)
    assert rows["quota used today"] == "1,234 of 50,000 recipients a day"
    assert rows["in files"] == in_files
    assert rows["left today"] == left
    assert rows["maximum send rate"] == "14 recipients per second"
    assert rows["at that rate"] == burst


@pytest.mark.parametrize(
    ("send_quota", "expected"),
    [
        # SES reports -1 for an unlimited quota on some accounts
        (
            {"Max24HourSend": -1.0, "MaxSendRate": 14.0, "SentLast24Hours": 1234.0},
            {
                "quota used today": "1,234 recipients; no daily limit reported",
                "in files": "no daily limit reported",
                "left today": "no daily limit reported",
                "maximum send rate": "14 recipients per second",
                "at that rate": "100 files to your 50 recipients take at least 5 min 57 s",
            },
        ),
        (
            {"Max24HourSend": 200.0, "MaxSendRate": -1.0, "SentLast24Hours": 17.0},
            {
                "quota used today": "17 of 200 recipients a day",
                "in files": "4 files a day to your 50 recipients",
                "left today": "3 files",
                "maximum send rate": "no rate limit reported",
                "at that rate": "no rate limit reported",
            },
        ),
        (
            {"Max24HourSend": 0.0, "MaxSendRate": 0.0, "SentLast24Hours": 0.0},
            {
                "quota used today": "0 recipients; daily quota unknown",
                "in files": "daily quota unknown",
                "left today": "unknown",
                "maximum send rate": "unknown",
                "at that rate": "unknown",
            },
        ),
        (
            {},
            {
                "quota used today": "unknown; daily quota unknown",
                "in files": "daily quota unknown",
                "left today": "unknown",
                "maximum send rate": "unknown",
                "at that rate": "unknown",
            },
        ),
    ],
    ids=["unlimited day", "unlimited rate", "zero", "missing"],
)
def test_a_quota_missing_zero_or_unlimited_is_said_never_divided(
    console: Console, send_quota: dict[str, Any], expected: dict[str, str]
) -> None:
    rows = _ses_rows(console, send_quota, 50)
    assert {label: rows[label] for label in expected} == expected


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
