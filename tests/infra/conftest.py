"""The session synth and its helpers live in tests/conftest.py, shared with tests/checks/.

Re-exported here so the infrastructure tests keep importing them from their own folder.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import ROOT, Synthesized, cdk_json_context, synthesize

__all__ = ["ROOT", "Synthesized", "cdk_json_context", "synthesize"]


def ses_arn(*resource: object) -> dict[str, Any]:
    """The `Fn::Join` CDK writes for an SES ARN of the deploying account and region, ending in `resource`."""
    parts = ["arn:", {"Ref": "AWS::Partition"}, ":ses:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}]
    return {"Fn::Join": ["", [*parts, *resource]]}
