"""In-memory AWS at the boto3 boundary, and the mailer built around it: fast tests of what happens to one record.

`Mailbox` wires a `Mailer` as lambda_function does, with a fake S3 bucket, SES, SQS queue and idempotency table,
and hands SQS records to it through Powertools' batch processor, as the handler does. The fakes answer with the
errors boto3 raises (`ClientError` with S3's or SES's codes, `BotoCoreError`), and fail on demand.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import ClientError

from inbox_mailer.contract import MailerSettings
from inbox_mailer.pacing import SendPacer
from inbox_mailer.processing import Mailer
from tests.handler.support import BUCKET, CONTRACT_ENV, LambdaContext, SentMail, load_event, sqs_event, sqs_record

NOW = datetime(2026, 11, 12, 10, 21, 0, tzinfo=UTC)

# Powertools shares one logger per service name and one metric set per process: the fakes' own, reset per Mailbox.
_LOG_STREAM = io.StringIO()
_LOGGER = Logger(service="inbox-mailer-fakes", level="INFO", stream=_LOG_STREAM)
_METRICS = Metrics(namespace="InboxMailerTest")


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


@dataclass
class StoredObject:
    data: bytes
    version_id: str | None
    content_type: str | None = None

    @property
    def etag(self) -> str:
        return hashlib.md5(self.data).hexdigest()  # S3's ETag of a single-part upload


class _Body:
    def __init__(self, data: bytes, failure: BaseException | None) -> None:
        self._data = data
        self._failure = failure

    def close(self) -> None:
        return None

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        for start in range(0, len(self._data), chunk_size):
            yield self._data[start : start + chunk_size]
            if self._failure is not None:
                raise self._failure


class FakeS3:
    """One bucket's current objects by key, answering HEAD, GET and presigning as S3 does.

    `fail[operation]` is raised by every call of that operation; `fail_body` is raised once the first chunk of a
    GET's body has been read (a connection dropped mid-download).
    """

    def __init__(self, *, versioned: bool = True) -> None:
        self.versioned = versioned
        self.objects: dict[str, StoredObject] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: dict[str, BaseException] = {}
        self.fail_body: BaseException | None = None
        self._versions = itertools.count(1)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> StoredObject:
        version_id = f"v{next(self._versions)}" if self.versioned else None
        stored = StoredObject(data=data, version_id=version_id, content_type=content_type)
        self.objects[key] = stored
        return stored

    def params_of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def head_object(self, **params: Any) -> dict[str, Any]:
        stored = self._find("head_object", params, missing="404")
        head: dict[str, Any] = {"ContentLength": len(stored.data), "ETag": f'"{stored.etag}"', "LastModified": NOW}
        if stored.content_type is not None:
            head["ContentType"] = stored.content_type
        return head

    def get_object(self, **params: Any) -> dict[str, Any]:
        stored = self._find("get_object", params, missing="NoSuchKey")
        if "IfMatch" in params and params["IfMatch"].strip('"') != stored.etag:
            raise client_error("PreconditionFailed", "GetObject")
        return {"Body": _Body(stored.data, self.fail_body)}

    def list_object_versions(self, **params: Any) -> dict[str, Any]:
        """The key's one current version (this bucket keeps no history; a deleted key has none)."""
        self.calls.append(("list_object_versions", params))
        if "list_object_versions" in self.fail:
            raise self.fail["list_object_versions"]
        stored = self.objects.get(params["Prefix"]) if params["Bucket"] == BUCKET else None
        versions = (
            [] if stored is None else [{"Key": params["Prefix"], "VersionId": stored.version_id, "IsLatest": True}]
        )
        return {"Versions": versions, "IsTruncated": False}

    def generate_presigned_url(self, operation: str, *, Params: dict[str, str], ExpiresIn: int) -> str:  # noqa: N803
        self.calls.append(
            ("generate_presigned_url", {"operation": operation, "Params": Params, "ExpiresIn": ExpiresIn})
        )
        version = f"versionId={Params['VersionId']}&" if "VersionId" in Params else ""
        return f"https://{Params['Bucket']}.s3.amazonaws.com/{Params['Key']}?{version}X-Amz-Expires={ExpiresIn}"

    def _find(self, operation: str, params: dict[str, Any], *, missing: str) -> StoredObject:
        self.calls.append((operation, params))
        if operation in self.fail:
            raise self.fail[operation]
        stored = self.objects.get(params["Key"]) if params["Bucket"] == BUCKET else None
        if stored is None:
            raise client_error(missing, operation)
        if "VersionId" in params and params["VersionId"] != stored.version_id:
            raise client_error("404" if operation == "head_object" else "NoSuchVersion", operation)
        return stored


