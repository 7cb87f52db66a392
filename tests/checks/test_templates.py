"""cfn-lint, checkov and least privilege on the templates of the session synth, and proof each one fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.allowlist import AllowlistError, load_section
from checks.assembly import load_json, stack_templates
from checks.cfn_lint import blocking, run_cfn_lint
from checks.checkov import NO_COMMENT, run_checkov, unreasoned_skips
from checks.iam import SECTION as IAM_SECTION
from checks.iam import assembly_violations, policy_documents, template_violations
from tests.conftest import Synthesized

FIXTURES = Path(__file__).parent / "fixtures"
Report = Callable[[str], None]


def _templates(synthesized: Synthesized) -> list[Path]:
    templates = list(stack_templates(synthesized.outdir).values())
    assert len(templates) == 2
    return templates


# cfn-lint


def test_cfn_lint_finds_no_error_and_only_allowed_warnings(synthesized: Synthesized, report: Report) -> None:
    findings = run_cfn_lint(_templates(synthesized))
    assert [str(f) for f in blocking(findings, load_section("cfn_lint"))] == []
    report(f"cfn-lint: {len(findings)} findings, all allow-listed ({', '.join(sorted({f.rule for f in findings}))})")


def test_cfn_lint_fails_on_errors_and_on_warnings_not_allowed() -> None:
    findings = run_cfn_lint([FIXTURES / "bad-cfn-lint.template.json"])
    failing = {f.rule for f in blocking(findings, {"W3005": "allowed"})}
    assert {"E3002", "E3034", "E2533", "E1010", "W2001"} <= failing
    # A warning on the allow-list passes; an error never does, even when listed.
    assert "W2001" not in {f.rule for f in blocking(findings, {"W2001": "x", "E3002": "x"})}
    assert "E3002" in {f.rule for f in blocking(findings, {"W2001": "x", "E3002": "x"})}


@pytest.mark.parametrize(
    "reason", ['reason = ""', 'reason = "Fine."', "other = 1", 'reason = "no full stop at the end of it here"']
)
def test_an_allowlist_entry_without_a_full_sentence_is_refused(tmp_path: Path, reason: str) -> None:
    allowlist = tmp_path / "allowlist.toml"
    allowlist.write_text(f"[cfn_lint.W3005]\n{reason}\n")
    with pytest.raises(AllowlistError, match=r"W3005.*full sentence"):
        load_section("cfn_lint", allowlist)


# checkov


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(synthesized: Synthesized, report: Report) -> None:
    result = run_checkov(_templates(synthesized))
    assert [str(f) for f in result.failed] == []
    assert [str(s) for s in unreasoned_skips(result)] == []
    assert result.passed > 40
    skipped = sorted({s.check_id for s in result.skipped})
    report(
        f"checkov: {result.passed} passed, 0 failed, {len(result.skipped)} skipped with a reason ({', '.join(skipped)})"
    )


def test_checkov_fails_on_an_unsafe_template_and_flags_skips_without_reason() -> None:
    result = run_checkov([FIXTURES / "bad-checkov.template.json"])
    assert {"CKV_AWS_18", "CKV_AWS_21", "CKV_AWS_53"} <= {f.check_id for f in result.failed}
    assert {(s.check_id, s.comment) for s in unreasoned_skips(result)} == {
        ("CKV_AWS_116", NO_COMMENT),
        ("CKV_AWS_117", "Not needed."),
    }


# least privilege


def test_every_policy_kind_of_the_app_is_walked(synthesized: Synthesized) -> None:
    kinds = set()
    for path in _templates(synthesized):
        resources = load_json(path)["Resources"]
        kinds |= {resources[where.split(".")[0]]["Type"] for where, _ in policy_documents(load_json(path))}
    assert kinds >= {
        "AWS::IAM::Policy",
        "AWS::ECR::Repository",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
    }


def test_no_allow_statement_has_an_action_wildcard_or_an_unlisted_resource_wildcard(
    synthesized: Synthesized, report: Report
) -> None:
    documents, violations = assembly_violations(synthesized.outdir)
    assert [str(v) for v in violations] == []
    allowed = load_section(IAM_SECTION)
    report(f'least privilege: {documents} policy documents, 0 violations; Resource "*" only for {", ".join(allowed)}')


def test_the_resource_wildcard_allowlist_stays_short() -> None:
    assert sorted(load_section(IAM_SECTION)) == [
        "ecr-public:GetAuthorizationToken",
        "ecr:GetAuthorizationToken",
        "ses:GetAccount",
        "sts:GetServiceBearerToken",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]


def test_least_privilege_fails_on_every_over_broad_allow_statement() -> None:
    template = json.loads((FIXTURES / "bad-iam.template.json").read_text())
    violations = template_violations("bad", template, load_section(IAM_SECTION))
    assert sorted((v.statement, v.problem) for v in violations) == sorted(
        [
            ("BadServiceWildcard", "action wildcard 's3:*'"),
            ("BadPrefixWildcard", "action wildcard 's3:Get*'"),
            ("BadQuestionMark", "action wildcard 'sqs:SendMessag?'"),
            ("BadResourceStar", 'Resource "*" for s3:GetObject'),
            ("BadEverything", "action wildcard '*'"),
            ("BadEverything", 'Resource "*" for *'),
            ("BadNotAction", "uses NotAction"),
            ("BadRepositoryWildcard", "action wildcard 'ecr:*'"),
            ("BadQueueWildcard", "action wildcard 'sqs:*'"),
            ("BadNotResource", "uses NotResource"),
        ]
    )
    assert {v.where.split("/")[1] for v in violations} == {
        "Policy.PolicyDocument",
        "Role.Policies[0]",
        "Managed.PolicyDocument",
        "Repository.RepositoryPolicyText",
        "QueuePolicy.PolicyDocument",
        "BucketPolicy.PolicyDocument",
    }
