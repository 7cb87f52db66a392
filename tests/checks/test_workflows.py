"""The GitHub Actions workflows: schema, zizmor and pins pass offline, and each fails on its bad fixture.

Then what the workflows promise, read from their YAML: CI runs the README's test command with caches; the deploy
runs on native arm64 with OIDC credentials only, per-stage environment and concurrency, and a diff before deploy.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_

from checks.workflows import (
    WORKFLOWS,
    blocking,
    load_workflow,
    run_schema,
    run_zizmor,
    unpinned_uses,
    workflow_files,
)
from stacks.deployer import DEPLOY_BRANCH
from stacks.deployer_stack import ROLE_ARN_VARIABLE
from stacks.mailer import ARCHITECTURE
from stacks.settings import _STAGE, Settings
from tests.conftest import ROOT
from tools.dev import APP_PACKAGES, CHECKOV_PACKAGES, DEV_PACKAGES

FIXTURES = Path(__file__).parent / "fixtures"
BAD_SCHEMA = FIXTURES / "bad-workflow-schema.yml"
BAD_SECURITY = FIXTURES / "bad-workflow-security.yml"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
# The expression both workflows' per-stage settings hang on: the dispatched stage, or the default one on push.
STAGE_EXPRESSION = "${{ inputs.stage || 'dev' }}"
Report = Callable[[str], None]
INSTALLS = (APP_PACKAGES, DEV_PACKAGES, CHECKOV_PACKAGES)


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def _step_using(workflow: dict[str, Any], job: str, action: str) -> dict[str, Any]:
    (step,) = [s for s in _steps(workflow, job) if s.get("uses", "").startswith(f"{action}@")]
    return step


def _runs(workflow: dict[str, Any], job: str) -> list[str]:
    return [str(s["run"]).strip() for s in _steps(workflow, job) if "run" in s]


def _readme_test_command() -> str:
    # The command of "Two commands" that runs the tests, as a user types it.
    commands: list[str] = re.findall(r"^(make test)\s+#", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    (command,) = commands
    return command


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load_workflow(CI)


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load_workflow(DEPLOY)


# The checkers, on the real workflows and on the bad fixtures


def test_the_workflows_are_the_two_expected() -> None:
    assert [p.name for p in workflow_files()] == ["ci.yml", "deploy.yml"]


def test_workflows_validate_against_the_github_workflow_schema(report: Report) -> None:
    # GIVEN the repository's workflows WHEN checked against GitHub's vendored schema THEN nothing fails
    assert [str(f) for f in run_schema(workflow_files())] == []
    report("workflows: GitHub workflow schema (check-jsonschema, offline): 2 files valid")


def test_the_schema_check_fails_on_an_invalid_workflow_and_passes_a_valid_one() -> None:
    # GIVEN a workflow with a misspelled runs-on and a text timeout, and a valid (if unsafe) one
    findings = run_schema([BAD_SCHEMA, BAD_SECURITY])
    # THEN only the invalid one fails, at its job
    assert [f.where.split()[0] for f in blocking(findings)] == ["bad-workflow-schema.yml"]
    assert findings[0].where.startswith("bad-workflow-schema.yml $.jobs.test")


def test_zizmor_finds_nothing_above_low(report: Report) -> None:
    findings = run_zizmor(workflow_files())
    assert [str(f) for f in blocking(findings)] == []
    report(f"workflows: zizmor --offline: {len(findings)} findings, none above low")


def test_zizmor_fails_on_an_unsafe_workflow() -> None:
    # GIVEN fork code checked out under pull_request_target, default permissions, a tag and an injected title
    failing = blocking(run_zizmor([BAD_SECURITY]))
    # THEN each mistake is a finding above low
    assert {"dangerous-triggers", "excessive-permissions", "artipacked", "unpinned-uses", "template-injection"} <= {
        f.rule for f in failing
    }
    assert {f.severity for f in failing} <= {"medium", "high"}


def test_no_zizmor_finding_is_silenced() -> None:
    # zizmor honours inline `# zizmor: ignore[...]` comments and a zizmor.yml: neither may hide a finding here.
    assert [p.name for p in workflow_files() if "zizmor:" in p.read_text()] == []
    assert [p for p in (ROOT / "zizmor.yml", ROOT / ".github" / "zizmor.yml") if p.exists()] == []


def test_every_action_is_pinned_to_a_commit_with_its_release_in_a_comment() -> None:
    uses = [line for path in workflow_files() for line in path.read_text().splitlines() if "uses:" in line]
    assert len(uses) >= 9
    assert [str(f) for path in workflow_files() for f in unpinned_uses(path)] == []


def test_the_pin_check_fails_on_a_tag_and_on_a_commit_without_its_release() -> None:
    assert [(f.rule, f.where) for f in unpinned_uses(BAD_SECURITY)] == [
        ("sha", "bad-workflow-security.yml:11"),
        ("version-comment", "bad-workflow-security.yml:14"),
    ]


def test_one_action_is_pinned_to_one_commit_and_release_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in workflow_files():
        for action, sha, version in re.findall(r"uses:\s*([^@\s]+)@(\S+)\s*#\s*(\S+)", path.read_text()):
            pins.setdefault(action, set()).add(f"{sha} {version}")
    assert sorted(pins) == [
        "actions/checkout",
        "actions/setup-node",
        "actions/setup-python",
        "aws-actions/configure-aws-credentials",
    ]
    assert {action: len(found) for action, found in pins.items()} == dict.fromkeys(pins, 1)


def test_no_run_script_expands_an_expression() -> None:
    # Values reach scripts through env; a `${{ }}` in `run` would be spliced into the shell (template injection).
    for workflow in (load_workflow(CI), load_workflow(DEPLOY)):
        for job in workflow["jobs"]:
            assert [run for run in _runs(workflow, job) if "${{" in run] == []


def test_every_checkout_leaves_no_credentials_behind(ci: dict[str, Any], deploy: dict[str, Any]) -> None:
    for workflow in (ci, deploy):
        for job in workflow["jobs"]:
            assert _step_using(workflow, job, "actions/checkout")["with"] == {"persist-credentials": False}


# CI


def test_ci_runs_on_every_push_and_pull_request(ci: dict[str, Any]) -> None:
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["on"]["push"] is None
    assert ci["on"]["pull_request"] is None


def test_ci_and_the_ci_script_run_the_readme_test_command(ci: dict[str, Any]) -> None:
    command = _readme_test_command()
    assert command == "make test"
    assert _runs(ci, "test") == [command]
    script = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert script[-1] == command


def test_ci_caches_pip_by_every_requirements_file_and_npm_by_the_lock_file(ci: dict[str, Any]) -> None:
    python = _step_using(ci, "test", "actions/setup-python")["with"]
    assert python["cache"] == "pip"
    # Every file the runner installs from (tools/dev.py; requirements-dev.txt includes the image's).
    installed = {source for install in INSTALLS for source in install.sources if source.endswith(".txt")}
    assert set(python["cache-dependency-path"].split()) == installed
    assert all((ROOT / path).is_file() for path in installed)
    assert _step_using(ci, "test", "actions/setup-node")["with"]["cache"] == "npm"
    assert (ROOT / "package-lock.json").is_file()


def test_ci_uses_the_oldest_python_the_project_supports(ci: dict[str, Any]) -> None:
    oldest = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())
    assert oldest is not None
    for workflow in (ci, load_workflow(DEPLOY)):
        for job in workflow["jobs"]:
            assert _step_using(workflow, job, "actions/setup-python")["with"]["python-version"] == oldest[1] == "3.11"


def test_ci_may_only_read_the_repository(ci: dict[str, Any]) -> None:
    assert ci["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in ci["jobs"].values())


# Deploy


def test_deploy_runs_on_push_to_the_trusted_branch_and_by_hand_with_a_stage(deploy: dict[str, Any]) -> None:
    # The branch is the one the deploy role trusts (stacks/deployer.py).
    assert deploy["on"]["push"] == {"branches": [DEPLOY_BRANCH]}
    stage = deploy["on"]["workflow_dispatch"]["inputs"]["stage"]
    assert (stage["type"], stage["required"], stage["default"]) == ("string", True, Settings().stage)
    assert f"'{Settings().stage}'" in STAGE_EXPRESSION


def test_deploy_job_runs_on_a_native_runner_of_the_function_architecture(deploy: dict[str, Any]) -> None:
    # GitHub's hosted Ubuntu 24.04 runner of the same CPU builds the image natively, without QEMU.
    native = {lambda_.Architecture.ARM_64.name: "ubuntu-24.04-arm", lambda_.Architecture.X86_64.name: "ubuntu-24.04"}
    assert ARCHITECTURE.name == "arm64"
    assert deploy["jobs"]["deploy"]["runs-on"] == native[ARCHITECTURE.name] == "ubuntu-24.04-arm"


def test_only_the_deploy_job_may_ask_for_an_oidc_token(deploy: dict[str, Any]) -> None:
    assert deploy["permissions"] == {}
    assert deploy["jobs"]["deploy"]["permissions"] == {"id-token": "write", "contents": "read"}
    assert deploy["jobs"]["test"]["permissions"] == {"contents": "read"}


def test_deploy_uses_the_environment_of_its_stage(deploy: dict[str, Any]) -> None:
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == STAGE_EXPRESSION
    assert job["env"] == {"STAGE": STAGE_EXPRESSION}


def test_two_deploys_of_one_stage_never_overlap_and_none_is_cancelled(deploy: dict[str, Any]) -> None:
    assert deploy["concurrency"] == {"group": f"deploy-{STAGE_EXPRESSION}", "cancel-in-progress": False}
    # A job-level group of the same name would wait for its own workflow forever.
    assert all("concurrency" not in job for job in deploy["jobs"].values())


def test_deploy_waits_for_the_tests(deploy: dict[str, Any]) -> None:
    assert deploy["jobs"]["deploy"]["needs"] == "test"
    assert _runs(deploy, "test") == [_readme_test_command()]


def test_deploy_takes_aws_credentials_from_oidc_only(deploy: dict[str, Any]) -> None:
    credentials = _step_using(deploy, "deploy", "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"] == "${{ vars." + ROLE_ARN_VARIABLE + " }}"
    assert credentials["aws-region"] == "${{ vars.AWS_REGION }}"
    assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(credentials)
    assert "secrets." not in DEPLOY.read_text()


def test_deploy_keeps_no_dependency_cache(deploy: dict[str, Any]) -> None:
    # A cache written by another branch must not reach a job that holds deploy credentials (cache poisoning).
    for job in deploy["jobs"]:
        assert "cache" not in _step_using(deploy, job, "actions/setup-python")["with"]
        node = _step_using(deploy, job, "actions/setup-node")["with"]
        assert node["package-manager-cache"] is False
        assert "cache" not in node


def test_the_stage_is_checked_with_the_app_rule_before_anything_else(deploy: dict[str, Any]) -> None:
    first = _steps(deploy, "deploy")[0]["run"]
    assert f"=~ {_STAGE.pattern} ]]" in first


@pytest.mark.parametrize("stage", ["dev", "prod", "team-a2", "Prod", "", "dev; rm -rf ~", "$(id)", "dev\nx", "a" * 21])
def test_the_stage_check_passes_exactly_the_stages_the_app_accepts(deploy: dict[str, Any], stage: str) -> None:
    # GIVEN the first step's script, run by bash as on the runner, with the stage in its environment
    script = _steps(deploy, "deploy")[0]["run"]
    result = subprocess.run(
        ["bash", "-e", "-c", script], env={"STAGE": stage}, capture_output=True, text=True, timeout=30, check=False
    )
    # THEN it lets through a stage only if the app would take it, so nothing else reaches the make command line
    assert (result.returncode == 0) == bool(_STAGE.fullmatch(stage))
    # AND a refused value is not echoed into the log, where it could pose as a workflow command
    assert result.stdout.startswith("::error::") or result.returncode == 0
    assert not stage or stage not in result.stdout


def test_diff_runs_before_deploy_and_both_name_the_stage(deploy: dict[str, Any]) -> None:
    steps = _steps(deploy, "deploy")

    def index(found: Callable[[dict[str, Any]], bool]) -> int:
        (position,) = [i for i, step in enumerate(steps) if found(step)]
        return position

    credentials = index(lambda s: s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    diff = index(lambda s: str(s.get("run", "")).startswith("make diff "))
    apply = index(lambda s: str(s.get("run", "")).startswith("make deploy "))
    assert credentials < diff < apply
    assert steps[diff]["run"] == 'make diff ARGS="-c stage=$STAGE"'
    # No terminal to confirm IAM changes in: the GitHub environment is the approval.
    assert steps[apply]["run"] == 'make deploy ARGS="-c stage=$STAGE --require-approval never"'
