"""Settings are read once from the environment; a bad one fails at cold start, naming itself."""

from __future__ import annotations

import importlib
import sys

import pytest

from inbox_mailer.settings import MailerSettings, SettingsError
from tests.handler.support import CONTRACT_ENV, RECIPIENTS

REQUIRED = [
    "SENDER_ADDRESS",
    "RECIPIENTS",
    "INBOX_BUCKET",
    "INBOX_PREFIX",
    "IDEMPOTENCY_TABLE",
    "IDEMPOTENCY_TTL_SECONDS",
    "MAX_MESSAGE_BYTES",
    "LINK_EXPIRY_SECONDS",
    "POWERTOOLS_METRICS_NAMESPACE",
    "QUEUE_URL",
    "MAX_CONCURRENCY",
    "SES_CONFIGURATION_SET",
]

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
    ("LINK_EXPIRY_SECONDS", str(7 * 24 * 3600 + 1)),
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
