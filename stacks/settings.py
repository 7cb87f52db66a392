"""Every deploy-time choice of the app, read once from CDK context and validated.

`app.py` is the only place that reads context: it calls `Settings.from_context` and hands the frozen
result to the stacks. A bad value stops synth with one line that names the setting, the value and what
is accepted (`SettingsError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from inbox_mailer.contract import (
    APP_NAME,
    MAX_LINK_EXPIRY_SECONDS,
    SES_MAX_MESSAGE_BYTES,
    SES_MAX_RECIPIENTS,
    StackNames,
    is_email_address,
)
from inbox_mailer.contract import SettingsError as SettingsError

T = TypeVar("T")

# Lambda's hard limit; the queue's visibility timeout is derived from this value elsewhere.
MAX_TIMEOUT_SECONDS = 900
# One topic's worth of people to wake; a larger team belongs on a team topic (alarm_topic_arn).
MAX_ALARM_EMAILS = 10
# Keeping fewer would let the lifecycle rule delete the image a rollback returns to.
MIN_IMAGES_TO_KEEP = 3
# Below this not even the mail's own text fits; every file would go as a link.
MIN_MESSAGE_BYTES = 64 * 1024
RUNTIME_MEMORY_MIB = 96
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
REMOVAL_POLICIES = ("retain", "destroy")
# Where `cdk deploy` builds the function's image: with the local container engine, or in CodeBuild.
IMAGE_BUILDS = ("local", "cloud")

_DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# ECR: 2-256 characters, lowercase, path segments separated by '/', '.', '_' or '-' runs.
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")
_PREFIX = re.compile(r"^(?:[A-Za-z0-9!_.*'()-]+/)+$")
# GitHub: an owner is 1-39 letters, digits or single inner hyphens; a repository name is letters, digits, '.', '_', '-'.
_GITHUB_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_GITHUB_NAME = r"[A-Za-z0-9._-]{1,100}"
_GITHUB_REPOSITORY = re.compile(rf"^(?P<owner>{_GITHUB_OWNER})/(?P<name>{_GITHUB_NAME})$")
# The immutable form of the OIDC sub claim: each name followed by '@' and its permanent numeric id.
_GITHUB_SUBJECT_REPOSITORY = re.compile(rf"^(?P<owner>{_GITHUB_OWNER})@[1-9]\d*/(?P<name>{_GITHUB_NAME})@[1-9]\d*$")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
_GITHUB_OIDC_PROVIDER_ARN = re.compile(
    rf"^arn:aws(?:-[a-z]+)*:iam::(?P<account>\d{{12}}):oidc-provider/{re.escape(GITHUB_OIDC_HOST)}$"
)
# A standard topic: CloudWatch alarms cannot publish to FIFO topics.
_TOPIC_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$")


def minimum_memory_mib(max_message_bytes: int) -> int:
    """Memory the function needs to attach the largest allowed message (measured by `make bench`).

    The Python runtime with boto3 and Powertools takes under 96 MiB; an attached message costs the function
    about 1.4 times its encoded size (1.9 times the file), rounded up here to twice.
    """
    return RUNTIME_MEMORY_MIB + -(-2 * max_message_bytes // (1024 * 1024))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Validated settings. Field names are the context keys in `cdk.json` and `-c key=value`."""

    stage: str = "dev"
    account: str | None = None
    region: str | None = None
    repository_name: str = f"{APP_NAME}-dev"
    images_to_keep: int = 10
    sender: str = "mailer@example.com"
    sender_identity: str | None = None
    recipients: tuple[str, ...] = ("ops@example.com",)
    memory_mib: int = 512
    timeout_seconds: int = 60
    log_retention_days: int = 30
    removal_policy: str = "retain"
    inbox_prefix: str = "incoming/"
    max_message_bytes: int = 10 * 1024 * 1024
    link_expiry_seconds: int = 3600
    max_concurrency: int = 2
    # None: the event source's max_concurrency bounds the function, and a new account (10 in all) can reserve none.
    reserved_concurrency: int | None = None
    create_sender_identity: bool = False
    github_repository: str | None = None
    github_subject_repository: str | None = None
    github_oidc_provider_arn: str | None = None
    image_build: str = "local"
    alarm_emails: tuple[str, ...] = ()
    alarm_topic_arn: str | None = None

    @property
    def github_subject(self) -> str | None:
        """The repository as GitHub's OIDC tokens name it in their `sub` claim; None when CI deploys are off."""
        return self.github_subject_repository or self.github_repository

    @property
    def ses_identity(self) -> str:
        """The SES identity mail is sent from: the sender address itself unless a domain is configured."""
        return self.sender_identity or self.sender

    @property
    def stack_names(self) -> StackNames:
        return StackNames.of_stage(self.stage)

    @property
    def builds_in_the_cloud(self) -> bool:
        return self.image_build == "cloud"

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Settings:
        """Build settings from CDK context; values may be JSON-typed (cdk.json) or strings (`-c`)."""
        names = cls.setting_names()
        unknown = sorted(k for k in context if _is_setting_key(k) and k not in names)
        if unknown:
            raise SettingsError(f"Unknown setting '{unknown[0]}': accepted settings are {', '.join(names)}.")
        read = _Reader(context)
        defaults = cls()
        sender = read.value("sender", defaults.sender, _email, "an email address such as mailer@example.com")
        max_concurrency = read.value(
            "max_concurrency",
            defaults.max_concurrency,
            _int_between(2, 1000),
            "a whole number from 2 to 1000 (SQS event source limits)",
        )
        stage = read.value(
            "stage", defaults.stage, _matching(_STAGE), "1-20 lowercase letters, digits or '-', starting with a letter"
        )
        account = read.optional("account", _matching(_ACCOUNT), "a 12-digit AWS account id")
        settings = cls(
            stage=stage,
            account=account,
            region=read.optional("region", _matching(_REGION), "an AWS region name such as eu-west-1"),
            repository_name=read.value(
                "repository_name",
                f"{APP_NAME}-{stage}",
                _repository_name,
                "2-256 lowercase letters, digits and '/', '.', '_', '-' separators (ECR's rule)",
            ),
            images_to_keep=read.value(
                "images_to_keep",
                defaults.images_to_keep,
                _int_between(MIN_IMAGES_TO_KEEP, 1000),
                f"a whole number from {MIN_IMAGES_TO_KEEP} (enough for a rollback) to 1000",
            ),
            sender=sender,
            sender_identity=read.optional(
                "sender_identity",
                _identity_for(sender),
                f"the sender address {sender} or its domain {sender.partition('@')[2]}",
            ),
            recipients=read.value(
                "recipients",
                defaults.recipients,
                _recipients,
                f"1 to {SES_MAX_RECIPIENTS} distinct email addresses, as a JSON list or comma-separated",
            ),
            memory_mib=read.value(
                "memory_mib", defaults.memory_mib, _int_between(128, 10240), "a whole number of MiB from 128 to 10240"
            ),
            timeout_seconds=read.value(
                "timeout_seconds",
                defaults.timeout_seconds,
                _int_between(1, MAX_TIMEOUT_SECONDS),
                f"a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}",
            ),
            log_retention_days=read.value(
                "log_retention_days",
                defaults.log_retention_days,
                _one_of_ints(LOG_RETENTION_DAYS),
                "one of CloudWatch's retention periods: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
            ),
            removal_policy=read.value(
                "removal_policy", defaults.removal_policy, _one_of(REMOVAL_POLICIES), " or ".join(REMOVAL_POLICIES)
            ),
            inbox_prefix=read.value(
                "inbox_prefix",
                defaults.inbox_prefix,
                _matching(_PREFIX),
                "one or more folder names, each ending in '/', such as incoming/ "
                "(letters, digits and ! _ . * ' ( ) - only)",
            ),
            max_message_bytes=read.value(
                "max_message_bytes",
                defaults.max_message_bytes,
                _int_between(MIN_MESSAGE_BYTES, SES_MAX_MESSAGE_BYTES),
                f"a whole number of bytes from {MIN_MESSAGE_BYTES} to "
                f"{SES_MAX_MESSAGE_BYTES} (SES's limit for one message)",
            ),
            link_expiry_seconds=read.value(
                "link_expiry_seconds",
                defaults.link_expiry_seconds,
                _int_between(60, MAX_LINK_EXPIRY_SECONDS),
                f"a whole number of seconds from 60 to {MAX_LINK_EXPIRY_SECONDS} (a "
                "link signed by the function cannot outlive its credentials)",
            ),
            max_concurrency=max_concurrency,
            reserved_concurrency=read.value(
                "reserved_concurrency",
                defaults.reserved_concurrency,
                _optional_int_between(max_concurrency, 1000),
                f"'none' or a whole number from max_concurrency ({max_concurrency}) to 1000",
            ),
            create_sender_identity=read.value(
                "create_sender_identity", defaults.create_sender_identity, _boolean, "true or false"
            ),
            **_github_settings(read, account=account),
            image_build=read.value(
                "image_build",
                defaults.image_build,
                _one_of(IMAGE_BUILDS),
                "local (the container engine of the deploying machine) or cloud (AWS CodeBuild)",
            ),
            alarm_emails=read.value(
                "alarm_emails",
                defaults.alarm_emails,
                _alarm_emails,
                f"0 to {MAX_ALARM_EMAILS} distinct email addresses, as a JSON list or comma-separated",
            ),
            alarm_topic_arn=read.optional(
                "alarm_topic_arn",
                _matching(_TOPIC_ARN),
                "the ARN of a standard SNS topic, such as arn:aws:sns:eu-west-1:123456789012:ops-alarms",
            ),
        )
        settings._check_memory_fits_largest_message()
        settings._check_one_alarm_destination()
        return settings

    def _check_one_alarm_destination(self) -> None:
        if self.alarm_emails and self.alarm_topic_arn:
            raise SettingsError(
                "Invalid settings 'alarm_emails' and 'alarm_topic_arn': set only one of them, either addresses for "
                "a new alarm topic or the ARN of an existing topic."
            )

    def _check_memory_fits_largest_message(self) -> None:
        needed = minimum_memory_mib(self.max_message_bytes)
        if self.memory_mib < needed:
            raise SettingsError(
                f"Invalid setting 'memory_mib' = {self.memory_mib}: expected at least {needed} MiB to mail a message "
                f"of max_message_bytes ({self.max_message_bytes}); raise memory_mib or lower max_message_bytes."
            )


