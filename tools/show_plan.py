"""Print what `make deploy` (`cdk deploy --all`) would do, read from a synthesized cloud assembly (default: cdk.out).

The first view fits 80 columns and speaks of what a reader deploys: who mails whom, the settings still at a
placeholder, then each stack's repository, bucket, queues, function and alarms. `--detail` adds CloudFormation's view:
every resource's type and logical id, and the staged image folders.

The plan is a list of sections, each made by one small function from the assembly (`plan`); a new part of the plan
is one more function and one more call there. Everything shown is read from the assembly: the addresses and the
inbox prefix are the function's environment, so the plan shows what the templates deploy, with any `-c` options.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The function's variable names live in its own package, which this tool reads without loading the CDK; the cost
# estimator in tools/cost when run as a script (`python tools/show_plan.py`).
_ROOT = Path(__file__).resolve().parent.parent
for _directory in (str(_ROOT / "lambda_image"), str(_ROOT)):
    if _directory not in sys.path:
        sys.path.append(_directory)

from inbox_mailer.contract import ENVIRONMENT  # noqa: E402
from tools.cost.report import fixed_monthly_line  # noqa: E402

# A standard terminal (and tmux's default pane).
WIDTH = 80
# The cloud build's custom resource (`RESOURCE_TYPE` in stacks/cloud_image.py; not imported: that module loads the
# CDK).
CLOUD_BUILD_TYPE = "Custom::CDKContainerImageBuild"
# RFC 2606 and 6761 reserve these for examples: mail to them never arrives, so a setting holding one is a placeholder.
_RESERVED_DOMAIN = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$", re.IGNORECASE)

# What a reader calls each resource a deploy creates, by type; the others are counted as supporting resources.
NOUNS = {
    "AWS::ECR::Repository": "repository",
    "AWS::S3::Bucket": "bucket",
    "AWS::SQS::Queue": "queue",
    "AWS::Events::Rule": "rule",
    "AWS::Lambda::Function": "function",
    "AWS::Lambda::EventSourceMapping": "",
    "AWS::IAM::Role": "role",
    "AWS::DynamoDB::GlobalTable": "table",
    "AWS::DynamoDB::Table": "table",
    "AWS::Logs::LogGroup": "log group",
    "AWS::SES::EmailIdentity": "SES identity",
    "AWS::SES::ConfigurationSet": "configuration set",
    "AWS::SNS::Topic": "topic",
    "AWS::CloudWatch::Dashboard": "dashboard",
    "AWS::CodeBuild::Project": "build project",
}


@dataclass(frozen=True)
class Stack:
    name: str
    template: dict[str, Any]
    assets: dict[str, Any]
    after: tuple[str, ...]

    @property
    def resources(self) -> dict[str, Any]:
        found: dict[str, Any] = self.template.get("Resources", {})
        return found


@dataclass(frozen=True)
class Assembly:
    """The stacks of a cloud assembly, in the order `cdk deploy --all` deploys them."""

    directory: Path
    stacks: tuple[Stack, ...]

    @classmethod
    def read(cls, directory: Path) -> Assembly:
        manifest = _load(directory / "manifest.json")
        artifacts = manifest["artifacts"]
        names = [name for name, art in artifacts.items() if art["type"] == "aws:cloudformation:stack"]
        stacks = []
        for name in names:
            assets = directory / f"{name}.assets.json"
            stacks.append(
                Stack(
                    name=name,
                    template=_load(directory / artifacts[name]["properties"]["templateFile"]),
                    assets=_load(assets) if assets.is_file() else {},
                    after=tuple(d for d in artifacts[name].get("dependencies", []) if d in names),
                )
            )
        return cls(directory=directory, stacks=tuple(stacks))

    def mailer_environment(self) -> dict[str, Any]:
        """The environment of the function that mails (it holds the sender); empty if no stack has it."""
        sender = ENVIRONMENT["sender_address"].name
        for stack in self.stacks:
            for resource in stack.resources.values():
                variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
                if resource["Type"] == "AWS::Lambda::Function" and sender in variables:
                    found: dict[str, Any] = variables
                    return found
        return {}

    def alarm_emails(self) -> list[str]:
        return [
            r["Properties"]["Endpoint"]
            for stack in self.stacks
            for r in stack.resources.values()
            if r["Type"] == "AWS::SNS::Subscription" and r["Properties"].get("Protocol") == "email"
        ]


@dataclass(frozen=True)
class Section:
    title: str
    # Each line already fits WIDTH.
    lines: tuple[str, ...]


def _load(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def wrap(text: str, indent: int = 2, hang: int = 2, *, whole_words: bool = False) -> list[str]:
    """`text` as lines of at most WIDTH columns, `indent` spaces in, continuation lines `hang` further.

    A word longer than a line (a long address) is cut, unless `whole_words` keeps it whole for copying (an id).
    """
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_on_hyphens=False,
        break_long_words=not whole_words,
    )


def _field(label: str, value: str) -> list[str]:
    return wrap(f"{label:<13}{value}", hang=13)


# The sections, in the order they are printed.


def who_mails_whom(assembly: Assembly) -> Section | None:
    """The sender, the recipients and the folder of the bucket whose uploads are mailed."""
    environment = assembly.mailer_environment()
    if not environment:
        return None
    lines = [
        *_field("sender", _read(environment, "sender_address")),
        *_field("recipients", ", ".join(_read(environment, "recipients"))),
        *_field("inbox_prefix", f"each file uploaded under {_read(environment, 'inbox_prefix')} in the inbox bucket"),
    ]
    return Section("Who mails whom", tuple(lines))


def placeholders(assembly: Assembly) -> Section | None:
    """One line per setting still holding an address of a reserved example domain: mail to it never arrives."""
    environment = assembly.mailer_environment()
    addresses = {
        "sender": [_read(environment, "sender_address")] if environment else [],
        "recipients": list(_read(environment, "recipients")) if environment else [],
        "alarm_emails": assembly.alarm_emails(),
    }
    lines = []
    for setting, values in addresses.items():
        reserved = [address for address in values if is_placeholder(address)]
        if reserved:
            still = f"it is still {reserved[0]}" if values == reserved[:1] else f"it still holds {', '.join(reserved)}"
            lines += wrap(f"! change {setting} before `make deploy` ({still})", hang=4)
    if not lines:
        return None
    return Section("Before the first deploy", tuple(lines))


def stacks(assembly: Assembly, *, detail: bool = False) -> list[Section]:
    """One section per stack, in deploy order: what it creates, in a reader's words (or CloudFormation's)."""
    return [_stack(stack, detail=detail) for stack in assembly.stacks]


def note(text: str) -> Section:
    """A paragraph of its own, without a title, wrapped to the plan's width."""
    return Section("", tuple(wrap(text, indent=0)))


