"""Writes a document part that a tool generates (the settings table, the figures, the cost tables), only when it
changed, and says which of the two happened."""

from __future__ import annotations

from pathlib import Path


def rewrite(document: Path, updated: str, *, what: str, source: str) -> None:
    if updated == document.read_text(encoding="utf-8"):
        print(f"{document.name}: {what} current")
    else:
        document.write_text(updated, encoding="utf-8")
        print(f"{document.name}: {what} rewritten from {source}")
