"""cfn-lint on every synthesized template: no errors, and only the warnings the allow-list names.

Run alone: `python -m checks.cfn_lint [cdk.out]` (after `make synth`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from checks.allowlist import load_section
from checks.assembly import stack_templates

SECTION = "cfn_lint"


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    message: str
    where: str

    def __str__(self) -> str:
        return f"{self.level} {self.rule} {self.where}: {self.message}"


def _executable() -> str:
    # Installed next to the interpreter of the project's venv (requirements-dev.txt).
    return str(Path(sys.executable).parent / "cfn-lint")


def run_cfn_lint(templates: Sequence[Path]) -> list[Finding]:
    """Every finding cfn-lint reports on `templates` (errors and warnings, its default levels)."""
    result = subprocess.run(
        [_executable(), "--format", "json", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit codes: 0 clean, 2 errors, 4 warnings, 6 both, 8 informational; anything else is cfn-lint failing.
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not result.stdout.strip():
        raise RuntimeError(f"cfn-lint did not run (exit {result.returncode}): {result.stderr.strip()}")
    return [
        Finding(
            rule=item["Rule"]["Id"],
            level=item["Level"],
            message=item["Message"],
            where=f"{Path(item['Filename']).name}:{item['Location']['Start']['LineNumber']} "
            + "/".join(map(str, item["Location"].get("Path") or [])),
        )
        for item in json.loads(result.stdout)
    ]


def blocking(findings: Sequence[Finding], allowed_warnings: Mapping[str, str]) -> list[Finding]:
    """Findings that fail the check: every error, and every warning whose rule is not on the allow-list."""
    return [f for f in findings if not (f.level == "Warning" and f.rule in allowed_warnings)]


def main(assembly: Path) -> int:
    allowed = load_section(SECTION)
    findings = run_cfn_lint(list(stack_templates(assembly).values()))
    failing = blocking(findings, allowed)
    for finding in findings:
        print(("FAIL " if finding in failing else "allowed ") + str(finding))
    print(f"cfn-lint: {len(findings)} findings, {len(failing)} not allowed")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
