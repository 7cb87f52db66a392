"""The proof that the lifecycle never expires the function's image, over generated histories of the repository.

The repository's lifecycle policy is the one the registry template holds, evaluated by the model of ECR's rules
(tools/ecr_lifecycle.py, tested against AWS's examples). The marks move by the handler's own decision
(`moved_marks`), in the order CloudFormation runs the function stack: push the image, update the function, mark;
and on a failure, the mark's rollback (its old properties) before the function's. A lifecycle run may happen
between any two of those steps.

What must hold, whatever the history:
- the function's image is in the repository at every step;
- after every lifecycle run, at most `images_to_keep` tagged images carry no mark, and the only untagged images
  left are leftovers of failed pushes of the last day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stacks.live_image_handler.live_image import is_mark, mark_tags, moved_marks
from tests.infra.conftest import Synthesized
from tests.infra.test_registry import REPOSITORY_LOGICAL_ID
from tools.ecr_lifecycle import Image, Rule, expire, parse_policy

START = datetime(2026, 1, 1, tzinfo=UTC)


def _policy(synthesized: Synthesized) -> list[Rule]:
    repository = synthesized.registry.to_json()["Resources"][REPOSITORY_LOGICAL_ID]
    return parse_policy(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])


@dataclass
class Repository:
    """The repository as ECR holds it, the function that runs one of its images, and the lifecycle's clock."""

    rules: list[Rule]
    rollback_images: int
    images: dict[str, Image] = field(default_factory=dict)
    now: datetime = START
    function_digest: str = ""
    commits: int = 0

    def tick(self, hours: float) -> None:
        self.now += timedelta(hours=hours)

    def push(self, commit: int) -> str:
        """What `cdk deploy` does: push the commit's image unless its tag is there (a content-hash tag)."""
        digest = f"sha256:{commit:064x}"
        if digest not in self.images:
            self.tick(0.01)
            self.images[digest] = Image(digest=digest, tags=frozenset({f"{commit:064x}"}), pushed_at=self.now)
        return digest

    def push_leftover(self) -> None:
        """A push that failed half-way leaves an untagged image."""
        self.tick(0.01)
        digest = f"sha256:leftover-{self.now.timestamp()}"
        self.images[digest] = Image(digest=digest, tags=frozenset(), pushed_at=self.now)

    def marks(self) -> dict[str, str]:
        return {tag: digest for digest, image in self.images.items() for tag in image.tags if is_mark(tag)}

    def mark(self, digest: str) -> None:
        """The custom resource's request: move `live` to `digest` and shift the others."""
        assert digest in self.images, "the handler is asked to mark an image that is gone"
        wanted = moved_marks(self.marks(), digest, self.rollback_images)
        for key, image in list(self.images.items()):
            kept = {tag for tag in image.tags if not is_mark(tag)}
            kept |= {tag for tag, marked in wanted.items() if marked == key}
            self.images[key] = Image(digest=key, tags=frozenset(kept), pushed_at=image.pushed_at)

    def update_function(self, digest: str) -> None:
        # Lambda resolves the tag when the function is updated: the image must exist.
        assert digest in self.images, "the function is updated to an image that is gone"
        self.function_digest = digest

    def lifecycle(self, hours: float) -> None:
        self.tick(hours)
        left = expire(self.rules, self.images.values(), self.now)
        self.images = {image.digest: image for image in left}
        unmarked = [image for image in left if image.tags and not any(is_mark(tag) for tag in image.tags)]
        assert len(unmarked) <= self.images_to_keep, f"{len(unmarked)} unmarked tagged images left"
        # Leftovers of failed pushes are counted apart: each goes a day after its push.
        untagged = [image for image in left if not image.tags]
        assert all(self.now - image.pushed_at <= timedelta(days=1) for image in untagged)

    @property
    def images_to_keep(self) -> int:
        return max(r.count_number for r in self.rules if r.tag_patterns == ("*",))

    def check(self) -> None:
        assert self.function_digest in self.images, "the function's image was expired"


