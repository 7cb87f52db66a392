"""Runs every figure, prints the table and writes bench/results.json (python -m bench.run)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench import cold_start, image, per_file, synth, tests_time
from bench.common import BENCH_DIR, Figure, machine

RESULTS = BENCH_DIR / "results.json"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 1024 / 1024:.1f} MiB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.2f}"


def table(figures: list[Figure], per_file_cases: list[dict[str, Any]]) -> str:
    rows = [("Figure", "Value", "Reference", "Ratio", "Goal", "Met")]
    for figure in figures:
        ratio = "-" if figure.ratio is None else f"{figure.ratio:.2f}"
        met = {True: "yes", False: "NO", None: "-"}[figure.met]
        rows.append(
            (
                figure.name,
                _number(figure.value, figure.unit) + ("" if figure.unit in ("s", "bytes") else f" {figure.unit}"),
                _number(figure.reference, figure.unit),
                ratio,
                figure.goal,
                met,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))

    lines += ["", "Per file (tracemalloc peak growth as a multiple of the file size; time in ms):"]
    header = ("Case", "Outcome", "Handler", "x", "At transport", "x", "moto get", "x", "moto send", "x")
    cases = [header]
    for case in per_file_cases:
        size = case["file_bytes"]
        cases.append(
            (
                case["case"],
                case["outcome"],
                f"{case['handler_s'] * 1000:.0f} ms",
                f"{case['handler_peak_bytes'] / size:.2f}",
                f"{case['transport_s'] * 1000:.0f} ms",
                f"{case['transport_peak_bytes'] / size:.2f}",
                f"{case['moto_get_s'] * 1000:.0f} ms",
                f"{case['moto_get_peak_bytes'] / size:.2f}",
                f"{case['moto_send_s'] * 1000:.0f} ms",
                f"{case['moto_send_peak_bytes'] / size:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in cases) for i in range(len(header))]
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cases]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth-runs", type=int, default=5)
    parser.add_argument("--cold-start-runs", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    about = machine()
    figures: list[Figure] = []
    print("synth ...", flush=True)
    figures.append(synth.measure(args.synth_runs))
    print("tests ...", flush=True)
    figures.append(tests_time.measure())
    print("cold start ...", flush=True)
    figures.append(cold_start.measure(args.cold_start_runs))
    print("per file ...", flush=True)
    per_file_figure, cases = per_file.measure()
    figures.append(per_file_figure)
    print("image ...", flush=True)
    figures.append(image.measure(synth.APP_OUT))
    elapsed = time.perf_counter() - start

    results: dict[str, Any] = {figure.name: figure.as_dict() for figure in figures}
    results["machine"] = about
    results["bench_wall_s"] = round(elapsed, 1)
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(figures, cases))
    print()
    print(
        f"Machine: {about['cores']} cores, {about['memory_gib']} GiB, {about['cpu_model']}, "
        f"Python {about['python']}, Node {about['node']}. Bench wall time {elapsed:.0f} s."
    )
    print(f"Written: {RESULTS.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
