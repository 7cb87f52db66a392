"""An upload's fate depends only on its own version and on whether it was withdrawn (real handler, moto).

A version with a delete marker right after it (`aws s3 rm` before the next upload of the name, or none) was
withdrawn and is not mailed; a version followed only by newer uploads is mailed. The key's current version is
never what decides: it may be one the function cannot read.
"""

from __future__ import annotations

from itertools import count
from types import ModuleType

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handler.support import (
    BUCKET,
    Inbox,
    LambdaContext,
    LogCapture,
    ObjectGuard,
    emitted_metrics,
    handle,
)

_NAMES = count()


def _mailed_bodies(inbox: Inbox, since: int = 0) -> list[bytes]:
    return [data for mail in inbox.sent_mail()[since:] for _, data in mail.attachments]


def test_a_version_removed_and_uploaded_again_is_not_mailed_the_new_one_is(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a.pdf uploaded, removed with `aws s3 rm`, and uploaded again, all before any event was handled
    inbox.upload("incoming/a.pdf", b"first")
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/a.pdf")
    inbox.upload("incoming/a.pdf", b"second")
    records = inbox.receive_records()

    # WHEN both events are handled
    response = handle(function_module, lambda_context, *records)

    # THEN only the second upload is mailed; the first is counted as deleted
    assert response == {"batchItemFailures": []}
    assert _mailed_bodies(inbox) == [b"second"]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["SkippedDeleted"] == 1
    assert metrics["FilesMailed"] == 1


def test_a_version_followed_only_by_newer_uploads_is_still_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN three uploads of one name, the last one then removed
    for body in (b"one", b"two", b"three"):
        inbox.upload("incoming/b.pdf", body)
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/b.pdf")
    records = inbox.receive_records()

    # WHEN their events are handled
    handle(function_module, lambda_context, *records)

    # THEN the two that newer uploads followed are mailed; the removed last one is not
    assert _mailed_bodies(inbox) == [b"one", b"two"]


def test_an_older_readable_version_is_mailed_when_the_newest_cannot_be_read(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, guard: ObjectGuard
) -> None:
    # GIVEN a readable upload, then a newer one of the same name under a customer-provided key (HEAD answers 400)
    inbox.upload("incoming/c.pdf", b"readable")
    newer = inbox.upload("incoming/c.pdf", b"sealed")
    assert newer is not None
    guard.sse_c.add(newer)
    first, _ = inbox.receive_records()

    # WHEN the older upload's event is handled
    response = handle(function_module, lambda_context, first)

    # THEN it is mailed: the newer version's trouble is not its own, and its current version was never looked at
    assert response == {"batchItemFailures": []}
    assert _mailed_bodies(inbox) == [b"readable"]
    assert guard.calls.count("head_object") == 1


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "AccessDenied", "Message": "no s3:ListBucketVersions"}}, "ListObjectVersions"),
        ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}}, "List"),
    ],
    ids=["denied", "server-error"],
)
def test_when_versions_cannot_be_listed_the_current_version_decides_and_never_blocks(
    inbox: Inbox,
    function_module: ModuleType,
    lambda_context: LambdaContext,
    guard: ObjectGuard,
    logs: LogCapture,
    error: ClientError,
) -> None:
    # GIVEN the version list unavailable; one name removed after its upload, another whose newest version is SSE-C
    guard.list_error = error
    inbox.upload("incoming/gone.pdf", b"gone")
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/gone.pdf")
    inbox.upload("incoming/kept.pdf", b"kept")
    sealed = inbox.upload("incoming/kept.pdf", b"sealed")
    assert sealed is not None
    guard.sse_c.add(sealed)
    gone, kept, _ = inbox.receive_records()

    # WHEN their events are handled
    response = handle(function_module, lambda_context, gone, kept)

    # THEN the removed one is skipped (its current version is a delete marker), the other mailed, and the fallback
    # is logged as a warning for each
    assert response == {"batchItemFailures": []}
    assert _mailed_bodies(inbox) == [b"kept"]
    warnings = [entry for entry in logs.at_level("WARNING") if "could not be listed" in entry["message"]]
    assert len(warnings) == 2


def test_a_version_deep_under_many_newer_uploads_is_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, guard: ObjectGuard
) -> None:
    # GIVEN one upload followed by more newer uploads of its name than the lookback lists
    from inbox_mailer.delivery import WITHDRAWAL_LOOKBACK

    inbox.upload("incoming/busy.txt", b"oldest")
    first = inbox.receive_records()
    for number in range(WITHDRAWAL_LOOKBACK):
        inbox.upload("incoming/busy.txt", str(number).encode())
    inbox.receive_records()

    # WHEN the first upload's event is handled
    handle(function_module, lambda_context, *first)

    # THEN it is mailed, after listing no more than the lookback
    assert _mailed_bodies(inbox) == [b"oldest"]
    assert guard.calls.count("list_object_versions") == WITHDRAWAL_LOOKBACK


def test_a_longer_name_sharing_the_prefix_never_counts_as_the_same_file(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN d.pdf uploaded, then d.pdf.bak uploaded and removed (its delete marker sorts after d.pdf's versions)
    inbox.upload("incoming/d.pdf", b"the file")
    inbox.upload("incoming/d.pdf.bak", b"backup")
    inbox.s3.delete_object(Bucket=BUCKET, Key="incoming/d.pdf.bak")
    records = inbox.receive_records()

    # WHEN both events are handled
    handle(function_module, lambda_context, *records)

    # THEN d.pdf is mailed; d.pdf.bak, withdrawn, is not
    assert _mailed_bodies(inbox) == [b"the file"]


# Each step on one name: "put" uploads a new version, "rm" adds a delete marker, "other" uploads a longer name
# that shares the prefix.
_STEPS = st.lists(st.sampled_from(["put", "rm", "other"]), min_size=1, max_size=8)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_STEPS)
def test_exactly_the_versions_not_followed_by_a_delete_marker_are_mailed(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext, steps: list[str]
) -> None:
    # GIVEN a generated timeline of uploads and removals of one name, all before any event is handled
    key = f"incoming/timeline-{next(_NAMES)}.txt"
    expected: list[bytes] = []
    pending: bytes | None = None
    for number, step in enumerate(steps):
        if step == "put":
            if pending is not None:
                expected.append(pending)
            pending = f"{key} version {number}".encode()
            inbox.upload(key, pending)
        elif step == "rm":
            pending = None
            inbox.s3.delete_object(Bucket=BUCKET, Key=key)
        else:
            inbox.upload(f"{key}.other", b"another file")
    if pending is not None:
        expected.append(pending)
    records = [record for record in inbox.receive_records() if f'"{key}"' in record["body"]]
    mailed_before = len(inbox.sent_mail())

    # WHEN the name's events are handled, in the order they came
    response = handle(function_module, lambda_context, *records) if records else {"batchItemFailures": []}

    # THEN every version is mailed except those a delete marker followed, each once, in upload order
    assert response == {"batchItemFailures": []}
    assert _mailed_bodies(inbox, since=mailed_before) == expected
