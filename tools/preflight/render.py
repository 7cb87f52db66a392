"""What the preflight prints: its header, one ✔, ✘ or - line per check with the fix under each ✘, the verdict."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.status import Status
from rich.text import Text

from tools.preflight.results import Result

MARKS = {True: ("✔", "green"), False: ("✘", "red"), None: ("-", "dim")}


def print_error(console: Console, error: Exception) -> None:
    """The one line of a command line or setting the preflight cannot start with."""
    console.print(Text(f"error: {error}", "bold red"), soft_wrap=True)


def print_header(console: Console, stage: str, assembly_dir: Path) -> None:
    console.print(Text(f"Preflight of stage {stage} ({assembly_dir.name}):", "bold"))


def checking(console: Console) -> Status:
    """The spinner shown while the checks run (the engine and AWS can take seconds each)."""
    return console.status("checking…")


def print_result(console: Console, result: Result, *, name_width: int) -> None:
    mark, style = MARKS[result.passed]
    line = Text.assemble((mark, f"bold {style}"), " ", (result.check.ljust(name_width), "bold"), "  ", result.detail)
    console.print(line, soft_wrap=True)
    if result.fix:
        console.print(Text.assemble(" " * (name_width + 4), ("fix: ", "bold yellow"), result.fix), soft_wrap=True)


def print_verdict(console: Console, failed: int) -> None:
    if failed:
        console.print(Text(f"{failed} check{'s' * (failed > 1)} failed: nothing was built or deployed.", "bold red"))
    else:
        console.print(Text("Ready to deploy.", "bold green"))
