"""The lifecycle model (tools/ecr_lifecycle.py) against every example of AWS's "Examples of lifecycle policies".

Each test is one documented example: the repository contents, the policy text and the outcome AWS states.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.ecr_lifecycle import Image, PolicyError, expire, expired_by, parse_policy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _image(name: str, tags: list[str], days_ago: float) -> Image:
    return Image(digest=name, tags=frozenset(tags), pushed_at=NOW - timedelta(days=days_ago))


def _rule(priority: int, selection: dict[str, Any]) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": f"Rule {priority}",
        "selection": selection,
        "action": {"type": "expire"},
    }


def _count(priority: int, prefixes: list[str], count: int) -> dict[str, Any]:
    return _rule(
        priority,
        {"tagStatus": "tagged", "tagPrefixList": prefixes, "countType": "imageCountMoreThan", "countNumber": count},
    )


def _expired(policy: dict[str, Any], images: list[Image]) -> set[str]:
    return set(expired_by(parse_policy(policy), images, NOW))


def test_filtering_on_image_age_expires_untagged_images_older_than_14_days() -> None:
    policy = {
        "rules": [
            _rule(1, {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14})
        ]
    }
    images = [_image("old", [], 15), _image("young", [], 13), _image("tagged-old", ["v1"], 30)]
    assert _expired(policy, images) == {"old"}


def test_filtering_on_image_count_keeps_only_one_untagged_image() -> None:
    policy = {"rules": [_rule(1, {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})]}
    images = [_image("a", [], 3), _image("b", [], 2), _image("c", [], 1), _image("tagged", ["v1"], 9)]
    assert _expired(policy, images) == {"a", "b"}


MULTIPLE_RULES_REPOSITORY = [
    _image("A", ["beta-1", "prod-1"], 10),
    _image("B", ["beta-2", "prod-2"], 9),
    _image("C", ["beta-3"], 8),
]


def test_multiple_rules_example_a_a_rule_never_expires_what_a_higher_rule_selected() -> None:
    # Rule 2 would mark A and B, but Rule 1 saw both: only A (Rule 1's own mark) is expired.
    policy = {"rules": [_count(1, ["prod"], 1), _count(2, ["beta"], 1)]}
    assert _expired(policy, MULTIPLE_RULES_REPOSITORY) == {"A"}


def test_multiple_rules_example_b_the_priority_order_decides() -> None:
    policy = {"rules": [_count(1, ["beta"], 1), _count(2, ["prod"], 1)]}
    assert _expired(policy, MULTIPLE_RULES_REPOSITORY) == {"A", "B"}


def test_multiple_tags_example_a_an_image_must_match_every_prefix() -> None:
    images = [
        _image("A", ["alpha-1"], 12),
        _image("B", ["beta-1"], 11),
        _image("C", ["alpha-2", "beta-2"], 10),
        _image("D", ["alpha-3"], 4),
        _image("E", ["beta-3"], 3),
        _image("F", ["alpha-4", "beta-4"], 2),
    ]
    selection = {
        "tagStatus": "tagged",
        "tagPrefixList": ["alpha", "beta"],
        "countType": "sinceImagePushed",
        "countNumber": 5,
        "countUnit": "days",
    }
    assert _expired({"rules": [_rule(1, selection)]}, images) == {"C"}


def test_multiple_tags_example_b_tags_are_not_exclusive() -> None:
    images = [
        _image("A", ["alpha-1", "beta-1", "gamma-1"], 10),
        _image("B", ["alpha-2", "beta-2"], 9),
        _image("C", ["alpha-3", "beta-3", "gamma-2"], 8),
    ]
    assert _expired({"rules": [_count(1, ["alpha", "beta"], 1)]}, images) == {"A", "B"}


def test_tag_pattern_wildcards_match_any_run_of_characters_including_none() -> None:
    rule = {
        "tagStatus": "tagged",
        "tagPatternList": ["rollback-*"],
        "countType": "imageCountMoreThan",
        "countNumber": 0,
    }
    images = [_image("one", ["rollback-1"], 2), _image("bare", ["rollback-"], 1), _image("other", ["xrollback-1"], 1)]
    assert _expired({"rules": [_rule(1, rule)]}, images) == {"one", "bare"}


def test_tag_status_any_selects_tagged_and_untagged_images() -> None:
    policy = {"rules": [_rule(1, {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})]}
    assert _expired(policy, [_image("a", [], 2), _image("b", ["v"], 1)]) == {"a"}


def test_expire_returns_the_images_left() -> None:
    policy = parse_policy({"rules": [_count(1, ["prod"], 1)]})
    left = expire(policy, MULTIPLE_RULES_REPOSITORY, NOW)
    assert [image.digest for image in left] == ["B", "C"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([_count(1, ["a"], 1), _count(1, ["b"], 1)], "priorities must be unique"),
        ([{**_count(1, ["a"], 1), "action": {"type": "transition"}}], "only the expire action"),
        ([_rule(1, {"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1})], "needs a tag"),
        ([_rule(1, {"tagStatus": "any", "countType": "sinceImagePulled", "countNumber": 1})], "not modelled"),
        ([_rule(1, {"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 1})], "counts days"),
        ([_rule(1, {"tagStatus": "some", "countType": "imageCountMoreThan", "countNumber": 1})], "tagStatus"),
    ],
)
def test_a_policy_the_model_cannot_evaluate_is_refused_with_its_rule(rules: list[Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy({"rules": rules})


@given(
    ages=st.lists(st.integers(min_value=0, max_value=100), min_size=0, max_size=30),
    keep=st.integers(min_value=0, max_value=10),
)
def test_a_count_rule_keeps_exactly_the_newest_images(ages: list[int], keep: int) -> None:
    images = [_image(f"i{index}", [f"v{index}"], age + index / 1000) for index, age in enumerate(ages)]
    left = expire(parse_policy({"rules": [_count(1, ["v"], keep)]}), images, NOW)
    newest = sorted(images, key=lambda image: image.pushed_at, reverse=True)[:keep]
    assert {image.digest for image in left} == {image.digest for image in newest}
