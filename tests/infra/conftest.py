"""The session synth and its helpers live in tests/conftest.py, shared with tests/checks/.

Re-exported here so the infrastructure tests keep importing them from their own folder.
"""

from __future__ import annotations

from tests.conftest import ROOT, Synthesized, cdk_json_context, synthesize

__all__ = ["ROOT", "Synthesized", "cdk_json_context", "synthesize"]
