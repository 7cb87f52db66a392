"""The usage an estimate is for: how many files a day, how large, how many go as links (`--files-per-day` ...).

The recipients are not asked for: they are the deploy's `recipients` setting, read with the rest of ARGS. Each bad
value is refused with one line that names the flag and what it accepts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MIB = 1024 * 1024
# Beyond these the estimate would be of another app: SES's largest accounts send some millions a day, and S3's
# largest object is 5 TiB.
MAX_FILES_PER_DAY = 10_000_000
MAX_FILE_MIB = Decimal(5 * 1024 * 1024)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")


class ProfileError(ValueError):
    """A usage flag cannot be read; the message is one line for the user."""


@dataclass(frozen=True)
class Profile:
    files_per_day: int
    average_file_bytes: Decimal
    largest_file_bytes: Decimal
    # Share of the files mailed as a download link rather than attached (0 to 1).
    link_share: Decimal


DEFAULT = Profile(
    files_per_day=100, average_file_bytes=Decimal(MIB), largest_file_bytes=Decimal(20 * MIB), link_share=Decimal("0.1")
)

FLAGS = {
    "--files-per-day": f"a whole number of files from 0 to {MAX_FILES_PER_DAY:,}",
    "--average-file-mib": f"a number of MiB above 0 and up to {MAX_FILE_MIB:,} (S3's largest object)",
    "--largest-file-mib": f"a number of MiB above 0 and up to {MAX_FILE_MIB:,} (S3's largest object)",
    "--link-share": "a fraction from 0 to 1 of the files mailed as a link, e.g. 0.1",
    "--region": "an AWS region name such as eu-west-1",
}


@dataclass(frozen=True)
class CommandLine:
    profile: Profile
    region: str | None
    # What is left for the deploy's settings (`-c key=value`, `--profile`, `--output`).
    cdk_args: tuple[str, ...]


def parse(args: Sequence[str]) -> CommandLine:
    """Split the tool's own flags from the `cdk` options and read them into a profile."""
    given: dict[str, str] = {}
    rest: list[str] = []
    words = iter(args)
    for word in words:
        name, inline, value = word.partition("=")
        if name not in FLAGS:
            _refuse_near_miss(name)
            rest.append(word)
            continue
        if not inline:
            value = next(words, "")
        # `--files-per-day -o cdk.out`: the next word is an option, not this flag's value (a negative number is).
        if value == "" or re.match(r"-[A-Za-z-]", value):
            raise ProfileError(f"{name} needs a value: {FLAGS[name]}.")
        given[name] = value.strip()
    files = _whole(given, "--files-per-day", DEFAULT.files_per_day)
    average = _mib(given, "--average-file-mib", DEFAULT.average_file_bytes)
    largest = _mib(given, "--largest-file-mib", DEFAULT.largest_file_bytes)
    share = _fraction(given, "--link-share", DEFAULT.link_share)
    if average > largest:
        raise ProfileError(
            f"--average-file-mib ({average / MIB:g}) is above --largest-file-mib ({largest / MIB:g}): the average "
            "file cannot be larger than the largest."
        )
    region = given.get("--region")
    if region is not None and not _REGION.fullmatch(region):
        raise ProfileError(f"Invalid --region {region!r}: expected {FLAGS['--region']}.")
    return CommandLine(
        profile=Profile(files_per_day=files, average_file_bytes=average, largest_file_bytes=largest, link_share=share),
        region=region,
        cdk_args=tuple(rest),
    )


def _refuse_near_miss(name: str) -> None:
    """A misspelt usage flag would otherwise be passed on as a cdk option and quietly ignored."""
    if not name.startswith("--"):
        return
    nearest = difflib.get_close_matches(name, FLAGS, n=1, cutoff=0.75)
    if nearest:
        raise ProfileError(f"Unknown option {name}: did you mean {nearest[0]}?")


def _number(given: dict[str, str], name: str) -> Decimal | None:
    if name not in given:
        return None
    try:
        number = Decimal(given[name])
    except InvalidOperation:
        raise ProfileError(f"Invalid {name} {given[name]!r}: expected {FLAGS[name]}.") from None
    if not number.is_finite():
        raise ProfileError(f"Invalid {name} {given[name]!r}: expected {FLAGS[name]}.")
    return number


def _whole(given: dict[str, str], name: str, default: int) -> int:
    number = _number(given, name)
    if number is None:
        return default
    if number != number.to_integral_value() or not 0 <= number <= MAX_FILES_PER_DAY:
        raise ProfileError(f"Invalid {name} {given[name]!r}: expected {FLAGS[name]}.")
    return int(number)


def _mib(given: dict[str, str], name: str, default: Decimal) -> Decimal:
    number = _number(given, name)
    if number is None:
        return default
    if not 0 < number <= MAX_FILE_MIB:
        raise ProfileError(f"Invalid {name} {given[name]!r}: expected {FLAGS[name]}.")
    return number * MIB


def _fraction(given: dict[str, str], name: str, default: Decimal) -> Decimal:
    number = _number(given, name)
    if number is None:
        return default
    if not 0 <= number <= 1:
        raise ProfileError(f"Invalid {name} {given[name]!r}: expected {FLAGS[name]}.")
    return number
