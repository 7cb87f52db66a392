"""The preflight stays a package split by concern: no module of it grows past 250 lines."""

from __future__ import annotations

from pathlib import Path

import tools.preflight

MAX_LINES = 250
PACKAGE = Path(tools.preflight.__file__).parent


def oversized(package: Path) -> dict[str, int]:
    """Each module of `package` longer than MAX_LINES, with its number of lines."""
    sizes = {
        str(module.relative_to(package)): len(module.read_text(encoding="utf-8").splitlines())
        for module in sorted(package.rglob("*.py"))
    }
    return {name: lines for name, lines in sizes.items() if lines > MAX_LINES}


def test_no_module_of_the_preflight_is_over_250_lines() -> None:
    assert PACKAGE.name == "preflight"
    assert len(list(PACKAGE.glob("*.py"))) > 2  # a package split by concern, not one module renamed
    assert oversized(PACKAGE) == {}


def test_a_module_over_250_lines_is_named_with_its_size(tmp_path: Path) -> None:
    # GIVEN a package where one module has grown one line past the limit and another sits at it
    (tmp_path / "checks.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    (tmp_path / "render.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    # WHEN / THEN only the one over the limit is reported
    assert oversized(tmp_path) == {"checks.py": MAX_LINES + 1}
