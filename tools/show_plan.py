"""Print what `cdk deploy --all` would create, read from a synthesized cloud assembly (default: cdk.out)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Resource types a reader cares about first; everything else is summed up as "supporting resources".
MAIN_TYPES = (
    "AWS::ECR::Repository",
    "AWS::Lambda::Function",
    "AWS::Lambda::EventSourceMapping",
    "AWS::CodeBuild::Project",
    "AWS::IAM::Role",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::Events::Rule",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table",
    "AWS::Logs::LogGroup",
    "AWS::SES::EmailIdentity",
    "AWS::SES::ConfigurationSet",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Dashboard",
)
# The cloud build's custom resource (`RESOURCE_TYPE` in stacks/cloud_image.py; not imported: this tool reads
# assemblies without loading the CDK).
CLOUD_BUILD_TYPE = "Custom::CDKContainerImageBuild"


def _load(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _describe(logical_id: str, resource: dict[str, Any]) -> str:
    props = resource.get("Properties", {})
    kind = resource["Type"]
    details = []
    if kind == "AWS::ECR::Repository":
        details = [
            f"name {props.get('RepositoryName')}",
            f"tags {props.get('ImageTagMutability')}",
            f"scan on push {props.get('ImageScanningConfiguration', {}).get('ScanOnPush')}",
        ]
    elif kind == "AWS::Lambda::Function":
        details = [
            f"{props.get('PackageType') or props.get('Runtime')} {','.join(props.get('Architectures', ['x86_64']))}",
            f"{props.get('MemorySize')} MiB",
            f"timeout {props.get('Timeout')} s",
        ]
    elif kind == "AWS::SQS::Queue":
        details = [f"retention {int(props.get('MessageRetentionPeriod', 345600)) // 86400} d"]
        if "RedrivePolicy" in props:
            details.append(f"to dead-letter queue after {props['RedrivePolicy'].get('maxReceiveCount')} tries")
    return f"    {kind:<34} {logical_id}" + (f"  ({'; '.join(details)})" if details else "")


def _cloud_builds(template: dict[str, Any]) -> list[str]:
    """The images a stack builds in AWS CodeBuild while it deploys (`image_build` cloud)."""
    lines = []
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != CLOUD_BUILD_TYPE:
            continue
        props = resource["Properties"]
        lines.append(
            f"    image: lambda_image built for {props['Platform']} in AWS CodeBuild while this stack deploys, "
            f"pushed to ECR repository {props['RepositoryName']} as {props['ImageTag']}"
        )
    return lines


def _alarm_line(resources: dict[str, Any]) -> str | None:
    """Who the alarms tell, in one line; None for a stack without alarms."""
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    if not alarms:
        return None
    targets = {json.dumps(action, sort_keys=True) for alarm in alarms for action in alarm.get("AlarmActions", [])}
    existing = sorted(json.loads(t) for t in targets if isinstance(json.loads(t), str))
    emails = sum(1 for r in resources.values() if r["Type"] == "AWS::SNS::Subscription")
    if existing:
        return f"    {len(alarms)} alarms notify the existing topic {', '.join(existing)}"
    if targets and emails:
        return f"    {len(alarms)} alarms notify {emails} email addresses (each must confirm the mail SNS sends it)"
    return (
        f"    {len(alarms)} alarms notify nobody: set alarm_emails (addresses) or alarm_topic_arn (an existing "
        "topic) to be told"
    )


def main(assembly: Path) -> int:
    manifest = _load(assembly / "manifest.json")
    stacks = {name: art for name, art in manifest["artifacts"].items() if art["type"] == "aws:cloudformation:stack"}
    print(f"{len(stacks)} stacks; `cdk deploy --all` deploys them in this order:\n")
    for name, artifact in stacks.items():
        template = _load(assembly / artifact["properties"]["templateFile"])
        resources = template.get("Resources", {})
        depends = [d for d in artifact.get("dependencies", []) if d in stacks]
        print(f"{name}" + (f"  (after {', '.join(depends)})" if depends else ""))
        for logical_id, resource in resources.items():
            if resource["Type"] in MAIN_TYPES:
                print(_describe(logical_id, resource))
        rest = Counter(r["Type"] for r in resources.values() if r["Type"] not in MAIN_TYPES)
        if rest:
            print(
                f"    + {sum(rest.values())} supporting resources: "
                + ", ".join(f"{count} {kind.removeprefix('AWS::')}" for kind, count in sorted(rest.items()))
            )
        alarm_line = _alarm_line(resources)
        if alarm_line:
            print(alarm_line)
        assets = _load(assembly / f"{name}.assets.json")
        for image in assets.get("dockerImages", {}).values():
            for destination in image["destinations"].values():
                print(
                    f"    image: {image['source'].get('directory')} built for {image['source'].get('platform')} "
                    f"by the local container engine before this stack deploys, "
                    f"pushed to ECR repository {destination['repositoryName']}"
                )
        for line in _cloud_builds(template):
            print(line)
        for key, output in template.get("Outputs", {}).items():
            if "Description" in output:
                print(f"    output {key}: {output['Description']}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
