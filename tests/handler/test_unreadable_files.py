"""A file nobody can read yet is announced with its reason and what its owner must do; never a link that won't open.

Archive classes and restores go through moto's S3 → EventBridge → SQS path, since moto enforces them (GET answers
InvalidObjectState, a presigned URL answers 403). What moto does not produce is injected at the boto3 boundary
(`ObjectGuard`) with the answers AWS documents: Intelligent-Tiering's archive tiers (HEAD's ArchiveStatus, GET's
InvalidObjectState with an AccessTier), a KMS key the role may not use (HEAD names the key, GET is denied), and a
customer-provided key (HEAD 400 without a body, GET InvalidRequest).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.handler.support import (
    BUCKET,
    KMS_KEY,
    Inbox,
    LambdaContext,
    LogCapture,
    ObjectGuard,
    emitted_metrics,
    handle,
)

SMALL = b"%PDF-1.7 small enough to attach"
# Over the handler tests' 1 MiB message limit: sent as a link when readable.
LARGE = b"x" * (1024 * 1024 + 1)


def _assert_notice(inbox: Inbox, *, name: str, size_text: str, says: list[str]) -> None:
    """One mail: it names the file, its size and key, says why nobody can read it, carries no file and no link."""
    [mail] = inbox.sent_mail()
    assert mail.attachments == []
    assert "https://" not in mail.text
    assert "href=" not in mail.html
    assert mail.message["Subject"] == f"New file in the inbox: {name}"
    assert f"File name:    {name}" in mail.text
    assert size_text in mail.text
    assert "Nobody can download it yet" in mail.text
    for words in says:
        assert words in mail.text
        assert words.replace("'", "&#x27;") in mail.html or words in mail.html


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
@pytest.mark.parametrize("name", ["report.pdf", "setup.exe"])
def test_an_archived_file_is_announced_with_the_restore_it_needs_never_linked(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
    storage_class: str,
    body: bytes,
    name: str,
) -> None:
    # GIVEN a file stored straight into an archive class: small, too large to attach, or of a refused type
    record = inbox.upload_and_receive(f"incoming/{name}", body, StorageClass=storage_class)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is done at once (no retries): the recipients are told it arrived, why they cannot get it, and what
    # the owner must do; it is counted as unreadable, never as mailed or linked, and logged as an error
    assert response == {"batchItemFailures": []}
    _assert_notice(
        inbox,
        name=name,
        size_text=f"({len(body):,} bytes)" if len(body) >= 1024 else f"{len(body)} bytes",
        says=[f"({storage_class})", "Initiate restore"],
    )
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["FilesUnreadable"] == 1
    assert metrics["FilesMailed"] == metrics["FilesLinked"] == metrics["FilesFailed"] == 0
    [error] = [entry for entry in logs.records if entry["message"] == "File unreadable"]
    assert error["level"] == "ERROR"
    assert error["cause"] == "archived"
    assert storage_class in error["reason"]
    assert error["key"] == f"incoming/{name}"


def test_a_file_being_restored_is_announced_as_such(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, rewire: Callable[..., None]
) -> None:
    # GIVEN an archived file whose restore has started but not completed (HEAD's Restore: ongoing-request="true")
    record = inbox.upload_and_receive("incoming/cold.csv", LARGE, StorageClass="GLACIER")

    class Restoring(ObjectGuard):
        def head_object(self, **params: Any) -> Any:
            return {**super().head_object(**params), "Restore": 'ongoing-request="true"'}

    rewire(s3=Restoring(inbox.s3))

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN the notice says a restore is under way
    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name="cold.csv", size_text="(1,048,577 bytes)", says=["is being restored"])


@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["attached", "linked"])
def test_a_restored_archived_file_is_mailed_as_usual(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, body: bytes
) -> None:
    # GIVEN an archived file whose restore has completed (moto: Restore ongoing-request="false")
    record = inbox.upload_and_receive("incoming/thawed.bin", body, StorageClass="DEEP_ARCHIVE")
    inbox.s3.restore_object(Bucket=BUCKET, Key="incoming/thawed.bin", RestoreRequest={"Days": 1})

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is attached or linked like any readable file (the link is fetched after the test, and opens)
    assert response == {"batchItemFailures": []}
    [mail] = inbox.sent_mail()
    if body is SMALL:
        assert mail.attachments == [("thawed.bin", SMALL)]
    else:
        assert "Download it here" in mail.text


@pytest.mark.parametrize("tier", ["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"])
@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
def test_an_intelligent_tiering_archive_tier_is_announced_never_linked(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    guard: ObjectGuard,
    tier: str,
    body: bytes,
) -> None:
    # GIVEN an Intelligent-Tiering file moved to an opt-in archive tier (HEAD's ArchiveStatus; moto has no tiers)
    inbox.upload("incoming/tiered.csv", body, StorageClass="INTELLIGENT_TIERING")
    [record] = inbox.receive_records()
    version = inbox.s3.head_object(Bucket=BUCKET, Key="incoming/tiered.csv")["VersionId"]
    guard.archive_tier[version] = tier

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN the recipients are told it is in that tier and must be restored; nothing was downloaded or presigned
    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name="tiered.csv", size_text="bytes", says=["Intelligent-Tiering", "Initiate restore"])
    assert "get_object" not in guard.calls
    assert "generate_presigned_url" not in guard.calls


@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
@pytest.mark.parametrize("name", ["report.pdf", "setup.exe"])
def test_a_file_under_a_kms_key_the_role_may_not_use_is_announced_naming_the_key_and_the_grant(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    guard: ObjectGuard,
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
    body: bytes,
    name: str,
) -> None:
    # GIVEN a file encrypted under a KMS key the function's role has no kms:Decrypt on (HEAD works, GET is denied)
    inbox.upload(f"incoming/{name}", body)
    [record] = inbox.receive_records()
    guard.kms_denied.add(inbox.s3.head_object(Bucket=BUCKET, Key=f"incoming/{name}")["VersionId"])

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is announced at once, naming the key and the missing grant; no link was made for it
    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name=name, size_text="bytes", says=[KMS_KEY, "kms:Decrypt"])
    assert "generate_presigned_url" not in guard.calls
    assert emitted_metrics(capsys.readouterr().out)["FilesUnreadable"] == 1
    [error] = [entry for entry in logs.records if entry["message"] == "File unreadable"]
    assert error["cause"] == "kms-key"
    assert KMS_KEY in error["reason"]
    assert "s3:GetObject" not in error["reason"]


def test_a_file_under_a_disabled_kms_key_is_announced_with_kms_answer(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, guard: ObjectGuard
) -> None:
    inbox.upload("incoming/locked.pdf", SMALL)
    [record] = inbox.receive_records()
    guard.kms_disabled.add(inbox.s3.head_object(Bucket=BUCKET, Key="incoming/locked.pdf")["VersionId"])

    response = handle(function_module, lambda_context, record)

    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name="locked.pdf", size_text="bytes", says=[KMS_KEY, "KMS.DisabledException"])


def test_a_large_file_under_a_usable_kms_key_is_linked_after_a_one_byte_probe(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, rewire: Callable[..., None]
) -> None:
    # GIVEN a large file encrypted under a KMS key the role may use
    guard = ObjectGuard(inbox.s3, all_under_kms=True)
    rewire(s3=guard)
    record = inbox.upload_and_receive("incoming/big.bin", LARGE)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN one byte was read to prove the key usable, then it was linked (and the link opens, checked after)
    assert response == {"batchItemFailures": []}
    assert guard.calls == ["head_object", "list_object_versions", "get_object ranged", "generate_presigned_url"]
    [mail] = inbox.sent_mail()
    assert "Download it here" in mail.text


@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
def test_a_file_under_a_customer_provided_key_is_announced_as_sse_c(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    guard: ObjectGuard,
    logs: LogCapture,
    body: bytes,
) -> None:
    # GIVEN a file uploaded with SSE-C: HEAD answers 400 without a body, GET names server-side encryption
    inbox.upload("incoming/secret.pdf", body)
    [record] = inbox.receive_records()
    guard.sse_c.add(inbox.s3.head_object(Bucket=BUCKET, Key="incoming/secret.pdf")["VersionId"])

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is announced (size from the event), naming SSE-C and what to do, instead of failing as a bad request
    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name="secret.pdf", size_text="bytes", says=["SSE-C", "without a customer-provided key"])
    [error] = [entry for entry in logs.records if entry["message"] == "File unreadable"]
    assert error["cause"] == "sse-c"


def test_an_archived_file_is_not_mistaken_for_a_deleted_one(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    rewire: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a file HEAD reports as STANDARD but whose GET answers InvalidObjectState (archived between the two)
    class ArchivedAfterHead(ObjectGuard):
        def get_object(self, **params: Any) -> Any:
            error = {"Code": "InvalidObjectState", "Message": "not valid", "StorageClass": "DEEP_ARCHIVE"}
            raise ClientError({"Error": error}, "GetObject")  # type: ignore[typeddict-item]

    rewire(s3=ArchivedAfterHead(inbox.s3))
    record = inbox.upload_and_receive("incoming/raced.pdf", SMALL)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN it is announced as archived, not skipped as deleted
    assert response == {"batchItemFailures": []}
    _assert_notice(inbox, name="raced.pdf", size_text="bytes", says=["(DEEP_ARCHIVE)"])
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["FilesUnreadable"] == 1
    assert metrics["SkippedDeleted"] == 0


def test_a_notice_is_sent_once_however_often_the_event_comes(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    record = inbox.upload_and_receive("incoming/frozen.pdf", SMALL, StorageClass="GLACIER")

    for _ in range(3):
        assert handle(function_module, lambda_context, record) == {"batchItemFailures": []}

    assert len(inbox.sent_mail()) == 1


@pytest.mark.parametrize(
    ("code", "announced"),
    [
        ("KMS.DisabledException", True),
        ("KMS.KMSInvalidStateException", True),
        ("KMS.NotFoundException", True),
        ("KMS.ThrottlingException", False),
        ("KMS.KMSInternalException", False),
        ("KMS.DependencyTimeoutException", False),
    ],
)
def test_a_kms_answer_that_lasts_is_announced_one_that_passes_is_retried(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    rewire: Callable[..., None],
    code: str,
    announced: bool,
) -> None:
    # GIVEN a KMS-encrypted file whose GET S3 answers with a KMS error
    class KmsAnswer(ObjectGuard):
        def get_object(self, **params: Any) -> Any:
            raise ClientError({"Error": {"Code": code, "Message": "KMS said no"}}, "GetObject")

    rewire(s3=KmsAnswer(inbox.s3, all_under_kms=True))
    record = inbox.upload_and_receive("incoming/keyed.pdf", SMALL)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN a lasting answer (disabled, pending deletion, gone) is announced at once; a passing one is retried
    if announced:
        assert response == {"batchItemFailures": []}
        _assert_notice(inbox, name="keyed.pdf", size_text="bytes", says=[KMS_KEY, code])
    else:
        assert len(response["batchItemFailures"]) == 1
        assert inbox.sent_mail() == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ClientError({"Error": {"Code": "NoSuchVersion", "Message": "gone"}}, "GetObject"), "skipped"),
        (EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com"), "retried"),
    ],
    ids=["deleted-since-head", "s3-unreachable"],
)
def test_a_kms_file_gone_or_unreachable_at_the_probe_is_never_linked(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    rewire: Callable[..., None],
    logs: LogCapture,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    expected: str,
) -> None:
    # GIVEN a large KMS-encrypted file whose one-byte probe finds it deleted, or cannot reach S3
    class ProbeFails(ObjectGuard):
        def get_object(self, **params: Any) -> Any:
            raise error

    rewire(s3=ProbeFails(inbox.s3, all_under_kms=True))
    record = inbox.upload_and_receive("incoming/vanishing.bin", LARGE)

    # WHEN it is handled
    response = handle(function_module, lambda_context, record)

    # THEN no mail is sent: a deleted file is skipped as deleted, an unreachable S3 is retried with its reason
    assert inbox.sent_mail() == []
    if expected == "skipped":
        assert response == {"batchItemFailures": []}
        assert emitted_metrics(capsys.readouterr().out)["SkippedDeleted"] == 1
    else:
        assert len(response["batchItemFailures"]) == 1
        [warning] = [entry for entry in logs.at_level("WARNING") if "reason" in entry]
        assert warning["reason"].startswith("could not read from S3")
