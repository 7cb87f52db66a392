"""The estimate on a terminal (rich, 80 columns), as Markdown for docs/cost.md, and as the plan's one line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from tools.cost import assembly, prices
from tools.cost.estimate import BenchFigures, Estimate, Row, estimate, fixed_parts, money
from tools.cost.profile import DEFAULT, MIB

WIDTH = 80


def quantity(row: Row) -> str:
    unit = row.price.unit if row.price else row.item.rpartition(".")[2]
    return f"{_compact(row.quantity)} {unit}"


def price(row: Row) -> str:
    if row.price is None:
        return "no price"
    per = "" if row.price.per == 1 else f"/{_compact(row.price.per)}"
    return f"${row.price.usd}{per}"


def free_tier(row: Row) -> str:
    """The free amount a month, marked when it lasts only an account's first 12 months (the table says so)."""
    if row.price is None or row.price.free_per_month is None:
        return ""
    months = " (12 mo)" if "12 months" in row.price.free_tier else ""
    return f"{_compact(row.price.free_per_month)}{months}"


def heading(result: Estimate) -> str:
    profile = result.profile
    return (
        f"{profile.files_per_day:,} files a day of {_compact(profile.average_file_bytes / MIB)} MiB on average "
        f"(largest {_compact(profile.largest_file_bytes / MIB)} MiB), {profile.link_share:.0%} as links, "
        f"{_recipients(result.recipients)}; {result.region} "
        f"({result.region_note}); list prices read on {result.prices_read_on}."
    )


def print_estimate(result: Estimate, console: Console) -> None:
    console.print(heading(result))
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False)
    table.add_column("Item", footer="Total", max_width=24)
    table.add_column("A month", justify="right", no_wrap=True)
    table.add_column("Price", justify="right", no_wrap=True)
    table.add_column("USD", justify="right", footer=money(result.total_usd), no_wrap=True)
    table.add_column("Free a month", no_wrap=True)
    for fixed in (True, False):
        table.add_row("[bold]Fixed[/]" if fixed else "[bold]For this usage[/]", end_section=False)
        for row in (r for r in result.rows if r.fixed == fixed):
            table.add_row(row.label, quantity(row), price(row), money(row.usd), free_tier(row))
    console.print(table)
    console.print("Free tiers are shown, not subtracted. How each row was worked out:")
    for row in result.rows:
        console.print(f"- {row.label}: {row.basis}.")
    for line in result.missing:
        console.print(f"[bold]{line}[/]")


def markdown(result: Estimate) -> str:
    lines = [
        heading(result),
        "",
        "| Item | A month | Price | USD | Free a month |",
        "|---|--:|--:|--:|---|",
    ]
    for row in result.rows:
        label = f"{row.label} (fixed)" if row.fixed else row.label
        lines.append(f"| {label} | {quantity(row)} | {price(row)} | {money(row.usd)} | {free_tier(row)} |")
    lines.append(f"| **Total** (free tiers not subtracted) | | | **{money(result.total_usd)}** | |")
    lines.extend(f"\n{line}" for line in result.missing)
    return "\n".join(lines) + "\n"


def fixed_monthly_line(assembly_dir: Path, region: str | None = None) -> str:
    """The plan's last line: what the deployment costs a month before any file arrives (free tiers not subtracted)."""
    result = estimate(
        assembly.read(assembly_dir),
        DEFAULT,
        recipients=1,
        prices=prices.load(),
        bench=BenchFigures.read(),
        region=region,
    )
    parts = ", ".join(f"{label.lower()} ${money(usd)}" for label, usd in fixed_parts(result).items())
    unpriced = " (some items have no price: see make cost)" if result.missing else ""
    return (
        f"Fixed cost a month in {result.region}: ${money(result.fixed_usd)} ({parts}) before free tiers"
        f"{unpriced}; run `make cost` for your usage."
    )


def _recipients(count: int) -> str:
    return f"{count} recipient{'s' if count != 1 else ''}"


def _compact(number: Decimal) -> str:
    """1,000,000 as 1M, 0.0213 as 0.0213: short enough for an 80-column table."""
    for size, suffix in ((Decimal(10**9), "G"), (Decimal(10**6), "M"), (Decimal(10**3), "K")):
        if number >= size * 10 or (number >= size and number % size == 0):
            return f"{(number / size).quantize(Decimal('0.1')).normalize():f}{suffix}"
    if number >= 10:
        return f"{number.quantize(Decimal(1)):f}"
    if number == 0:
        return "0"
    return f"{number:.3g}"
