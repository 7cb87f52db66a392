"""A model of how ECR evaluates a lifecycle policy, written from AWS's documentation, so that we can predict it.

Read in AWS's "Lifecycle policy evaluation rules" and "Examples of lifecycle policies" (Amazon ECR User Guide,
lifecycle_policy_examples and LifecyclePolicies pages), and what this model does with each:

- Rules are evaluated by `rulePriority`, lowest number first.
- A rule selects images by `tagStatus`: `untagged` (no tag at all), `tagged` with a `tagPatternList` or
  `tagPrefixList`, or `any`. With several patterns or prefixes an image must match every one of them, each by
  any of its tags; `*` in a pattern matches any run of characters, including none.
- `imageCountMoreThan` sorts the selected images by push time, newest first, and marks every one after the first
  `countNumber`; `sinceImagePushed` marks the selected images pushed more than `countNumber` days ago.
- A rule counts every image it selects, also those a rule of higher priority selected or expired ("can still
  identify them as if they haven't been expired"), but it never expires an image that a rule of higher priority
  selected: such an image was "seen" by that rule (the multiple-rules examples A and B).
- An image is expired by one rule or none.

Only what this app's policy uses is modelled: `expire` actions, push time (not `sinceImagePulled` or the archive
storage class).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

UNTAGGED = "untagged"
TAGGED = "tagged"
ANY = "any"
COUNT_MORE_THAN = "imageCountMoreThan"
SINCE_PUSHED = "sinceImagePushed"


class PolicyError(ValueError):
    """A policy this model cannot evaluate; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class Image:
    """One image of a repository: its digest, its tags (none: untagged) and when it was pushed."""

    digest: str
    tags: frozenset[str]
    pushed_at: datetime


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    count_type: str
    count_number: int
    tag_patterns: tuple[str, ...] = ()
    tag_prefixes: tuple[str, ...] = ()
    description: str = ""

    @cached_property
    def _matchers(self) -> tuple[re.Pattern[str], ...]:
        patterns = [re.escape(p).replace(r"\*", ".*") for p in self.tag_patterns]
        patterns += [re.escape(p) + ".*" for p in self.tag_prefixes]
        return tuple(re.compile(p) for p in patterns)

    def selects(self, image: Image) -> bool:
        if self.tag_status == UNTAGGED:
            return not image.tags
        if self.tag_status == ANY:
            return True
        return bool(image.tags) and all(any(m.fullmatch(t) for t in image.tags) for m in self._matchers)

    def marks(self, selected: Sequence[Image], now: datetime) -> list[Image]:
        """The selected images this rule would expire if no rule of higher priority had seen them."""
        if self.count_type == COUNT_MORE_THAN:
            newest_first = sorted(selected, key=lambda image: image.pushed_at, reverse=True)
            return newest_first[self.count_number :]
        cutoff = now - timedelta(days=self.count_number)
        return [image for image in selected if image.pushed_at < cutoff]


def parse_policy(policy: str | Mapping[str, Any]) -> list[Rule]:
    """The rules of a lifecycle policy (its JSON text or the parsed document), ordered by priority."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    rules = [_rule(raw) for raw in document["rules"]]
    priorities = [rule.priority for rule in rules]
    if len(set(priorities)) != len(priorities):
        raise PolicyError(f"Rule priorities must be unique, got {sorted(priorities)}")
    return sorted(rules, key=lambda rule: rule.priority)


def _rule(raw: Mapping[str, Any]) -> Rule:
    selection = raw["selection"]
    priority = int(raw["rulePriority"])
    action = raw.get("action", {}).get("type")
    if action != "expire":
        raise PolicyError(f"Rule {priority}: only the expire action is modelled, not {action!r}")
    count_type = selection["countType"]
    if count_type not in (COUNT_MORE_THAN, SINCE_PUSHED):
        raise PolicyError(f"Rule {priority}: countType {count_type!r} is not modelled")
    if count_type == SINCE_PUSHED and selection.get("countUnit") != "days":
        raise PolicyError(f"Rule {priority}: sinceImagePushed counts days")
    tag_status = selection["tagStatus"]
    patterns = tuple(selection.get("tagPatternList", ()))
    prefixes = tuple(selection.get("tagPrefixList", ()))
    if tag_status == TAGGED and not (patterns or prefixes):
        raise PolicyError(f"Rule {priority}: a tagged rule needs a tagPatternList or a tagPrefixList")
    if tag_status not in (TAGGED, UNTAGGED, ANY):
        raise PolicyError(f"Rule {priority}: tagStatus {tag_status!r} is not one of tagged, untagged, any")
    return Rule(
        priority=priority,
        tag_status=tag_status,
        count_type=count_type,
        count_number=int(selection["countNumber"]),
        tag_patterns=patterns,
        tag_prefixes=prefixes,
        description=str(raw.get("description", "")),
    )


def expired_by(rules: Sequence[Rule], images: Iterable[Image], now: datetime) -> dict[str, Rule]:
    """Which images one evaluation of `rules` at `now` expires: digest -> the rule that expires it."""
    images = list(images)
    seen: set[str] = set()
    expired: dict[str, Rule] = {}
    for rule in sorted(rules, key=lambda r: r.priority):
        selected = [image for image in images if rule.selects(image)]
        for image in rule.marks(selected, now):
            if image.digest not in seen and image.digest not in expired:
                expired[image.digest] = rule
        seen.update(image.digest for image in selected)
    return expired


def expire(rules: Sequence[Rule], images: Iterable[Image], now: datetime) -> list[Image]:
    """The images left after one evaluation of `rules` at `now`."""
    images = list(images)
    gone = expired_by(rules, images, now)
    return [image for image in images if image.digest not in gone]
