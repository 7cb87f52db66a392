"""pytest plugin of `make mutation` (loaded with `-p checks.mutation_plugin`): mutmut's tests selected by function.

mutmut passes the node ids of the tests that covered a mutant. Some parametrized ids (escaped control and
invisible characters in `tests/handler/test_every_file.py`) cannot be selected again by id, and pytest then
refuses the whole run; a test function always can be, so each id loses its parameters: every case of a
covering test runs.
"""

from __future__ import annotations

import pytest


def covering_functions(args: list[str]) -> list[str]:
    """Each node id without its parameters, once, in the order first seen; options and paths kept as they are."""
    kept: list[str] = []
    for arg in args:
        selected = arg if arg.startswith("-") else arg.split("[", 1)[0]
        if selected not in kept or selected.startswith("-"):
            kept.append(selected)
    return kept


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    args[:] = covering_functions(args)
