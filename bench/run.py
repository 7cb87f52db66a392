"""Runs every figure, prints the table and writes bench/results.json (python -m bench.run)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench import burst, cold_start, first_hour, image, per_file, synth, tests_time
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


def _size(value: float) -> str:
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.1f} MiB"
    return f"{value / 1024:.0f} KiB"


def table(figures: list[Figure], per_file_cases: list[dict[str, Any]], bursts: list[dict[str, Any]]) -> str:
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

    lines += [
        "",
        "Per file: time and tracemalloc peak growth (x = multiple of the file size). Handler = real handler,",
        "moto for S3, SES and DynamoDB; at transport = same, SES request stopped at the HTTP boundary (what the",
        "function holds); moto get / moto send = moto's get_object of the same object / send_email of an",
        "equally sized raw message, alone.",
    ]
    header = ("Case", "Outcome", "Handler", "Handler peak", "At transport", "Transport peak", "moto get", "moto send")
    cases = [header]
    for case in per_file_cases:
        size = case["file_bytes"]

        def peak(key: str, size: int = size, case: dict[str, Any] = case) -> str:
            return f"{_size(case[key])} ({case[key] / size:.2f}x)"

        cases.append(
            (
                case["case"],
                case["outcome"],
                f"{case['handler_s'] * 1000:.0f} ms",
                peak("handler_peak_bytes"),
                f"{case['transport_s'] * 1000:.0f} ms",
                peak("transport_peak_bytes"),
                peak("moto_get_peak_bytes"),
                peak("moto_send_peak_bytes"),
            )
        )
    widths = [max(len(row[i]) for row in cases) for i in range(len(header))]
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cases]
    lines += [
        "",
        "Burst: N uploads at once, each mailed to r recipients, through the handler's processing, 2 instances,",
        "moto SQS with the stack's visibility timeout and redrive policy, SES a token bucket of recipients at",
        "rate R (a mail to r takes r). Bench time runs `speed` times faster than real time (rate x speed,",
        "durations / speed); drain and floor N x r / (R x speed) are in real seconds. Throttled: sends SES",
        "refused; put back: files sent back to the queue, refused by SES or by the pacer for want of time.",
    ]
    burst_header = [
        "Scenario",
        "N",
        "r",
        "R/s",
        "Speed",
        "Mailed",
        "Duplicates",
        "DLQ",
        "Throttled",
        "Put back",
        "Drain",
        "Floor",
        "Ratio",
    ]
    burst_rows = [burst_header]
    for run in bursts:
        burst_rows.append(
            [
                run["scenario"],
                str(run["files"]),
                str(run["recipients"]),
                f"{run['rate_per_s']:g}",
                f"{run['speed']:.3g}",
                str(run["files_mailed"]),
                str(run["duplicates"]),
                str(run["dead_letter"]),
                str(run["throttled_sends"]),
                str(run["put_back"]),
                f"{run['drain_s']:.1f} s",
                f"{run['floor_s']:.1f} s",
                f"{run['ratio']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in burst_rows) for i in range(len(burst_header))]
    lines += [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in burst_rows]
    return "\n".join(line.rstrip() for line in lines)


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
    print("burst ...", flush=True)
    burst_figure, bursts = burst.measure()
    figures.append(burst_figure)
    print("first hour: a fresh clone's make synth, then make demo ...", flush=True)
    figures += [first_hour.fresh_synth(), first_hour.demo()]
    elapsed = time.perf_counter() - start

    results: dict[str, Any] = {figure.name: figure.as_dict() for figure in figures}
    results["machine"] = about
    results["bench_wall_s"] = round(elapsed, 1)
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(figures, cases, bursts))
    print()
    print(
        f"Machine: {about['cores']} cores, {about['memory_gib']} GiB, {about['cpu_model']}, "
        f"Python {about['python']}, Node {about['node']}. Bench wall time {elapsed:.0f} s."
    )
    print(f"Written: {RESULTS.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
