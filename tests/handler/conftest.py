"""Fixtures: fake credentials for every test, moto-backed AWS, and the real handler module."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from moto import mock_aws

from inbox_mailer.processing import Mailer
from tests.handler.support import (
    CONTRACT_ENV,
    REGION,
    TABLE,
    AwsClients,
    Inbox,
    LambdaContext,
    LogCapture,
    ObjectGuard,
    download_links,
    sent_through_moto,
)


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def _set_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "POWERTOOLS_IDEMPOTENCY_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name, value in CONTRACT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_environment(monkeypatch)


@pytest.fixture(autouse=True)
def no_metrics_left_behind() -> Iterator[None]:
    """Powertools keeps one metric set per process: what a test added and never flushed is dropped after it."""
    yield
    Metrics().clear_metrics()


@pytest.fixture(scope="module")
def moto_for_module() -> Iterator[None]:
    """moto started once per module: each start gives boto3 a new default session, which loads every service
    model again (once most of an end-to-end test's time). Each test still starts from empty accounts
    (`mocked_aws`)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _set_environment(monkeypatch)
        with mock_aws():
            yield


@pytest.fixture(scope="module")
def aws_clients(moto_for_module: None) -> AwsClients:
    return AwsClients.create()


@pytest.fixture
def mocked_aws(moto_for_module: None) -> Iterator[None]:
    """moto emptied for one test, as a fresh mock_aws would be; afterwards every download link the test mailed is
    fetched, and must open."""
    # moto's documented reset: every backend of every service, account and region back to empty.
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()
    yield
    for mail in sent_through_moto():
        for url in download_links(mail):
            response = requests.get(url, timeout=10)
            assert response.status_code == 200, f"a mailed link does not open ({response.status_code}): {url}"


@pytest.fixture
def inbox(mocked_aws: None, aws_clients: AwsClients) -> Inbox:
    return Inbox(aws_clients)


@pytest.fixture
def unversioned_inbox(mocked_aws: None, aws_clients: AwsClients) -> Inbox:
    return Inbox(aws_clients, versioned=False)


@pytest.fixture
def unverified_inbox(mocked_aws: None, aws_clients: AwsClients) -> Inbox:
    return Inbox(aws_clients, verify_sender=False)


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture
def function_module(mocked_aws: None, logs: LogCapture) -> Iterator[ModuleType]:
    """The real lambda_function module, imported fresh now that the environment and moto are set."""
    sys.modules.pop("lambda_function", None)
    module = importlib.import_module("lambda_function")
    module.logger.registered_handler.setStream(logs.stream)
    yield module
    sys.modules.pop("lambda_function", None)


@pytest.fixture
def rewire(function_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Rebuilds the handler's mailer around substitute S3 or SES clients (fakes)."""

    def _rewire(
        *, s3: Any = None, ses: Any = None, sqs: Any = None, pacer: Any = None, persistence_store: Any = None
    ) -> None:
        mailer = Mailer(
            settings=function_module.SETTINGS,
            s3=s3 or function_module.s3,
            ses=ses or function_module.sesv2,
            sqs=(lambda: sqs) if sqs is not None else function_module.sqs,
            pacer=pacer or function_module.pacer,
            persistence_store=persistence_store or DynamoDBPersistenceLayer(table_name=TABLE),
            idempotency_config=function_module.idempotency_config,
            logger=function_module.logger,
            metrics=function_module.metrics,
        )
        monkeypatch.setattr(function_module, "mailer", mailer)

    return _rewire


@pytest.fixture
def guard(inbox: Inbox, rewire: Callable[..., None]) -> ObjectGuard:
    """The handler's S3 behind an ObjectGuard: AWS's answers where moto has none, for the versions a test lists."""
    guarded = ObjectGuard(inbox.s3)
    rewire(s3=guarded)
    return guarded
