"""What the preflight prints: its header, one ✔, ✘ or - line per check with the fix under each ✘, the verdict."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.status import Status
from rich.text import Text

from tools.preflight.results import Result

MARKS = {True: ("✔", "green"), False: ("✘", "red"), None: ("-", "dim")}
# Below this, a narrow terminal folds the line itself rather than leave a sliver beside the names.
MIN_BODY_WIDTH = 30


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
    lead = Text.assemble((mark, f"bold {style}"), " ", (result.check.ljust(name_width), "bold"), "  ")
    _hanging(console, lead, Text(result.detail))
    if result.fix:
        _hanging(console, Text(" " * len(lead)), Text.assemble(("fix: ", "bold yellow"), result.fix))


def _hanging(console: Console, lead: Text, body: Text) -> None:
    """`lead`, then `body` wrapped to the terminal under itself: the check names stay a column at any width."""
    indent = len(lead)
    for number, line in enumerate(body.wrap(console, max(console.width - indent, MIN_BODY_WIDTH))):
        line.rstrip()
        console.print(Text.assemble(lead if number == 0 else " " * indent, line), soft_wrap=True)


def print_verdict(console: Console, failed: int) -> None:
    if failed:
        console.print(Text(f"{failed} check{'s' * (failed > 1)} failed: nothing was built or deployed.", "bold red"))
    else:
        console.print(Text("Ready to deploy.", "bold green"))
