"""`make status` on a deployed-looking account (moto) and on an empty one, rendered as an 80-column terminal.

moto has no SES v2 GetAccount: that one call is answered by a fake at the boto3 boundary (tests/tools/support.py).
moto grants every call and never throttles or fails: denials, throttling and 5xx answers are AWS's documented
errors raised at the boto3 boundary (`Refusing`).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from tests.tools.support import (
    ALARM_REASON,
    BUCKET,
    DEAD_LETTER_QUEUE,
    IMAGE_INDEX,
    PRODUCTION_QUOTA,
    QUEUE,
    REGION,
    REGISTRY_STACK,
    REPOSITORY,
    SANDBOX_QUOTA,
    STACK,
    UNDELIVERABLE,
    FakeSesAccount,
    Refusing,
    deploy,
    event_body,
    failure_reason,
    moto_clients,
)
from tools import status
from tools.deployed import Clients, Target, run

WIDTH = 80
# A terminal's height: the quiet screen must fit it.
SCREEN_LINES = 24
# Between two cells of a section: spaces.
CELL = r"\s+"


def _terminal() -> Console:
    return Console(width=WIDTH, record=True, force_terminal=False, color_system=None)


def _status(console: Console, argv: list[str] | None = None, **clients: Any) -> int:
    return run(lambda args: status.main(args, clients=moto_clients(**clients), console=console), argv or [])


def _lines(console: Console) -> list[str]:
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert [line for line in lines if len(line) > WIDTH] == []
    return lines


def _target(recipients: int = 1) -> Target:
    return Target(
        stage="dev",
        function_stack=STACK,
        registry_stack=REGISTRY_STACK,
        region=REGION,
        profile=None,
        recipients=tuple(f"ops{n}@example.com" for n in range(recipients)),
    )


def test_status_at_80_columns_names_alarms_by_runbook_queues_by_role_and_failures_by_file(
    deployed: dict[str, str],
) -> None:
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

    # WHEN status runs in an 80-column terminal
    console = _terminal()
    assert _status(console) == 0
    lines = _lines(console)
    screen = "\n".join(lines)

    # THEN the bucket to upload to and the dashboard are shown
    assert re.search(rf"upload to{CELL}s3://{BUCKET}/", screen)
    assert "dashboard" in screen
    # AND each queue by its role, with its waiting messages and the age of the oldest, not by its cut name
    assert re.search(rf"^  inbox queue{CELL}0{CELL}0{CELL}-$", screen, re.MULTILINE)
    assert re.search(rf"^  dead-letter queue{CELL}3{CELL}0{CELL}12 min 5 s$", screen, re.MULTILINE)
    assert re.search(rf"^  undeliverable events{CELL}0{CELL}0{CELL}-$", screen, re.MULTILINE)
    assert QUEUE not in screen
    # AND the alarm in ALARM by its runbook heading, in full, its reason cut to the width; not the one that is fine
    (alarm_row,) = [line for line in lines if line.startswith("  DeadLetterQueue ")]
    assert alarm_row.endswith("…")
    assert ALARM_REASON[:20] in alarm_row
    assert "QueueAge" not in screen
    # AND one row per failed file, newest first, each reason cut to the width with an ellipsis
    rows = [line for line in lines if re.match(r"  incoming/file-\d+\.pdf ", line)]
    assert [re.findall(r"file-(\d+)", row)[0] for row in rows] == [str(n) for n in range(11, 1, -1)]
    assert all(row.endswith("…") and "MessageRejected (" in row for row in rows)
    assert "Last 10 failed files" in screen
    # AND the SES account and the image
    assert re.search(rf"^SES{CELL}sandbox \(verified only\), sending enabled$", screen, re.MULTILINE)
    # AND the image as a single-platform one, its live mark kept quiet, its scan status shown
    assert "a single-platform image, as Lambda needs" in screen
    assert "live mark" not in screen
    assert re.search(rf"scan{CELL}not scanned", screen)
    assert "a single-platform image, as Lambda needs" in screen
    # AND the footer names the flag that shows everything
    assert lines[-1] == status.FOOTER
    assert "--full" in status.FOOTER


def test_full_shows_whole_reasons_queue_names_and_every_output(deployed: dict[str, str]) -> None:
    console = _terminal()
    assert _status(console, ["--full"]) == 0

    # THEN every line still fits, and the cut parts are there whole (wrapped onto more lines)
    words = " ".join(" ".join(_lines(console)).split())
    assert " ".join(failure_reason(11).split()) in words.replace("  ", " ")
    assert ALARM_REASON in words
    assert all(name in words.replace(" ", "") for name in (QUEUE, DEAD_LETTER_QUEUE, UNDELIVERABLE))
    assert "RepositoryUri" in words


def test_the_quiet_screen_fits_one_terminal(mocked_aws: None) -> None:
    # GIVEN a deployed app where nothing is wrong: no alarm in ALARM, no failure logged
    deploy(quiet=True)

    # WHEN status runs in an 80 by 24 terminal THEN the whole screen fits it
    console = _terminal()
    assert _status(console) == 0
    lines = _lines(console)
    assert len(lines) <= SCREEN_LINES
    screen = "\n".join(lines)
    assert re.search(rf"^Alarms{CELL}none in ALARM$", screen, re.MULTILINE)
    assert re.search(rf"^Failures{CELL}none in the last 3 days$", screen, re.MULTILINE)


_RUNBOOK_NAMES = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8).map(str.title), min_size=1, max_size=3
).map("".join)


@given(
    name=_RUNBOOK_NAMES,
    where=st.sampled_from(["README, section 'Runbook'", "docs/runbook.md", "the runbook (docs/operating.md)"]),
)
def test_an_alarm_is_named_by_the_last_quoted_name_of_its_description(name: str, where: str) -> None:
    # Wherever the runbook lives, the section named last is the alarm's heading.
    alarm = {
        "AlarmName": f"{STACK}-OperationsXAlarm1A2B3C4D-XYZ",
        "AlarmDescription": f"What to do: {where}, '{name}'.",
    }
    assert status.runbook_name(alarm) == name


@given(name=_RUNBOOK_NAMES, digest=st.from_regex(r"[0-9A-F]{8}", fullmatch=True))
def test_an_alarm_without_a_quoted_name_is_named_by_its_logical_id(name: str, digest: str) -> None:
    alarm = {"AlarmName": f"{STACK}-Operations{name}Alarm{digest}-1ABCDEF", "AlarmDescription": "no quotes here"}
    assert status.runbook_name(alarm) == name


@cache
def _offline_clients() -> Clients:
    return moto_clients()


class FakeLogs:
    """CloudWatch Logs' FilterLogEvents over the given entries, two per page as the API pages them."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        now = int(datetime.now(UTC).timestamp() * 1000)
        self.events = [
            {"timestamp": now - 1000 * (len(entries) - i), "message": json.dumps(entry)}
            for i, entry in enumerate(entries)
        ]

    def filter_log_events(self, *, nextToken: str = "0", **_: Any) -> dict[str, Any]:  # noqa: N803
        start = int(nextToken)
        page: dict[str, Any] = {"events": self.events[start : start + 2]}
        if start + 2 < len(self.events):
            page["nextToken"] = str(start + 2)
        return page


