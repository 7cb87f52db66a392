"""What deleting the stacks does to the data they hold: the one place the `removal_policy` setting is read.

`retain` keeps the image repository, the inbox and access-log buckets, every log group and the alarm topic's
key when a stack is deleted or a resource replaced; `destroy` deletes them, emptying the repository first.
Two resources do not follow the setting, each for a reason given where it is created: the idempotency table
is always deleted (stacks/mailer.py) and GitHub's OIDC provider is always kept (stacks/deployer.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import RemovalPolicy


@dataclass(frozen=True, kw_only=True)
class Removal:
    """How the stateful resources that follow `removal_policy` go when their stack is deleted."""

    # The repository, the buckets, the log groups and the alarm topic's key.
    policy: RemovalPolicy
    # ECR refuses to delete a repository that holds images.
    empty_repository: bool
    # Never: CDK would deploy a Lambda function that deletes every file; a person empties a bucket on purpose.
    empty_buckets: bool = False


REMOVALS: Mapping[str, Removal] = {
    "retain": Removal(policy=RemovalPolicy.RETAIN, empty_repository=False),
    "destroy": Removal(policy=RemovalPolicy.DESTROY, empty_repository=True),
}


def removal_for(removal_policy: str) -> Removal:
    """The removal of the stateful resources for a value of the `removal_policy` setting."""
    return REMOVALS[removal_policy]
