"""A redriven file that was already mailed is not mailed again: the real handler, moto, and `make redrive`'s replay."""

from __future__ import annotations

from types import ModuleType

from rich.console import Console

from tests.handler.support import Inbox, LambdaContext, sqs_event
from tools.redrive import Queue, replay


def test_a_replayed_event_of_a_file_already_mailed_sends_no_second_mail(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN a file that was mailed, whose event also sits in UndeliverableEvents (EventBridge retried and gave up
    # after a delivery that did reach the queue)
    record = inbox.upload_and_receive("incoming/report.pdf", b"%PDF-1.7 report")
    assert function_module.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1
    undeliverable_url = inbox.sqs.create_queue(QueueName="undeliverable-events")["QueueUrl"]
    inbox.sqs.send_message(QueueUrl=undeliverable_url, MessageBody=record["body"])

    # WHEN `make redrive` replays it to the queue and the function handles it again
    replayed = replay(
        inbox.sqs,
        Queue.named(inbox.sqs, "undeliverable-events"),
        Queue.named(inbox.sqs, "inbox-uploads"),
        console=Console(quiet=True),
    )
    assert replayed.sent == 1
    (again,) = inbox.receive_records()
    assert again["body"] == record["body"]
    response = function_module.handler(sqs_event(again), lambda_context)

    # THEN the batch succeeds and still only one mail was sent
    assert response == {"batchItemFailures": []}
    assert len(inbox.sent_mail()) == 1


def test_a_replayed_event_of_a_file_not_yet_mailed_is_mailed_once(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN the event of an uploaded file that never reached the queue, only UndeliverableEvents
    record = inbox.upload_and_receive("incoming/lost.pdf", b"%PDF-1.7 lost")
    undeliverable_url = inbox.sqs.create_queue(QueueName="undeliverable-events")["QueueUrl"]
    inbox.sqs.send_message(QueueUrl=undeliverable_url, MessageBody=record["body"])

    # WHEN it is replayed and handled
    replay(
        inbox.sqs,
        Queue.named(inbox.sqs, "undeliverable-events"),
        Queue.named(inbox.sqs, "inbox-uploads"),
        console=Console(quiet=True),
    )
    (again,) = inbox.receive_records()
    assert function_module.handler(sqs_event(again), lambda_context) == {"batchItemFailures": []}

    # THEN the file is mailed, once
    assert len(inbox.sent_mail()) == 1