@given(
    failures=st.lists(
        st.tuples(st.sampled_from([f"incoming/{name}.pdf" for name in "abcdefghijklmn"]), st.integers(0, 99)),
        min_size=1,
        max_size=40,
    )
)
def test_failures_are_one_row_per_file_with_its_newest_reason(failures: list[tuple[str, int]]) -> None:
    # GIVEN failures logged oldest first, the same file failing again and again
    entries = [
        {"message": "Mailing failed permanently", "key": key, "reason": failure_reason(n)} for key, n in failures
    ]
    look = status.Look(replace_logs(FakeLogs(entries)), _target(), {"LogGroupName": "group"}, full=False)

    # WHEN the failures section is printed at 80 columns
    console = _terminal()
    console.print(status._failures(look))
    rows = [line for line in _lines(console) if line.startswith("  incoming/")]

    # THEN each file is one row, newest first, at most ten, with its newest reason cut to the width
    newest: dict[str, int] = {}
    for key, n in reversed(failures):
        newest.setdefault(key, n)
    expected = list(newest.items())[: status.FAILURES_SHOWN]
    assert [row.split()[0] for row in rows] == [key for key, _ in expected]
    for row, (_, n) in zip(rows, expected, strict=True):
        assert f"MessageRejected ({n})" in row
        assert row.endswith("…")


