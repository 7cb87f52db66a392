"""The app's infrastructure: one module per unit (inbox, mailer, registry, ...), composed in `stacks.app`.

Importing this package, or `stacks.settings`, starts nothing: the CDK (and its Node.js process) is imported only by
the modules that build constructs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.app import Stacks, build_stacks

__all__ = ["Stacks", "build_stacks"]


def __getattr__(name: str) -> Any:
    # Kept for tests/conftest.py, which is being changed elsewhere: it should import these from stacks.app, and
    # then this goes.
    if name in __all__:
        from stacks import app

        return getattr(app, name)
    raise AttributeError(f"module 'stacks' has no attribute {name!r}")
