"""Every deploy-time choice of the app, declared once, read once from CDK context and validated.

Each setting is one field of `Settings`, declared with `setting(...)`: its name (the field's, which is the context
key), its type, its default, how its value is read, what the error message says is accepted and one line of
meaning. `Settings.from_context` reads every field from that declaration, an unknown key is refused against the
same names, and the README's settings table is rendered from it (`tools/settings_table.py`). `cdk.json` holds only
what a deployment sets; every other value is the declared default.

`app.py` is the only place that reads context: it calls `Settings.from_context` and hands the frozen result to the
stacks. A bad value stops synth with one line that names the setting, the value and what is accepted
(`SettingsError`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import Field, dataclass, field, fields, replace
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
_MIB = 1024 * 1024


def minimum_memory_mib(max_message_bytes: int) -> int:
    """Memory the function needs to attach the largest allowed message (measured by `make bench`).

    The Python runtime with boto3 and Powertools takes under 96 MiB; an attached message costs the function
    about 1.4 times its encoded size (1.9 times the file), rounded up here to twice.
    """
    return RUNTIME_MEMORY_MIB + -(-2 * max_message_bytes // _MIB)


# The forms a value may take. Each parser takes the value as cdk.json (JSON) or `-c key=value` (text) gives it
# and returns it typed, or raises ValueError or TypeError.


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


def _email_or_domain(raw: Any) -> str:
    text = _text(raw)
    if not (is_email_address(text) or _DOMAIN.fullmatch(text)):
        raise ValueError(text)
    return text


@functools.cache
def known_regions() -> frozenset[str]:
    """Every AWS region of every partition in the partitions.json bundled with botocore, read without the network.

    It is the file botocore's clients resolve endpoints from (`botocore/client.py`); the older endpoints.json, which
    `Session.get_available_regions` reads, lags behind it. Each partition also lists a pseudo-region
    `<partition>-global` that no stack can be deployed to.
    """
    # Imported here: the settings load with the standard library alone until a region is to be checked.
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("partitions")["partitions"]
    return frozenset(
        region for partition in partitions for region in partition["regions"] if not region.endswith("-global")
    )


def _region(raw: Any) -> str:
    text = _text(raw)
    if text not in known_regions():
        raise ValueError(text)
    return text


def _repository_name(raw: Any) -> str:
    text = _text(raw)
    if not 2 <= len(text) <= 256 or not _REPOSITORY.fullmatch(text):
        raise ValueError(text)
    return text


def _github_repository(raw: Any) -> str:
    text = _text(raw)
    match = _GITHUB_REPOSITORY.fullmatch(text)
    if not match or match["name"] in (".", ".."):
        raise ValueError(text)
    return text


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


def _none_or(parse_number: Callable[[Any], int]) -> Callable[[Any], int | None]:
    def parse(raw: Any) -> int | None:
        if isinstance(raw, str) and raw.strip().lower() == "none":
            return None
        return parse_number(raw)

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


# Commas or semicolons, each with any spaces around it: "a@x.com, b@x.com" and "a@x.com; b@x.com" are two addresses.
# An empty item (a doubled or trailing separator) names no address and is skipped: nothing the user meant is lost.
_LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")


def list_items(text: str) -> list[str]:
    """The items of a list setting written as text (`-c key=...`), without empty ones."""
    return [item for item in _LIST_SEPARATOR.split(text.strip()) if item]


def _addresses(low: int, high: int) -> Callable[[Any], tuple[str, ...]]:
    def parse(raw: Any) -> tuple[str, ...]:
        if isinstance(raw, str):
            items: list[Any] = list_items(raw)
        elif isinstance(raw, list):
            items = raw
        else:
            raise TypeError(raw)
        addresses = tuple(_email(item) for item in items)
        if not low <= len(addresses) <= high or len({a.lower() for a in addresses}) != len(addresses):
            raise ValueError(raw)
        return addresses

    return parse


# How a setting relates to those declared before it: its default, its check and its message may name them.


def _domain_of(address: str) -> str:
    return address.partition("@")[2]


def _sends_as(identity: str, sender: str) -> bool:
    return identity.lower() in (sender.lower(), _domain_of(sender).lower())


def _repository_named_by(subject: str) -> str:
    match = _GITHUB_SUBJECT_REPOSITORY.fullmatch(subject)
    return f"{match['owner']}/{match['name']}" if match else ""


def _provider_account(arn: str) -> str:
    match = _GITHUB_OIDC_PROVIDER_ARN.fullmatch(arn)
    return match["account"] if match else ""


def _subject_form(earlier: Settings) -> str:
    if earlier.github_repository is None:
        return "no value unless github_repository is set"
    owner, name = earlier.github_repository.split("/")
    return (
        f"{owner}@<owner id>/{name}@<repository id>, the immutable form of github_repository that GitHub's "
        "OIDC sub claim shows for it, such as octo-org@123456/inbox-mailer@789012"
    )


def _provider_form(earlier: Settings) -> str:
    if earlier.github_repository is None:
        return "no value unless github_repository is set"
    return (
        f"the ARN of this account's IAM OIDC provider for {GITHUB_OIDC_HOST}, such as "
        f"arn:aws:iam::{earlier.account or '123456789012'}:oidc-provider/{GITHUB_OIDC_HOST}"
    )


@dataclass(frozen=True, kw_only=True)
class Setting:
    """How one setting is read, checked and explained: the metadata of its field in `Settings`.

    `earlier` below is the settings as read so far: every setting declared before this one has its value from the
    context, the others their defaults. A setting may depend only on those declared before it.
    """

    parse: Callable[[Any], Any]
    # What a refused value's message says is accepted.
    accepts: str | Callable[[Settings], str]
    # One line for the README's settings table.
    meaning: str
    # A check against the settings declared before it, after `parse` accepted the value's form.
    fits: Callable[[Any, Settings], bool] | None = None
    # A default that follows the settings declared before it, instead of the field's own.
    default_from: Callable[[Settings], Any] | None = None
    # The README's Default cell, when the default's value alone would not say it (None: the value itself).
    shown_default: str | None = None
    # For a setting that may be unset: an empty text (`-c account=`) unsets it, as null does.
    empty_unsets: bool = False
    # The values a refused text is compared with for a "did you mean" (None: no suggestion).
    choices: Callable[[], Collection[str]] | None = None

    @staticmethod
    def of(declared: Field[Any]) -> Setting:
        """The declaration on a field of `Settings`."""
        found: Setting = declared.metadata[_SETTING]
        return found

    def read(self, name: str, default: Any, context: Mapping[str, Any], earlier: Settings) -> Any:
        raw = context.get(name)
        if raw is None or (self.empty_unsets and raw == ""):
            return default if self.default_from is None else self.default_from(earlier)
        try:
            value = self.parse(raw)
            if self.fits is not None and not self.fits(value, earlier):
                raise ValueError(value)
        except (ValueError, TypeError):
            accepted = self.accepts if isinstance(self.accepts, str) else self.accepts(earlier)
            raise SettingsError(f"Invalid setting '{name}' = {raw!r}: {self._expected(raw)} {accepted}.") from None
        return value

    def _expected(self, raw: Any) -> str:
        """The start of a refusal: a "did you mean" when one of the choices is near the value."""
        if self.choices is None or not isinstance(raw, str):
            return "expected"
        # Choices are lowercase: a value in the wrong case is as near as a typo.
        nearest = difflib.get_close_matches(raw.strip().lower(), sorted(self.choices()), n=1)
        return f"did you mean '{nearest[0]}'? Expected" if nearest else "expected"


_SETTING = "setting"


def setting(
    default: T,
    *,
    parse: Callable[[Any], T],
    accepts: str | Callable[[Settings], str],
    meaning: str,
    fits: Callable[[T, Settings], bool] | None = None,
    default_from: Callable[[Settings], T] | None = None,
    shown_default: str | None = None,
) -> T:
    """Declare a field of `Settings`: a setting with a default, used when the context does not set it (or null)."""
    declared = Setting(
        parse=parse, accepts=accepts, meaning=meaning, fits=fits, default_from=default_from, shown_default=shown_default
    )
    return field(default=default, metadata={_SETTING: declared})


def optional_setting(
    *,
    parse: Callable[[Any], T],
    accepts: str | Callable[[Settings], str],
    meaning: str,
    fits: Callable[[T, Settings], bool] | None = None,
    shown_default: str | None = None,
    choices: Callable[[], Collection[str]] | None = None,
) -> T | None:
    """Declare a field of `Settings` that is None unless the context sets it to something other than ''."""
    declared = Setting(
        parse=parse,
        accepts=accepts,
        meaning=meaning,
        fits=fits,
        shown_default=shown_default,
        empty_unsets=True,
        choices=choices,
    )
    return field(default=None, metadata={_SETTING: declared})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Validated settings. Field names are the context keys in `cdk.json` and `-c key=value`.

    Read in the order declared here; the README's settings table lists them in the same order.
    """

    stage: str = setting(
        "dev",
        parse=_matching(_STAGE),
        accepts="1-20 lowercase letters, digits or '-', starting with a letter",
        meaning="Name of this copy of the app (lowercase, up to 20 characters); part of the stack, repository and "
        "role names.",
    )
    account: str | None = optional_setting(
        parse=_matching(_ACCOUNT),
        accepts="a 12-digit AWS account id",
        meaning="Pin the stacks to an account. Unset: the account of your AWS credentials at deploy time.",
    )
    region: str | None = optional_setting(
        parse=_region,
        choices=known_regions,
        accepts="an AWS region name such as eu-west-1, one of the regions botocore knows",
        meaning="Pin the stacks to a region. Unset: the region of your AWS credentials at deploy time.",
    )
    repository_name: str = setting(
        f"{APP_NAME}-dev",
        default_from=lambda earlier: f"{APP_NAME}-{earlier.stage}",
        shown_default=f"`{APP_NAME}-<stage>`",
        parse=_repository_name,
        accepts="2-256 lowercase letters, digits and '/', '.', '_', '-' separators (ECR's rule)",
        meaning="Name of the private ECR repository (ECR's naming rule).",
    )
    images_to_keep: int = setting(
        10,
        parse=_int_between(MIN_IMAGES_TO_KEEP, 1000),
        accepts=f"a whole number from {MIN_IMAGES_TO_KEEP} (enough for a rollback) to 1000",
        meaning=f"Tagged images the repository keeps (at least {MIN_IMAGES_TO_KEEP}, so a rollback always finds its "
        "image).",
    )
    rollback_images: int = setting(
        3,
        # Each one is stored and billed; a deploy rarely goes back further than a few releases.
        parse=_int_between(1, 20),
        accepts="a whole number from 1 to 20",
        meaning="Images live before the current one that the lifecycle never expires (tagged `rollback-1`..), on top "
        "of the live image itself (tagged `live`) and of `images_to_keep` others.",
    )
    image_scanning: str = setting(
        "basic",
        parse=_one_of(("basic", "enhanced")),
        accepts="basic (ECR's scan on push, free) or enhanced (Amazon Inspector, account-wide, billed per image)",
        meaning="`basic`: ECR scans each image once on push, free. `enhanced`: Amazon Inspector scans continuously; it "
        "is set for the whole account and region (every repository) and billed per image scanned (see docs/images.md).",
    )
    sender: str = setting(
        "mailer@example.com",
        parse=_email,
        accepts="an email address such as mailer@example.com",
        meaning="The `From` address. **Change it**: SES sends only from an identity you verified.",
    )
    sender_identity: str | None = optional_setting(
        parse=_email_or_domain,
        fits=lambda identity, earlier: _sends_as(identity, earlier.sender),
        accepts=lambda earlier: f"the sender address {earlier.sender} or its domain {_domain_of(earlier.sender)}",
        shown_default="the sender address",
        meaning="The SES identity the function may send from: the address itself or its domain (for a verified "
        "domain).",
    )
    recipients: tuple[str, ...] = setting(
        ("ops@example.com",),
        parse=_addresses(1, SES_MAX_RECIPIENTS),
        accepts=f"1 to {SES_MAX_RECIPIENTS} distinct email addresses, as a JSON list or separated by commas or "
        "semicolons",
        meaning=f"Who gets the mail: 1 to {SES_MAX_RECIPIENTS} addresses, a JSON list in `cdk.json` or "
        "comma-separated with `-c`.",
    )
    memory_mib: int = setting(
        512,
        parse=_int_between(128, 10240),
        accepts="a whole number of MiB from 128 to 10240",
        meaning="Function memory (128-10240 MiB). An attached file needs about twice its size (see Performance); "
        f"synth refuses less than {RUNTIME_MEMORY_MIB} MiB plus twice `max_message_bytes`.",
    )
    timeout_seconds: int = setting(
        60,
        parse=_int_between(1, MAX_TIMEOUT_SECONDS),
        accepts=f"a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}",
        meaning=f"Function timeout (1-{MAX_TIMEOUT_SECONDS} s). The queue's visibility timeout is six times this.",
    )
    log_retention_days: int = setting(
        30,
        parse=_one_of_ints(LOG_RETENTION_DAYS),
        accepts="one of CloudWatch's retention periods: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
        meaning="How long the function's logs are kept (one of CloudWatch's retention periods).",
    )
    removal_policy: str = setting(
        "retain",
        parse=_one_of(REMOVAL_POLICIES),
        accepts=" or ".join(REMOVAL_POLICIES),
        meaning="`retain` keeps the repository, the buckets, the log groups and the alarm topic's key when the "
        "stacks are destroyed; `destroy` deletes them (one mapping, `stacks/removal.py`).",
    )
    inbox_prefix: str = setting(
        "incoming/",
        parse=_matching(_PREFIX),
        accepts="one or more folder names, each ending in '/', such as incoming/ "
        "(letters, digits and ! _ . * ' ( ) - only)",
        meaning="Only files under this folder of the bucket are mailed.",
    )
    max_message_bytes: int = setting(
        10 * _MIB,
        shown_default=f"`{10 * _MIB}` (10 MiB)",
        parse=_int_between(MIN_MESSAGE_BYTES, SES_MAX_MESSAGE_BYTES),
        accepts=f"a whole number of bytes from {MIN_MESSAGE_BYTES} to "
        f"{SES_MAX_MESSAGE_BYTES} (SES's limit for one message)",
        meaning=f"Largest email, measured after encoding (SES allows {SES_MAX_MESSAGE_BYTES // _MIB} MiB; many mail "
        "servers refuse more than 10-25 MiB). Larger files go as a link.",
    )
    link_expiry_seconds: int = setting(
        3600,
        parse=_int_between(60, MAX_LINK_EXPIRY_SECONDS),
        accepts=f"a whole number of seconds from 60 to {MAX_LINK_EXPIRY_SECONDS} (a "
        "link signed by the function cannot outlive its credentials)",
        meaning=f"How long a download link works (60-{MAX_LINK_EXPIRY_SECONDS} s: the link is signed with the "
        "function's temporary credentials and cannot outlive them).",
    )
    max_concurrency: int = setting(
        2,
        parse=_int_between(2, 1000),
        accepts="a whole number from 2 to 1000 (SQS event source limits)",
        meaning="Most function instances working the queue at once (2-1000).",
    )
    # None: the event source's max_concurrency bounds the function, and a new account (10 in all) can reserve none.
    reserved_concurrency: int | None = setting(
        None,
        shown_default="`none`",
        parse=_none_or(_int_between(2, 1000)),
        # A reservation below the event source's maximum would throttle the pollers the maximum allows.
        fits=lambda reserved, earlier: reserved is None or reserved >= earlier.max_concurrency,
        accepts=lambda earlier: f"'none' or a whole number from max_concurrency ({earlier.max_concurrency}) to 1000",
        meaning="Concurrency reserved for the function (from `max_concurrency` to 1000), or `none`. The default "
        "reserves nothing: `max_concurrency` already bounds how many copies work the queue, and a new account (10 "
        "concurrent executions in all) cannot reserve any. Worth setting when other functions of the account could "
        "take all its concurrency and the mail must not wait; the preflight checks the account has room.",
    )
    create_sender_identity: bool = setting(
        False,
        parse=_boolean,
        accepts="true or false",
        meaning="`true` creates the SES identity for `sender_identity`, so SES mails the verification link at deploy.",
    )
    image_build: str = setting(
        "local",
        parse=_one_of(IMAGE_BUILDS),
        accepts="local (the container engine of the deploying machine) or cloud (AWS CodeBuild)",
        meaning="Where `cdk deploy` builds the function's image: `local` with the deploying machine's container "
        'engine, `cloud` in AWS CodeBuild during the deploy, with no engine needed (see "Building the image in the '
        'cloud").',
    )
    github_repository: str | None = optional_setting(
        parse=_github_repository,
        accepts="owner/name of the GitHub repository that may deploy, such as octo-org/inbox-mailer",
        meaning="`owner/name` of the GitHub repository whose deploy workflow may deploy this stage. Set: adds the "
        'deployer stack (see "Deploying from GitHub Actions").',
    )
    github_subject_repository: str | None = optional_setting(
        parse=_matching(_GITHUB_SUBJECT_REPOSITORY),
        # Owner and name must be github_repository's: the ids themselves cannot be checked offline.
        fits=lambda subject, earlier: _repository_named_by(subject) == earlier.github_repository,
        accepts=_subject_form,
        shown_default="`github_repository`",
        meaning="The repository as GitHub's OIDC `sub` claim names it, when that is the immutable form "
        "`owner@<owner id>/name@<repository id>` (repositories created or renamed since mid-July 2026, or opted "
        "in). Must be the same owner and name as `github_repository`.",
    )
    github_oidc_provider_arn: str | None = optional_setting(
        parse=_matching(_GITHUB_OIDC_PROVIDER_ARN),
        fits=lambda arn, earlier: (
            earlier.github_repository is not None and earlier.account in (None, _provider_account(arn))
        ),
        accepts=_provider_form,
        shown_default="unset: the deployer stack creates the provider",
        meaning=f"ARN of the account's existing IAM OIDC provider for `{GITHUB_OIDC_HOST}` (an account holds one "
        "per URL), e.g. the `GitHubOidcProviderArn` output of another stage; in `account` when that is set.",
    )
    alarm_emails: tuple[str, ...] = setting(
        (),
        parse=_addresses(0, MAX_ALARM_EMAILS),
        accepts=f"0 to {MAX_ALARM_EMAILS} distinct email addresses, as a JSON list or separated by commas or "
        "semicolons",
        meaning=f"0 to {MAX_ALARM_EMAILS} addresses told about every alarm (ALARM and OK) and every bounce or "
        "complaint: a JSON list in `cdk.json` or comma-separated with `-c`. The stack creates one encrypted SNS "
        "topic with an email subscription per address; each address must click the confirmation link SNS mails it.",
    )
    alarm_topic_arn: str | None = optional_setting(
        parse=_matching(_TOPIC_ARN),
        accepts="the ARN of a standard SNS topic, such as arn:aws:sns:eu-west-1:123456789012:ops-alarms",
        meaning="Instead of `alarm_emails`: the ARN of an existing standard SNS topic (a team's Chatbot or PagerDuty "
        "topic). Its policy (and key policy, if encrypted) must let `cloudwatch.amazonaws.com`, "
        "`ses.amazonaws.com` and `events.amazonaws.com` (the image scan's findings) of this account publish. "
        "Setting both is an error. With neither, the alarms exist but tell nobody, and `make synth` says so.",
    )

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
        _refuse_unknown_keys(context, cls.setting_names())
        settings = cls()
        for declared in fields(cls):
            value = Setting.of(declared).read(declared.name, declared.default, context, settings)
            settings = replace(settings, **{declared.name: value})
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


# Plain keys the CDK CLI itself writes into cdk.context.json (`cdk acknowledge`, `cdk cli-telemetry`) and hands the
# app with the rest of the context.
CDK_CLI_KEYS = ("acknowledged-issue-numbers", "cli-telemetry")


def _is_setting_key(key: str) -> bool:
    # CDK's own context keys are namespaced ('@aws-cdk/...', 'aws:cdk:...'); ours are plain words.
    return not any(ch in key for ch in "@:/") and key not in CDK_CLI_KEYS


def _refuse_unknown_keys(context: Mapping[str, Any], names: tuple[str, ...]) -> None:
    unknown = sorted(k for k in context if _is_setting_key(k) and k not in names)
    if not unknown:
        return
    key = unknown[0]
    # Setting names are lowercase: a key in the wrong case is as near as a typo.
    nearest = difflib.get_close_matches(key.lower(), names, n=1)
    accepted = ", ".join(names)
    if nearest:
        raise SettingsError(f"Unknown setting '{key}': did you mean '{nearest[0]}'? Accepted settings are {accepted}.")
    raise SettingsError(f"Unknown setting '{key}': accepted settings are {accepted}.")
