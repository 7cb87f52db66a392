"""The contract (lambda_image/inbox_mailer/contract.py) is what the stacks, the function and the tools share.

Importing it, or the deploy's settings, starts nothing; the app names its stacks, metrics and the function's
environment from it, so a variable renamed there is renamed in the template and in the function alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from inbox_mailer import contract
from inbox_mailer.contract import UNEXPECTED_SKIPS, StackNames
from stacks.inbox import Inbox
from stacks.mailer import Mailer
from stacks.removal import removal_for
from tests.handler.support import CONTRACT_ENV
from tests.infra.conftest import ROOT, Synthesized, cdk_json_context

# Whatever starts the CDK's Node.js process (jsii) or would tie a cheap import to the CDK.
CDK_MODULES = ("aws_cdk", "jsii", "constructs", "cdk_nag")
# The project's own top-level packages.
FIRST_PARTY = ("inbox_mailer", "stacks", "tools")


def _imported_by(statement: str, *, lambda_image_on_path: bool = False) -> set[str]:
    """The modules a fresh interpreter started in the project's folder loads to run `statement`."""
    prelude = "import sys; sys.path.insert(0, 'lambda_image'); " if lambda_image_on_path else "import sys; "
    script = f"{prelude}before = set(sys.modules); {statement}; print(*sorted(set(sys.modules) - before))"
    # Exactly what `make` or the CDK CLI starts with: the project's folder, no PYTHONPATH.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_contract_uses_the_standard_library_only() -> None:
    # GIVEN the function's package on the import path, as in the image
    # WHEN the contract is imported THEN nothing outside the standard library and the package itself is loaded
    loaded = _imported_by("import inbox_mailer.contract", lambda_image_on_path=True)
    assert "inbox_mailer.contract" in loaded
    assert sorted(m for m in loaded if _top(m) not in sys.stdlib_module_names and _top(m) != "inbox_mailer") == []


def test_the_deploys_settings_import_without_the_cdk_and_find_the_contract_on_their_own() -> None:
    # GIVEN a bare interpreter in the project's folder (no lambda_image/ on the path)
    # WHEN the deploy's settings are imported THEN the contract is found, and no CDK module or third party is loaded
    loaded = _imported_by("import stacks.settings")
    assert {"stacks.settings", "inbox_mailer.contract"} <= loaded
    assert sorted(m for m in loaded if _top(m) not in sys.stdlib_module_names and _top(m) not in FIRST_PARTY) == []


@pytest.mark.parametrize("tool", ["tools.preflight", "tools.status", "tools.redrive"])
def test_the_operator_tools_import_without_the_cdk(tool: str) -> None:
    # GIVEN `python -m <tool>` as make runs it WHEN the tool is imported THEN the CDK's Node.js process is not started
    loaded = _imported_by(f"import {tool}")
    assert tool in loaded
    assert sorted(m for m in loaded if _top(m) in CDK_MODULES) == []


def test_no_module_loads_another_by_its_file_path() -> None:
    sources = [
        ROOT / "app.py",
        *(p for d in ("stacks", "tools", "checks", "bench", "lambda_image") for p in (ROOT / d).rglob("*.py")),
    ]
    assert [
        str(p.relative_to(ROOT)) for p in sources if "spec_from_file_location" in p.read_text(encoding="utf-8")
    ] == []


def test_the_app_names_its_stacks_as_the_contract_does(synthesized: Synthesized) -> None:
    names = StackNames.of_stage(synthesized.settings.stage)
    assert synthesized.stacks.registry.stack_name == names.registry == "inbox-mailer-dev-registry"
    assert synthesized.stacks.function.stack_name == names.function == "inbox-mailer-dev-function"


def test_the_skips_alarmed_on_are_uploads_that_were_withdrawn_or_replaced() -> None:
    assert [str(m) for m in UNEXPECTED_SKIPS] == ["SkippedDeleted", "SkippedSuperseded"]


def _environment(template: Template) -> dict[str, Any]:
    # The mailer is the one function with an environment (the live mark's handler has none).
    (function,) = [
        f for f in template.find_resources("AWS::Lambda::Function").values() if "Environment" in f["Properties"]
    ]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_the_function_gets_exactly_the_variables_the_contract_writes(synthesized: Synthesized) -> None:
    # CONTRACT_ENV, which the handler's tests run with, is written by the same contract function as the stack's
    assert list(_environment(synthesized.function)) == list(CONTRACT_ENV)


def test_a_variable_renamed_in_the_contract_is_renamed_in_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the contract naming max_concurrency's variable SENDS_AT_ONCE
    renamed = replace(contract.ENVIRONMENT["max_concurrency"], name="SENDS_AT_ONCE")
    monkeypatch.setitem(contract.ENVIRONMENT, "max_concurrency", renamed)

    # WHEN the mailer is built (with cdk.json's flags, in a bare stack, from an existing image: only its environment
    # matters here)
    stack = Stack(App(context=cdk_json_context()))
    inbox = Inbox(
        stack, "Inbox", prefix="incoming/", consumer_timeout=Duration.seconds(60), removal=removal_for("destroy")
    )
    image = lambda_.DockerImageCode.from_ecr(ecr.Repository.from_repository_name(stack, "Images", "mailer"))
    Mailer(
        stack,
        "Mailer",
        inbox=inbox,
        image=image,
        sender="mailer@example.com",
        ses_identity="mailer@example.com",
        recipients=("ops@example.com",),
        memory_mib=512,
        timeout=Duration.seconds(60),
        max_concurrency=7,
        reserved_concurrency=None,
        max_message_bytes=10 * 1024 * 1024,
        link_expiry=Duration.hours(1),
        log_retention_days=30,
        removal=removal_for("destroy"),
    )

    # THEN the template carries the value under the new name only (tests/handler/test_settings.py: and the function
    # reads it from there)
    variables = _environment(Template.from_stack(stack))
    assert variables["SENDS_AT_ONCE"] == "7"
    assert "MAX_CONCURRENCY" not in variables