def _github_settings(read: _Reader, *, account: str | None) -> dict[str, str | None]:
    repository = read.optional(
        "github_repository",
        _github_repository,
        "owner/name of the GitHub repository that may deploy, such as octo-org/inbox-mailer",
    )
    if repository is None:
        subject_form = provider_form = "no value unless github_repository is set"
    else:
        owner, name = repository.split("/")
        subject_form = (
            f"{owner}@<owner id>/{name}@<repository id>, the immutable form of github_repository that GitHub's "
            "OIDC sub claim shows for it, such as octo-org@123456/inbox-mailer@789012"
        )
        provider_form = (
            f"the ARN of this account's IAM OIDC provider for {GITHUB_OIDC_HOST}, such as "
            f"arn:aws:iam::{account or '123456789012'}:oidc-provider/{GITHUB_OIDC_HOST}"
        )
    return {
        "github_repository": repository,
        "github_subject_repository": read.optional(
            "github_subject_repository", _github_subject_repository(repository), subject_form
        ),
        "github_oidc_provider_arn": read.optional(
            "github_oidc_provider_arn", _github_oidc_provider_arn(repository, account), provider_form
        ),
    }


def _github_repository(raw: Any) -> str:
    text = _text(raw)
    match = _GITHUB_REPOSITORY.fullmatch(text)
    if not match or match["name"] in (".", ".."):
        raise ValueError(text)
    return text


