"""The Lambda Runtime API on loopback, and the function's code run behind it as Lambda runs an image.

The image's CMD names the handler; Lambda's base image starts the runtime interface client (`awslambdaric`) with
it, and the client asks the Runtime API for each invocation and posts back the answer. Here the same client runs
as a child process of the demo, in `lambda_image/`, against `RuntimeApi`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tools.deployed import ToolError

PREFIX = "/2018-06-01/runtime"
_CMD = re.compile(r'^CMD\s+\[\s*"(?P<handler>[^"]+)"\s*\]\s*$', re.MULTILINE)
# How long the function gets to start and ask for its first invocation.
INIT_TIMEOUT_SECONDS = 30.0


def image_handler(dockerfile: Path) -> str:
    """The handler the image's CMD names (`module.function`)."""
    match = _CMD.search(dockerfile.read_text(encoding="utf-8"))
    if match is None:
        raise ToolError(f'{dockerfile} has no CMD ["module.function"]: the demo runs the handler the image names.')
    return match["handler"]


def require_runtime_client() -> None:
    """A clear line instead of the child's traceback when the runtime interface client is missing."""
    if importlib.util.find_spec("awslambdaric") is None:
        raise ToolError(
            "awslambdaric, the Lambda runtime client the demo runs the handler with, is not installed: "
            "pip install -r requirements-demo.txt (it ships for Linux only; on Windows run the demo in WSL)."
        )


class FunctionError(Exception):
    """The invocation ended with an error instead of a response (Lambda retries the whole batch)."""


@dataclass
class Invocation:
    event: dict[str, Any]
    deadline_ms: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: threading.Event = field(default_factory=threading.Event)
    response: Any = None
    error: dict[str, Any] | None = None


class RuntimeApi:
    """next / response / error, for one function instance: invocations are handed out one at a time."""

    def __init__(self, function_arn: str) -> None:
        self._function_arn = function_arn
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._running: dict[str, Invocation] = {}
        self._stopping = threading.Event()
        self.ready = threading.Event()
        self.init_error: dict[str, Any] | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def submit(self, event: dict[str, Any], timeout_seconds: int) -> Invocation:
        invocation = Invocation(event=event, deadline_ms=int((time.time() + timeout_seconds) * 1000))
        self._pending.put(invocation)
        return invocation

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the story prints what matters."""

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._answer(HTTPStatus.NOT_FOUND, {"errorMessage": self.path})
                    return
                api.ready.set()
                while not api._stopping.is_set():
                    try:
                        invocation = api._pending.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    api._running[invocation.request_id] = invocation
                    body = json.dumps(invocation.event).encode()
                    self.send_response(HTTPStatus.OK)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", api._function_arn)
                    self.send_header(
                        "Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
                    )
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self._answer(HTTPStatus.GONE, {"errorMessage": "the demo is stopping"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null")
                if self.path == f"{PREFIX}/init/error":
                    api.init_error = payload or {"errorMessage": "initialization failed"}
                    self._answer(HTTPStatus.ACCEPTED, {"status": "OK"})
                    return
                match = re.fullmatch(rf"{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)", self.path)
                invocation = api._running.pop(match["id"], None) if match else None
                if match is None or invocation is None:
                    self._answer(HTTPStatus.NOT_FOUND, {"errorMessage": f"no invocation at {self.path}"})
                    return
                if match["kind"] == "response":
                    invocation.response = payload
                else:
                    invocation.error = payload or {"errorMessage": "unknown error"}
                invocation.done.set()
                self._answer(HTTPStatus.ACCEPTED, {"status": "OK"})

            def _answer(self, status: HTTPStatus, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                # The client may already be gone when the demo stops it while it waits for work.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        return Handler


class FunctionProcess:
    """`python -m awslambdaric <CMD>` in the image's folder, its output handed line by line to `on_output`."""

    def __init__(
        self,
        *,
        image_directory: Path,
        handler: str,
        environment: dict[str, str],
        api: RuntimeApi,
        on_output: Callable[[str], None],
    ) -> None:
        self._api = api
        self._on_output = on_output
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            cwd=image_directory,
            env={**environment, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}", "PYTHONPATH": str(image_directory)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, name="function-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self._on_output(line.rstrip("\n"))

    def wait_ready(self) -> None:
        """Until the function asked for its first invocation (its module-level code ran)."""
        deadline = time.monotonic() + INIT_TIMEOUT_SECONDS
        while not self._api.ready.wait(0.1):
            if self._api.init_error is not None or self.process.poll() is not None or time.monotonic() > deadline:
                raise ToolError(f"The function did not start: {self._last_words()}")

    def invoke(self, event: dict[str, Any], timeout_seconds: int) -> Any:
        """The function's answer to one event; FunctionError if it answered with an error."""
        invocation = self._api.submit(event, timeout_seconds)
        deadline = time.monotonic() + timeout_seconds
        while not invocation.done.wait(0.1):
            if self.process.poll() is not None:
                raise ToolError(f"The function stopped: {self._last_words()}")
            if time.monotonic() > deadline:
                raise ToolError(f"The function did not answer within its timeout of {timeout_seconds} s.")
        if invocation.error is not None:
            raise FunctionError(invocation.error.get("errorMessage", json.dumps(invocation.error)))
        return invocation.response

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def _last_words(self) -> str:
        if self._api.init_error is not None:
            return str(self._api.init_error.get("errorMessage", self._api.init_error))
        return (self.output[-1] if self.output else "no output") + f" (exit code {self.process.poll()})"


def lambda_environment(
    *,
    function_environment: dict[str, str],
    function_name: str,
    memory_mib: int,
    region: str,
    endpoint: str,
    credentials: dict[str, str],
    handler: str,
    log_group: str,
    image_directory: Path,
) -> dict[str, str]:
    """What Lambda sets in a function's environment, the function's own variables, and the stand-in's endpoint."""
    inherited = {name: os.environ[name] for name in ("PATH", "LANG", "SYSTEMROOT", "TMPDIR") if name in os.environ}
    return {
        **inherited,
        **credentials,
        **function_environment,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mib),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "LAMBDA_TASK_ROOT": str(image_directory),
        "_HANDLER": handler,
    }
