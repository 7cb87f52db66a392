"""A Lambda runtime interface client in the standard library, for machines awslambdaric has no wheel for.

awslambdaric, the client of Lambda's base image, ships for Linux only. This one speaks the same documented Runtime
API (`invocation/next`, `.../response`, `.../error`, `init/error`), imports the handler the image's CMD names the
way awslambdaric does (the working directory first on the path), and hands it a context with the attributes
Powertools reads. It runs as a script, `python tools/demo/runtime_client.py module.function`, in the image's folder,
so it imports nothing of the project's.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2018-06-01"

Handler = Callable[[Any, "LambdaContext"], Any]


class RuntimeFaultError(Exception):
    """The handler cannot be loaded or its answer cannot be sent; `error_type` is awslambdaric's name for why."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class LambdaContext:
    """What awslambdaric's context carries, read from the invocation's headers and the function's environment."""

    aws_request_id: str
    invoked_function_arn: str
    deadline_ms: int
    function_name: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""))
    function_version: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"))
    memory_limit_in_mb: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", ""))
    log_group_name: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""))
    log_stream_name: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""))
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(self.deadline_ms - int(time.time() * 1000), 0)


def load_handler(name: str) -> Handler:
    """`module.function` imported as awslambdaric imports it, with its error types."""
    module_name, _, function_name = name.rpartition(".")
    if not module_name:
        raise RuntimeFaultError("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise RuntimeFaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from error
    except SyntaxError as error:
        raise RuntimeFaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}"
        ) from error
    handler = getattr(module, function_name, None)
    if handler is None:
        raise RuntimeFaultError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return handler  # type: ignore[no-any-return]


def error_document(error: BaseException, request_id: str = "") -> dict[str, Any]:
    """The shape Lambda reports for an error: errorMessage, errorType, requestId, stackTrace."""
    error_type = error.error_type if isinstance(error, RuntimeFaultError) else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__) if not isinstance(error, RuntimeFaultError) else []
    return {
        "errorMessage": str(error),
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def marshal(response: Any) -> bytes:
    """The handler's answer as JSON, Decimals included, as awslambdaric encodes it."""

    def number(value: object) -> object:
        if isinstance(value, decimal.Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    try:
        return json.dumps(response, default=number).encode()
    except (TypeError, ValueError) as error:
        raise RuntimeFaultError("Runtime.MarshalError", f"Unable to marshal response: {error}") from error


class RuntimeClient:
    """One function instance's loop: ask for the next invocation, run the handler, post its answer."""

    def __init__(self, address: str) -> None:
        self._base = f"http://{address}/{API_VERSION}/runtime"
        # The API is on loopback: a proxy of the system's settings (Windows, macOS) must not see it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def next_invocation(self) -> tuple[Any, LambdaContext]:
        # No timeout: Lambda's `next` blocks until there is work, and the demo stops this process to end it.
        with self._opener.open(f"{self._base}/invocation/next") as answer:
            headers = answer.headers
            body = answer.read()
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(
            aws_request_id=headers["Lambda-Runtime-Aws-Request-Id"],
            invoked_function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            deadline_ms=int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
        )
        return json.loads(body or b"null"), context

    def post_response(self, request_id: str, response: bytes) -> None:
        self._post(f"invocation/{request_id}/response", response)

    def post_error(self, request_id: str, error: BaseException) -> None:
        document = error_document(error, request_id)
        self._post(f"invocation/{request_id}/error", marshal(document), error_type=document["errorType"])

    def post_init_error(self, error: BaseException) -> None:
        document = error_document(error)
        self._post("init/error", marshal(document), error_type=document["errorType"])

    def _post(self, path: str, body: bytes, *, error_type: str | None = None) -> None:
        headers = {"Content-Type": "application/json"}
        if error_type is not None:
            headers["Lambda-Runtime-Function-Error-Type"] = error_type
        request = urllib.request.Request(f"{self._base}/{path}", data=body, headers=headers, method="POST")
        with self._opener.open(request) as answer:
            answer.read()


def _log_error(document: dict[str, Any]) -> None:
    # awslambdaric's text format, so that the function's log reads the same with either client.
    print(f"[ERROR] {document['errorType']}: {document['errorMessage']}", *document["stackTrace"], sep="\n", flush=True)


def serve(handler_name: str, client: RuntimeClient) -> int:
    try:
        handler = load_handler(handler_name)
    except Exception as error:  # noqa: BLE001 - any failure of the module's code is an init error, as in Lambda
        _log_error(error_document(error))
        client.post_init_error(error)
        return 1
    while True:
        event, context = client.next_invocation()
        try:
            response = marshal(handler(event, context))
        except Exception as error:  # noqa: BLE001 - the handler's error is the invocation's answer
            _log_error(error_document(error, context.aws_request_id))
            client.post_error(context.aws_request_id, error)
            continue
        client.post_response(context.aws_request_id, response)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: runtime_client.py module.function (in the function's folder)", file=sys.stderr)
        return 2
    # Run as a script, Python puts this file's folder first on the path; the function's folder belongs there.
    sys.path[0] = os.getcwd()
    return serve(argv[0], RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
