#!/usr/bin/env python3
"""Entry point of the CDK app: read the settings from context, build the stacks, attach the checks."""

from __future__ import annotations

import sys

try:
    from aws_cdk import App
except ModuleNotFoundError as missing:
    if missing.name not in ("aws_cdk", "constructs"):
        raise
    # `npx cdk synth` runs `python app.py` with whatever `python` is first on PATH.
    sys.exit(
        f"error: {sys.executable} cannot import {missing.name}: run `make synth` (Windows: py tools/dev.py synth), "
        "or activate the venv first (source .venv/bin/activate; Windows: .venv\\Scripts\\Activate.ps1)"
    )

from stacks.app import build_stacks
from stacks.compliance import attach_checks
from stacks.settings import Settings, SettingsError


def main() -> None:
    app = App()
    try:
        settings = Settings.from_context(app.node.get_all_context())
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    build_stacks(app, settings)
    attach_checks(app)
    app.synth()


if __name__ == "__main__":
    main()