def fixed_cost(assembly: Assembly) -> Section:
    """What the deployment costs a month before any file arrives (tools/cost prices the same templates)."""
    return note(fixed_monthly_line(assembly.directory))


def plan(assembly: Assembly, *, detail: bool = False) -> list[Section]:
    """The plan, section by section; a new part is one more call in this list (a function, or `note(text)`)."""
    sections = [
        who_mails_whom(assembly),
        placeholders(assembly),
        note(
            f"{len(assembly.stacks)} stacks; `make deploy` deploys them in this order"
            + ("" if detail else " (python tools/show_plan.py --detail adds each resource's logical id)")
            + ":"
        ),
        *stacks(assembly, detail=detail),
        fixed_cost(assembly),
    ]
    return [section for section in sections if section is not None]


def render(sections: Sequence[Section]) -> str:
    blocks = []
    for section in sections:
        blocks.append("\n".join(([section.title] if section.title else []) + list(section.lines)))
    return "\n\n".join(blocks) + "\n"


def is_placeholder(address: str) -> bool:
    return bool(_RESERVED_DOMAIN.search(address.rpartition("@")[2]))


def _read(environment: dict[str, Any], field: str) -> Any:
    variable = ENVIRONMENT[field]
    return variable.read(variable.name, environment[variable.name])


# One stack


