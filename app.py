#!/usr/bin/env python3
"""Entry point of the CDK app: read the settings from context, build the stacks, attach the checks."""

from __future__ import annotations

import sys

from aws_cdk import App

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
