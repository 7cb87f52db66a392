"""The one file that says what the checks let through, each entry with the reason a reviewer accepted."""

from __future__ import annotations

import tomllib
from pathlib import Path

from checks import ALLOWLIST_FILE

MIN_REASON_WORDS = 8


class AllowlistError(ValueError):
    """An allow-list entry has no reason, or a reason that is not one full sentence."""


def load_section(section: str, path: Path = ALLOWLIST_FILE) -> dict[str, str]:
    """Entry → reason for one section (`[section."entry"]` tables with a `reason` key)."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    entries = data.get(section, {})
    reasons: dict[str, str] = {}
    for entry, table in entries.items():
        reason = str(table.get("reason", "")).strip() if isinstance(table, dict) else ""
        if len(reason.split()) < MIN_REASON_WORDS or not reason.endswith("."):
            raise AllowlistError(f"{path.name}: [{section}.{entry!r}] needs a reason of one full sentence")
        reasons[entry] = reason
    return reasons
