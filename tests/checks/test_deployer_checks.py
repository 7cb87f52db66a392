"""Every check before deploy on the deployer stack too (it exists only with `github_repository`, so not in the
session synth of cdk.json): cdk-nag's two packs, cfn-lint, checkov and the least-privilege walk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from checks.allowlist import load_section
from checks.assembly import load_json, stack_templates
from checks.cfn_lint import blocking, run_cfn_lint
from checks.checkov import run_checkov, unreasoned_skips
from checks.iam import SECTION as IAM_SECTION
from checks.iam import policy_documents, template_violations
from tests.conftest import Synthesized

Report = Callable[[str], None]


def _deployer_template(synthesized: Synthesized) -> Path:
    assert synthesized.stacks.deployer is not None
    return stack_templates(synthesized.outdir)[synthesized.stacks.deployer.stack_name]


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, ServerlessChecks])
def test_both_rule_packs_find_nothing_in_the_deployer_stack(synthesized_with_deployer: Synthesized, pack: Any) -> None:
    deployer = synthesized_with_deployer.stacks.deployer
    assert deployer is not None
    report = pack(deployer.node.root).validate_scope(deployer)
    assert [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations] == []


def test_cfn_lint_finds_nothing_in_the_deployer_stack(synthesized_with_deployer: Synthesized) -> None:
    findings = run_cfn_lint([_deployer_template(synthesized_with_deployer)])
    assert [str(f) for f in blocking(findings, load_section("cfn_lint"))] == []


def test_checkov_fails_no_check_on_the_deployer_stack(synthesized_with_deployer: Synthesized, report: Report) -> None:
    result = run_checkov([_deployer_template(synthesized_with_deployer)])
    assert [str(f) for f in result.failed] == []
    assert [str(s) for s in unreasoned_skips(result)] == []
    assert result.passed >= 3
    report(
        f"deployer stack: checkov {result.passed} passed, 0 failed, {len(result.skipped)} skipped; cfn-lint, "
        "cdk-nag and least privilege clean"
    )


def test_least_privilege_holds_for_the_deploy_role(synthesized_with_deployer: Synthesized) -> None:
    template = load_json(_deployer_template(synthesized_with_deployer))
    assert [where for where, _ in policy_documents(template)] == [
        "GitHubDeployerRoleDefaultPolicy4ACEAAA7.PolicyDocument"
    ]
    assert template_violations("deployer", template, load_section(IAM_SECTION)) == []
