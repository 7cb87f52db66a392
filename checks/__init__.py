"""Proof before deploy: checks on the synthesized templates and on the function image, all offline.

Each module checks one thing and returns what is wrong as plain data; `tests/checks/` runs them in
`make test`, and `python -m checks.<module>` runs one alone (see docs/checks.md).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_DIRECTORY = ROOT / "lambda_image"
ALLOWLIST_FILE = ROOT / "checks" / "allowlist.toml"
