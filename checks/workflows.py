"""The GitHub Actions workflows: GitHub's workflow schema, zizmor's security audits and pinned actions, all offline.

- `check-jsonschema --builtin-schema vendor.github-workflows`: the schema GitHub's editor uses (vendored in
  the package, so no network).
- `zizmor --offline`: template injection, unpinned actions, default permissions, persisted checkout credentials,
  dangerous triggers, cache poisoning and more. No finding above low may remain.
- Every `uses:` names a full 40-hex commit and says in a comment which release that commit is (`# v1.2.3`).

Run alone: `python -m checks.workflows [folder or files]` (default `.github/workflows`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
SCHEMA = "vendor.github-workflows"
# "No finding above low": zizmor's severities are informational, low, medium and high.
BLOCKING_SEVERITIES = ("medium", "high")
# `uses: owner/repo[/path]@<40 hex> # v1.2.3`; local actions (`./...`) are part of the repository itself.
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")
_VERSION = re.compile(r"^v\d+(?:\.\d+){0,2}$")


@dataclass(frozen=True)
class Finding:
    check: str
    rule: str
    severity: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.check} {self.severity} {self.rule} {self.where}: {self.message}"


def workflow_files(folder: Path = WORKFLOWS) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow as data. YAML 1.2, so that the `on:` key stays the string "on" (YAML 1.1 reads it as true)."""
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def _tool(name: str) -> str:
    # Installed next to the interpreter of the project's venv (requirements-dev.txt).
    return str(Path(sys.executable).parent / name)


def run_schema(paths: Sequence[Path]) -> list[Finding]:
    """Every file that does not validate against GitHub's workflow schema, with the deepest reason."""
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", SCHEMA, "--output-format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"check-jsonschema did not run (exit {result.returncode}): {result.stderr.strip()}")
    report = json.loads(result.stdout)
    findings = [
        Finding(
            check="schema",
            rule="parse",
            severity="error",
            where=Path(error["filename"]).name,
            message=error["message"],
        )
        for error in report.get("parse_errors", [])
    ]
    for error in report.get("errors", []):
        deepest = error.get("best_deep_match") or error.get("best_match") or error
        findings.append(
            Finding(
                check="schema",
                rule=SCHEMA,
                severity="error",
                where=f"{Path(error['filename']).name} {deepest['path']}",
                message=deepest["message"],
            )
        )
    return findings


def run_zizmor(paths: Sequence[Path]) -> list[Finding]:
    """Every finding of zizmor's offline audits (its default persona), whatever the severity."""
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--format", "json", "--no-progress", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # zizmor exits 0 when clean and 10-14 by the highest severity found; anything else is zizmor failing.
    if result.returncode not in (0, 10, 11, 12, 13, 14) or not result.stdout.strip():
        raise RuntimeError(f"zizmor did not run (exit {result.returncode}): {result.stderr.strip()}")
    findings = []
    for item in json.loads(result.stdout):
        location = item["locations"][0]
        point = location["concrete"]["location"]["start_point"]
        path = location["symbolic"]["key"]["Local"]["verbatim_path"]
        findings.append(
            Finding(
                check="zizmor",
                rule=item["ident"],
                severity=item["determinations"]["severity"].lower(),
                where=f"{Path(path).name}:{point['row'] + 1}",
                message=item["desc"],
            )
        )
    return findings


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that fail the check: every schema error, and zizmor findings above low."""
    return [f for f in findings if f.check != "zizmor" or f.severity in BLOCKING_SEVERITIES]


def unpinned_uses(path: Path) -> list[Finding]:
    """Every `uses:` that is not a full commit SHA with the release it stands for in a comment."""
    findings = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _USES.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        where = f"{path.name}:{number}"
        if not _PINNED.fullmatch(match["ref"]):
            findings.append(Finding("pins", "sha", "error", where, f"{match['ref']} is not pinned to a commit SHA"))
        elif not _VERSION.fullmatch((match["comment"] or "").strip()):
            findings.append(
                Finding("pins", "version-comment", "error", where, f"{match['ref']} has no '# vX.Y.Z' comment")
            )
    return findings


def main(targets: Sequence[Path]) -> int:
    paths = [p for target in targets for p in (workflow_files(target) if target.is_dir() else [target])]
    findings = [*run_schema(paths), *run_zizmor(paths), *(f for path in paths for f in unpinned_uses(path))]
    failing = blocking(findings)
    for finding in findings:
        print(("FAIL " if finding in failing else "allowed ") + str(finding))
    print(f"workflows: {len(paths)} files, {len(findings)} findings, {len(failing)} failing")
    return 1 if failing or not paths else 0


if __name__ == "__main__":
    sys.exit(main([Path(arg) for arg in sys.argv[1:]] or [WORKFLOWS]))
