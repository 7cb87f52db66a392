"""The summary printed after the tests, "checked before deploy": lines tests add with the `report` fixture.

`make test` runs the tests in one pytest-xdist worker per core: each worker hands its lines to the main process,
which prints them in the tests' collection order, as a run in one process does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

# (position of the test in the collection, line)
_LINES = pytest.StashKey[list[tuple[int, str]]]()
# Where a worker hands its lines to the main process.
_WORKER_OUTPUT_KEY = "checked_before_deploy"


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Add one line to the summary printed after the tests (what each checker found, measured sizes)."""
    lines = request.config.stash.setdefault(_LINES, [])
    # Every worker collects the whole suite in the same order, so a test's position is the same in all of them.
    position = request.session.items.index(request.node)

    def add(line: str) -> None:
        lines.append((position, line))

    return add


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT_KEY] = session.config.stash.get(_LINES, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: a worker has finished; its lines join the summary this process prints."""
    lines = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY, [])
    node.config.stash.setdefault(_LINES, []).extend((position, line) for position, line in lines)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_LINES, [])
    # A stable sort: the lines of one test stay in the order it wrote them.
    lines = sorted(lines, key=lambda entry: entry[0])
    if lines:
        terminalreporter.section("checked before deploy")
        for _, line in lines:
            terminalreporter.write_line(line)
