"""The app's infrastructure: one module per unit (inbox, mailer, registry, ...), composed in `stacks.app`.

Importing this package, or `stacks.settings`, starts nothing: the CDK (and its Node.js process) is imported only by
the modules that build constructs. What the package does on import is make the function's own package importable:
`inbox_mailer.contract`, the names and limits the stacks share with the function, lives in `lambda_image/` so that
the image copies it with the rest of the function's code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.app import Stacks, build_stacks

# The function's image is built from this folder; its `inbox_mailer` package is importable from here on.
IMAGE_DIRECTORY = Path(__file__).resolve().parent.parent / "lambda_image"
# Appended, not inserted: where the tests (pyproject.toml) or a mutation run already put an `inbox_mailer`, that one
# stays the one imported.
if str(IMAGE_DIRECTORY) not in sys.path:
    sys.path.append(str(IMAGE_DIRECTORY))

__all__ = ["IMAGE_DIRECTORY", "Stacks", "build_stacks"]


def __getattr__(name: str) -> Any:
    # Kept for tests/conftest.py, which is being changed elsewhere: it should import these from stacks.app, and
    # then this goes.
    if name in ("Stacks", "build_stacks"):
        from stacks import app

        return getattr(app, name)
    raise AttributeError(f"module 'stacks' has no attribute {name!r}")
