"""The function stack's synthesized template, read as the demo needs it, and its references resolved.

Every property the demo gives a resource comes from here: nothing in the demo restates a value of the stacks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.deployed import ToolError


class UnresolvedError(Exception):
    """A reference to something the emulator does not hold (the function, alarms, the dashboard)."""


@dataclass(frozen=True)
class Template:
    stack_name: str
    path: Path
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, cdk_out: Path, stack_name: str) -> Template:
        path = cdk_out / f"{stack_name}.template.json"
        if not path.is_file():
            raise ToolError(
                f"{path} does not exist: run `make synth` first, with the same ARGS as for the demo "
                "(make demo runs it for you)."
            )
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            stack_name=stack_name,
            path=path,
            resources=document.get("Resources", {}),
            outputs=document.get("Outputs", {}),
        )

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        """Logical id -> properties of every resource of that type, in template order."""
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resources.items()
            if resource["Type"] == type_
        }

    def only(self, type_: str, why: str = "", **matching: Any) -> tuple[str, dict[str, Any]]:
        """The one resource of that type (whose properties hold `matching`, when given: another of the type may
        serve something else, such as the image scan's rule or the live mark's function)."""
        found = {
            logical_id: properties
            for logical_id, properties in self.of_type(type_).items()
            if all(_holds(properties.get(key), value) for key, value in matching.items())
        }
        if len(found) != 1:
            raise ToolError(
                f"{self.path} has {len(found)} resources of type {type_}{why}; the demo expects exactly one."
            )
        return next(iter(found.items()))

    def mailer(self) -> tuple[str, dict[str, Any]]:
        """The mailer function: the one the queue's event source mapping invokes."""
        _, mapping = self.only("AWS::Lambda::EventSourceMapping")
        reference = mapping.get("FunctionName")
        if not (isinstance(reference, dict) and "Ref" in reference):
            raise ToolError(f"{self.path}: the event source mapping names its function without a Ref: {reference!r}")
        logical_id = reference["Ref"]
        return logical_id, self.resources[logical_id].get("Properties", {})

    def upload_rule(self) -> tuple[str, dict[str, Any]]:
        """The rule that sends uploads to the queue the mailer reads (not the image scan's rule)."""
        _, mapping = self.only("AWS::Lambda::EventSourceMapping")
        return self.only("AWS::Events::Rule", " sending to the mailer's queue", Targets=mapping["EventSourceArn"])


def _holds(value: Any, wanted: Any) -> bool:
    """`value` is `wanted`, or a list of targets one of which has `wanted` as its Arn."""
    if isinstance(value, list):
        return any(isinstance(item, dict) and item.get("Arn") == wanted for item in value)
    return bool(value == wanted)


_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join and Fn::Sub against the resources created so far."""

    region: str
    account: str
    # logical id -> what Ref gives
    refs: dict[str, str]
    # logical id -> attribute -> value
    attributes: dict[str, dict[str, str]]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            try:
                return self.attributes[logical_id][attribute]
            except KeyError:
                raise UnresolvedError(logical_id) from None
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(part)) for part in parts)
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            return _SUB.sub(lambda match: str(self._ref(match[1])), text)
        return {key: self(item) for key, item in value.items()}

    def _ref(self, name: str) -> str:
        pseudo: dict[str, Callable[[], str]] = {
            "AWS::Region": lambda: self.region,
            "AWS::AccountId": lambda: self.account,
            "AWS::Partition": lambda: "aws",
            "AWS::URLSuffix": lambda: "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]()
        try:
            return self.refs[name]
        except KeyError:
            raise UnresolvedError(name) from None
