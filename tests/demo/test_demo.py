"""`make demo` (tools/demo): its whole story against the app of cdk.json, what the templates drive, and a clean stop.

The story runs once per module (about 15 s): the stand-in, the function's child process and the story's waits.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import io
import json
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from tests.conftest import ROOT, Synthesized
from tools.demo import mail as mails
from tools.demo.emulator import Emulator
from tools.demo.runtime_api import AWSLAMBDARIC, RUNTIME_CLIENT_SETTING, STDLIB, image_handler
from tools.demo.scenario import BROKEN_FILE, Demo, main
from tools.demo.templates import Template
from tools.deployed import ToolError, run

STACK = "inbox-mailer-dev-function"


def _cdk_out(synthesized: Synthesized, directory: Path, edit: Any = None) -> Path:
    """A cdk.out holding the function stack's template as `make synth` writes it, edited by `edit` if given."""
    document = copy.deepcopy(synthesized.function.to_json())
    if edit is not None:
        edit(document)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{STACK}.template.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


def _console() -> Console:
    return Console(file=io.StringIO(), width=200, force_terminal=False)


def _output(console: Console) -> str:
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


@dataclass
class Story:
    demo: Demo
    output: str
    cdk_out: Path
    sent: list[mails.Mail]


# The story with each runtime interface client: awslambdaric where it is installed (Linux, as in Lambda), and the
# demo's own client that Windows and macOS run.
_CLIENTS = [
    pytest.param(
        AWSLAMBDARIC,
        marks=pytest.mark.skipif(importlib.util.find_spec(AWSLAMBDARIC) is None, reason="awslambdaric is Linux only"),
    ),
    STDLIB,
]


