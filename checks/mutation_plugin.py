"""pytest plugin of `make mutation` (loaded with `-p checks.mutation_plugin`): how a mutant's tests run.

- mutmut passes the node ids of the tests that covered a mutant. Some parametrized ids (escaped control and
  invisible characters in `tests/handler/test_every_file.py`) cannot be selected again by id, and pytest then
  refuses the whole run; a test function always can be, so each id loses its parameters: every case of a
  covering test runs.
- mutmut stops at the first failure (`-x`), so the test modules that took least time in mutmut's clean run go
  first: a killed mutant dies early. Tests keep their order inside a module, so module fixtures are built once.
- Property tests run 40 examples each (profile `mutation`) instead of 150: a planted bug that only 1 input in
  40 reveals is rare, and the whole run is several times shorter.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import settings

# Written by mutmut in its `mutants/` folder, the working directory of every test run.
STATS_FILE = Path("mutmut-stats.json")
MUTATION_PROFILE = "mutation"


def covering_functions(args: list[str]) -> list[str]:
    """Each node id without its parameters, once, in the order first seen; options and paths kept as they are."""
    kept: list[str] = []
    for arg in args:
        selected = arg if arg.startswith("-") else arg.split("[", 1)[0]
        if selected not in kept or selected.startswith("-"):
            kept.append(selected)
    return kept


def module_durations(duration_by_test: dict[str, float]) -> dict[str, float]:
    """Seconds each test module's tests took, from mutmut's clean run (node ids `path::name[...]`)."""
    totals: dict[str, float] = defaultdict(float)
    for node_id, seconds in duration_by_test.items():
        totals[node_id.split("::", 1)[0]] += seconds
    return dict(totals)


def fastest_modules_first(node_ids: list[str], durations: dict[str, float]) -> list[int]:
    """Positions of `node_ids` reordered by their module's duration (unknown modules last), stable otherwise."""
    slowest = max(durations.values(), default=0.0) + 1.0

    def key(position: int) -> tuple[float, int]:
        return durations.get(node_ids[position].split("::", 1)[0], slowest), position

    return sorted(range(len(node_ids)), key=key)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    args[:] = covering_functions(args)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    settings.register_profile(MUTATION_PROFILE, parent=settings.get_profile("default"), max_examples=40)
    settings.load_profile(MUTATION_PROFILE)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        durations = module_durations(json.loads(STATS_FILE.read_text(encoding="utf-8"))["duration_by_test"])
    except (OSError, ValueError, KeyError):
        return
    order = fastest_modules_first([item.nodeid for item in items], durations)
    items[:] = [items[position] for position in order]
