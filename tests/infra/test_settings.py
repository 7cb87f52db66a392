"""Settings from cdk.json and `-c key=value`: good values are typed, bad ones stop synth with one clear line."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.settings import Settings, SettingsError
from tests.infra.conftest import cdk_json_context


def test_cdk_json_defaults_are_valid_and_typed() -> None:
    settings = Settings.from_context(cdk_json_context())
    assert settings.stage == "dev"
    assert settings.repository_name == "inbox-mailer-dev"
    assert settings.recipients == ("ops@example.com",)
    assert settings.account is None
    assert settings.region is None
    assert settings.ses_identity == "mailer@example.com"
    assert settings.image_build == "local"
    assert not settings.builds_in_the_cloud


def test_command_line_strings_are_parsed_like_cdk_json_values() -> None:
    settings = Settings.from_context(
        {
            "stage": "prod",
            "account": "123456789012",
            "region": "eu-west-1",
            "recipients": "a@example.com, b@example.org",
            "sender": "mailer@example.com",
            "sender_identity": "example.com",
            "timeout_seconds": "900",
            "memory_mib": "1024",
            "images_to_keep": "3",
            "removal_policy": "DESTROY",
            "create_sender_identity": "true",
            "reserved_concurrency": "none",
            "max_concurrency": "5",
            "image_build": "Cloud",
        }
    )
    assert settings.builds_in_the_cloud
    assert settings.recipients == ("a@example.com", "b@example.org")
    assert settings.repository_name == "inbox-mailer-prod"
    assert (settings.timeout_seconds, settings.memory_mib, settings.images_to_keep) == (900, 1024, 3)
    assert settings.removal_policy == "destroy"
    assert not settings.retain_on_delete
    assert settings.create_sender_identity is True
    assert settings.reserved_concurrency is None
    assert settings.ses_identity == "example.com"


def test_reserved_concurrency_defaults_to_none_and_a_number_still_reserves() -> None:
    # A new account (10 concurrent executions in all) cannot reserve any: the default must not ask for it.
    assert Settings().reserved_concurrency is None
    assert Settings.from_context({"max_concurrency": 7}).reserved_concurrency is None
    assert Settings.from_context({"max_concurrency": 7, "reserved_concurrency": "9"}).reserved_concurrency == 9
    assert Settings.from_context({"reserved_concurrency": 2}).reserved_concurrency == 2


def test_cdk_own_context_keys_are_not_taken_for_settings() -> None:
    Settings.from_context({"@aws-cdk/core:newStyleStackSynthesis": True, "aws:cdk:enable-path-metadata": True})


BAD_VALUES: list[tuple[str, Any, str]] = [
    ("recipients", ["ops@example.com", "not-an-address"], "email addresses"),
    ("recipients", [], "1 to 50"),
    ("recipients", "", "1 to 50"),
    ("recipients", ",", "1 to 50"),
    ("recipients", [f"r{i}@example.com" for i in range(51)], "1 to 50"),
    ("recipients", ["a@example.com", "A@example.com"], "distinct"),
    ("recipients", 5, "email addresses"),
    ("sender", "mailer", "an email address"),
    ("sender", "mailer@localhost", "an email address"),
    ("sender", "", "an email address"),
    ("sender_identity", "other.example", "the sender address mailer@example.com or its domain example.com"),
    ("timeout_seconds", 901, "from 1 to 900"),
    ("timeout_seconds", 0, "from 1 to 900"),
    ("timeout_seconds", "sixty", "from 1 to 900"),
    ("timeout_seconds", 1.5, "from 1 to 900"),
    ("timeout_seconds", True, "from 1 to 900"),
    ("memory_mib", 64, "from 128 to 10240"),
    ("memory_mib", 20000, "from 128 to 10240"),
    ("removal_policy", "keep", "retain or destroy"),
    ("removal_policy", "snapshot", "retain or destroy"),
    ("repository_name", "Inbox-Mailer", "lowercase"),
    ("repository_name", "a", "2-256"),
    ("repository_name", "inbox mailer", "lowercase"),
    ("repository_name", "-inbox", "lowercase"),
    ("repository_name", "inbox//mailer", "lowercase"),
    ("repository_name", "x" * 257, "2-256"),
    ("images_to_keep", 2, "from 3"),
    ("images_to_keep", 0, "from 3"),
    ("images_to_keep", -1, "from 3"),
    ("log_retention_days", 10, "one of CloudWatch's retention periods"),
    ("stage", "Prod", "lowercase"),
    ("stage", "", "lowercase"),
    ("stage", "a-very-long-stage-name-indeed", "1-20"),
    ("account", "12345", "12-digit"),
    ("region", "mars-1", "region"),
    ("inbox_prefix", "incoming", "ending in '/'"),
    ("inbox_prefix", "/incoming/", "ending in '/'"),
    ("inbox_prefix", "in coming/", "ending in '/'"),
    ("inbox_prefix", "", "ending in '/'"),
    ("max_message_bytes", 50 * 1024 * 1024, "SES's limit"),
    ("max_message_bytes", 1000, "SES's limit"),
    ("link_expiry_seconds", 7 * 86400, "cannot outlive its credentials"),
    ("link_expiry_seconds", 10, "from 60"),
    ("max_concurrency", 1, "from 2 to 1000"),
    ("reserved_concurrency", 1, "from max_concurrency (2)"),
    ("create_sender_identity", "yes", "true or false"),
    ("image_build", "codebuild", "local (the container engine of the deploying machine) or cloud (AWS CodeBuild)"),
    ("image_build", "", "local (the container engine"),
]


@pytest.mark.parametrize(("key", "value", "accepted"), BAD_VALUES, ids=[f"{k}={v!r}"[:60] for k, v, _ in BAD_VALUES])
def test_a_bad_value_names_the_setting_the_value_and_what_is_accepted(key: str, value: Any, accepted: str) -> None:
    context = {**cdk_json_context(), key: value}
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Invalid setting '{key}' = {value!r}: expected ")
    assert accepted in message


def test_an_unknown_setting_is_refused_with_the_list_of_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"^Unknown setting 'recipient': accepted settings are stage, .*recipients"):
        Settings.from_context({"recipient": "ops@example.com"})


def test_memory_too_small_for_the_largest_message_is_refused_naming_both_settings() -> None:
    context = {**cdk_json_context(), "memory_mib": 128, "max_message_bytes": 40 * 1024 * 1024}
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    assert str(raised.value) == (
        "Invalid setting 'memory_mib' = 128: expected at least 176 MiB to mail a message of max_message_bytes "
        "(41943040); raise memory_mib or lower max_message_bytes."
    )


def test_the_smallest_memory_takes_the_default_message_limit() -> None:
    assert Settings.from_context({**cdk_json_context(), "memory_mib": 128}).memory_mib == 128
