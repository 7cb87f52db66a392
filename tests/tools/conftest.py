"""Fixtures: fake credentials, moto, a deployed-looking account, and a console that records what it printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from rich.console import Console

from tests.tools.support import REGION, deploy


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Fake credentials; the region is the module's `REGION` when it names one (the preflight's tests do)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", getattr(request.module, "REGION", REGION))


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def deployed(mocked_aws: None) -> dict[str, str]:
    return deploy()


@pytest.fixture
def console() -> Console:
    return Console(record=True, width=240, force_terminal=False, color_system=None)
