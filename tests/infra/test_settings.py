"""Settings from cdk.json and `-c key=value`: good values are typed, bad ones stop synth with one clear line."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from stacks.settings import Setting, Settings, SettingsError, minimum_memory_mib
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


def test_cdk_json_sets_only_what_this_deployment_chooses() -> None:
    # Besides CDK's own feature flags ('@aws-cdk/...'), the sender and the recipients; every other value is its
    # declared default, not a copy of it.
    assert {key for key in cdk_json_context() if not key.startswith("@")} == {"sender", "recipients"}


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


def test_an_unknown_setting_is_refused_naming_the_nearest_one_and_the_list_of_known_ones() -> None:
    with pytest.raises(
        SettingsError,
        match=r"^Unknown setting 'recipient': did you mean 'recipients'\? Accepted settings are stage, .*recipients",
    ):
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


# Every setting, each limit and each message: driven from one table per kind of setting, so that a setting added
# to `Settings` without a row here fails `test_every_setting_has_a_row_in_the_tables_below`.

# key -> (smallest accepted, largest accepted, what the message says is accepted)
NUMBER_LIMITS: dict[str, tuple[int, int, str]] = {
    "images_to_keep": (3, 1000, "a whole number from 3 (enough for a rollback) to 1000"),
    "rollback_images": (1, 20, "a whole number from 1 to 20"),
    "memory_mib": (128, 10240, "a whole number of MiB from 128 to 10240"),
    "timeout_seconds": (1, 900, "a whole number of seconds from 1 to 900"),
    "max_message_bytes": (
        64 * 1024,
        40 * 1024 * 1024,
        "a whole number of bytes from 65536 to 41943040 (SES's limit for one message)",
    ),
    "link_expiry_seconds": (
        60,
        3600,
        "a whole number of seconds from 60 to 3600 (a link signed by the function cannot outlive its credentials)",
    ),
    "max_concurrency": (2, 1000, "a whole number from 2 to 1000 (SQS event source limits)"),
    # Its lower limit is max_concurrency (2 by default).
    "reserved_concurrency": (2, 1000, "'none' or a whole number from max_concurrency (2) to 1000"),
}
# Written out rather than imported: the list CloudWatch offers, which the app's own list must match.
CLOUDWATCH_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365),
    *(400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
RETENTION_ACCEPTED = "one of CloudWatch's retention periods: " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
# key -> (a bad value, what the message says is accepted), for every setting that is not a number.
TEXT_SETTINGS: dict[str, tuple[Any, str]] = {
    "stage": ("Prod", "1-20 lowercase letters, digits or '-', starting with a letter"),
    "account": ("12345", "a 12-digit AWS account id"),
    "region": ("mars", "an AWS region name such as eu-west-1, one of the regions botocore knows"),
    "repository_name": (
        "A",
        "2-256 lowercase letters, digits and '/', '.', '_', '-' separators (ECR's rule)",
    ),
    "sender": ("x", "an email address such as mailer@example.com"),
    "sender_identity": ("other.example", "the sender address mailer@example.com or its domain example.com"),
    "recipients": ([], "1 to 50 distinct email addresses, as a JSON list or separated by commas or semicolons"),
    "log_retention_days": (2, RETENTION_ACCEPTED),
    "removal_policy": ("keep", "retain or destroy"),
    "inbox_prefix": (
        "x",
        "one or more folder names, each ending in '/', such as incoming/ (letters, digits and ! _ . * ' ( ) - only)",
    ),
    "create_sender_identity": ("yes", "true or false"),
    "github_repository": (
        "x",
        "owner/name of the GitHub repository that may deploy, such as octo-org/inbox-mailer",
    ),
    "github_subject_repository": ("x", "no value unless github_repository is set"),
    "github_oidc_provider_arn": ("x", "no value unless github_repository is set"),
    "image_build": ("x", "local (the container engine of the deploying machine) or cloud (AWS CodeBuild)"),
    "image_scanning": (
        "inspector",
        "basic (ECR's scan on push, free) or enhanced (Amazon Inspector, account-wide, billed per image)",
    ),
    "alarm_emails": (3, "0 to 10 distinct email addresses, as a JSON list or separated by commas or semicolons"),
    "alarm_topic_arn": (
        "x",
        "the ARN of a standard SNS topic, such as arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    ),
}
# key -> (a value other than the default, as cdk.json or -c gives it, and the setting it becomes)
NON_DEFAULT_VALUES: dict[str, tuple[Any, Any]] = {
    "stage": ("prod", "prod"),
    "account": ("123456789012", "123456789012"),
    "region": ("eu-west-1", "eu-west-1"),
    "repository_name": ("team/inbox", "team/inbox"),
    "images_to_keep": (25, 25),
    "rollback_images": (5, 5),
    "image_scanning": ("enhanced", "enhanced"),
    "sender": ("robot@example.org", "robot@example.org"),
    "sender_identity": ("mailer@example.com", "mailer@example.com"),
    "recipients": (["a@example.org", "b@example.org"], ("a@example.org", "b@example.org")),
    "memory_mib": (1024, 1024),
    "timeout_seconds": (120, 120),
    "log_retention_days": (90, 90),
    "removal_policy": ("destroy", "destroy"),
    "inbox_prefix": ("drop/box/", "drop/box/"),
    "max_message_bytes": (1048576, 1048576),
    "link_expiry_seconds": (900, 900),
    "max_concurrency": (5, 5),
    "reserved_concurrency": (7, 7),
    "create_sender_identity": (True, True),
    "github_repository": ("octo-org/inbox-mailer", "octo-org/inbox-mailer"),
    "github_subject_repository": ("octo-org@1/inbox-mailer@2", "octo-org@1/inbox-mailer@2"),
    "github_oidc_provider_arn": (
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    ),
    "image_build": ("cloud", "cloud"),
    "alarm_emails": (["ops@example.org"], ("ops@example.org",)),
    "alarm_topic_arn": (
        "arn:aws:sns:eu-west-1:123456789012:ops-alarms",
        "arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    ),
}
# What the settings above need beside them to be valid.
NEEDS = {
    "github_subject_repository": {"github_repository": "octo-org/inbox-mailer"},
    "github_oidc_provider_arn": {"github_repository": "octo-org/inbox-mailer"},
}
OPTIONAL = (
    *("account", "region", "sender_identity", "alarm_topic_arn"),
    *("github_repository", "github_subject_repository", "github_oidc_provider_arn"),
)


def _refusal(context: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    return str(raised.value)


def _bounds() -> list[tuple[str, int]]:
    return [(key, bound) for key, (low, high, _) in NUMBER_LIMITS.items() for bound in (low, high)]


def _outside() -> list[tuple[str, int]]:
    return [(key, bound) for key, (low, high, _) in NUMBER_LIMITS.items() for bound in (low - 1, high + 1)]


def test_every_setting_has_a_row_in_the_tables_below() -> None:
    names = set(Settings.setting_names())
    assert set(NUMBER_LIMITS) | set(TEXT_SETTINGS) == names
    assert not set(NUMBER_LIMITS) & set(TEXT_SETTINGS)
    assert set(NON_DEFAULT_VALUES) == names


def test_every_field_of_settings_is_declared_as_a_setting_with_a_meaning() -> None:
    # A field added without `setting(...)` would be neither read from the context nor listed in the README.
    for declared in fields(Settings):
        assert Setting.of(declared).meaning, declared.name


@pytest.mark.parametrize(("key", "value"), _bounds(), ids=[f"{k}={v}" for k, v in _bounds()])
def test_the_smallest_and_the_largest_value_of_a_number_setting_are_accepted(key: str, value: int) -> None:
    # GIVEN a limit itself, as a JSON number and as the text `-c key=value` passes
    for raw in (value, str(value), f" {value} "):
        # THEN it is the setting's value
        assert getattr(Settings.from_context({**cdk_json_context(), key: raw}), key) == value


@pytest.mark.parametrize(("key", "value"), _outside(), ids=[f"{k}={v}" for k, v in _outside()])
def test_one_past_a_limit_is_refused_naming_the_setting_and_its_limits(key: str, value: int) -> None:
    accepted = NUMBER_LIMITS[key][2]
    assert _refusal({**cdk_json_context(), key: value}) == f"Invalid setting '{key}' = {value!r}: expected {accepted}."


@pytest.mark.parametrize("key", sorted(NUMBER_LIMITS))
@pytest.mark.parametrize("raw", [True, False, 64.0, "64.0", "-64", "+64", "sixty-four", "", [64]])
def test_a_number_setting_refuses_booleans_fractions_signs_and_words(key: str, raw: Any) -> None:
    # A JSON true is not 1, and 64.0 is not a whole number of anything: both are typos worth stopping on.
    accepted = NUMBER_LIMITS[key][2]
    assert _refusal({**cdk_json_context(), key: raw}) == f"Invalid setting '{key}' = {raw!r}: expected {accepted}."


@pytest.mark.parametrize("days", CLOUDWATCH_RETENTION_DAYS)
def test_every_retention_period_cloudwatch_offers_is_accepted(days: int) -> None:
    assert Settings.from_context({"log_retention_days": days}).log_retention_days == days
    assert Settings.from_context({"log_retention_days": str(days)}).log_retention_days == days


@pytest.mark.parametrize("days", [0, 2, 4, 6, 8, 13, 15, 29, 31, 364, 366, 3652, 3654])
def test_a_retention_period_cloudwatch_does_not_offer_is_refused_listing_those_it_does(days: int) -> None:
    message = _refusal({"log_retention_days": days})
    assert message == f"Invalid setting 'log_retention_days' = {days}: expected {RETENTION_ACCEPTED}."


@pytest.mark.parametrize("key", sorted(TEXT_SETTINGS))
def test_a_bad_value_of_every_other_setting_gives_its_exact_message(key: str) -> None:
    value, accepted = TEXT_SETTINGS[key]
    assert _refusal({key: value}) == f"Invalid setting '{key}' = {value!r}: expected {accepted}."


@pytest.mark.parametrize("key", sorted(TEXT_SETTINGS.keys() - {"create_sender_identity", "log_retention_days"}))
def test_a_text_setting_refuses_a_number_instead_of_text(key: str) -> None:
    # cdk.json is JSON: `"stage": 1` or `"recipients": 5` is a mistake, not a name.
    assert _refusal({**NEEDS.get(key, {}), key: 1}).startswith(f"Invalid setting '{key}' = 1: expected ")


@pytest.mark.parametrize("key", sorted(NON_DEFAULT_VALUES))
def test_every_setting_is_read_from_its_own_key(key: str) -> None:
    # GIVEN a value other than the default under exactly this key
    raw, expected = NON_DEFAULT_VALUES[key]
    context = {**NEEDS.get(key, {}), key: raw}
    # THEN the setting has that value, and it was not the default already
    assert getattr(Settings.from_context(context), key) == expected
    assert getattr(Settings(), key) != expected


@pytest.mark.parametrize("key", sorted(NON_DEFAULT_VALUES))
def test_a_setting_given_as_null_takes_its_default(key: str) -> None:
    # cdk.json may spell "use the default" as null; the app behaves as if the key were absent.
    assert Settings.from_context({key: None}) == Settings.from_context({}) == Settings()


@pytest.mark.parametrize("key", OPTIONAL)
def test_an_optional_setting_given_as_empty_text_is_unset(key: str) -> None:
    # `-c account=` is how a command line clears a value cdk.json sets.
    assert getattr(Settings.from_context({key: ""}), key) is None


def test_the_repository_name_follows_the_stage_unless_it_is_set() -> None:
    assert Settings.from_context({"stage": "qa"}).repository_name == "inbox-mailer-qa"
    assert Settings.from_context({"stage": "qa", "repository_name": "shared"}).repository_name == "shared"


def test_text_settings_are_taken_without_the_spaces_around_them() -> None:
    settings = Settings.from_context({"stage": " prod ", "sender": " robot@example.org ", "inbox_prefix": " a/b/ "})
    assert (settings.stage, settings.sender, settings.inbox_prefix) == ("prod", "robot@example.org", "a/b/")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("TRUE", True), (" False ", False)],
)
def test_create_sender_identity_takes_json_booleans_and_true_or_false_in_any_case(raw: Any, expected: bool) -> None:
    assert Settings.from_context({"create_sender_identity": raw}).create_sender_identity is expected


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("removal_policy", "RETAIN", "retain"),
        ("removal_policy", " Destroy ", "destroy"),
        ("image_build", "LOCAL", "local"),
        ("image_build", "cloud", "cloud"),
    ],
)
def test_choices_are_taken_in_any_case(key: str, raw: str, expected: str) -> None:
    assert getattr(Settings.from_context({key: raw}), key) == expected


@pytest.mark.parametrize("raw", ["none", "None", " NONE "])
def test_reserved_concurrency_none_in_any_case_reserves_nothing(raw: str) -> None:
    assert Settings.from_context({"reserved_concurrency": raw}).reserved_concurrency is None


def test_reserved_concurrency_may_not_be_below_the_configured_max_concurrency() -> None:
    # A reservation below the event source's maximum would throttle the pollers the maximum allows.
    assert Settings.from_context({"max_concurrency": 7, "reserved_concurrency": 7}).reserved_concurrency == 7
    assert _refusal({"max_concurrency": 7, "reserved_concurrency": 6}) == (
        "Invalid setting 'reserved_concurrency' = 6: expected 'none' or a whole number from max_concurrency (7) "
        "to 1000."
    )


# Addresses: RFC 5321's lengths, and a domain that ends in a name


LOCAL_64 = "a" * 64
# 63 + 1 + 63 + 1 + 57 + 1 + 3 = 189 characters: with a 64-character local part and '@', 254 in all.
DOMAIN_189 = f"{'b' * 63}.{'c' * 63}.{'d' * 57}.com"


@pytest.mark.parametrize(
    "address",
    [
        f"{LOCAL_64}@example.com",
        f"{LOCAL_64}@{DOMAIN_189}",
        "mailer@mail.123.org",
        "first.last+tag@sub.example.co.uk",
        "o'brien@example.ie",
    ],
    ids=["local part of 64", "254 in all", "digits inside the domain", "dots and plus", "apostrophe"],
)
def test_an_address_within_rfc_5321_limits_is_accepted(address: str) -> None:
    assert Settings.from_context({"sender": address}).sender == address


@pytest.mark.parametrize(
    "address",
    [
        f"{LOCAL_64}a@example.com",
        f"{LOCAL_64}@{DOMAIN_189}m",
        "mailer@10.0.0.1",
        "mailer@mail.example.123",
        "mailer@example",
        "mailer@-example.com",
        "mail er@example.com",
        "mailer@@example.com",
    ],
    ids=[
        "local part of 65",
        "255 in all",
        "an IP address",
        "all-digit top-level domain",
        "no dot",
        "label starts with -",
        "space",
        "two @",
    ],
)
def test_an_address_outside_rfc_5321_limits_is_refused(address: str) -> None:
    assert _refusal({"sender": address}) == (
        f"Invalid setting 'sender' = {address!r}: expected an email address such as mailer@example.com."
    )


@pytest.mark.parametrize(
    "identity", ["mailer@example.com", "Mailer@Example.COM", "example.com", "EXAMPLE.com"], ids=str
)
def test_the_sender_identity_may_be_the_sender_or_its_domain_in_any_case(identity: str) -> None:
    assert Settings.from_context({"sender": "mailer@example.com", "sender_identity": identity}).ses_identity == identity


@pytest.mark.parametrize("identity", ["other@example.com", "mail.example.com", "com", "example.com."], ids=str)
def test_a_sender_identity_that_cannot_send_as_the_sender_is_refused(identity: str) -> None:
    assert _refusal({"sender": "mailer@example.com", "sender_identity": identity}).startswith(
        f"Invalid setting 'sender_identity' = {identity!r}: expected the sender address mailer@example.com or its "
        "domain example.com."
    )


def test_fifty_recipients_are_accepted_and_empty_parts_of_a_list_are_ignored() -> None:
    fifty = [f"r{i}@example.com" for i in range(50)]
    assert Settings.from_context({"recipients": fifty}).recipients == tuple(fifty)
    spaced = Settings.from_context({"recipients": " a@example.com, ,b@example.com,"}).recipients
    assert spaced == ("a@example.com", "b@example.com")


@pytest.mark.parametrize("length", [2, 256])
def test_a_repository_name_of_2_or_256_characters_is_accepted(length: int) -> None:
    name = "a" * length
    assert Settings.from_context({"repository_name": name}).repository_name == name


@pytest.mark.parametrize(("stage", "accepted"), [("a", True), ("a" * 20, True), ("a" * 21, False), ("1a", False)])
def test_a_stage_is_one_to_twenty_characters_starting_with_a_letter(stage: str, accepted: bool) -> None:
    if accepted:
        assert Settings.from_context({"stage": stage}).stage == stage
    else:
        assert _refusal({"stage": stage}).startswith(f"Invalid setting 'stage' = {stage!r}")


def test_a_github_repository_named_dot_is_refused() -> None:
    assert _refusal({"github_repository": "octo-org/."}).startswith(
        "Invalid setting 'github_repository' = 'octo-org/.'"
    )


def test_unknown_settings_are_reported_in_alphabetical_order_one_at_a_time() -> None:
    message = _refusal({"zeta": 1, "alpha": 2, "stage": "dev"})
    assert message == f"Unknown setting 'alpha': accepted settings are {', '.join(Settings.setting_names())}."
    assert Settings.setting_names()[:3] == ("stage", "account", "region")


# Memory against the largest message


@pytest.mark.parametrize(
    ("max_message_bytes", "memory"),
    [
        (1, 97),
        (512 * 1024, 97),
        (512 * 1024 + 1, 98),
        (1024 * 1024, 98),
        (10 * 1024 * 1024, 116),
        (40 * 1024 * 1024, 176),
    ],
)
def test_memory_needed_is_the_runtime_plus_twice_the_message_rounded_up_to_a_mib(
    max_message_bytes: int, memory: int
) -> None:
    assert minimum_memory_mib(max_message_bytes) == memory


def test_memory_exactly_what_the_largest_message_needs_is_accepted_and_one_mib_less_is_refused() -> None:
    largest = {"max_message_bytes": 40 * 1024 * 1024}
    assert Settings.from_context({**largest, "memory_mib": 176}).memory_mib == 176
    assert _refusal({**largest, "memory_mib": 175}).startswith(
        "Invalid setting 'memory_mib' = 175: expected at least 176 MiB"
    )


@pytest.mark.parametrize(
    ("key", "nearest"),
    [
        ("Stage", "stage"),
        ("MAX_CONCURRENCY", "max_concurrency"),
        ("Timeout_Seconds", "timeout_seconds"),
        ("recipient", "recipients"),
        ("memory", "memory_mib"),
        ("alarm_email", "alarm_emails"),
        ("github_repo", "github_repository"),
    ],
)
def test_a_setting_in_the_wrong_case_or_misspelt_is_refused_naming_the_nearest_one(key: str, nearest: str) -> None:
    # Only CDK's own keys ('@aws-cdk/...', 'aws:cdk:...') pass unchecked; a typo would otherwise keep the default.
    assert _refusal({key: "1"}).startswith(
        f"Unknown setting '{key}': did you mean '{nearest}'? Accepted settings are stage, account, "
    )


@pytest.mark.parametrize("key", ["alpha", "colour", "x"])
def test_an_unknown_setting_near_none_is_refused_with_the_list_alone(key: str) -> None:
    accepted = ", ".join(Settings.setting_names())
    assert _refusal({key: "1"}) == f"Unknown setting '{key}': accepted settings are {accepted}."


GITHUB_REPOSITORY = {"github_repository": "octo-org/inbox-mailer"}


def test_a_bad_subject_repository_names_the_immutable_form_of_the_configured_repository() -> None:
    assert _refusal({**GITHUB_REPOSITORY, "github_subject_repository": "x"}) == (
        "Invalid setting 'github_subject_repository' = 'x': expected octo-org@<owner id>/inbox-mailer@<repository id>, "
        "the immutable form of github_repository that GitHub's OIDC sub claim shows for it, such as "
        "octo-org@123456/inbox-mailer@789012."
    )


@pytest.mark.parametrize(("account", "shown"), [({}, "123456789012"), ({"account": "111111111111"}, "111111111111")])
def test_a_bad_provider_arn_shows_the_arn_for_the_configured_account(account: dict[str, str], shown: str) -> None:
    assert _refusal({**GITHUB_REPOSITORY, **account, "github_oidc_provider_arn": "x"}) == (
        "Invalid setting 'github_oidc_provider_arn' = 'x': expected the ARN of this account's IAM OIDC provider for "
        "token.actions.githubusercontent.com, such as "
        f"arn:aws:iam::{shown}:oidc-provider/token.actions.githubusercontent.com."
    )