def _stack(stack: Stack, *, detail: bool) -> Section:
    resources = stack.resources
    title = stack.name + (f" (after {', '.join(stack.after)})" if stack.after else "")
    described = _output_descriptions(stack.template)
    # The cloud build's own parts (its project, functions, roles) are told as one line with the image.
    build_parts = {} if detail else _cloud_build_parts(resources)
    lines: list[str] = []
    for logical_id, resource in resources.items():
        if logical_id in build_parts:
            continue
        if resource["Type"] in NOUNS:
            lines += wrap(_describe(resource, resources, described.get(logical_id)), hang=4)
        if detail:
            indent = 6 if resource["Type"] in NOUNS else 2
            lines += wrap(f"{resource['Type']} {logical_id}", indent=indent, hang=4, whole_words=True)
    if not detail:
        lines += _supporting({k: r for k, r in resources.items() if k not in build_parts})
    alarm_line = _alarm_line(resources)
    if alarm_line:
        lines += wrap(alarm_line, hang=4)
    lines += _images(stack, detail=detail, build_parts=build_parts)
    for key, output in stack.template.get("Outputs", {}).items():
        if "Description" in output and (detail or _resource_of(output.get("Value")) is None):
            lines += wrap(f"the deploy prints {key}: {output['Description']}", hang=4)
    return Section(title, tuple(lines))


def _words(construct_id: str) -> str:
    """A construct id as a reader says it: DeadLetterQueue -> dead-letter queue, OIDCProvider -> oidc provider."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", construct_id).lower()
    return words.replace("dead letter", "dead-letter")


def _name(resource: dict[str, Any]) -> str:
    """`the <what it is>`, from the construct's id in the path the CDK records and the resource's type."""
    noun = NOUNS[resource["Type"]]
    path = _path(resource)
    while path and path[-1] in ("Resource", "Default"):
        path.pop()
    if len(path) >= 2 and path[-1].startswith("Handler"):
        # A small construct's own function, role and logs: named after the construct (the live image mark's role).
        return f"the {_words(path[-2])}'s {noun}"
    words = _words(path[-1]) if path else noun
    return f"the {words}" if words.endswith(noun.lower()) else f"the {words} {noun}"


def _describe(resource: dict[str, Any], resources: dict[str, Any], purpose: str | None) -> str:
    props = resource.get("Properties", {})
    kind = resource["Type"]
    details: list[str] = []
    if kind == "AWS::ECR::Repository":
        mutability = str(props.get("ImageTagMutability", "MUTABLE"))
        movable = [
            f.get("ImageTagMutabilityExclusionFilterValue") for f in props.get("ImageTagMutabilityExclusionFilters", [])
        ]
        details = [
            f"tags {mutability.removesuffix('_WITH_EXCLUSION').lower()}"
            + (f" but {', '.join(map(str, movable))}" if movable else ""),
            "scanned on push" if props.get("ImageScanningConfiguration", {}).get("ScanOnPush") else "not scanned",
        ]
        return f"the repository {props.get('RepositoryName', '')} ({'; '.join(details)})"
    if kind == "AWS::Lambda::EventSourceMapping":
        source = _resource_of(props.get("EventSourceArn"))
        reader = "the function reads " + (_name(resources[source]) if source in resources else "its event source")
        most = props.get("ScalingConfig", {}).get("MaximumConcurrency")
        return reader + (f" ({props.get('BatchSize', 10)} at a time" + (f", {most} copies at most)" if most else ")"))
    if kind == "AWS::Lambda::Function":
        details = [
            f"{'/'.join(props.get('Architectures', ['x86_64']))} {props.get('PackageType', 'Zip').lower()}",
            f"{props.get('MemorySize', 128)} MiB",
            f"timeout {props.get('Timeout', 3)} s",
        ]
    elif kind == "AWS::SQS::Queue":
        details = [f"keeps messages {int(props.get('MessageRetentionPeriod', 345600)) // 86400} days"]
        redrive = props.get("RedrivePolicy", {})
        target = _resource_of(redrive.get("deadLetterTargetArn"))
        if target in resources:
            details.append(f"to {_name(resources[target])} after {redrive.get('maxReceiveCount')} tries")
    elif kind == "AWS::Logs::LogGroup" and "RetentionInDays" in props:
        details = [f"kept {props['RetentionInDays']} days"]
    text = _name(resource) + (f" ({'; '.join(details)})" if details else "")
    if purpose:
        text += f": {purpose[0].lower()}{purpose[1:]}"
    elif kind == "AWS::Events::Rule" and isinstance(props.get("Description"), str):
        text += f": {props['Description'][0].lower()}{props['Description'][1:]}"
    return text


def _supporting(resources: dict[str, Any]) -> list[str]:
    """The resources not named one by one, counted by kind: `+ 21 supporting resources: 11 alarms, 7 policies`."""
    # The CDK's own bookkeeping (the library version) is nothing the reader deploys.
    kinds = [r["Type"] for r in resources.values() if r["Type"] not in NOUNS and r["Type"] != "AWS::CDK::Metadata"]
    if not kinds:
        return []
    total = len(kinds)
    return wrap(f"+ {total} supporting resource{'s' if total > 1 else ''}: {_counted(kinds)}", hang=4)


def _counted(kinds: list[str]) -> str:
    """Resource types counted in a reader's words, most first: `7 roles, 5 functions, 1 build project`."""
    counts = Counter(
        _plural(
            NOUNS.get(kind)
            or _words(kind.rpartition("::")[2].removeprefix("Bucket").removeprefix("Queue").removeprefix("Topic"))
        )
        for kind in kinds
    )
    return ", ".join(f"{count} {many if count > 1 else one}" for (one, many), count in counts.most_common())


