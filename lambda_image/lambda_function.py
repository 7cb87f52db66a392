"""Lambda entry point: SQS batch of S3 "Object Created" events -> one email per uploaded file."""

from __future__ import annotations

import functools
import math
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from inbox_mailer.contract import MailerSettings
from inbox_mailer.pacing import SendPacer, account_max_send_rate
from inbox_mailer.persistence import DurableDynamoDBPersistenceLayer
from inbox_mailer.processing import Mailer

SETTINGS = MailerSettings.from_env(os.environ)

logger = Logger()
metrics = Metrics(namespace=SETTINGS.metrics_namespace)
# Failed records are reported back; a batch where every record failed is reported the same way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# SigV4 on the regional endpoint: presigned URLs then work in every region and for versioned keys.
s3 = boto3.client(
    "s3",
    config=Config(
        signature_version="s3v4",
        s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
    ),
)
sesv2 = boto3.client("sesv2")
# Needed only to put a throttled message back: made on first use, not at every cold start.
sqs = functools.cache(lambda: boto3.client("sqs"))

# The account's rate is read when the first mail of this instance is about to go out, not at import.
pacer = SendPacer(max_send_rate=lambda: account_max_send_rate(sesv2), instances=SETTINGS.max_concurrency)
idempotency_config = IdempotencyConfig(expires_after_seconds=SETTINGS.idempotency_ttl_seconds)
mailer = Mailer(
    settings=SETTINGS,
    s3=s3,
    ses=sesv2,
    sqs=sqs,
    pacer=pacer,
    # A client of the default session: left to itself Powertools opens a second boto3 session, which loads
    # botocore's service data again (about 0.1 s of every cold start).
    persistence_store=DurableDynamoDBPersistenceLayer(
        table_name=SETTINGS.idempotency_table,
        boto3_client=boto3.client("dynamodb"),
        seconds_left=lambda: _seconds_left(idempotency_config),
    ),
    idempotency_config=idempotency_config,
    logger=logger,
    metrics=metrics,
)


def _seconds_left(config: IdempotencyConfig) -> float:
    context = config.lambda_context
    return math.inf if context is None else context.get_remaining_time_in_millis() / 1000


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    return dict(
        process_partial_response(
            event=event, record_handler=mailer.process_record, processor=processor, context=context
        )
    )
