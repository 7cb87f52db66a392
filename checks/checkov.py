"""checkov (CloudFormation framework, offline) on every synthesized template: no failed check.

A check is skipped only on its resource, through CloudFormation metadata written by
`stacks.compliance.acknowledge(construct, checkov=[...], reason=...)` with a one-sentence reason. checkov
runs from its own venv (`.venv-checkov`, created by `make setup` from `checks/requirements-checkov.txt`)
because its dependencies pin versions that clash with the project's.

Run alone: `python -m checks.checkov [cdk.out]` (after `make synth`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks import ROOT
from checks.allowlist import MIN_REASON_WORDS
from checks.assembly import stack_templates

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# What checkov writes when a skip in the metadata carries no comment.
NO_COMMENT = "No comment provided"


@dataclass(frozen=True)
class Result:
    check_id: str
    resource: str
    template: str
    name: str
    comment: str = ""

    def __str__(self) -> str:
        text = f"{self.check_id} {self.template} {self.resource}: {self.name}"
        return f"{text} (skipped: {self.comment})" if self.comment else text


@dataclass(frozen=True)
class Report:
    passed: int
    failed: list[Result]
    skipped: list[Result]


def _results(report: dict[str, Any], kind: str) -> list[Result]:
    return [
        Result(
            check_id=item["check_id"],
            resource=item["resource"],
            template=Path(item["file_path"]).name,
            name=item.get("check_name", ""),
            comment=(item.get("check_result") or {}).get("suppress_comment", "") if kind == "skipped_checks" else "",
        )
        for item in report.get("results", {}).get(kind, [])
    ]


def run_checkov(templates: Sequence[Path]) -> Report:
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} is missing: run `make setup`")
    files = [arg for template in templates for arg in ("--file", str(template))]
    # No --quiet: in JSON it drops the skipped checks, whose reasons are checked below.
    result = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--compact", "-o", "json", *files],
        # Without BC_SKIP_MAPPING checkov fetches a policy mapping from the network and fails offline.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov did not run (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    output = json.loads(result.stdout)
    reports = output if isinstance(output, list) else [output]
    return Report(
        passed=sum(int(r.get("summary", {}).get("passed", 0)) for r in reports),
        failed=[x for r in reports for x in _results(r, "failed_checks")],
        skipped=[x for r in reports for x in _results(r, "skipped_checks")],
    )


def unreasoned_skips(report: Report) -> list[Result]:
    """Skips whose comment is missing or not one full sentence."""
    return [
        s
        for s in report.skipped
        if s.comment == NO_COMMENT or len(s.comment.split()) < MIN_REASON_WORDS or not s.comment.rstrip().endswith(".")
    ]


def main(assembly: Path) -> int:
    report = run_checkov(list(stack_templates(assembly).values()))
    for failed in report.failed:
        print(f"FAIL {failed}")
    for skipped in report.skipped:
        print(f"skipped {skipped}")
    bad_skips = unreasoned_skips(report)
    for skipped in bad_skips:
        print(f"FAIL skip without a full-sentence reason: {skipped}")
    print(f"checkov: {report.passed} passed, {len(report.failed)} failed, {len(report.skipped)} skipped with a reason")
    return 1 if report.failed or bad_skips else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
