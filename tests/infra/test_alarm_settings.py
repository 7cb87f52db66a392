"""The alarm settings: where alarms go is either new addresses or an existing topic, each checked in one line."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.settings import Settings, SettingsError
from tests.infra.conftest import cdk_json_context

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops-alarms"


def _settings(**values: Any) -> Settings:
    return Settings.from_context({**cdk_json_context(), **values})


def test_by_default_no_address_and_no_topic_is_configured() -> None:
    settings = _settings()
    assert settings.alarm_emails == ()
    assert settings.alarm_topic_arn is None


@pytest.mark.parametrize(
    "value",
    [
        ["ops@example.com", "oncall@example.org"],
        "ops@example.com, oncall@example.org",
        " ops@example.com,oncall@example.org ",
    ],
)
def test_alarm_emails_are_read_from_a_json_list_or_a_comma_separated_string(value: Any) -> None:
    assert _settings(alarm_emails=value).alarm_emails == ("ops@example.com", "oncall@example.org")


def test_ten_alarm_emails_are_accepted() -> None:
    addresses = [f"person{i}@example.com" for i in range(10)]
    assert _settings(alarm_emails=addresses).alarm_emails == tuple(addresses)


@pytest.mark.parametrize("value", [[], ""])
def test_an_empty_alarm_emails_list_means_no_subscription(value: Any) -> None:
    assert _settings(alarm_emails=value).alarm_emails == ()


def test_an_existing_topic_is_accepted_by_its_arn() -> None:
    assert _settings(alarm_topic_arn=TOPIC_ARN).alarm_topic_arn == TOPIC_ARN


BAD_VALUES: list[tuple[str, Any, str]] = [
    ("alarm_emails", ["ops@example.com", "not-an-address"], "0 to 10 distinct email addresses"),
    ("alarm_emails", "ops@example.com, ops", "0 to 10 distinct email addresses"),
    ("alarm_emails", [f"person{i}@example.com" for i in range(11)], "0 to 10 distinct email addresses"),
    ("alarm_emails", ["ops@example.com", "OPS@example.com"], "0 to 10 distinct email addresses"),
    ("alarm_emails", 3, "0 to 10 distinct email addresses"),
    ("alarm_topic_arn", "ops-alarms", "the ARN of a standard SNS topic"),
    ("alarm_topic_arn", "arn:aws:sqs:eu-west-1:123456789012:ops-alarms", "the ARN of a standard SNS topic"),
    ("alarm_topic_arn", "arn:aws:sns:eu-west-1:123456789012:ops-alarms.fifo", "the ARN of a standard SNS topic"),
    ("alarm_topic_arn", "arn:aws:sns:eu-west-1:1234:ops-alarms", "the ARN of a standard SNS topic"),
]


@pytest.mark.parametrize(("key", "value", "accepted"), BAD_VALUES, ids=[f"{k}={v!r}"[:60] for k, v, _ in BAD_VALUES])
def test_a_bad_alarm_setting_gives_one_line_naming_the_setting(key: str, value: Any, accepted: str) -> None:
    # GIVEN a bad value WHEN the settings are read THEN one line names the setting, the value and what is accepted
    with pytest.raises(SettingsError) as raised:
        _settings(**{key: value})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Invalid setting '{key}' = {value!r}: expected ")
    assert accepted in message


def test_addresses_and_an_existing_topic_together_are_refused_in_one_line() -> None:
    # GIVEN both ways of being told WHEN the settings are read THEN one line names both settings
    with pytest.raises(SettingsError) as raised:
        _settings(alarm_emails=["ops@example.com"], alarm_topic_arn=TOPIC_ARN)
    message = str(raised.value)
    assert "\n" not in message
    assert "'alarm_emails'" in message
    assert "'alarm_topic_arn'" in message
    assert "only one" in message


def test_the_refusal_of_both_alarm_destinations_says_exactly_what_to_do() -> None:
    with pytest.raises(SettingsError) as raised:
        _settings(alarm_emails=["ops@example.com"], alarm_topic_arn=TOPIC_ARN)
    assert str(raised.value) == (
        "Invalid settings 'alarm_emails' and 'alarm_topic_arn': set only one of them, either addresses for a new alarm "
        "topic or the ARN of an existing topic."
    )
