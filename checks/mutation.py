"""`make mutation`: plant one small bug at a time (mutmut) and count how many the tests catch, per file.

Each target runs in its own scratch copy of the project under `.cache/mutation/<target>/`, for two reasons:
mutmut reads its settings from the `pyproject.toml` of the folder it runs in, and it names a mutant after its
file's path, so the mailer is laid out there as `src/inbox_mailer/` (the `inbox_mailer` the tests import)
instead of `lambda_image/inbox_mailer/`.

The score is killed / (total - excused), where only the mutants listed in `checks/equivalent_mutants.toml`
are excused. Results go to `bench/mutation.json`.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import random
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks import ROOT

WORK_DIRECTORY = ROOT / ".cache" / "mutation"
EQUIVALENT_MUTANTS_FILE = ROOT / "checks" / "equivalent_mutants.toml"
RESULTS_FILE = ROOT / "bench" / "mutation.json"
DEFAULT_SEED = 12
# The scratch copy leaves out what is big and not read by the tests that run there.
NOT_COPIED = (".git", ".venv", ".venv-checkov", "node_modules", ".cache", "cdk.out", "mutants", "out")
# mutmut's exit codes that mean a test noticed the mutant: a failure, an error, a timeout or a crash.
KILLED_EXIT_CODES = {1, 3, 24, -24, 36, 152, 255, -9, -11}
NOT_RUN_EXIT_CODES = {None, 2, 34}
# More than either whole suite takes here (infra 45 s): a mutant's tests are cut after 4 x (this + their own time).
TIMEOUT_S = 60
# Mutants tested at once: one per core of the 2-core machines this runs on.
CHILDREN = 2


@dataclass(frozen=True)
class Target:
    name: str
    source: str  # in the project
    mutated: str  # the same package in the scratch copy, where mutmut names mutants after it
    tests: tuple[str, ...]
    # mutmut copies only the mutated package and tests/: what else the tests read, besides the project's other folders.
    also_copy: tuple[str, ...] = ()
    # pytest options added to every run of a mutant, after the test files mutmut picked from its coverage.
    pytest_args: tuple[str, ...] = ()
    # What mutmut's fork server imports before forking a child per mutant ("collect": the test modules).
    warmup: str = "collect"


TARGETS = (
    Target(
        name="mailer",
        source="lambda_image/inbox_mailer",
        mutated="src/inbox_mailer",
        tests=("tests/handler",),
        also_copy=("src/lambda_function.py",),
    ),
    Target(
        name="stacks",
        source="stacks",
        mutated="stacks",
        tests=("tests/infra",),
        # The app is synthesized once per session and module, so coverage credits a construct's code to the first
        # test that needed the synth only: every stacks mutant runs the whole infra suite instead. The CLI's own
        # synth (test_cli.py) needs node_modules and checks the same app through another door: left out.
        # Two tests read what mutmut's copy changes around the code rather than the code: the handler folder (mutmut
        # writes a `.meta` file beside each module) and the modules the settings import (each mutated module
        # imports mutmut's trampoline). No mutant can be caught by them, and each would fail every run.
        pytest_args=(
            "tests/infra",
            "--ignore=tests/infra/test_cli.py",
            "--deselect=tests/infra/test_cloud_image_handler.py::"
            "test_the_handler_folder_holds_one_module_that_needs_nothing_but_lambdas_runtime",
            "--deselect=tests/infra/test_contract.py::"
            "test_the_deploys_settings_import_without_the_cdk_and_find_the_contract_on_their_own",
        ),
        # Importing aws_cdk starts its jsii kernel, a node process spoken to over pipes: children forked after
        # the import would share one kernel and garble each other's calls, so each child imports its own.
        warmup="none",
    ),
)


class EquivalentMutantsError(ValueError):
    """An entry of the equivalent mutants file has no name or no reason."""


@dataclass(frozen=True)
class Survivor:
    file: str
    line: int
    mutant: str
    change: str


def load_equivalent_mutants(path: Path = EQUIVALENT_MUTANTS_FILE) -> dict[str, str]:
    """Mutant name → the reviewed reason it changes nothing a test could see (`[[mutant]]` tables)."""
    with path.open("rb") as file:
        entries = tomllib.load(file).get("mutant", [])
    reasons: dict[str, str] = {}
    for entry in entries:
        name = str(entry.get("name", "")).strip()
        reason = str(entry.get("reason", "")).strip()
        if not name or not reason:
            raise EquivalentMutantsError(f"{path.name}: every [[mutant]] needs a name and a one-line reason ({entry})")
        reasons[name] = reason
    return reasons


def sample(names: list[str], size: int, seed: int) -> list[str]:
    """The same `size` mutants for the same names and seed, whatever order mutmut listed them in."""
    ordered = sorted(names)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


def score(killed: int, total: int, excused: int) -> float | None:
    """Percentage of the mutants that count (not excused) that a test killed; None when none count."""
    counted = total - excused
    return None if counted <= 0 else round(100 * killed / counted, 1)


def interval(killed: int, counted: int, sampled: bool) -> tuple[float, float] | None:
    """95 % Wilson interval of the whole population's score when `counted` mutants were drawn at random.

    None for a full run (the score is exact) and when nothing counted.
    """
    if not sampled or counted <= 0:
        return None
    z = 1.959964
    share = killed / counted
    centre = (share + z * z / (2 * counted)) / (1 + z * z / counted)
    half = z * math.sqrt(share * (1 - share) / counted + z * z / (4 * counted * counted)) / (1 + z * z / counted)
    return round(100 * (centre - half), 1), round(100 * (centre + half), 1)


def tally(exit_codes: dict[str, int | None], excused: dict[str, str]) -> dict[str, Any]:
    """Killed, survived and excused counts of one file's mutants that ran."""
    ran = {name: code for name, code in exit_codes.items() if code not in NOT_RUN_EXIT_CODES}
    killed = sum(1 for code in ran.values() if code in KILLED_EXIT_CODES)
    excused_count = sum(1 for name, code in ran.items() if name in excused and code not in KILLED_EXIT_CODES)
    survived = len(ran) - killed - excused_count
    return {
        "killed": killed,
        "survived": survived,
        "excused": excused_count,
        "total": len(ran),
        "score": score(killed, len(ran), excused_count),
    }


