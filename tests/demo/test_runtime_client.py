"""The runtime interface clients the demo runs the handler with: the demo's own against its Runtime API, side by
side with awslambdaric where it is installed, and which one the demo chooses."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.demo.runtime_api import (
    AWSLAMBDARIC,
    RUNTIME_CLIENT_SETTING,
    STDLIB,
    STDLIB_CLIENT,
    FunctionError,
    FunctionProcess,
    RuntimeApi,
    choose_runtime_client,
)
from tools.deployed import ToolError

ARN = "arn:aws:lambda:us-east-1:123456789012:function:demo"
FUNCTION = textwrap.dedent(
    """
    import decimal
    import os


    def handler(event, context):
        if "fail" in event:
            raise ValueError(event["fail"])
        if "answer" in event:
            return {"decimal": decimal.Decimal(event["answer"]), "object": object()}.get(event["kind"])
        return {
            "event": event,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "trace_id": os.environ.get("_X_AMZN_TRACE_ID", ""),
        }
    """
)
ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "demo",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/demo",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]abc",
}
CLIENTS = [
    pytest.param(
        AWSLAMBDARIC,
        marks=pytest.mark.skipif(importlib.util.find_spec(AWSLAMBDARIC) is None, reason="awslambdaric is Linux only"),
    ),
    STDLIB,
]


def _function_folder(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "function.py").write_text(FUNCTION, encoding="utf-8")
    (directory / "broken_at_import.py").write_text("raise RuntimeError('no settings')\n", encoding="utf-8")
    return directory


def _start(directory: Path, handler: str, client: str) -> tuple[RuntimeApi, FunctionProcess]:
    api = RuntimeApi(ARN)
    api.start()
    inherited = {name: os.environ[name] for name in ("PATH", "SYSTEMROOT") if name in os.environ}
    process = FunctionProcess(
        image_directory=directory,
        handler=handler,
        client=choose_runtime_client(client),
        environment={**inherited, **ENVIRONMENT},
        api=api,
        on_output=lambda line: None,
    )
    return api, process


@pytest.fixture(scope="module", params=CLIENTS)
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunctionProcess]:
    api, process = _start(_function_folder(tmp_path_factory.mktemp("function")), "function.handler", request.param)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()
        api.stop()


events = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda key: key != "fail"),
    st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()),
    max_size=4,
)


@settings(max_examples=15, deadline=None)
@given(event=events)
def test_the_handler_answers_with_its_response_and_a_lambda_context(running: FunctionProcess, event: Any) -> None:
    # WHEN an invocation goes through the Runtime API
    answer = running.invoke(event, timeout_seconds=60)
    # THEN the handler saw the event and the context Powertools reads, and its answer came back
    assert answer["event"] == event
    assert answer["invoked_function_arn"] == ARN
    assert len(answer["aws_request_id"]) == 36
    assert 0 < answer["remaining_ms"] <= 60_000
    assert answer["trace_id"].startswith("Root=1-")
    for name, variable in [
        ("function_name", "AWS_LAMBDA_FUNCTION_NAME"),
        ("function_version", "AWS_LAMBDA_FUNCTION_VERSION"),
        ("memory_limit_in_mb", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        ("log_group_name", "AWS_LAMBDA_LOG_GROUP_NAME"),
        ("log_stream_name", "AWS_LAMBDA_LOG_STREAM_NAME"),
    ]:
        assert answer[name] == ENVIRONMENT[variable]


@settings(max_examples=10, deadline=None)
@given(message=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_a_handler_exception_is_posted_as_the_invocation_s_error(running: FunctionProcess, message: str) -> None:
    # WHEN the handler raises
    with pytest.raises(FunctionError) as failed:
        running.invoke({"fail": message}, timeout_seconds=60)
    # THEN the invocation's answer is Lambda's error shape, and the function serves the next one
    assert str(failed.value) == message
    assert running.invoke({}, timeout_seconds=60)["event"] == {}


@pytest.mark.parametrize("client", CLIENTS)
def test_the_error_document_has_lambda_s_shape(tmp_path: Path, client: str) -> None:
    api, process = _start(_function_folder(tmp_path), "function.handler", client)
    try:
        process.wait_ready()
        # WHEN the handler raises
        invocation = api.submit({"fail": "no sender"}, 60)
        assert invocation.done.wait(30)
    finally:
        process.stop()
        api.stop()
    # THEN /error received Lambda's error shape
    assert invocation.error is not None
    assert invocation.error["errorType"] == "ValueError"
    assert invocation.error["errorMessage"] == "no sender"
    assert invocation.error["requestId"] == invocation.request_id
    assert any("function.py" in frame for frame in invocation.error["stackTrace"])


@given(amount=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000))
def test_a_decimal_answer_is_sent_as_a_number(running: FunctionProcess, amount: Any) -> None:
    # Powertools' idempotency and DynamoDB answers carry Decimals
    assert running.invoke({"answer": str(amount), "kind": "decimal"}, timeout_seconds=60) == float(amount)


def test_an_answer_that_is_not_json_is_the_invocation_s_error(running: FunctionProcess) -> None:
    with pytest.raises(FunctionError, match=r"^Unable to marshal response: .*object.* is not JSON serializable"):
        running.invoke({"answer": "0", "kind": "object"}, timeout_seconds=60)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("missing_module.handler", "Runtime.ImportModuleError", "Unable to import module 'missing_module'"),
        ("function.nothing", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'function'"),
        ("broken_at_import.handler", "RuntimeError", "no settings"),
    ],
)
def test_a_handler_that_cannot_load_is_an_init_error(
    tmp_path: Path, client: str, handler: str, error_type: str, message: str
) -> None:
    # GIVEN a CMD naming a handler that cannot be loaded
    api, process = _start(_function_folder(tmp_path), handler, client)
    try:
        # WHEN the function starts THEN it reports an init error, says why, and exits
        with pytest.raises(ToolError, match=f"The function did not start: {message}"):
            process.wait_ready()
        assert process.process.wait(timeout=10) != 0
    finally:
        process.stop()
        api.stop()
    assert api.init_error is not None
    assert api.init_error["errorType"] == error_type


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="awslambdaric ships for Linux only")
def test_on_linux_the_demo_runs_awslambdaric_as_lambda_does() -> None:
    client = choose_runtime_client()
    assert client.name == AWSLAMBDARIC
    assert client.command("lambda_function.handler")[1:] == ["-m", "awslambdaric", "lambda_function.handler"]
    assert not client.why


def test_without_awslambdaric_the_demo_runs_its_own_client_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == AWSLAMBDARIC else real_find_spec(name, *a)
    )
    client = choose_runtime_client()
    assert client.name == STDLIB
    assert client.command("lambda_function.handler")[1:] == [str(STDLIB_CLIENT), "lambda_function.handler"]
    assert client.shown == "python tools/demo/runtime_client.py"
    assert "awslambdaric ships for Linux only" in client.why
    # AND asking for awslambdaric by name says how to install it
    with pytest.raises(ToolError, match=r"awslambdaric is not installed: pip install -r requirements-demo.txt"):
        choose_runtime_client(AWSLAMBDARIC)


@given(setting=st.text(min_size=1, max_size=12).filter(lambda text: text not in (AWSLAMBDARIC, STDLIB)))
def test_an_unknown_client_setting_is_refused_with_its_name(setting: str) -> None:
    with pytest.raises(ToolError) as refused:
        choose_runtime_client(setting)
    assert str(refused.value) == f"{RUNTIME_CLIENT_SETTING}={setting}: use awslambdaric or stdlib, or leave it unset."


def test_the_demo_s_client_imports_nothing_of_the_project() -> None:
    # Windows and macOS run it with only the function's folder on the path
    source = STDLIB_CLIENT.read_text(encoding="utf-8")
    assert "from tools" not in source
    assert "import stacks" not in source