@pytest.fixture(scope="module", params=_CLIENTS)
def story(request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Story:
    cdk_out = _cdk_out(synthesized, tmp_path_factory.mktemp("demo") / "cdk.out")
    console = _console()
    with Demo([], console=console, cdk_out=cdk_out, runtime_client=request.param) as demo:
        demo.run()
        # Read while the stand-in still runs: its state is gone once it stops.
        sent = mails.sent_mails(demo.region)
    return Story(demo=demo, output=_output(console), cdk_out=cdk_out, sent=sent)


def _mail_about(story: Story, name: str) -> list[mails.Mail]:
    return [mail for mail in story.sent if mail.is_about(name)]


def test_three_files_become_three_mails_attached_linked_and_linked(story: Story, synthesized: Synthesized) -> None:
    settings = synthesized.settings
    expected = {
        "report.txt": "report.txt attached (1,200 bytes)",
        "scan.pdf": "a download link (too large to attach)",
        "setup.exe": "a download link (a type email refuses)",
    }
    for name, carries in expected.items():
        # THEN each file is one mail, from the configured sender to the configured recipients
        (mail,) = _mail_about(story, name)
        assert mail.subject == f"New file in the inbox: {name}"
        assert mail.sender == settings.sender
        assert mail.destinations == tuple(settings.recipients)
        assert mail.carries == carries
        # AND the story says so, one line per file
        assert f"{name} -> mail New file in the inbox: {name} from {settings.sender}" in story.output
        assert carries in story.output


def test_the_mails_are_written_as_eml_files_and_one_page(story: Story) -> None:
    directory = story.cdk_out / "demo"
    emls = sorted(directory.glob("*.eml"))
    assert len(emls) == 4
    assert {path.read_bytes() for path in emls} == {mail.raw for mail in story.sent}
    page = (directory / "mails.html").read_text(encoding="utf-8")
    assert page.count("<section>") == 4
    assert "New file in the inbox: scan.pdf" in page
    assert str(directory / "mails.html") in story.output


def test_the_broken_sender_sends_the_file_to_the_dead_letter_queue_after_every_try(story: Story) -> None:
    summary = story.demo.summary
    # maxReceiveCount of the template: every try failed, then SQS moved the message
    assert summary.failed_tries == 5
    assert summary.dead_letters == 1
    told = f"{BROKEN_FILE} failed 5 times (SES said MessageRejected) and is now in the dead-letter queue"
    assert told in story.output


def test_make_status_shows_the_dead_letter_and_the_failure(story: Story) -> None:
    status = story.output.split("make status, against")[1].split("Fixed the cause")[0]
    # AND the dead-letter queue's row counts the one file waiting there
    dead_letter_row = next(line for line in status.splitlines() if line.strip().startswith("dead-letter queue"))
    assert dead_letter_row.split()[2] == "1"
    # AND the failed file is one row whose reason starts with SES's answer
    (failure_row,) = [line for line in status.splitlines() if f"incoming/{BROKEN_FILE}" in line]
    assert "MessageRejected: " in failure_row


def test_make_redrive_moves_the_file_back_and_it_is_mailed_once(story: Story) -> None:
    assert "1 message moved back from" in story.output
    assert story.demo.summary.redriven == 1
    (mail,) = _mail_about(story, BROKEN_FILE)
    assert mail.carries == f"{BROKEN_FILE} attached (37 bytes)"
    assert f"{BROKEN_FILE} -> mailed 1 time:" in story.output


def test_the_summary_counts_everything(story: Story) -> None:
    last = story.output.strip().splitlines()[-1]
    assert "4 files uploaded, 4 mails sent, 5 failed tries, 1 file in the dead-letter queue, 1 redriven" in last


def test_moto_is_never_named_without_saying_what_it_is(story: Story) -> None:
    for line in story.output.splitlines():
        if "moto" in line:
            assert "moto, the local stand-in for AWS" in line


def test_everything_it_started_is_stopped(story: Story) -> None:
    _assert_stopped(story.demo)


def test_a_step_failing_halfway_still_stops_everything(
    synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a demo whose failure step breaks after the function started and three mails went out
    def broken(self: Demo, resources: Any) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(Demo, "fail_one_file", broken)
    demo = Demo([], console=_console(), cdk_out=_cdk_out(synthesized, tmp_path / "cdk.out"))
    # WHEN it runs
    with pytest.raises(RuntimeError, match="injected"), demo:
        demo.run()
    # THEN the function's process, the Runtime API and the stand-in are gone
    _assert_stopped(demo)


def _assert_stopped(demo: Demo) -> None:
    assert demo.function is not None
    assert demo.api is not None
    assert demo.emulator is not None
    assert demo.function.process.poll() is not None
    assert not _children_running(os.getpid())
    started = {"event-source", "runtime-api", "function-output", "demo-background"}
    running = [thread.name for thread in threading.enumerate()]
    assert not [name for name in running if name in started or "_server_entry" in name], running
    for port in (demo.api.port, demo.emulator.port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is still open"


def _children_running(pid: int) -> list[int]:
    """Processes whose parent is `pid` and that run the runtime interface client."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and (b"awslambdaric" in command or b"runtime_client.py" in command):
            found.append(int(entry.name))
    return found


@settings(max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    visibility=st.integers(min_value=30, max_value=43200),
    max_receive_count=st.integers(min_value=1, max_value=1000),
    batch_size=st.integers(min_value=1, max_value=10),
)
def test_the_resources_follow_the_template(
    synthesized: Synthesized, tmp_path: Path, visibility: int, max_receive_count: int, batch_size: int
) -> None:
    # GIVEN a template whose queue and event source mapping say other numbers
    def edit(document: dict[str, Any]) -> None:
        for resource in document["Resources"].values():
            properties = resource.get("Properties", {})
            if "RedrivePolicy" in properties:
                properties["VisibilityTimeout"] = visibility
                properties["RedrivePolicy"]["maxReceiveCount"] = max_receive_count
            if resource["Type"] == "AWS::Lambda::EventSourceMapping":
                properties["BatchSize"] = batch_size

    cdk_out = _cdk_out(synthesized, tmp_path / f"cdk.out-{visibility}-{max_receive_count}-{batch_size}", edit)
    emulator = Emulator("us-east-1")
    emulator.start()
    try:
        # WHEN the demo creates its resources
        resources = emulator.create(Template.read(cdk_out, STACK))
        # THEN the queue and the mapping carry the template's numbers
        assert resources.mapping is not None
        queue = resources.mapping.queue
        attributes = emulator.clients.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
    finally:
        emulator.stop()
    assert attributes["VisibilityTimeout"] == str(visibility)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == max_receive_count
    assert redrive["deadLetterTargetArn"] == resources.queue_named_by("DeadLetterQueueName").arn
    assert resources.mapping.batch_size == batch_size


def test_without_a_synthesized_template_it_says_to_synthesize(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(functools.partial(main, cdk_out=tmp_path, console=_console()), [])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {tmp_path / (STACK + '.template.json')} does not exist: run `make synth` first")
    assert len(error.splitlines()) == 1


def test_an_image_without_a_handler_cmd_is_refused(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text('FROM public.ecr.aws/lambda/python:3.13\nENTRYPOINT ["/lambda-entrypoint.sh"]\n')
    with pytest.raises(ToolError, match=r"has no CMD \[\"module.function\"\]"):
        image_handler(dockerfile)


def test_the_handler_is_the_one_the_image_names() -> None:
    from stacks import IMAGE_DIRECTORY

    assert image_handler(IMAGE_DIRECTORY / "Dockerfile") == "lambda_function.handler"


def test_the_cdk_options_choose_the_stage_whose_template_is_read(tmp_path: Path, synthesized: Synthesized) -> None:
    # GIVEN a cdk.out synthesized for the default stage only
    cdk_out = _cdk_out(synthesized, tmp_path / "cdk.out")
    # WHEN the demo is asked for another stage, as `make demo ARGS="-c stage=qa"` asks
    with pytest.raises(ToolError) as refused:
        Demo(["-c", "stage=qa"], console=_console(), cdk_out=cdk_out)
    # THEN it looks for that stage's template, and says how to make it
    assert str(refused.value).startswith(f"{cdk_out / 'inbox-mailer-qa-function.template.json'} does not exist")
    assert "with the same ARGS" in str(refused.value)


def test_the_story_names_the_template_s_numbers(story: Story, synthesized: Synthesized) -> None:
    resources = synthesized.function.to_json()["Resources"]
    (queue,) = [r["Properties"] for r in resources.values() if "RedrivePolicy" in r.get("Properties", {})]
    (mapping,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    told = (
        f"the queue (visibility {queue['VisibilityTimeout']} s, batches of {mapping['BatchSize']}, dead-letter queue "
        f"after {queue['RedrivePolicy']['maxReceiveCount']} receives)"
    )
    assert told in story.output
    assert "the idempotency table (time to live: expiration)" in story.output


def test_every_step_fits_an_80_column_terminal(story: Story) -> None:
    steps = [line for line in story.output.splitlines() if line.startswith("> ")]
    assert len(steps) > 10
    too_wide = [line for line in steps if len(line) > 80]
    assert not too_wide, "\n" + story.output


def test_an_unknown_runtime_client_setting_stops_the_demo_with_one_line(
    synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN DEMO_RUNTIME_CLIENT set to a client the demo does not have
    monkeypatch.setenv(RUNTIME_CLIENT_SETTING, "docker")
    cdk_out = _cdk_out(synthesized, tmp_path / "cdk.out")
    # WHEN the demo starts THEN it stops before starting anything, naming the setting and its values
    code = run(functools.partial(main, cdk_out=cdk_out, console=_console()), [])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error == "error: DEMO_RUNTIME_CLIENT=docker: use awslambdaric or stdlib, or leave it unset."


def _masked(text: str) -> str:
    # Ports, timings and the date differ from run to run, and a terminal's width wraps lines; the words do not.
    # The story under test writes its mails in a temporary folder, not in cdk.out.
    text = re.sub(r"\S*/demo/", "cdk.out/demo/", text)
    return " ".join(re.sub(r"\d+", "N", text).split())


def test_the_readme_shows_lines_the_demo_prints_in_the_order_it_prints_them(story: Story) -> None:
    # GIVEN the demo's output as the README shows it, "…" where it leaves lines out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## See it work first: `make demo`", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    # WHEN the story has run THEN each line shown is text it printed, in the same order
    printed = _masked(story.output)
    at = 0
    for line in (line for line in shown if line.strip() != "…"):
        found = printed.find(_masked(line), at)
        assert found >= 0, f"the README shows a line the demo does not print (in this order): {line!r}"
        at = found + len(_masked(line))