def _cloud_build_parts(resources: dict[str, Any]) -> dict[str, Any]:
    """The resources of the construct that holds a cloud build (the build itself included), by logical id."""
    units = {tuple(_path(r)[:1]) for r in resources.values() if r["Type"] == CLOUD_BUILD_TYPE} - {()}
    return {k: r for k, r in resources.items() if tuple(_path(r)[:1]) in units}


def _path(resource: dict[str, Any]) -> list[str]:
    """The construct ids from the stack down to the resource, as the CDK records them (empty when it does not)."""
    path: str = resource.get("Metadata", {}).get("aws:cdk:path", "")
    return path.split("/")[1:]


def _plural(words: str) -> tuple[str, str]:
    """(one, many): policy -> policies, alarm -> alarms."""
    many = words[:-1] + "ies" if words.endswith("y") else words + "s"
    return words, many


def _resource_of(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at; None for anything else."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def _output_descriptions(template: dict[str, Any]) -> dict[str, str]:
    """What a stack output says about the one resource it shows, by that resource's logical id."""
    found = {}
    for output in template.get("Outputs", {}).values():
        target = _resource_of(output.get("Value"))
        if target is not None and "Description" in output:
            found[target] = str(output["Description"])
    return found


def _alarm_line(resources: dict[str, Any]) -> str | None:
    """Who the alarms tell, in one line; None for a stack without alarms."""
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    if not alarms:
        return None
    targets = {json.dumps(action, sort_keys=True) for alarm in alarms for action in alarm.get("AlarmActions", [])}
    existing = sorted(json.loads(t) for t in targets if isinstance(json.loads(t), str))
    emails = sum(1 for r in resources.values() if r["Type"] == "AWS::SNS::Subscription")
    if existing:
        return f"the {len(alarms)} alarms notify the existing topic {', '.join(existing)}"
    if targets and emails:
        return f"the {len(alarms)} alarms notify {emails} email addresses (each must confirm the mail SNS sends it)"
    return (
        f"the {len(alarms)} alarms notify nobody: set alarm_emails (addresses) or alarm_topic_arn (an existing "
        "topic) to be told"
    )


def _images(stack: Stack, *, detail: bool, build_parts: dict[str, Any]) -> list[str]:
    """Where the function's image is built and pushed: by this machine before the stack deploys, or by CodeBuild."""
    lines = []
    for image in stack.assets.get("dockerImages", {}).values():
        for destination in image["destinations"].values():
            folder = f" from {image['source'].get('directory')}" if detail else ""
            lines += wrap(
                f"the image: built{folder} for {image['source'].get('platform')} by the local container engine "
                f"before this stack deploys, pushed to the repository {destination['repositoryName']}",
                hang=4,
                whole_words=detail,
            )
    for resource in stack.resources.values():
        if resource["Type"] == CLOUD_BUILD_TYPE:
            props = resource["Properties"]
            tag = f" as {props['ImageTag']}" if detail else ""
            parts = [r["Type"] for r in build_parts.values() if r["Type"] != CLOUD_BUILD_TYPE]
            made_of = f"; the build adds {len(parts)} resources: {_counted(parts)}" if parts else ""
            lines += wrap(
                f"the image: built for {props['Platform']} in AWS CodeBuild while this stack deploys, pushed to the "
                f"repository {props['RepositoryName']}{tag}{made_of}",
                hang=4,
                whole_words=detail,
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assembly", nargs="?", default="cdk.out", type=Path, help="the cloud assembly (cdk.out)")
    parser.add_argument("--detail", action="store_true", help="every resource with its type and logical id")
    args = parser.parse_args(argv)
    print(render(plan(Assembly.read(args.assembly), detail=args.detail)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
