"""The app's infrastructure: one module per unit (inbox, mailer, registry, ...), composed in `stacks.app`.

Importing this package, or `stacks.settings`, starts nothing: the CDK (and its Node.js process) is imported only by
the modules that build constructs. What the package does on import is make the function's own package importable:
`inbox_mailer.contract`, the names and limits the stacks share with the function, lives in `lambda_image/` so that
the image copies it with the rest of the function's code.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The function's image is built from this folder; its `inbox_mailer` package is importable from here on.
IMAGE_DIRECTORY = Path(__file__).resolve().parent.parent / "lambda_image"
# Appended, not inserted: where the tests (pyproject.toml) or a mutation run already put an `inbox_mailer`, that one
# stays the one imported.
if str(IMAGE_DIRECTORY) not in sys.path:
    sys.path.append(str(IMAGE_DIRECTORY))

__all__ = ["IMAGE_DIRECTORY"]
