"""`make demo`: see the mailer work on this machine before creating anything in AWS.

Reads the function stack synthesized in cdk.out (`make synth` with the same ARGS), creates its resources in moto,
the local stand-in for AWS, runs the function's real code as Lambda runs the image, and tells what happens to
four uploads: three mailed (attached, linked because too large, linked because of a refused type), one failing
while the sender is broken, landing in the dead-letter queue, and mailed once after `make redrive`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from stacks import IMAGE_DIRECTORY
from tools import redrive, status
from tools.demo import mail as mails
from tools.demo.emulator import FAKE_CREDENTIALS, STAND_IN, Emulator, Resources
from tools.demo.event_source import EventSource
from tools.demo.runtime_api import (
    FunctionProcess,
    RuntimeApi,
    image_handler,
    lambda_environment,
    require_runtime_client,
)
from tools.demo.templates import Template
from tools.deployed import ToolError, argument_parser, run, target_from

DEFAULT_REGION = "us-east-1"
# A failed file comes back after the queue's visibility timeout (minutes); the demo waits this long instead.
RETRY_AFTER_SECONDS = 1
# Longest wait for any one step; the whole demo takes well under a minute.
STEP_TIMEOUT_SECONDS = 30.0
BROKEN_FILE = "after-the-break.txt"


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    expect: str


@dataclass
class Summary:
    uploaded: int = 0
    mails: int = 0
    failed_tries: int = 0
    dead_letters: int = 0
    redriven: int = 0
    paths: list[Path] = field(default_factory=list)


def main(argv: Sequence[str], *, console: Console | None = None, cdk_out: Path = Path("cdk.out")) -> int:
    argument_parser(__doc__ or "").parse_known_args(argv)
    console = console or Console()
    with Demo(argv, console=console, cdk_out=cdk_out) as demo:
        demo.run()
    return 0


class Demo:
    """Everything the demo starts, stopped on exit however the story ends."""

    def __init__(self, argv: Sequence[str], *, console: Console, cdk_out: Path) -> None:
        self.argv = list(argv)
        self.console = console
        self.cdk_out = cdk_out
        target = target_from(argv)
        self.target = target
        self.region = target.region or DEFAULT_REGION
        self.template = Template.read(cdk_out, target.function_stack)
        self.handler = image_handler(IMAGE_DIRECTORY / "Dockerfile")
        require_runtime_client()
        self.summary = Summary()
        self.started = time.monotonic()
        self._stack = contextlib.ExitStack()
        self.emulator: Emulator | None = None
        self.api: RuntimeApi | None = None
        self.function: FunctionProcess | None = None
        self.events: EventSource | None = None

    def __enter__(self) -> Demo:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def step(self, text: str) -> None:
        self.console.print(f"[bold cyan]>[/] {text}", highlight=False)

    def run(self) -> None:
        resources = self.start()
        self.mail_three_files(resources)
        self.fail_one_file(resources)
        self.show_status()
        self.redrive_it(resources)
        self.close(resources)

    # The steps, in the order of the story.

    def start(self) -> Resources:
        self.step(f"Read the app from {self.template.path} (stage {self.target.stage}, region {self.region})")
        emulator = Emulator(self.region)
        self._stack.callback(emulator.stop)
        emulator.start()
        self.emulator = emulator
        self.step(f"Started {STAND_IN}, on {emulator.endpoint}")
        resources = emulator.create(self.template)
        self._describe(resources)
        self._start_function(resources)
        # Needed only by `make status` and `make redrive`, and slow to create: made while the function works.
        self._outputs = _Background(
            functools.partial(emulator.publish_outputs, self.template.stack_name, resources.outputs)
        )
        self._stack.callback(self._outputs.join)
        return resources

    def mail_three_files(self, resources: Resources) -> None:
        limit = int(resources.environment_value("max_message_bytes"))
        uploads = [
            Upload("report.txt", b"Quarterly numbers: all green.\n" * 40, "attached"),
            # Larger than the largest message the function may send, whatever MIME adds.
            Upload("scan.pdf", b"%PDF-1.7\n" + b"\0" * limit, "a link: too large"),
            Upload("setup.exe", b"MZ\x90\x00", "a link: a type email refuses"),
        ]
        for upload in uploads:
            self._upload(resources, upload)
        self._wait(f"Waiting for {len(uploads)} mails", lambda: len(mails.sent_mails(self.region)) >= len(uploads))
        sent = mails.sent_mails(self.region)
        for upload in uploads:
            (mail,) = [m for m in sent if m.is_about(upload.key)]
            subject, recipients = escape(mail.subject), ", ".join(mail.destinations)
            self.step(f"{upload.key} -> mail [bold]{subject}[/] from {mail.sender} to {recipients}: {mail.carries}")
        emls, page = mails.write(sent, self.cdk_out / "demo")
        self.summary.paths = [*emls, page]
        self.step(f"Wrote each mail as .eml ({', '.join(str(p) for p in emls)}) and one page showing them: {page}")

    def fail_one_file(self, resources: Resources) -> None:
        assert self.emulator is not None
        assert resources.mapping is not None
        sesv2 = self.emulator.clients.sesv2
        sesv2.delete_email_identity(EmailIdentity=resources.sender)
        self.step(f"Broke the sender on purpose: deleted the SES identity {resources.sender}")
        visibility = resources.mapping.queue.attributes.get("VisibilityTimeout", "30")
        redrive_policy = json.loads(resources.mapping.queue.attributes["RedrivePolicy"])
        self.step(
            f"A failed file comes back after the queue's visibility timeout of {visibility} s; the demo retries "
            f"after {RETRY_AFTER_SECONDS} s instead, to stay short. After {redrive_policy['maxReceiveCount']} tries "
            "SQS moves it to the dead-letter queue."
        )
        self._upload(resources, Upload(BROKEN_FILE, b"Written while the sender was broken.\n", "dead-letter queue"))
        dead_letters = resources.queue_named_by("DeadLetterQueueName")
        self._wait(
            f"Waiting for {BROKEN_FILE} to fail {redrive_policy['maxReceiveCount']} times",
            lambda: self._waiting(dead_letters.url) >= 1,
        )
        assert self.events is not None
        tries = max(self.events.tally.attempts.values())
        reason = self._last_failure_reason()
        self.summary.failed_tries = self.events.tally.failed_records
        self.summary.dead_letters = self._waiting(dead_letters.url)
        self.step(f"{BROKEN_FILE} failed {tries} times ({reason}) and is now in the dead-letter queue")

    def show_status(self) -> None:
        self._outputs.result()
        self.step(f"make status, against {STAND_IN}:")
        code = self._tool(status.main)
        if code:
            self.step(f"make status ended with exit code {code}: the stand-in lacks an API it reads (see above)")

    def redrive_it(self, resources: Resources) -> None:
        assert self.emulator is not None
        self.emulator.clients.sesv2.create_email_identity(EmailIdentity=resources.sender)
        self.step(f"Fixed the cause: restored the SES identity {resources.sender}")
        self.step(f"make redrive, against {STAND_IN}:")
        before = len(mails.sent_mails(self.region))
        code = self._tool(redrive.main)
        if code:
            raise ToolError(f"make redrive ended with exit code {code}; its message is above.")
        self.summary.redriven = self.summary.dead_letters - self._waiting(
            resources.queue_named_by("DeadLetterQueueName").url
        )
        self._wait(f"Waiting for {BROKEN_FILE}", lambda: len(mails.sent_mails(self.region)) > before)
        # Long enough for a second mail of the same file to show, were the redrive to send it twice.
        self._wait("Checking that it is mailed only once", lambda: self._idle(resources))
        again = [m for m in mails.sent_mails(self.region) if m.is_about(BROKEN_FILE)]
        self.step(f"{BROKEN_FILE} -> mailed {len(again)} time{'s' if len(again) != 1 else ''}: {again[0].carries}")

    def close(self, resources: Resources) -> None:
        sent = mails.sent_mails(self.region)
        self.summary.mails = len(sent)
        emls, page = mails.write(sent, self.cdk_out / "demo")
        self.summary.paths = [*emls, page]
        summary = self.summary
        self.step(
            f"[bold]Done in {time.monotonic() - self.started:.0f} s:[/] {summary.uploaded} files uploaded, "
            f"{summary.mails} mails sent, {summary.failed_tries} failed tries, {summary.dead_letters} file in the "
            f"dead-letter queue, {summary.redriven} redriven. The mails: {page}"
        )

    # The machinery behind the steps.

    def _describe(self, resources: Resources) -> None:
        assert resources.mapping is not None
        queue = resources.mapping.queue
        redrive_policy = json.loads(queue.attributes.get("RedrivePolicy", "{}"))
        ttl = f" (time to live: {resources.table_ttl_attribute})" if resources.table_ttl_attribute else ""
        # The physical names are long and random, as CloudFormation's: `make status` below shows them.
        self.step(
            "Created the template's resources: the inbox bucket (EventBridge notifications on), the upload rule -> "
            f"the queue (visibility {queue.attributes.get('VisibilityTimeout')} s, batches of "
            f"{resources.mapping.batch_size}, dead-letter queue after {redrive_policy.get('maxReceiveCount')} "
            f"receives), the dead-letter and undeliverable-events queues, the idempotency table{ttl}, the SES "
            f"identity {resources.sender} and the configuration set"
        )
        if resources.outputs_left_out:
            self.step(
                f"Not in the stand-in (the demo needs none of them): outputs {', '.join(resources.outputs_left_out)}, "
                "the alarms, the dashboard"
            )

    def _start_function(self, resources: Resources) -> None:
        assert self.emulator is not None
        assert resources.function is not None
        assert resources.mapping is not None
        function = resources.function
        arn = f"arn:aws:lambda:{self.region}:{self.emulator.account}:function:{function.name}"
        api = RuntimeApi(arn)
        self._stack.callback(api.stop)
        api.start()
        self.api = api
        log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        logs = self.emulator.clients.logs
        logs.create_log_stream(logGroupName=function.log_group, logStreamName=log_stream)

        def to_log_group(line: str) -> None:
            # As Lambda does: what the function prints goes to its log group, where `make status` reads it.
            logs.put_log_events(
                logGroupName=function.log_group,
                logStreamName=log_stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
            )

        environment = lambda_environment(
            function_environment=function.environment,
            function_name=function.name,
            memory_mib=function.memory_mib,
            region=self.region,
            endpoint=self.emulator.endpoint,
            credentials=FAKE_CREDENTIALS,
            handler=self.handler,
            log_group=function.log_group,
            image_directory=IMAGE_DIRECTORY,
        )
        began = time.monotonic()
        process = FunctionProcess(
            image_directory=IMAGE_DIRECTORY,
            handler=self.handler,
            environment=environment,
            api=api,
            on_output=to_log_group,
        )
        self._stack.callback(process.stop)
        self.function = process
        with self.console.status("Starting the function"):
            process.wait_ready()
        self.step(
            f"Started the function's code from {IMAGE_DIRECTORY.name}/ as the image's CMD does: python -m awslambdaric "
            f"{self.handler}, against a local Lambda Runtime API on 127.0.0.1:{api.port} "
            f"(ready in {time.monotonic() - began:.1f} s)"
        )
        events = EventSource(
            sqs=self.emulator.clients.sqs,
            mapping=resources.mapping,
            region=self.region,
            invoke=functools.partial(process.invoke, timeout_seconds=function.timeout_seconds),
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
        self._stack.callback(events.stop)
        events.start()
        self.events = events

    def _upload(self, resources: Resources, upload: Upload) -> None:
        assert self.emulator is not None
        key = resources.environment_value("inbox_prefix") + upload.key
        self.emulator.clients.s3.put_object(Bucket=resources.inbox_bucket, Key=key, Body=upload.body)
        self.summary.uploaded += 1
        self.step(f"Uploaded {key} ({len(upload.body):,} bytes): expect {upload.expect}")

    def _wait(self, what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_SECONDS
        with self.console.status(what):
            while not done():
                if self.events is not None and self.events.error is not None:
                    raise ToolError(f"The event source stopped: {self.events.error}")
                if time.monotonic() > deadline:
                    raise ToolError(
                        f"{what}: nothing after {STEP_TIMEOUT_SECONDS:.0f} s; the function's output: "
                        f"{self.function.output[-3:] if self.function else []}"
                    )
                time.sleep(0.1)

    def _waiting(self, url: str) -> int:
        assert self.emulator is not None
        attributes = self.emulator.clients.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def _idle(self, resources: Resources) -> bool:
        assert resources.mapping is not None
        return self._waiting(resources.mapping.queue.url) == 0

    def _last_failure_reason(self) -> str:
        assert self.function is not None
        for line in reversed(self.function.output):
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and str(entry.get("message", "")).startswith("Mailing failed"):
                    # The reason is advice for an operator; the story needs only what SES said.
                    code = entry.get("error_code")
                    return f"SES said {code}" if code else str(entry.get("reason", entry["message"]))
        return "no reason logged"

    def _tool(self, tool_main: Callable[..., int]) -> int:
        """Runs an operator tool through its own main, as `make` would, with the stand-in as its AWS."""
        assert self.emulator is not None
        # The stand-in accepts any key; a --profile of ARGS would name real credentials.
        argv = _without_profile(self.argv)
        with _environment(
            {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.emulator.endpoint, "AWS_DEFAULT_REGION": self.region},
            remove=("AWS_PROFILE",),
        ):
            return run(functools.partial(tool_main, console=self.console), argv)


class _Background:
    """One call on a thread of its own; `result()` waits for it and raises what it raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._error: BaseException | None = None

        def target() -> None:
            try:
                call()
            except BaseException as error:  # noqa: BLE001 - raised again by result()
                self._error = error

        self._thread = threading.Thread(target=target, name="demo-background", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def _without_profile(argv: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--profile":
            skip = True
        elif not argument.startswith("--profile="):
            kept.append(argument)
    return kept


@contextlib.contextmanager
def _environment(values: dict[str, str], *, remove: Sequence[str] = ()) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in [*values, *remove]}
    os.environ.update(values)
    for name in remove:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