def replace_logs(logs: Any) -> Clients:
    return replace(_offline_clients(), logs=logs)


def _ses_rows(send_quota: dict[str, Any], recipients: int) -> dict[str, str]:
    """The SES section's rows at 80 columns, label to value (the section's own line under "SES")."""
    look = status.Look(moto_clients(sesv2=FakeSesAccount(quota=send_quota)), _target(recipients), {}, full=False)
    console = _terminal()
    console.print(status._ses_account(look))
    return {line[: status.LABEL_WIDTH].strip(): line[status.LABEL_WIDTH :].strip() for line in _lines(console)}


@pytest.mark.parametrize(
    ("recipients", "in_files", "left", "burst"),
    [
        (1, "200 files a day to your 1 recipient", "183 files", "100 files take at least 1 min 40 s"),
        (2, "100 files a day to your 2 recipients", "91 files", "100 files take at least 3 min 20 s"),
        (20, "10 files a day to your 20 recipients", "9 files", "100 files take at least 33 min 20 s"),
        (50, "4 files a day to your 50 recipients", "3 files", "100 files take at least 1 h 23 min"),
    ],
)
def test_the_sandbox_quota_in_files(recipients: int, in_files: str, left: str, burst: str) -> None:
    rows = _ses_rows(SANDBOX_QUOTA, recipients)
    assert rows["SES"] == "sandbox (verified only), sending enabled"
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
def test_a_production_quota_in_files(recipients: int, in_files: str, left: str, burst: str) -> None:
    rows = _ses_rows(PRODUCTION_QUOTA, recipients)
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
    send_quota: dict[str, Any], expected: dict[str, str]
) -> None:
    rows = _ses_rows(send_quota, 50)
    assert {label: rows[label] for label in expected} == expected


def test_status_says_when_the_live_image_lost_its_mark(mocked_aws: None, console: Console) -> None:
    # GIVEN the function's image without the deploy's live mark (a deploy from before the mark existed)
    deploy()
    boto3.client("ecr", region_name=REGION).batch_delete_image(
        repositoryName=REPOSITORY, imageIds=[{"imageTag": "live"}]
    )

    # WHEN status runs THEN the image section says the mark is missing and what marks it again
    assert _status(console) == 0
    screen = console.export_text()
    assert re.search(rf"live mark{CELL}missing: `make deploy` once more marks it", screen)


def test_status_flags_an_image_index_that_lambda_refuses(mocked_aws: None, console: Console) -> None:
    # GIVEN the function's image was pushed as an OCI image index
    deploy(media_type=IMAGE_INDEX)

    # WHEN status runs THEN the media type is shown as one Lambda refuses
    assert _status(console) == 0
    screen = console.export_text()
    assert re.search(rf"^Image{CELL}an image index, which Lambda refuses", screen, re.MULTILINE)
    assert re.search(rf"media type{CELL}{re.escape(IMAGE_INDEX)}", screen)


def test_status_shows_paused_sending(deployed: dict[str, str], console: Console) -> None:
    assert _status(console, sesv2=FakeSesAccount(production=True, sending=False)) == 0
    assert re.search(rf"^SES{CELL}production, sending paused", console.export_text(), re.MULTILINE)


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


