"""Read a synthesized cloud assembly (`cdk.out` or a test's output folder): its stacks and their templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_json(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def stack_templates(assembly: Path) -> dict[str, Path]:
    """Stack name → template file, in the order of the assembly's manifest."""
    manifest = load_json(assembly / "manifest.json")
    return {
        name: assembly / artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def asset_hashes(assembly: Path, stack_name: str, kinds: tuple[str, ...] = ("dockerImages", "files")) -> list[str]:
    """The hashes of a stack's assets of `kinds`: they change with every edit of the asset's source."""
    path = assembly / f"{stack_name}.assets.json"
    if not path.exists():
        return []
    manifest = load_json(path)
    return [asset_hash for kind in kinds for asset_hash in manifest.get(kind, {})]
