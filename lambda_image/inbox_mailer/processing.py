"""One SQS record in, at most one email per uploaded object version out.

Every upload a record announces ends in exactly one of these, each logged and counted:
- mailed (attached or linked);
- announced as unreadable: the recipients are told the file arrived, why nobody can read it yet (archived, a KMS
  key the function may not use, a customer-provided key) and what its owner must do; logged as an error and
  counted (`FilesUnreadable`, alarmed);
- skipped, with its reason: deleted or superseded before it was mailed, outside the inbox prefix, a folder
  marker, a test event, or an event of another kind;
- throttled: SES (or this instance's pacing) put the send off. The record's body goes back on the queue as a
  new message, delayed by a growing backoff, and the record itself is acknowledged. A new message starts with a
  receive count of zero, so throttling never moves a file towards the dead-letter queue; only a file throttled
  `MAX_THROTTLED_REQUEUES` times in a row (hours of throttling) is treated as failing;
- failed: the record is reported as a batch item failure, SQS redelivers it after the visibility timeout and
  moves it to the dead-letter queue after the queue's last receive.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from inbox_mailer.contract import MailerSettings, Metric
from inbox_mailer.delivery import DeliveryError, DeliveryResult, Outcome, SkipReason, deliver
from inbox_mailer.events import KeyForm, MalformedEventError, UploadedObject, parse_sqs_body
from inbox_mailer.pacing import SendPacer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

# Message attribute counting how often in a row a message was put back because of throttling.
THROTTLED_ATTRIBUTE = "ThrottledAttempts"
MAX_THROTTLED_REQUEUES = 20
# A throttled message waits about 1, 2, 4 ... seconds, at most SQS's longest delay (15 minutes).
THROTTLE_BACKOFF_BASE_SECONDS = 1.0
MAX_DELAY_SECONDS = 900
# Kept free before the function's timeout for the send itself and for saving its result.
SEND_MARGIN_SECONDS = 5.0

_SKIP_METRICS = {SkipReason.DELETED: Metric.SKIPPED_DELETED, SkipReason.SUPERSEDED: Metric.SKIPPED_SUPERSEDED}
_KEY_FORM_METRICS = {KeyForm.AS_GIVEN: Metric.KEY_MATCHED_AS_GIVEN, KeyForm.URL_DECODED: Metric.KEY_MATCHED_DECODED}


def utc_now() -> datetime:
    return datetime.now(UTC)


def throttle_delay_seconds(throttled_before: int, *, jitter: Callable[[], float] = random.random) -> int:
    """Whole seconds a throttled message waits: doubling with each throttling in a row, half of it jittered."""
    ceiling = min(float(MAX_DELAY_SECONDS), THROTTLE_BACKOFF_BASE_SECONDS * 2.0 ** min(throttled_before, 16))
    return max(1, min(MAX_DELAY_SECONDS, math.ceil(ceiling * (0.5 + 0.5 * jitter()))))


class _Status(Enum):
    DONE = "done"
    THROTTLED = "throttled"
    FAILED = "failed"


class Mailer:
    """Processes SQS records; every collaborator is given, so tests can swap any of them."""

    def __init__(
        self,
        *,
        settings: MailerSettings,
        s3: S3Client,
        ses: SESV2Client,
        sqs: Callable[[], SQSClient],
        pacer: SendPacer,
        persistence_store: BasePersistenceLayer,
        idempotency_config: IdempotencyConfig,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._s3 = s3
        self._ses = ses
        self._sqs = sqs
        self._pacer = pacer
        self._logger = logger
        self._metrics = metrics
        self._clock = clock
        self._context: LambdaContext | None = None
        # Identities mailed in this invocation: a mail SES accepted is never reported as failed.
        self._mailed: set[str] = set()
        # Keyed on the object's identity alone (UploadedObject.identity): a duplicate or late
        # delivery of the same upload gets the stored result and sends nothing.
        self._mail_once = idempotent_function(
            self._mail,
            data_keyword_argument="identity",
            persistence_store=persistence_store,
            config=idempotency_config,
        )

    def process_record(self, record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
        """Raises when the record must be retried; returns when it is done, put back, or has nothing to do."""
        self._context = lambda_context
        self._logger.set_correlation_id(record.message_id)
        try:
            announcement = parse_sqs_body(record.body)
        except MalformedEventError as error:
            self._fail(
                reason=f"malformed message ({error}); it will not succeed on retry and goes to the "
                "dead-letter queue after the last receive: inspect it there",
                retryable=False,
            )
            raise
        if announcement.test_event:
            self._skip(Metric.SKIPPED_TEST_EVENT, "S3 test event; it announces no upload")
        for _ in range(announcement.other_events):
            self._skip(Metric.SKIPPED_OTHER_EVENT, "event of another kind than Object Created; it announces no upload")
        uploads = announcement.uploads
        if not uploads and not announcement.test_event and not announcement.other_events:
            self._skip(Metric.SKIPPED_EMPTY_EVENT, "the message announces nothing (an S3 notification without records)")
        statuses = [self._process_upload(upload) for upload in uploads]
        if _Status.FAILED in statuses:
            failed = statuses.count(_Status.FAILED) + statuses.count(_Status.THROTTLED)
            raise DeliveryError(f"{failed} of {len(uploads)} uploads in the message failed", retryable=True)
        if _Status.THROTTLED in statuses:
            self._put_back_throttled(record, [upload.key for upload in uploads])

    def _process_upload(self, upload: UploadedObject) -> _Status:
        self._logger.append_keys(bucket=upload.bucket, key=upload.key, version_id=upload.version_id)
        identity = upload.identity()
        try:
            if upload.bucket != self._settings.inbox_bucket or not upload.key.startswith(self._settings.inbox_prefix):
                self._skip(Metric.SKIPPED_OUTSIDE_PREFIX, "object is outside the inbox bucket or prefix")
                return _Status.DONE
            if upload.key.endswith("/"):
                self._skip(Metric.SKIPPED_FOLDER_MARKER, "object is a folder marker")
                return _Status.DONE
            result = self._mail_once(identity=identity, upload=upload)
            self._logger.info("Upload processed", extra={"result": result})
            return _Status.DONE
        except DeliveryError as error:
            if error.throttled:
                if error.error_code:
                    # SES itself refused (the pacer's own refusals carry no SES code).
                    self._pacer.throttled()
                self._metrics.add_metric(name=Metric.SENDS_THROTTLED, unit=MetricUnit.Count, value=1)
                self._logger.warning(
                    "Sending put off; the message goes back on the queue", extra={"reason": error.reason}
                )
                return _Status.THROTTLED
            self._fail(reason=error.reason, retryable=error.retryable, error_code=error.error_code)
            return _Status.FAILED
        except IdempotencyAlreadyInProgressError:
            self._fail(
                reason="another invocation is mailing this upload right now; will be retried",
                retryable=True,
            )
            return _Status.FAILED
        except IdempotencyPersistenceLayerError as error:
            if _key(identity) in self._mailed:
                # SES accepted the mail: failing the record now would only mail it again on redelivery.
                self._logger.error(
                    "Mailed, but the record of it could not be saved after every retry; a later duplicate "
                    "delivery of this event could mail the file again",
                    extra={"reason": str(error)},
                )
                return _Status.DONE
            self._fail(reason=f"the idempotency table could not be used ({error}); will be retried", retryable=True)
            return _Status.FAILED
        except Exception as error:
            self._logger.exception("Unexpected error; the record will be retried")
            self._fail(reason=f"unexpected error {error!r}; will be retried", retryable=True)
            return _Status.FAILED
        finally:
            self._mailed.discard(_key(identity))
            self._logger.remove_keys(["bucket", "key", "version_id"])

    def _mail(self, *, identity: dict[str, str], upload: UploadedObject) -> dict[str, Any]:
        result = deliver(
            upload,
            settings=self._settings,
            s3=self._s3,
            ses=self._ses,
            now=self._clock(),
            before_send=self._wait_for_turn,
        )
        if result.outcome is not Outcome.SKIPPED:
            self._mailed.add(_key(identity))
        self._record(result)
        return result.as_dict()

    def _wait_for_turn(self) -> None:
        seconds_left = math.inf
        if self._context is not None:
            seconds_left = self._context.get_remaining_time_in_millis() / 1000 - SEND_MARGIN_SECONDS
        if not self._pacer.wait_for_turn(seconds_left, recipients=len(self._settings.recipients)):
            raise DeliveryError(
                "this instance's share of the SES sending rate has no turn left before the function's timeout; "
                "will be retried soon",
                retryable=True,
                throttled=True,
            )

    def _put_back_throttled(self, record: SQSRecord, keys: list[str]) -> None:
        throttled_before = _throttled_attempts(record)
        delay = throttle_delay_seconds(throttled_before)
        if throttled_before >= MAX_THROTTLED_REQUEUES:
            self._fail(
                reason=f"throttled {throttled_before + 1} times in a row; the queue retries it as a failure now",
                retryable=True,
                keys=keys,
            )
            raise DeliveryError("throttled too often in a row", retryable=True, throttled=True)
        try:
            self._sqs().send_message(
                QueueUrl=self._settings.queue_url,
                MessageBody=record.body,
                DelaySeconds=delay,
                MessageAttributes={
                    THROTTLED_ATTRIBUTE: {"DataType": "Number", "StringValue": str(throttled_before + 1)}
                },
            )
        except (ClientError, BotoCoreError) as error:
            self._fail(
                reason=f"could not put the throttled message back ({error}); retried sooner", retryable=True, keys=keys
            )
            self._retry_sooner(record, delay)
            raise DeliveryError("throttled, and not put back", retryable=True, throttled=True) from error
        self._logger.info(
            "Throttled message put back on the queue", extra={"delay_seconds": delay, "throttled": throttled_before + 1}
        )

    def _retry_sooner(self, record: SQSRecord, delay: int) -> None:
        """Shortens the record's visibility timeout, so its retry comes after `delay`, not the full timeout."""
        try:
            self._sqs().change_message_visibility(
                QueueUrl=self._settings.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )
        except (ClientError, BotoCoreError):
            self._logger.warning("Could not shorten the visibility timeout; SQS retries after the full timeout")

    def _record(self, result: DeliveryResult) -> None:
        if not result.versions_listed:
            self._logger.warning(
                "The key's versions could not be listed; whether the upload was withdrawn was judged from the "
                "key's current version"
            )
        if result.key_match is not None and result.key_match.decided:
            self._metrics.add_metric(name=_KEY_FORM_METRICS[result.key_match.form], unit=MetricUnit.Count, value=1)
            self._logger.info("The event's key named the object", extra={"key_form": result.key_match.form.value})
        if result.outcome is Outcome.ATTACHED:
            self._metrics.add_metric(name=Metric.FILES_MAILED, unit=MetricUnit.Count, value=1)
            self._metrics.add_metric(name=Metric.BYTES_ATTACHED, unit=MetricUnit.Bytes, value=result.attached_bytes)
        elif result.outcome is Outcome.LINKED:
            self._metrics.add_metric(name=Metric.FILES_LINKED, unit=MetricUnit.Count, value=1)
        elif result.outcome is Outcome.UNREADABLE and result.unreadable is not None:
            self._metrics.add_metric(name=Metric.FILES_UNREADABLE, unit=MetricUnit.Count, value=1)
            self._logger.error(
                "File unreadable",
                extra={
                    "reason": result.unreadable.reason,
                    "cause": result.unreadable.cause,
                    "owner_action": result.unreadable.action,
                    "message_id": result.message_id,
                },
            )
        elif result.skip_reason is not None:
            self._skip(_SKIP_METRICS[result.skip_reason], _SKIP_EXPLANATIONS[result.skip_reason])

    def _skip(self, metric: Metric, why: str) -> None:
        self._metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        self._logger.info("Upload skipped", extra={"skip_reason": metric.value, "why": why})

    def _fail(self, *, reason: str, retryable: bool, error_code: str = "", keys: list[str] | None = None) -> None:
        """Counts and logs a failure; `keys` names the uploads when the failure is the whole message's."""
        self._metrics.add_metric(name=Metric.FILES_FAILED, unit=MetricUnit.Count, value=1)
        extra: dict[str, object] = {"reason": reason, "retryable": retryable, "error_code": error_code}
        if keys is not None:
            extra["keys"] = keys
        if retryable:
            self._logger.warning("Mailing failed; SQS will redeliver the message", extra=extra)
        else:
            self._logger.error("Mailing failed permanently", extra=extra)


_SKIP_EXPLANATIONS = {
    SkipReason.DELETED: "the uploaded version no longer exists, or the file was deleted before it was mailed",
    SkipReason.SUPERSEDED: "the key now holds a newer upload, which is mailed on its own event",
}


def _key(identity: dict[str, str]) -> str:
    return "\x1f".join(f"{name}={value}" for name, value in sorted(identity.items()))


def _throttled_attempts(record: SQSRecord) -> int:
    # Indexed, not `.get()`: only indexing wraps the attribute (and answers None when it is missing).
    attribute = record.message_attributes[THROTTLED_ATTRIBUTE]
    value = None if attribute is None else attribute.string_value
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
