"""What S3 answers to HEAD and GET decides an upload's fate: skipped, retried, or failed for good.

The HEAD that locates the object and the GET that reads it can each meet every error S3 sends; the fake bucket
(tests/handler/fakes.py) raises them as boto3 does, and the mailer is fed the upload's SQS record.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from tests.handler.fakes import FakeS3, Mailbox, Metric, client_error, upload_record
from tests.handler.support import BUCKET

# Every answer meaning "that key (version) is not there": S3's 404s, and 405 for a version that is a delete marker.
GONE_CODES = ["404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed"]
# S3 is busy or failing now; a later try can succeed. A code never seen before is given the benefit of the doubt.
RETRYABLE_CODES = ["500", "503", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "SomethingNew"]
# Denied, or a request S3 refuses as invalid: no retry changes that.
PERMANENT_CODES = ["403", "AccessDenied", "400", "InvalidArgument"]
PRECONDITION_CODES = ["412", "PreconditionFailed"]
OPERATIONS = {"head_object": "HeadObject", "get_object": "GetObject"}

KEY = "incoming/report.pdf"
DATA = b"%PDF-1.7 report"


def _mailbox(*, versioned: bool = True) -> tuple[Mailbox, dict[str, Any]]:
    mailbox = Mailbox(s3=FakeS3(versioned=versioned))
    return mailbox, upload_record(mailbox, KEY, DATA)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("code", GONE_CODES)
def test_a_file_gone_before_it_is_read_is_skipped_as_deleted(code: str, operation: str, versioned: bool) -> None:
    # GIVEN an upload whose HEAD or GET S3 answers with "no such key or version"
    mailbox, record = _mailbox(versioned=versioned)
    mailbox.s3.fail[operation] = client_error(code, OPERATIONS[operation])

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it is acknowledged without a mail, and counted (only) as deleted
    assert failed == []
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"SkippedDeleted": Metric(1, "Count")}
    assert [entry["skip_reason"] for entry in mailbox.logs if "skip_reason" in entry] == ["SkippedDeleted"]


@pytest.mark.parametrize("code", PRECONDITION_CODES)
def test_an_unversioned_file_overwritten_between_head_and_get_is_skipped_as_superseded(code: str) -> None:
    # GIVEN an unversioned upload whose GET, conditional on the event's ETag, finds other content under the key
    mailbox, record = _mailbox(versioned=False)
    mailbox.s3.fail["get_object"] = client_error(code, "GetObject")

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it is acknowledged without a mail (the newer upload has its own event), counted as superseded
    assert failed == []
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"SkippedSuperseded": Metric(1, "Count")}


@pytest.mark.parametrize("code", PRECONDITION_CODES)
def test_a_precondition_failure_of_an_unconditional_versioned_get_is_retried(code: str) -> None:
    # GIVEN a versioned upload (read by version id, never conditionally) whose GET still answers 412
    mailbox, record = _mailbox(versioned=True)
    mailbox.s3.fail["get_object"] = client_error(code, "GetObject")

    # WHEN its record is handled
    failed = mailbox.handle(record)

    # THEN it is not taken for a superseded upload: the record fails, to be tried again
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    [failure] = mailbox.failures_logged()
    assert (failure["retryable"], failure["error_code"]) == (True, code)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("code", RETRYABLE_CODES)
def test_s3_errors_a_later_try_can_get_past_fail_the_record_for_a_retry(code: str, operation: str) -> None:
    # GIVEN S3 answering HEAD or GET with a server error, throttling, a timeout, or a code never seen before
    mailbox, record = _mailbox()
    mailbox.s3.fail[operation] = client_error(code, OPERATIONS[operation])

    # WHEN the record is handled
    failed = mailbox.handle(record)

    # THEN it is reported failed (SQS redelivers it), nothing is mailed, and it is counted and logged as retryable
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"FilesFailed": Metric(1, "Count")}
    [failure] = mailbox.failures_logged()
    assert failure["level"] == "WARNING"
    assert (failure["retryable"], failure["error_code"]) == (True, code)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("code", PERMANENT_CODES)
def test_s3_errors_no_retry_can_get_past_fail_the_record_for_good(code: str, operation: str) -> None:
    # GIVEN S3 denying HEAD or GET, or refusing the request as invalid
    mailbox, record = _mailbox()
    mailbox.s3.fail[operation] = client_error(code, OPERATIONS[operation])

    # WHEN the record is handled
    failed = mailbox.handle(record)

    # THEN it is reported failed, nothing is mailed, and it is logged as an error that retrying cannot fix
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"FilesFailed": Metric(1, "Count")}
    [failure] = mailbox.failures_logged()
    assert failure["level"] == "ERROR"
    assert (failure["retryable"], failure["error_code"]) == (False, code)


@pytest.mark.parametrize(
    ("where", "error"),
    [
        pytest.param("head_object", EndpointConnectionError(endpoint_url="https://s3"), id="head-unreachable"),
        pytest.param("get_object", EndpointConnectionError(endpoint_url="https://s3"), id="get-unreachable"),
        pytest.param("get_object", ReadTimeoutError(endpoint_url="https://s3"), id="get-timeout"),
        pytest.param("body", ReadTimeoutError(endpoint_url="https://s3"), id="dropped-mid-download"),
    ],
)
def test_a_connection_lost_on_the_way_to_s3_fails_the_record_for_a_retry(where: str, error: Exception) -> None:
    # GIVEN the connection to S3 failing before an answer, or while the file's bytes are being read
    mailbox, record = _mailbox()
    if where == "body":
        mailbox.s3.fail_body = error
    else:
        mailbox.s3.fail[where] = error

    # WHEN the record is handled
    failed = mailbox.handle(record)

    # THEN it is reported failed for a retry, nothing is mailed, and it is counted
    assert failed == [record["messageId"]]
    assert mailbox.ses.mails == []
    assert mailbox.metrics() == {"FilesFailed": Metric(1, "Count")}
    [failure] = mailbox.failures_logged()
    assert failure["retryable"] is True


def test_an_unversioned_file_is_read_only_if_it_still_has_the_events_etag() -> None:
    # GIVEN an upload to an unversioned bucket (its event has an ETag and no version id)
    mailbox, record = _mailbox(versioned=False)
    etag = mailbox.s3.objects[KEY].etag

    # WHEN its record is handled
    assert mailbox.handle(record) == []

    # THEN the GET is conditional on the event's ETag, and names no version
    assert mailbox.s3.params_of("get_object") == [{"Bucket": BUCKET, "Key": KEY, "IfMatch": etag}]
    assert mailbox.ses.mails[0].attachments == [("report.pdf", DATA)]


def test_an_unversioned_event_without_an_etag_reads_what_the_head_measured() -> None:
    # GIVEN an unversioned upload whose event carries no ETag
    mailbox, record = _mailbox(versioned=False)
    etag = mailbox.s3.objects[KEY].etag
    record = {**record, "body": record["body"].replace(f'"etag": "{etag}", ', "")}
    assert etag not in record["body"]

    # WHEN its record is handled
    assert mailbox.handle(record) == []

    # THEN the GET is conditional on the ETag the HEAD saw: the attached bytes are the ones whose size was checked
    assert mailbox.s3.params_of("get_object") == [{"Bucket": BUCKET, "Key": KEY, "IfMatch": etag}]


def test_a_versioned_file_is_read_by_its_version_and_never_conditionally() -> None:
    # GIVEN an upload to a versioned bucket
    mailbox, record = _mailbox(versioned=True)
    version_id = mailbox.s3.objects[KEY].version_id

    # WHEN its record is handled
    assert mailbox.handle(record) == []

    # THEN HEAD and GET name the event's version, and the GET sends no If-Match (the version cannot change)
    assert mailbox.s3.params_of("head_object")[0] == {"Bucket": BUCKET, "Key": KEY, "VersionId": version_id}
    assert mailbox.s3.params_of("get_object") == [{"Bucket": BUCKET, "Key": KEY, "VersionId": version_id}]