def _github_subject_repository(repository: str | None) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw)
        match = _GITHUB_SUBJECT_REPOSITORY.fullmatch(text)
        # Owner and name must be github_repository's: the ids themselves cannot be checked offline.
        if repository is None or not match or f"{match['owner']}/{match['name']}" != repository:
            raise ValueError(text)
        return text

    return parse


def _github_oidc_provider_arn(repository: str | None, account: str | None) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw)
        match = _GITHUB_OIDC_PROVIDER_ARN.fullmatch(text)
        if repository is None or not match or account not in (None, match["account"]):
            raise ValueError(text)
        return text

    return parse


# Plain keys the CDK CLI itself writes into cdk.context.json (`cdk acknowledge`, `cdk cli-telemetry`) and hands the
# app with the rest of the context.
CDK_CLI_KEYS = ("acknowledged-issue-numbers", "cli-telemetry")


def _is_setting_key(key: str) -> bool:
    # CDK's own context keys are namespaced ('@aws-cdk/...', 'aws:cdk:...'); ours are plain words.
    return not any(ch in key for ch in "@:/") and key not in CDK_CLI_KEYS


class _Reader:
    def __init__(self, context: Mapping[str, Any]) -> None:
        self._context = context

    def value(self, key: str, default: T, parse: Callable[[Any], T], accepted: str) -> T:
        if key not in self._context or self._context[key] is None:
            return default
        return self._parse(key, parse, accepted)

    def optional(self, key: str, parse: Callable[[Any], T], accepted: str) -> T | None:
        raw = self._context.get(key)
        if raw is None or raw == "":
            return None
        return self._parse(key, parse, accepted)

    def _parse(self, key: str, parse: Callable[[Any], T], accepted: str) -> T:
        raw = self._context[key]
        try:
            return parse(raw)
        except (ValueError, TypeError):
            raise SettingsError(f"Invalid setting '{key}' = {raw!r}: expected {accepted}.") from None


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(raw)
    return raw.strip()


