"""Figure 3: import the handler module and build its clients in a fresh interpreter, against boto3 alone.

Each run is a new `python -c` process with the environment the function gets (stacks/mailer.py) plus fake
credentials; the time is taken inside the process around the import, so interpreter start-up is excluded
from both sides alike. Runs alternate between the handler and the reference.
"""

from __future__ import annotations

import json
import subprocess

from bench.common import LAMBDA_IMAGE, VENV_BIN, Figure, alternating, median
from checks.cdk_cli import cdk_env

GOAL_RATIO = 1.3

FUNCTION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "SENDER_ADDRESS": "mailer@example.com",
    "RECIPIENTS": "ops@example.com",
    "INBOX_BUCKET": "inbox-bucket-bench",
    "INBOX_PREFIX": "incoming/",
    "IDEMPOTENCY_TABLE": "idempotency-bench",
    "IDEMPOTENCY_TTL_SECONDS": "345600",
    "MAX_MESSAGE_BYTES": "10485760",
    "LINK_EXPIRY_SECONDS": "3600",
    "POWERTOOLS_SERVICE_NAME": "inbox-mailer",
    "POWERTOOLS_METRICS_NAMESPACE": "InboxMailer",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/inbox-uploads-bench",
    "MAX_CONCURRENCY": "2",
    "SES_CONFIGURATION_SET": "inbox-mailer-bench",
}

_TIMER = "import time\n_start = time.perf_counter()\n{body}\nprint(time.perf_counter() - _start)\n"
HANDLER = _TIMER.format(body="import lambda_function")
REFERENCE = _TIMER.format(
    body="\n".join(
        [
            "import boto3",
            "from botocore.config import Config",
            "boto3.client('s3', config=Config(signature_version='s3v4'))",
            "boto3.client('sesv2')",
            "boto3.client('dynamodb')",
        ]
    )
)


def _run(code: str) -> float:
    env = {**cdk_env(), **FUNCTION_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code], cwd=LAMBDA_IMAGE, env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(runs: int) -> Figure:
    # Bytecode writing is off, so the untimed first runs compile nothing new; they warm the file cache.
    handler_times, reference_times = alternating(lambda: _run(HANDLER), lambda: _run(REFERENCE), runs)
    handler, reference = median(handler_times), median(reference_times)
    return Figure(
        name="cold_start",
        value=handler,
        reference=reference,
        unit="s",
        goal=f"ratio <= {GOAL_RATIO}",
        met=handler / reference <= GOAL_RATIO,
        detail={
            "runs": runs,
            "handler_runs_s": [round(t, 4) for t in handler_times],
            "reference_runs_s": [round(t, 4) for t in reference_times],
            "reference": "import boto3; clients s3, sesv2, dynamodb",
        },
    )


if __name__ == "__main__":
    print(json.dumps(measure(7).as_dict(), indent=2))
