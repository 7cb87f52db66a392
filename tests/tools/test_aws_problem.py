"""The operator's one line for an AWS error: denied names the action, 5xx and throttling say try again."""

from __future__ import annotations

from typing import Any, cast

from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from tools import aws_problem

# The operations the operator tools call, with the IAM action a denial of each needs.
OPERATIONS = {
    "GetAccount": "ses:GetAccount",
    "ListMessageMoveTasks": "sqs:ListMessageMoveTasks",
    "StartMessageMoveTask": "sqs:StartMessageMoveTask",
    "DescribeAlarms": "cloudwatch:DescribeAlarms",
    "FilterLogEvents": "logs:FilterLogEvents",
    "DescribeStacks": "cloudformation:DescribeStacks",
    "DescribeImages": "ecr:DescribeImages",
    "GetFunction": "lambda:GetFunction",
}


def _error(code: str, status: int, operation: str, message: str = "") -> ClientError:
    answer = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(cast(Any, answer), operation)


@given(code=st.sampled_from(sorted(aws_problem.DENIED_CODES)), operation=st.sampled_from(sorted(OPERATIONS)))
def test_a_denial_without_a_message_names_the_action_from_the_operation(code: str, operation: str) -> None:
    line = aws_problem.describe(_error(code, 403, operation))
    assert line == f"not allowed: {OPERATIONS[operation]} — the credentials need it for this section"


def test_a_denial_names_the_action_aws_names() -> None:
    message = "User: arn:aws:sts::1:assumed-role/r/me is not authorized to perform: ses:GetAccount on resource: *"
    assert aws_problem.describe(_error("AccessDeniedException", 400, "GetAccount", message)).startswith(
        "not allowed: ses:GetAccount"
    )


@given(status=st.integers(500, 599), code=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", min_size=1, max_size=20))
def test_a_5xx_says_try_again(status: int, code: str) -> None:
    line = aws_problem.describe(_error(code, status, "GetAccount"))
    assert line == f"AWS had a problem ({code}), try again"


# Codes from botocore's list of throttling answers, the one its retries use.
THROTTLING_CODES = ["Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"]


@given(code=st.sampled_from(THROTTLING_CODES), status=st.sampled_from([400, 429]))
def test_throttling_says_try_again_not_permissions(code: str, status: int) -> None:
    assert (
        aws_problem.describe(_error(code, status, "ListMessageMoveTasks")) == f"AWS had a problem ({code}), try again"
    )


def test_expired_credentials_say_sign_in_again() -> None:
    assert "sign in again" in aws_problem.describe(_error("ExpiredToken", 400, "DescribeStacks"))


def test_any_other_refusal_says_what_aws_answered() -> None:
    line = aws_problem.describe(_error("ValidationError", 400, "DescribeStacks", "Stack name is too long"))
    assert line == "AWS refused DescribeStacks: ValidationError: Stack name is too long"


def test_an_html_error_page_is_its_status_not_the_page() -> None:
    # What moto 5.2.5's server answers to SES v2 GetAccount, which it lacks.
    page = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    assert aws_problem.describe(_error("404", 404, "GetAccount", page)) == "AWS refused GetAccount (HTTP 404)"


@given(message=st.text(min_size=1))
def test_the_line_is_one_line_whatever_aws_says(message: str) -> None:
    line = aws_problem.describe(_error("ValidationError", 400, "DescribeStacks", message))
    assert "\n" not in line
    assert line.startswith("AWS refused DescribeStacks")