def changed_line(diff: str) -> tuple[int, str]:
    """The first changed line of mutmut's diff of one function, as (line in the function, `old → new`)."""
    offset = 0
    removed: list[str] = []
    added: list[str] = []
    for line in diff.splitlines():
        if hunk := re.match(r"@@ -(\d+)", line):
            offset = int(hunk.group(1))
        elif line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:].strip())
        elif not removed and not added and line.startswith(" "):
            offset += 1
    return offset, f"{' / '.join(removed) or '(nothing)'} → {' / '.join(added) or '(removed)'}"


def function_lines(source: str) -> dict[str, int]:
    """First line of every function, named the way mutmut mangles it (`x_name`, `xǁClassǁmethod`)."""
    lines: dict[str, int] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines[f"x_{node.name}"] = node.lineno
    return lines


def prepare(target: Target) -> Path:
    """A fresh scratch copy of the project with mutmut's settings for this target."""
    work = WORK_DIRECTORY / target.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(*NOT_COPIED, "__pycache__", ".*_cache", ".hypothesis"))
    pyproject = (work / "pyproject.toml").read_text(encoding="utf-8")
    if target.mutated.startswith("src/"):
        # The stacks import inbox_mailer.contract from lambda_image/ (stacks/__init__.py): that copy stays, unmutated.
        shutil.copytree(work / "lambda_image", work / "src")
        pyproject = pyproject.replace('pythonpath = [".", "lambda_image"]', 'pythonpath = [".", "src"]')
    mutated_top = target.mutated.split("/")[0]
    others = sorted(path.name for path in work.iterdir() if path.name not in {mutated_top, "tests", "pyproject.toml"})
    settings = {
        "source_paths": [target.mutated],
        "also_copy": others + list(target.also_copy),
        "pytest_add_cli_args_test_selection": list(target.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-p", "checks.mutation_plugin", *target.pytest_args],
        "timeout_multiplier": 2.0,
        "timeout_constant": float(TIMEOUT_S),
        "forkserver_warmup": target.warmup,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (work / "pyproject.toml").write_text(pyproject + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return work


def mutmut_python(work: Path, code: str, stdin: str = "") -> str:
    """Run a few lines against mutmut's own functions inside the scratch copy (no command exists for them)."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"mutmut failed in {work}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


GENERATE = """
from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants
copy_src_dir(); copy_also_copy_files(); create_mutants(1)
"""
DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name) for name in sys.stdin.read().split()}))
"""


def exit_codes(work: Path, target: Target) -> dict[str, dict[str, int | None]]:
    """Project file → mutant name → mutmut's exit code (None: not run), from mutmut's `.meta` files."""
    codes: dict[str, dict[str, int | None]] = {}
    for meta in sorted((work / "mutants" / target.mutated).rglob("*.py.meta")):
        relative = meta.relative_to(work / "mutants" / target.mutated).with_suffix("")
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes[f"{target.source}/{relative.as_posix()}"] = data["exit_code_by_key"]
    return codes


def survivors(work: Path, target: Target, names_by_file: dict[str, list[str]]) -> list[Survivor]:
    names = [name for names in names_by_file.values() for name in names]
    diffs: dict[str, str] = json.loads(mutmut_python(work, DIFFS, "\n".join(names))) if names else {}
    found: list[Survivor] = []
    for file, file_names in names_by_file.items():
        starts = function_lines((ROOT / file).read_text(encoding="utf-8"))
        for name in file_names:
            function = name.partition("__mutmut_")[0].rpartition(".")[2]
            line_in_function, change = changed_line(diffs[name])
            found.append(Survivor(file, starts.get(function, 1) + line_in_function - 1, name, change))
    return found


def run_target(target: Target, size: int | None, seed: int, excused: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    work = prepare(target)
    mutmut_python(work, GENERATE)
    # Tools the tests call by path in the project (checkov has its own venv): linked, not copied.
    for tool in (".venv-checkov", "node_modules"):
        (work / "mutants" / tool).symlink_to(ROOT / tool, target_is_directory=True)
    every = [name for names in exit_codes(work, target).values() for name in names]
    chosen = every if size is None else sample(every, size, seed)
    print(f"{target.name}: {len(chosen)} of {len(every)} mutants, tests: {' '.join(target.tests)}", flush=True)
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(CHILDREN), *chosen],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"mutmut run failed in {work}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return {**tally_target(target, size, seed, excused), "duration_s": round(time.monotonic() - started, 1)}


def tally_target(target: Target, size: int | None, seed: int, excused: dict[str, str]) -> dict[str, Any]:
    """Scores of the last run in the target's scratch copy, with the equivalent mutants listed now."""
    work = WORK_DIRECTORY / target.name
    if not (work / "mutants").is_dir():
        raise FileNotFoundError(f"no run of {target.name} to score again in {work}: run make mutation first")
    every = [name for names in exit_codes(work, target).values() for name in names]
    chosen = set(every if size is None else sample(every, size, seed))
    files: dict[str, Any] = {}
    left: dict[str, list[str]] = {}
    for file, codes in exit_codes(work, target).items():
        ran = {name: code for name, code in codes.items() if name in chosen}
        if ran:
            files[file] = tally(ran, excused)
            left[file] = [
                n for n, c in ran.items() if c not in KILLED_EXIT_CODES | NOT_RUN_EXIT_CODES and n not in excused
            ]
    overall = {key: sum(counts[key] for counts in files.values()) for key in ("killed", "survived", "excused", "total")}
    overall["score"] = score(overall["killed"], overall["total"], overall["excused"])
    overall["interval_95"] = interval(overall["killed"], overall["total"] - overall["excused"], size is not None)
    return {
        "mutants_generated": len(every),
        "overall": overall,
        "files": files,
        "survivors": [survivor.__dict__ for survivor in survivors(work, target, left)],
        "excused": sorted(
            name for names in exit_codes(work, target).values() for name in names if name in excused and name in chosen
        ),
    }


def report(name: str, result: dict[str, Any]) -> None:
    overall = result["overall"]
    sampled = overall.get("interval_95")
    spread = ""
    if sampled is not None:
        spread = f" (95 % interval of all {result['mutants_generated']}: {sampled[0]}-{sampled[1]} %)"
    print(f"\n{name}: {overall['score']} % killed of {overall['total']} mutants{spread}")
    for file, counts in result["files"].items():
        print(f"  {file:45} {counts['score']!s:>6} %  killed {counts['killed']:4}  survived {counts['survived']:4}")
    for survivor in result["survivors"]:
        print(f"  survived  {survivor['file']}:{survivor['line']}  {survivor['change']}  ({survivor['mutant']})")


def merged_results(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The results file's content: each target's latest run, so one target can be run again on its own."""
    targets = dict(previous.get("targets", {}))
    for name, result in targets.items():
        if "mode" not in result and "mode" in previous:  # written when one mode covered every target
            targets[name] = {"mode": previous["mode"], **result}
    return {"targets": {**targets, **new}}


def _previous_results() -> dict[str, Any]:
    if not RESULTS_FILE.exists():
        return {}
    targets: dict[str, Any] = json.loads(RESULTS_FILE.read_text(encoding="utf-8")).get("targets", {})
    return targets


def write_results(new: dict[str, Any], path: Path = RESULTS_FILE) -> None:
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.write_text(json.dumps(merged_results(previous, new), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, help="mutate only this many mutants per target, drawn with --seed")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--target", choices=[target.name for target in TARGETS], action="append")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="score the last run again (same --sample and --seed) after a change to the equivalent mutants file",
    )
    options = parser.parse_args(argv)
    try:
        excused = load_equivalent_mutants()
    except EquivalentMutantsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    mode = "full" if options.sample is None else f"sample of {options.sample} mutants, seed {options.seed}"
    results: dict[str, Any] = {}
    for target in TARGETS:
        if options.target is None or target.name in options.target:
            if options.rescore:
                previous = _previous_results().get(target.name, {})
                rescored = tally_target(target, options.sample, options.seed, excused)
                results[target.name] = {"mode": mode, "duration_s": previous.get("duration_s"), **rescored}
            else:
                results[target.name] = {"mode": mode, **run_target(target, options.sample, options.seed, excused)}
            report(target.name, results[target.name])
            write_results(results)
    print(f"\n{mode}: {RESULTS_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
