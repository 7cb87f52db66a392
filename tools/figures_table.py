"""The measured figures of docs/performance.md, rendered from `bench/results.json` and `bench/mutation.json`.

`python -m tools.figures_table` rewrites the generated blocks of docs/performance.md after `make bench` or
`make mutation` wrote new results; nothing else in the file changes. A test fails while a block is not the one
rendered here, and another fails when prose anywhere in the docs states a measured figure by hand: the figures
live in the two JSON files, and only here are they turned into text.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tools.generated import rewrite

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
MUTATION = ROOT / "bench" / "mutation.json"
PERFORMANCE = ROOT / "docs" / "performance.md"

# A generated block: everything between these two lines belongs to the generator named in the first.
BEGIN = "<!-- BEGIN GENERATED {name}: python -m tools.figures_table, do not edit -->"
END = "<!-- END GENERATED {name} -->"
GENERATED_BLOCK = re.compile(r"^<!-- BEGIN GENERATED (\S+)[^\n]*-->$.*?^<!-- END GENERATED \1 -->$", re.M | re.S)


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 1024 / 1024:.1f} MiB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f} {unit}"


def _size(value: float) -> str:
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.1f} MiB"
    return f"{value / 1024:.0f} KiB"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def render_figures(results: dict[str, Any]) -> str:
    """The bench's figures, its per-file cases and its burst scenarios, as Markdown tables."""
    figures = {name: figure for name, figure in results.items() if isinstance(figure, dict) and "value" in figure}
    rows = []
    for name, figure in figures.items():
        ratio = "-" if figure["ratio"] is None else f"{figure['ratio']:.2f}"
        met = {True: "yes", False: "**NO**", None: "-"}[figure["met"]]
        reference_unit = figure["unit"] if figure["unit"] in ("s", "bytes") else ""
        rows.append(
            [
                f"`{name}`",
                _amount(figure["value"], figure["unit"]),
                _amount(figure["reference"], reference_unit) if reference_unit else f"{figure['reference']:g}",
                ratio,
                figure["goal"],
                met,
            ]
        )
    machine = results["machine"]
    lines = [
        f"Run of {results['date']} on {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['cpu_model']}, "
        f"Python {machine['python']}, Node {machine['node']}; the bench took {_duration(results['bench_wall_s'])}.",
        "",
        *_table(["Figure", "Value", "Reference", "Ratio", "Goal", "Met"], rows),
    ]
    lines.append("")
    for name, figure in figures.items():
        if "measured" in figure.get("detail", {}):
            lines.append(f"- `{name}` was measured {figure['detail']['measured']}.")
    tests = figures.get("tests", {}).get("detail", {})
    if tests:
        lines.append(
            f"- `tests`: {tests['passed']:,} tests passed; the suite synthesized the app "
            f"{tests['synths_in_process']} times in process and {tests['synths_cli']} times through the CLI."
        )
    cases = figures.get("per_file_memory_20MB", {}).get("detail", {}).get("cases", [])
    if cases:
        case_rows = []
        for case in cases:
            size = case["file_bytes"]

            def peak(key: str, size: int = size, case: dict[str, Any] = case) -> str:
                return f"{_size(case[key])} ({case[key] / size:.2f}x)"

            case_rows.append(
                [
                    case["case"],
                    case["outcome"],
                    f"{case['handler_s'] * 1000:.0f} ms",
                    peak("handler_peak_bytes"),
                    f"{case['transport_s'] * 1000:.0f} ms",
                    peak("transport_peak_bytes"),
                    peak("moto_get_peak_bytes"),
                    peak("moto_send_peak_bytes"),
                ]
            )
        header = ["Case", "Outcome", "Handler", "Handler peak", "At transport", "Transport peak"]
        lines += ["", *_table([*header, "moto get", "moto send"], case_rows)]
        largest = max((case for case in cases if case["outcome"] == "attached"), key=lambda case: case["file_bytes"])
        own = (largest["transport_peak_bytes"] - largest["moto_get_peak_bytes"]) / largest["file_bytes"]
        lines += [
            "",
            f"- An attached file of {_size(largest['file_bytes'])} costs the function about {own:.1f} times its size "
            "(the peak at transport less moto's own copy of the object).",
        ]
    image = figures.get("image_added_bytes", {}).get("detail", {})
    if image:
        lines += [
            f"- `image_added_bytes`: boto3 and its dependencies are {_size(image['boto3_family_bytes'])} of it; "
            f"the build context holds {len(image['build_context_files'])} files, "
            f"{_size(image['build_context_bytes'])}.",
        ]
    bursts = figures.get("burst_drain", {}).get("detail", {}).get("scenarios", [])
    if bursts:
        burst_rows = [
            [
                run["scenario"],
                run["files"],
                run["recipients"],
                f"{run['rate_per_s']:g}",
                f"{run['speed']:.3g}",
                run["files_mailed"],
                run["duplicates"],
                run["dead_letter"],
                run["throttled_sends"],
                run["put_back"],
                f"{run['drain_s']:.1f} s",
                f"{run['floor_s']:.1f} s",
                f"{run['ratio']:.2f}",
            ]
            for run in bursts
        ]
        header = ["Scenario", "N", "r", "R/s", "Speed", "Mailed", "Duplicates", "DLQ", "Throttled", "Put back"]
        lines += ["", *_table([*header, "Drain", "Floor", "Ratio"], burst_rows)]
    return "\n".join(lines) + "\n"


