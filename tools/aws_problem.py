"""One line for the operator from an AWS error: what went wrong, and whether waiting or a permission fixes it.

A denied call names the IAM action the credentials lack; a 5xx or throttling answer says to try again, since no
permission would change it; expired credentials say to sign in again.
"""

from __future__ import annotations

import re
from functools import cache

import botocore.session
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

# The error codes AWS services use for "these credentials may not do this".
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation", "UnauthorizedException"}
)
# Credentials that are wrong or too old: no policy change helps, signing in again does.
EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId", "UnrecognizedClientException"}
)
# The services the operator tools call, by botocore's name, with the IAM prefix where it differs.
IAM_PREFIXES = {
    "cloudformation": "cloudformation",
    "sqs": "sqs",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "sesv2": "ses",
    "lambda": "lambda",
    "ecr": "ecr",
}
# How AWS names the action in a denial: "... is not authorized to perform: ses:GetAccount on resource ...".
_ACTION_IN_MESSAGE = re.compile(r"perform: (?P<action>[a-z0-9-]+:[A-Za-z0-9]+)")


def describe(error: ClientError, *, needed_for: str = "this section") -> str:
    """The operator's one line for `error`; `needed_for` says what the denied permission would have served."""
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in DENIED_CODES:
        return f"not allowed: {action(error)} — the credentials need it for {needed_for}"
    if code in EXPIRED_CODES:
        return f"the credentials were refused ({code}): sign in again (`aws sso login` or `aws configure`)"
    if status >= 500 or _throttled(error):
        return f"AWS had a problem ({code or status}), try again"
    message = " ".join(str(details.get("Message", "")).split())
    # An HTML error page (a proxy or an emulator, not AWS's own answer) says nothing more than its status.
    if not code or code.isdigit() or message.startswith("<"):
        return f"AWS refused {error.operation_name} (HTTP {status})"
    return f"AWS refused {error.operation_name}: {code}: {message}".rstrip(": ")


def action(error: ClientError) -> str:
    """The IAM action behind a failed call, as AWS named it or else from the operation's service."""
    found = _ACTION_IN_MESSAGE.search(str(error.response.get("Error", {}).get("Message", "")))
    if found:
        return found["action"]
    for service, prefix in IAM_PREFIXES.items():
        if error.operation_name in _operations(service):
            return f"{prefix}:{error.operation_name}"
    return error.operation_name


def _throttled(error: ClientError) -> bool:
    # botocore's own list of the codes that mean "slow down", the one its retries use.
    context = RetryContext(attempt_number=1, parsed_response=dict(error.response))
    return bool(ThrottledRetryableChecker().is_retryable(context))


@cache
def _operations(service: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)
