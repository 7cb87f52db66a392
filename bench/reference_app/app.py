#!/usr/bin/env python3
"""Reference for the synth benchmark: one DockerImageFunction from the same image, default synthesizer, no checks."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

IMAGE_DIRECTORY = Path(__file__).resolve().parent.parent.parent / "lambda_image"


def main() -> None:
    app = App()
    stack = Stack(app, "bench-reference")
    lambda_.DockerImageFunction(
        stack,
        "Function",
        code=lambda_.DockerImageCode.from_image_asset(str(IMAGE_DIRECTORY)),
        architecture=lambda_.Architecture.ARM_64,
    )
    app.synth()


if __name__ == "__main__":
    main()