def render_mutation(mutation: dict[str, Any]) -> str:
    """Each target's last mutation score, with how it was run and what it took."""
    rows = []
    for name, target in mutation["targets"].items():
        overall = target["overall"]
        low, high = overall.get("interval_95") or (None, None)
        rows.append(
            [
                f"`{name}`",
                target["mode"],
                f"**{overall['score']:.1f} %**",
                f"{overall['killed']} of {overall['total'] - overall['excused']}",
                overall["excused"],
                "-" if low is None else f"{low:.1f}-{high:.1f} %",
                f"{target['mutants_generated']:,}" if "mutants_generated" in target else "-",
                _duration(target["duration_s"]),
            ]
        )
    header = ["Target", "Run", "Score", "Killed", "Excused", "95 % interval, all mutants", "Mutants in all", "Time"]
    return "\n".join(_table(header, rows)) + "\n"


RENDERERS: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]] = {
    "figures": (RESULTS, render_figures),
    "mutation": (MUTATION, render_mutation),
}


def rendered() -> dict[str, str]:
    """Each block's name and its text, from the JSON files as they are now."""
    return {
        name: render(json.loads(source.read_text(encoding="utf-8"))) for name, (source, render) in RENDERERS.items()
    }


def blocks_in(text: str) -> dict[str, str]:
    """Each generated block's name and the text between its two marker lines."""
    found = {}
    for match in GENERATED_BLOCK.finditer(text):
        name = match.group(1)
        body = match.group(0).split("\n", 1)[1].rsplit("\n", 1)[0]
        found[name] = body + "\n" if body else ""
    return found


def with_blocks(text: str, blocks: dict[str, str]) -> str:
    """`text` with each named block's body replaced; a block the text lacks is an error, not an append."""
    missing = sorted(set(blocks) - set(blocks_in(text)))
    if missing:
        raise ValueError(
            f"no generated block {', '.join(missing)}: add the lines {BEGIN.format(name=missing[0])} "
            f"and {END.format(name=missing[0])} where it belongs"
        )

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in blocks:
            return match.group(0)
        return f"{BEGIN.format(name=name)}\n{blocks[name]}{END.format(name=name)}"

    return GENERATED_BLOCK.sub(replace, text)


def main(document: Path = PERFORMANCE) -> int:
    updated = with_blocks(document.read_text(encoding="utf-8"), rendered())
    rewrite(document, updated, what="the figures are", source="bench/results.json and bench/mutation.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