# Each section's calls: (client field, method, IAM action). A denied call marks only its own section.
SECTION_CALLS = {
    "Queues": [
        ("sqs", "get_queue_url", "sqs:GetQueueUrl"),
        ("sqs", "get_queue_attributes", "sqs:GetQueueAttributes"),
        ("cloudwatch", "get_metric_statistics", "cloudwatch:GetMetricStatistics"),
    ],
    "Alarms": [("cloudwatch", "describe_alarms", "cloudwatch:DescribeAlarms")],
    "Failures": [("logs", "filter_log_events", "logs:FilterLogEvents")],
    "SES": [("sesv2", "get_account", "ses:GetAccount")],
    "Image": [("lambda_", "get_function", "lambda:GetFunction"), ("ecr", "describe_images", "ecr:DescribeImages")],
}
# What each section shows when it could read everything (the busy account of `deploy`).
SHOWN = {
    "Stack": rf"^Stack{CELL}{STACK}$",
    "Queues": rf"^Queues{CELL}waiting{CELL}in flight{CELL}oldest$",
    "Alarms": rf"^Alarms in ALARM{CELL}since \(UTC\){CELL}why$",
    "Failures": rf"^Last 10 failed files{CELL}when \(UTC\){CELL}reason$",
    "SES": rf"^SES{CELL}sandbox",
    "Image": rf"^Image{CELL}a single-platform image",
}


def _denying(calls: list[tuple[str, str, str]]) -> dict[str, Any]:
    """moto's clients with each call denied (several calls of one client are denied by nesting)."""
    clients = moto_clients()
    refusing: dict[str, Any] = {}
    for field_name, method, action in calls:
        inner = refusing.get(field_name, getattr(clients, field_name))
        refusing[field_name] = Refusing(inner, method, action=action)
    return refusing


def _marked(title: str, action: str) -> str:
    return rf"^{title}{CELL}not allowed: {re.escape(action)} — the credentials need it for this section$"


def _words(console: Console) -> str:
    """The screen with each section's wrapped lines joined, to read a wrapped line as one."""
    text = "\n".join(_lines(console))
    return re.sub(rf"\n {{{status.LABEL_WIDTH},}}", " ", text)


@pytest.mark.parametrize(
    ("title", "call"),
    [(title, call) for title, calls in SECTION_CALLS.items() for call in calls],
    ids=lambda value: value if isinstance(value, str) else value[1],
)
def test_a_denied_call_marks_its_own_section_and_the_others_still_show(
    deployed: dict[str, str], title: str, call: tuple[str, str, str]
) -> None:
    # GIVEN credentials that may not make one call WHEN status runs at 80 columns
    console = _terminal()
    assert _status(console, **_denying([call])) == 1
    words = _words(console)

    # THEN its section is one line naming the action, and every other section shows as usual
    assert re.search(_marked(title, call[2]), words, re.MULTILINE), words
    for other, shown in SHOWN.items():
        if other != title:
            assert re.search(shown, words, re.MULTILINE), f"{other} missing after denying {call[1]}:\n{words}"


def test_every_pair_of_denied_sections_and_all_of_them_leave_the_others_shown(deployed: dict[str, str]) -> None:
    sections = list(SECTION_CALLS)
    # Single sections are the test above; every pair, and all at once, here.
    for denied in [*itertools.combinations(sections, 2), tuple(sections)]:
        console = _terminal()
        calls = [SECTION_CALLS[title][0] for title in denied]
        assert _status(console, **_denying(calls)) == 1
        words = _words(console)
        for title in sections:
            expected = _marked(title, SECTION_CALLS[title][0][2]) if title in denied else SHOWN[title]
            assert re.search(expected, words, re.MULTILINE), f"{title} with {denied} denied:\n{words}"


