"""Settings are read once from the environment; a bad one fails at cold start, naming itself."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from inbox_mailer import contract
from inbox_mailer.contract import MailerSettings, SettingsError, function_environment
from inbox_mailer.message import TIME_FORMAT
from tests.handler.support import CONTRACT_ENV, RECIPIENTS, TABLE, Inbox, LambdaContext, sqs_event

# Every variable the function reads itself (Powertools reads its service name and log level).
REQUIRED = [variable.name for variable in contract.ENVIRONMENT.values()]

MALFORMED = [
    ("SENDER_ADDRESS", "not-an-address"),
    ("SENDER_ADDRESS", "two@@example.com"),
    ("RECIPIENTS", "alice@example.com,,bob@example.com"),
    ("RECIPIENTS", "alice@example.com, nobody"),
    ("RECIPIENTS", ",".join(f"user{n}@example.com" for n in range(51))),
    ("INBOX_BUCKET", "Not_A_Bucket"),
    ("INBOX_PREFIX", "incoming"),
    ("INBOX_PREFIX", "/incoming/"),
    ("IDEMPOTENCY_TTL_SECONDS", "one day"),
    ("IDEMPOTENCY_TTL_SECONDS", "0"),
    ("MAX_MESSAGE_BYTES", "10MB"),
    ("MAX_MESSAGE_BYTES", str(40 * 1024 * 1024 + 1)),
    ("MAX_MESSAGE_BYTES", "-1"),
    ("LINK_EXPIRY_SECONDS", "1.5"),
    ("LINK_EXPIRY_SECONDS", "3601"),
    ("QUEUE_URL", "inbox-uploads"),
    ("MAX_CONCURRENCY", "0"),
    ("MAX_CONCURRENCY", "two"),
]


def test_contract_environment_is_read_into_settings() -> None:
    settings = MailerSettings.from_env(CONTRACT_ENV)

    assert settings == MailerSettings(
        sender_address="inbox@example.com",
        recipients=RECIPIENTS,
        inbox_bucket="inbox-bucket-test",
        inbox_prefix="incoming/",
        idempotency_table="idempotency-test",
        idempotency_ttl_seconds=86400,
        max_message_bytes=1024 * 1024,
        link_expiry_seconds=3600,
        metrics_namespace="InboxMailerTest",
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/inbox-uploads",
        max_concurrency=2,
        configuration_set="inbox-mailer-test",
    )


def test_the_function_reads_each_setting_from_the_variable_the_contract_gives_it_and_no_other() -> None:
    # GIVEN the environment the stack writes, recording which variables are read
    class Recording(dict[str, str]):
        def __init__(self, values: dict[str, str]) -> None:
            super().__init__(values)
            self.read: list[str] = []

        def get(self, key: str, default: Any = None) -> Any:
            self.read.append(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> str:
            self.read.append(key)
            return super().__getitem__(key)

    environ = Recording(CONTRACT_ENV)

    # WHEN the function reads its settings
    MailerSettings.from_env(environ)

    # THEN it read exactly the contract's variables, one per setting, and the contract has one per setting
    assert environ.read == REQUIRED
    assert list(contract.ENVIRONMENT) == [f.name for f in fields(MailerSettings)]
    assert set(CONTRACT_ENV) == {*REQUIRED, "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}


def test_a_variable_renamed_in_the_contract_is_written_and_read_under_its_new_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the contract naming max_concurrency's variable SENDS_AT_ONCE
    renamed = replace(contract.ENVIRONMENT["max_concurrency"], name="SENDS_AT_ONCE")
    monkeypatch.setitem(contract.ENVIRONMENT, "max_concurrency", renamed)
    settings = replace(MailerSettings.from_env({**CONTRACT_ENV, "SENDS_AT_ONCE": "2"}), max_concurrency=7)

    # WHEN the settings are written THEN the new name carries the value, and the old one is gone
    environment = function_environment(settings)
    assert environment["SENDS_AT_ONCE"] == "7"
    assert "MAX_CONCURRENCY" not in environment

    # AND the function reads it back from there, and misses it under the old name
    assert MailerSettings.from_env(environment) == settings
    with pytest.raises(SettingsError, match=r"^SENDS_AT_ONCE is not set$"):
        MailerSettings.from_env({**environment, "MAX_CONCURRENCY": "7", "SENDS_AT_ONCE": ""})


def test_the_longest_link_the_function_accepts_is_the_one_the_deploy_accepts() -> None:
    # A link signed with the role's temporary credentials dies with them: an hour on both sides.
    assert contract.MAX_LINK_EXPIRY_SECONDS == 3600
    environ = {**CONTRACT_ENV, "LINK_EXPIRY_SECONDS": "3600"}
    assert MailerSettings.from_env(environ).link_expiry_seconds == 3600
    with pytest.raises(SettingsError, match=r"^LINK_EXPIRY_SECONDS must be at least 1 and at most 3600, got 3601$"):
        MailerSettings.from_env({**environ, "LINK_EXPIRY_SECONDS": "3601"})


def test_fifty_recipients_with_spaces_and_duplicates_are_accepted() -> None:
    addresses = [f"user{n}@example.com" for n in range(50)]
    environ = {**CONTRACT_ENV, "RECIPIENTS": " , ".join([*addresses, addresses[0]])}

    settings = MailerSettings.from_env(environ)

    assert settings.recipients == tuple(addresses)


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_missing_setting_is_named(name: str, value: str | None) -> None:
    # GIVEN the contract environment without one variable
    environ = {key: val for key, val in CONTRACT_ENV.items() if key != name}
    if value is not None:
        environ[name] = value

    # WHEN it is read THEN the error names that variable
    with pytest.raises(SettingsError, match=rf"^{name} "):
        MailerSettings.from_env(environ)


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_malformed_setting_is_named(name: str, value: str) -> None:
    environ = {**CONTRACT_ENV, name: value}

    with pytest.raises(SettingsError, match=rf"^{name} "):
        MailerSettings.from_env(environ)


def test_cold_start_fails_on_a_bad_setting(monkeypatch: pytest.MonkeyPatch, mocked_aws: None) -> None:
    # GIVEN a function configured with a malformed limit
    monkeypatch.setenv("MAX_MESSAGE_BYTES", "lots")
    sys.modules.pop("lambda_function", None)

    # WHEN the module is imported (Lambda's cold start) THEN it fails naming the variable
    with pytest.raises(SettingsError, match=r"^MAX_MESSAGE_BYTES "):
        importlib.import_module("lambda_function")
    sys.modules.pop("lambda_function", None)


@pytest.fixture
def configured_function(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ModuleType]:
    """The real handler module, cold-started with some settings changed from the contract environment."""

    def cold_start(**environment: str) -> ModuleType:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        module: ModuleType = request.getfixturevalue("function_module")
        return module

    return cold_start


def test_the_idempotency_record_lives_as_long_as_idempotency_ttl_seconds(
    inbox: Inbox, configured_function: Callable[..., ModuleType], lambda_context: LambdaContext
) -> None:
    # GIVEN a function whose idempotency records live 2 hours (not the library's default of 1 hour)
    function_module = configured_function(IDEMPOTENCY_TTL_SECONDS="7200")
    record = inbox.upload_and_receive("incoming/report.pdf", b"%PDF")

    # WHEN an upload is mailed
    started = int(time.time())
    assert function_module.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}
    finished = int(time.time())

    # THEN the record of it in the table expires 7200 s after it was written
    [item] = inbox.dynamodb.scan(TableName=TABLE)["Items"]
    assert item["status"]["S"] == "COMPLETED"
    assert started + 7200 <= int(item["expiration"]["N"]) <= finished + 7200


def test_the_download_link_lives_as_long_as_link_expiry_seconds(
    inbox: Inbox, configured_function: Callable[..., ModuleType], lambda_context: LambdaContext
) -> None:
    # GIVEN a function whose download links live 10 minutes (not boto3's default of 1 hour)
    function_module = configured_function(LINK_EXPIRY_SECONDS="600")
    record = inbox.upload_and_receive("incoming/setup.exe", b"MZ\x90\x00")

    # WHEN a file that is sent as a link is handled
    assert function_module.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}

    # THEN the link is signed for 600 s, and the mail says it expires 10 minutes after the mail's date
    [mail] = inbox.sent_mail()
    url = next(line for line in mail.text.splitlines() if line.startswith("https://"))
    assert parse_qs(urlparse(url).query)["X-Amz-Expires"] == ["600"]
    stated = mail.text.split("the link expires at ", 1)[1].split(")", 1)[0]
    expires_at = datetime.strptime(stated, TIME_FORMAT).replace(tzinfo=UTC)
    assert expires_at - mail.message["Date"].datetime == timedelta(seconds=600)


@pytest.mark.parametrize(
    "url",
    [
        "https://sqs.eu-west-1.amazonaws.com/123456789012/inbox-uploads",
        "http://localhost:4566/000000000000/inbox-uploads",
    ],
)
def test_a_queue_url_of_aws_or_of_a_local_emulator_is_accepted(url: str) -> None:
    # GIVEN the queue URL AWS gives, or the plain-http one a local AWS emulator gives
    # WHEN the settings are read THEN it is taken as it is
    assert MailerSettings.from_env({**CONTRACT_ENV, "QUEUE_URL": url}).queue_url == url
