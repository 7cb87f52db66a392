"""One SQS record in, at most one email per uploaded object version out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
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

from inbox_mailer.delivery import DeliveryError, DeliveryResult, Outcome, deliver
from inbox_mailer.events import MalformedEventError, UploadedObject, parse_sqs_body
from inbox_mailer.metric_names import Metric
from inbox_mailer.settings import MailerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client


def utc_now() -> datetime:
    return datetime.now(UTC)


class Mailer:
    """Processes SQS records; every collaborator is given, so tests can swap any of them."""

    def __init__(
        self,
        *,
        settings: MailerSettings,
        s3: S3Client,
        ses: SESV2Client,
        persistence_store: BasePersistenceLayer,
        idempotency_config: IdempotencyConfig,
        logger: Logger,
        metrics: Metrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._s3 = s3
        self._ses = ses
        self._logger = logger
        self._metrics = metrics
        self._clock = clock
        # Keyed on the object's identity alone (UploadedObject.identity): a duplicate or late
        # delivery of the same upload gets the stored result and sends nothing.
        self._mail_once = idempotent_function(
            self._mail,
            data_keyword_argument="identity",
            persistence_store=persistence_store,
            config=idempotency_config,
        )

    def process_record(self, record: SQSRecord) -> None:
        """Raises when the record must be retried; returns when it is done or has nothing to do."""
        self._logger.set_correlation_id(record.message_id)
        try:
            uploads = parse_sqs_body(record.body)
        except MalformedEventError as error:
            self._fail(
                reason=f"malformed message ({error}); it will not succeed on retry and goes to the "
                "dead-letter queue after the last receive: inspect it there",
                retryable=False,
            )
            raise
        if not uploads:
            self._logger.info("Message announces no upload (test event or other event type); skipped")
        failures = [upload for upload in uploads if not self._process_upload(upload)]
        if failures:
            raise DeliveryError(f"{len(failures)} of {len(uploads)} uploads in the message failed", retryable=True)

    def _process_upload(self, upload: UploadedObject) -> bool:
        self._logger.append_keys(bucket=upload.bucket, key=upload.key, version_id=upload.version_id)
        try:
            if not self._is_inbox_object(upload):
                self._logger.info("Object is outside the inbox prefix or is a folder; skipped")
                return True
            result = self._mail_once(identity=upload.identity(), upload=upload)
            self._logger.info("Upload processed", extra={"result": result})
            return True
        except DeliveryError as error:
            self._fail(reason=error.reason, retryable=error.retryable, error_code=error.error_code)
            return False
        except IdempotencyAlreadyInProgressError:
            self._fail(
                reason="another invocation is mailing this upload right now; will be retried",
                retryable=True,
            )
            return False
        except IdempotencyPersistenceLayerError as error:
            self._fail(
                reason=f"the idempotency table could not be used ({error}); will be retried",
                retryable=True,
            )
            return False
        except Exception as error:
            self._logger.exception("Unexpected error; the record will be retried")
            self._fail(reason=f"unexpected error {error!r}; will be retried", retryable=True)
            return False
        finally:
            self._logger.remove_keys(["bucket", "key", "version_id"])

    def _mail(self, *, identity: dict[str, str], upload: UploadedObject) -> dict[str, Any]:
        result = deliver(upload, settings=self._settings, s3=self._s3, ses=self._ses, now=self._clock())
        self._record_metrics(result)
        if result.outcome is Outcome.GONE:
            self._logger.info("Object (version) no longer exists; nothing to mail")
        return result.as_dict()

    def _is_inbox_object(self, upload: UploadedObject) -> bool:
        return (
            upload.bucket == self._settings.inbox_bucket
            and upload.key.startswith(self._settings.inbox_prefix)
            and not upload.key.endswith("/")
        )

    def _record_metrics(self, result: DeliveryResult) -> None:
        if result.outcome is Outcome.ATTACHED:
            self._metrics.add_metric(name=Metric.FILES_MAILED, unit=MetricUnit.Count, value=1)
            self._metrics.add_metric(name=Metric.BYTES_ATTACHED, unit=MetricUnit.Bytes, value=result.attached_bytes)
        elif result.outcome is Outcome.LINKED:
            self._metrics.add_metric(name=Metric.FILES_LINKED, unit=MetricUnit.Count, value=1)

    def _fail(self, *, reason: str, retryable: bool, error_code: str = "") -> None:
        self._metrics.add_metric(name=Metric.FILES_FAILED, unit=MetricUnit.Count, value=1)
        extra = {"reason": reason, "retryable": retryable, "error_code": error_code}
        if retryable:
            self._logger.warning("Mailing failed; SQS will redeliver the message", extra=extra)
        else:
            self._logger.error("Mailing failed permanently", extra=extra)