def test_denied_stack_outputs_leave_the_sections_that_do_not_need_them(deployed: dict[str, str]) -> None:
    # GIVEN credentials that may not describe the stack WHEN status runs
    console = _terminal()
    refusing = Refusing(moto_clients().cloudformation, "describe_stacks", action="cloudformation:DescribeStacks")
    assert _status(console, cloudformation=refusing) == 1
    words = _words(console)

    # THEN the stack's section names the action, the sections needing its outputs say so, alarms and SES show
    assert re.search(_marked("Stack", "cloudformation:DescribeStacks"), words, re.MULTILINE)
    assert re.search(rf"^Queues{CELL}needs the stack's outputs, which could not be read", words, re.MULTILINE)
    assert re.search(SHOWN["Alarms"], words, re.MULTILINE)
    assert re.search(SHOWN["SES"], words, re.MULTILINE)


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
        # moto 5.2.5's answer to an API it lacks, as `make demo` meets it
        ("500", 500),
    ],
)
def test_throttling_and_5xx_say_try_again_not_check_permissions(
    deployed: dict[str, str], code: str, http_status: int
) -> None:
    console = _terminal()
    refusing = Refusing(FakeSesAccount(), "get_account", code=code, status=http_status)
    assert _status(console, sesv2=refusing) == 1
    words = _words(console)
    assert re.search(rf"^SES{CELL}AWS had a problem \({code}\), try again$", words, re.MULTILINE)
    assert "permission" not in words
    assert "not allowed" not in words
    assert re.search(SHOWN["Image"], words, re.MULTILINE)


def test_an_api_the_emulator_lacks_marks_only_its_section(deployed: dict[str, str]) -> None:
    # GIVEN moto 5.2.5's server, which answers SES v2 GetAccount with its own HTML 404 page (as `make demo` meets it)
    page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n"
    refusing = Refusing(FakeSesAccount(), "get_account", code="404", status=404, message=page)

    # WHEN status runs THEN the SES section says so in one line and the image after it still shows
    console = _terminal()
    assert _status(console, sesv2=refusing) == 1
    words = _words(console)
    assert re.search(rf"^SES{CELL}AWS refused GetAccount \(HTTP 404\)$", words, re.MULTILINE)
    assert re.search(SHOWN["Image"], words, re.MULTILINE)


@given(key=st.sampled_from(["incoming/[bold]x[/].pdf", "incoming/[/]", "incoming/a[red]b.pdf"]))
def test_a_key_with_brackets_is_shown_as_it_is_never_as_markup(key: str) -> None:
    entries = [{"message": "Mailing failed permanently", "key": key, "reason": "[/] not markup either"}]
    look = status.Look(replace_logs(FakeLogs(entries)), _target(), {"LogGroupName": "group"}, full=True)
    console = _terminal()
    console.print(status._failures(look))
    screen = "\n".join(_lines(console))
    assert key in screen
    assert "[/] not markup either" in screen


@given(
    code=st.sampled_from(["MessageRejected", "MailFromDomainNotVerifiedException", "AccessDenied", "Throttling"]),
    reason=st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), min_size=100, max_size=400),
)
def test_a_failure_cut_to_the_width_still_starts_with_the_code_aws_answered(code: str, reason: str) -> None:
    # GIVEN a failure logged with AWS's error code and a reason far longer than the screen
    entries = [{"message": "Mailing failed permanently", "key": "incoming/a.pdf", "reason": reason, "error_code": code}]
    look = status.Look(replace_logs(FakeLogs(entries)), _target(), {"LogGroupName": "group"}, full=False)

    # WHEN the failures section is printed at 80 columns
    console = _terminal()
    console.print(status._failures(look))
    (row,) = [line for line in _lines(console) if line.startswith("  incoming/")]

    # THEN the row fits, and what is left of the reason starts with the code: the cause survives the cut
    assert len(row) <= 80
    assert row.split()[3].startswith(code[:10])