# One step of a history: what happens, and whether (and after how long) a lifecycle run comes in between.
lifecycle_runs = st.one_of(st.none(), st.floats(min_value=0, max_value=24 * 40))
steps = st.one_of(
    st.tuples(st.just("deploy"), lifecycle_runs),
    st.tuples(st.just("function-update-fails"), lifecycle_runs),
    st.tuples(st.just("fails-after-the-mark"), lifecycle_runs),
    st.tuples(st.just("redeploy-an-old-commit"), st.integers(min_value=0, max_value=200)),
    st.tuples(st.just("failed-push"), lifecycle_runs),
    st.tuples(st.just("lifecycle"), st.floats(min_value=0, max_value=24 * 40)),
)


def _maybe_lifecycle(repository: Repository, hours: float | None) -> None:
    if hours is not None:
        repository.lifecycle(hours)
        repository.check()


def _deploy(repository: Repository, commit: int, fails: str | None, between: float | None) -> None:
    old = repository.function_digest
    new = repository.push(commit)
    _maybe_lifecycle(repository, between)
    if fails == "function-update-fails":
        # The function keeps its image; the mark was never asked to move.
        return
    repository.update_function(new)
    repository.check()
    repository.mark(new)
    repository.check()
    _maybe_lifecycle(repository, between)
    if fails == "fails-after-the-mark":
        # CloudFormation rolls back in reverse order: the mark (its old properties), then the function.
        repository.mark(old)
        _maybe_lifecycle(repository, between)
        repository.update_function(old)
    repository.check()


@given(history=st.lists(steps, max_size=40), rollback_images=st.integers(min_value=1, max_value=4))
def test_the_function_s_image_is_never_expired_and_the_repository_stays_bounded(
    synthesized: Synthesized, history: list[tuple[str, object]], rollback_images: int
) -> None:
    # GIVEN the template's rules with a generated number of rollback marks, and a first deploy
    raw = json.loads(
        synthesized.registry.to_json()["Resources"][REPOSITORY_LOGICAL_ID]["Properties"]["LifecyclePolicy"][
            "LifecyclePolicyText"
        ]
    )
    for rule in raw["rules"]:
        if rule["selection"].get("tagPatternList") == ["rollback-*"]:
            rule["selection"]["countNumber"] = rollback_images
    repository = Repository(rules=parse_policy(raw), rollback_images=rollback_images)
    _deploy(repository, 0, None, None)
    # WHEN the history happens, THEN every step keeps the function's image (checked inside each step)
    for kind, argument in history:
        if kind == "lifecycle":
            assert isinstance(argument, float)
            repository.lifecycle(argument)
        elif kind == "failed-push":
            repository.push_leftover()
            _maybe_lifecycle(repository, argument)  # type: ignore[arg-type]
        elif kind == "redeploy-an-old-commit":
            assert isinstance(argument, int)
            _deploy(repository, argument % (repository.commits + 1), None, None)
        else:
            repository.commits += 1
            fails = None if kind == "deploy" else kind
            _deploy(repository, repository.commits, fails, argument)  # type: ignore[arg-type]
        repository.check()
    # AND the marks are the live image and at most rollback_images others
    assert set(repository.marks()) <= set(mark_tags(rollback_images))
    assert repository.marks()["live"] == repository.function_digest


def test_the_template_s_rules_are_what_the_proof_evaluates(synthesized: Synthesized) -> None:
    rules = _policy(synthesized)
    assert [(r.tag_status, r.tag_patterns) for r in rules] == [
        ("tagged", ("live",)),
        ("tagged", ("rollback-*",)),
        ("untagged", ()),
        ("tagged", ("*",)),
    ]


def test_without_the_marks_the_old_rules_expire_the_running_image(synthesized: Synthesized) -> None:
    """The failure the marks prevent: `images_to_keep` failed deploys push the running image out."""
    keep = synthesized.settings.images_to_keep
    old_rules = [r for r in _policy(synthesized) if r.tag_patterns in ((), ("*",))]
    repository = Repository(rules=old_rules, rollback_images=1)
    repository.update_function(repository.push(0))
    for commit in range(1, keep + 1):
        repository.push(commit)  # each deploy fails after its push: the function keeps commit 0
    left = expire(old_rules, repository.images.values(), repository.now + timedelta(days=1))
    assert repository.function_digest not in {image.digest for image in left}
