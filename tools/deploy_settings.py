"""The settings a deploy gets, read as the CDK CLI reads them: for every tool that must find the deployed stacks.

`make preflight`, `make status` and `make redrive` take the options of `make deploy` (ARGS) and must look at the
stacks a deploy with those options makes. For each context key the CLI takes the first of these sources that sets
it (aws-cdk 2.1148, lib/cli/user-configuration.js, `Configuration.loadConfigFiles`, `contextSources` in order):

1. `-c key=value` / `--context key=value` on the command line (the value is a string);
2. the "context" object of the project's cdk.json;
3. the project's cdk.context.json (where the CLI caches lookups);
4. the "context" object of ~/.cdk.json.

The app gets all of them merged (the toolkit's `Context.all`: from the last source to the first, each merged over
the ones before it, objects key by key, anything else replaced). A setting that no source sets takes the default
declared in `stacks/settings.py`: the project's cdk.json sets only the sender and the recipients. `--profile` and
`--output` come from the command line, else cdk.json, else ~/.cdk.json (the CLI merges its settings in that order
too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
# The CLI's default when neither the command line nor a cdk.json names the cloud assembly's folder.
DEFAULT_OUTPUT = "cdk.out"


class UsageError(ValueError):
    """The command line cannot be read; the message is one line for the user."""


@dataclass(frozen=True)
class CommandLine:
    """The options of a `cdk` command line that decide where a deploy goes."""

    context: dict[str, str]
    profile: str | None
    output: str | None


@dataclass(frozen=True)
class DeploySettings:
    """What `cdk deploy` with the same command line, in the same project and home folder, would use."""

    settings: Settings
    profile: str | None
    # The cloud assembly the CLI synthesizes into.
    assembly_directory: Path


def parse_cdk_args(args: Sequence[str]) -> CommandLine:
    """Read the `cdk` options that matter here; the others (e.g. --require-approval, a tool's own) are ignored.

    `-c`/`--context key=value` splits at the first '=' like the CDK CLI; the value stays a string.
    """
    context: dict[str, str] = {}
    options: dict[str, str] = {}
    names = {"-c": "context", "--context": "context", "--profile": "profile", "-o": "output", "--output": "output"}
    words = iter(args)
    for word in words:
        name, inline, value = word.partition("=")
        if name not in names:
            continue
        if not inline:
            value = next(words, "")
        if names[name] != "context":
            options[names[name]] = value
            continue
        key, assignment, context_value = value.partition("=")
        # The CLI only warns and goes on without it; here a forgotten value would quietly pick another stage.
        if not assignment:
            raise UsageError(f"Context argument is not an assignment (key=value): {value!r}.")
        context[key] = context_value
    return CommandLine(context=context, profile=options.get("profile"), output=options.get("output"))


def merged_context(command_line: Mapping[str, Any], *, project: Path, home: Path) -> dict[str, Any]:
    """The context the CLI hands the app: the command line over cdk.json over cdk.context.json over ~/.cdk.json."""
    merged: dict[str, Any] = {}
    for source in (
        _json_file(home / ".cdk.json").get("context", {}),
        _json_file(project / "cdk.context.json"),
        _json_file(project / "cdk.json").get("context", {}),
        command_line,
    ):
        _merge_into(merged, source)
    return merged


def read(args: Sequence[str], *, project: Path | None = None, home: Path | None = None) -> DeploySettings:
    """The deploy's settings for the `cdk` options `args`; raises UsageError or SettingsError with one line."""
    project = project or PROJECT
    home = home or Path.home()
    command_line = parse_cdk_args(args)
    project_config, user_config = _json_file(project / "cdk.json"), _json_file(home / ".cdk.json")
    settings = Settings.from_context(merged_context(command_line.context, project=project, home=home))
    profile = command_line.profile or project_config.get("profile") or user_config.get("profile")
    output = command_line.output or project_config.get("output") or user_config.get("output") or DEFAULT_OUTPUT
    return DeploySettings(settings=settings, profile=profile, assembly_directory=project / output)


def _json_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _merge_into(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = value