class FakeSes:
    """SES v2 that accepts every mail, after raising the given errors in turn (one per send)."""

    def __init__(self, *errors: BaseException, during_send: Callable[[], None] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._errors = list(errors)
        self._during_send = during_send

    def send_email(self, **params: Any) -> dict[str, Any]:
        if self._during_send is not None:
            self._during_send()
        if self._errors:
            raise self._errors.pop(0)
        self.requests.append(params)
        return {"MessageId": f"fake-{len(self.requests)}"}

    @property
    def mails(self) -> list[SentMail]:
        return [
            SentMail(
                source=params["FromEmailAddress"],
                destinations=list(params["Destination"]["ToAddresses"]),
                raw=params["Content"]["Raw"]["Data"],
            )
            for params in self.requests
        ]


class FakeQueue:
    """The SQS queue a throttled message is put back on; `send_error` makes putting back fail."""

    def __init__(self, *, send_error: BaseException | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.visibility_changes: list[dict[str, Any]] = []
        self._send_error = send_error

    def send_message(self, **params: Any) -> dict[str, Any]:
        if self._send_error is not None:
            raise self._send_error
        self.sent.append(params)
        return {"MessageId": f"requeued-{len(self.sent)}"}

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        self.visibility_changes.append(params)
        return {}


class MemoryStore(BasePersistenceLayer):
    """The idempotency table in memory, with DynamoDB's conditions; `down` fails every write as an outage would."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.records: dict[str, DataRecord] = {}
        self.down = False
        self.success_writes_fail = False

    def _get_record(self, idempotency_key: str) -> DataRecord:
        try:
            return self.records[idempotency_key]
        except KeyError:
            raise IdempotencyItemNotFoundError from None

    def _put_record(self, data_record: DataRecord) -> None:
        self._check("PutItem")
        old = self.records.get(data_record.idempotency_key)
        if old is not None and not old.is_expired and not _in_progress_expired(old):
            raise IdempotencyItemAlreadyExistsError(old_data_record=old)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self._check("UpdateItem")
        if self.success_writes_fail:
            raise client_error("InternalServerError", "UpdateItem")
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self._check("DeleteItem")
        self.records.pop(data_record.idempotency_key, None)

    def _check(self, operation: str) -> None:
        if self.down:
            raise client_error("ResourceNotFoundException", operation)


def _in_progress_expired(record: DataRecord) -> bool:
    expiry = record.in_progress_expiry_timestamp
    return record.status == "INPROGRESS" and expiry is not None and expiry < datetime.now().timestamp() * 1000


@dataclass(frozen=True)
class Metric:
    value: float
    unit: str


@dataclass
class Mailbox:
    """The mailer as lambda_function builds it, around the fakes; `handle` is the handler's batch processing."""

    s3: FakeS3 = field(default_factory=FakeS3)
    ses: FakeSes = field(default_factory=FakeSes)
    sqs: FakeQueue = field(default_factory=FakeQueue)
    store: MemoryStore = field(default_factory=MemoryStore)
    settings: MailerSettings = field(default_factory=lambda: MailerSettings.from_env(CONTRACT_ENV))

    def __post_init__(self) -> None:
        _LOG_STREAM.seek(0)
        _LOG_STREAM.truncate()
        _METRICS.clear_metrics()
        self.idempotency_config = IdempotencyConfig(expires_after_seconds=self.settings.idempotency_ttl_seconds)
        self.mailer = Mailer(
            settings=self.settings,
            s3=self.s3,  # type: ignore[arg-type]
            ses=self.ses,  # type: ignore[arg-type]
            sqs=lambda: self.sqs,  # type: ignore[arg-type,return-value]
            pacer=SendPacer(max_send_rate=lambda: None, instances=1),
            persistence_store=self.store,
            idempotency_config=self.idempotency_config,
            logger=_LOGGER,
            metrics=_METRICS,
            clock=lambda: NOW,
        )

    def handle(self, *records: dict[str, Any]) -> list[str]:
        """Message ids of the records reported as batch item failures (the ones SQS redelivers)."""
        context = LambdaContext()
        self.idempotency_config.register_lambda_context(context)  # type: ignore[arg-type]
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        response = process_partial_response(
            event=sqs_event(*records),
            record_handler=self.mailer.process_record,
            processor=processor,
            context=context,  # type: ignore[arg-type]
        )
        return [str(failure["itemIdentifier"]) for failure in response["batchItemFailures"]]

    def metrics(self) -> dict[str, Metric]:
        """Every metric added since this mailbox was made: name -> summed value and unit (then forgotten)."""
        if not _METRICS.metric_set:
            return {}
        document: dict[str, Any] = dict(_METRICS.serialize_metric_set())
        _METRICS.clear_metrics()
        found = {}
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found[metric["Name"]] = Metric(sum(value) if isinstance(value, list) else value, metric["Unit"])
        return found

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in _LOG_STREAM.getvalue().splitlines() if line.strip()]

    def failures_logged(self) -> list[dict[str, Any]]:
        """The structured log entries of failed uploads (those carrying `retryable`)."""
        return [entry for entry in self.logs if "retryable" in entry]


def eventbridge_body(
    key: str,
    *,
    version_id: str | None,
    etag: str | None,
    size: int = 5,
    sequencer: str = "00617F08299329D189",
    bucket: str = BUCKET,
) -> str:
    event = load_event("eventbridge_object_created.json")
    obj = event["detail"]["object"]
    obj.update(key=key, size=size, sequencer=sequencer)
    event["detail"]["bucket"]["name"] = bucket
    for name, value in (("version-id", version_id), ("etag", etag)):
        if value is None:
            del obj[name]
        else:
            obj[name] = value
    return json.dumps(event)


def s3_notification_record(
    key: str,
    *,
    version_id: str | None,
    etag: str,
    sequencer: str,
    event_name: str = "ObjectCreated:Put",
    size: int = 5,
) -> dict[str, Any]:
    """One record of a direct S3 notification; the key is given URL-encoded, as S3 sends it."""
    record: dict[str, Any] = load_event("s3_notification_object_created.json")["Records"][0]
    record["eventName"] = event_name
    obj = record["s3"]["object"]
    obj.update(key=key, size=size, eTag=etag, sequencer=sequencer)
    if version_id is None:
        del obj["versionId"]
    else:
        obj["versionId"] = version_id
    return record


def s3_notification_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def upload_record(mailbox: Mailbox, key: str, data: bytes, *, message_id: str = "m-1", **extra: Any) -> dict[str, Any]:
    """Puts a file in the fake bucket and returns the SQS record of its EventBridge event."""
    stored = mailbox.s3.put(key, data, **extra)
    body = eventbridge_body(key, version_id=stored.version_id, etag=stored.etag, size=len(data))
    return sqs_record(body, message_id)
