"""Shared by every test folder: one synth of the app per session, and a short report printed at the end.

The synth uses the settings from cdk.json with every check attached; its output folder holds the templates
that cfn-lint, checkov and the least-privilege check read, so no test synthesizes the app twice (in one process:
`make test` runs the tests in one worker process per core, pytest-xdist, and each worker that needs the synth
makes its own). The report is tests/summary.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from aws_cdk.cx_api import CloudAssembly
from constructs import IConstruct
from hypothesis import settings

from stacks.app import Stacks, build_stacks
from stacks.compliance import attach_checks
from stacks.settings import Settings

# The `report` fixture and the summary it feeds, printed after the tests.
pytest_plugins = ["tests.summary"]

ROOT = Path(__file__).resolve().parents[1]


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return context


@dataclass(frozen=True)
class Synthesized:
    settings: Settings
    stacks: Stacks
    assembly: CloudAssembly
    registry: Template
    function: Template
    # Only with `github_repository` in the context.
    deployer: Template | None = None

    @property
    def outdir(self) -> Path:
        return Path(self.assembly.directory)

    def logical_id(self, construct: IConstruct) -> str:
        """The logical id of a construct's CloudFormation resource (its default child for L2 constructs)."""
        resource = construct.node.default_child or construct
        return Stack.of(construct).get_logical_id(resource)  # type: ignore[arg-type]

    def function_resource(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.function.to_json()["Resources"][self.logical_id(construct)]
        return resource

    def asset_manifest(self, stack_name: str) -> dict[str, Any]:
        path = self.outdir / f"{stack_name}.assets.json"
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return manifest


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    app = App(context=context, outdir=str(outdir))
    settings = Settings.from_context(context)
    stacks = build_stacks(app, settings)
    attach_checks(app)
    assembly = app.synth()
    return Synthesized(
        settings=settings,
        stacks=stacks,
        assembly=assembly,
        registry=Template.from_json(assembly.get_stack_by_name(stacks.registry.stack_name).template),
        function=Template.from_json(assembly.get_stack_by_name(stacks.function.stack_name).template),
        deployer=None
        if stacks.deployer is None
        else Template.from_json(assembly.get_stack_by_name(stacks.deployer.stack_name).template),
    )


# What the CDK CLI adds to the context of every synth unless told `--no-path-metadata`: each resource's construct
# path, which the plan names resources by.
AS_THE_CLI_DOES = {"aws:cdk:enable-path-metadata": True}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app of cdk.json, synthesized as `make synth` does it."""
    return synthesize(cdk_json_context() | AS_THE_CLI_DOES, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_cloud(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app of cdk.json with the image built in AWS CodeBuild during the deploy (`image_build` `cloud`)."""
    context = cdk_json_context() | AS_THE_CLI_DOES | {"image_build": "cloud"}
    return synthesize(context, tmp_path_factory.mktemp("cdk.out-cloud"))


# A repository that may deploy, for the tests of the deployer stack (docs/github-actions.md).
GITHUB_REPOSITORY = "octo-org/inbox-mailer"


@pytest.fixture(scope="session")
def synthesized_with_deployer(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app of cdk.json with CI deploys on: the deployer stack beside the other two, every check attached."""
    context = cdk_json_context() | AS_THE_CLI_DOES | {"github_repository": GITHUB_REPOSITORY}
    return synthesize(context, tmp_path_factory.mktemp("cdk.out-deployer"))


# Generated examples: a fixed, repeatable number in `make test`; `make fuzz` selects the larger profile.
settings.register_profile("default", max_examples=150, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=5000, deadline=None, print_blob=True)
settings.load_profile("default")
