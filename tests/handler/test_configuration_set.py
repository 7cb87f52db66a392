"""Every mail goes through the stack's SES configuration set, named by SES_CONFIGURATION_SET.

moto accepts ConfigurationSetName but does not store it, so the request is read back from the real client's
parameters (a botocore event hook on the handler's own SES client), then the mail from moto.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tests.handler.support import CONTRACT_ENV, Inbox, LambdaContext, sqs_event


def test_the_mail_is_sent_through_the_configured_configuration_set(
    inbox: Inbox, function_module: ModuleType, lambda_context: LambdaContext
) -> None:
    # GIVEN the handler's SES client, recording the parameters of every SendEmail request
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    function_module.sesv2.meta.events.register("provide-client-params.sesv2.SendEmail", record)
    record_ = inbox.upload_and_receive("incoming/invoice.pdf", b"%PDF-1.7 invoice")

    # WHEN the function mails the uploaded file
    response = function_module.handler(sqs_event(record_), lambda_context)

    # THEN the one SendEmail request named the configuration set, and the mail went out
    assert response == {"batchItemFailures": []}
    assert [params.get("ConfigurationSetName") for params in sent] == [CONTRACT_ENV["SES_CONFIGURATION_SET"]]
    assert len(inbox.sent_mail()) == 1