def _matching(pattern: re.Pattern[str]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw)
        if not pattern.fullmatch(text):
            raise ValueError(text)
        return text

    return parse


def _email(raw: Any) -> str:
    text = _text(raw)
    if not is_email_address(text):
        raise ValueError(text)
    return text


def _repository_name(raw: Any) -> str:
    text = _text(raw)
    if not 2 <= len(text) <= 256 or not _REPOSITORY.fullmatch(text):
        raise ValueError(text)
    return text


def _identity_for(sender: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw)
        if text.lower() not in (sender.lower(), sender.partition("@")[2].lower()) or not (
            is_email_address(text) or _DOMAIN.fullmatch(text)
        ):
            raise ValueError(text)
        return text

    return parse


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\s*\d+\s*", raw):
        return int(raw)
    raise ValueError(raw)


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        number = _integer(raw)
        if not low <= number <= high:
            raise ValueError(number)
        return number

    return parse


def _one_of_ints(allowed: tuple[int, ...]) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        number = _integer(raw)
        if number not in allowed:
            raise ValueError(number)
        return number

    return parse


def _optional_int_between(low: int, high: int) -> Callable[[Any], int | None]:
    bounded = _int_between(low, high)

    def parse(raw: Any) -> int | None:
        if isinstance(raw, str) and raw.strip().lower() == "none":
            return None
        return bounded(raw)

    return parse


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _text(raw).lower()
        if text not in allowed:
            raise ValueError(text)
        return text

    return parse


def _addresses(raw: Any, *, low: int, high: int) -> tuple[str, ...]:
    if isinstance(raw, str):
        items: list[Any] = [part for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list):
        items = raw
    else:
        raise TypeError(raw)
    addresses = tuple(_email(item) for item in items)
    if not low <= len(addresses) <= high or len({a.lower() for a in addresses}) != len(addresses):
        raise ValueError(raw)
    return addresses


def _recipients(raw: Any) -> tuple[str, ...]:
    return _addresses(raw, low=1, high=SES_MAX_RECIPIENTS)


def _alarm_emails(raw: Any) -> tuple[str, ...]:
    return _addresses(raw, low=0, high=MAX_ALARM_EMAILS)
