"""More bad values for every setting (wrong type, out of range, empty, malformed), and the app's real exit.

Complements tests/infra/test_settings.py: same contract, one line that names the setting, the value and
what is accepted; `python app.py` turns it into `error: ...` on stderr, exit 1, and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.settings import Settings, SettingsError
from tests.conftest import ROOT, cdk_json_context

MORE_BAD_VALUES: list[tuple[str, Any, str]] = [
    ("sender", "x" * 65 + "@example.com", "an email address"),
    ("sender", "mailer@example.123", "an email address"),
    ("recipients", ["ops@example.123"], "email addresses"),
    ("stage", "my_stage", "lowercase"),
    ("stage", "1dev", "starting with a letter"),
    ("stage", "x" * 21, "1-20"),
    ("stage", 5, "1-20"),
    ("account", 123456789012, "12-digit"),
    ("account", "1234567890123", "12-digit"),
    ("account", "12345678901a", "12-digit"),
    # A region near a known one gets a "did you mean" (tests/infra/test_list_and_region_settings.py).
    ("region", "xx-nowhere-0", "region name"),
    ("region", 1, "region name"),
    ("repository_name", "inbox/", "lowercase"),
    ("repository_name", "inbox__mailer", "lowercase"),
    ("repository_name", 5, "lowercase"),
    ("images_to_keep", 1001, "to 1000"),
    ("images_to_keep", "ten", "from 3"),
    ("images_to_keep", "", "from 3"),
    ("sender", ["mailer@example.com"], "an email address"),
    ("sender", "mailer@example..com", "an email address"),
    ("sender", "mailer@-example.com", "an email address"),
    ("sender", "mailer@@example.com", "an email address"),
    ("sender", "mailer example@example.com", "an email address"),
    ("sender", "Mailer <mailer@example.com>", "an email address"),
    ("sender", "x" * 250 + "@example.com", "an email address"),
    ("sender_identity", "example.org", "or its domain example.com"),
    ("sender_identity", "other@example.com", "or its domain example.com"),
    ("sender_identity", 5, "or its domain example.com"),
    ("recipients", {"to": "ops@example.com"}, "email addresses"),
    ("recipients", ["ops@example.com", 5], "email addresses"),
    ("recipients", "Ops <ops@example.com>", "email addresses"),
    ("recipients", "ops@example.com dev@example.com", "email addresses"),
    ("memory_mib", "512MB", "from 128 to 10240"),
    ("memory_mib", "512.0", "from 128 to 10240"),
    ("memory_mib", -512, "from 128 to 10240"),
    ("memory_mib", "", "from 128 to 10240"),
    ("timeout_seconds", "-5", "from 1 to 900"),
    ("timeout_seconds", " ", "from 1 to 900"),
    ("timeout_seconds", "1e3", "from 1 to 900"),
    ("log_retention_days", "thirty", "retention periods"),
    ("log_retention_days", 0, "retention periods"),
    ("log_retention_days", True, "retention periods"),
    ("log_retention_days", 3650, "retention periods"),
    ("removal_policy", 1, "retain or destroy"),
    ("removal_policy", "", "retain or destroy"),
    ("inbox_prefix", "incoming//", "ending in '/'"),
    ("inbox_prefix", "in%coming/", "ending in '/'"),
    ("inbox_prefix", 5, "ending in '/'"),
    ("max_message_bytes", "10MB", "SES's limit"),
    ("max_message_bytes", -1, "SES's limit"),
    ("link_expiry_seconds", 3601, "from 60 to 3600"),
    ("link_expiry_seconds", 59, "from 60 to 3600"),
    ("max_concurrency", 1001, "from 2 to 1000"),
    ("max_concurrency", "two", "from 2 to 1000"),
    ("max_concurrency", True, "from 2 to 1000"),
    ("reserved_concurrency", 1001, "to 1000"),
    ("reserved_concurrency", "null", "'none' or a whole number"),
    ("reserved_concurrency", -1, "'none' or a whole number"),
    ("reserved_concurrency", False, "'none' or a whole number"),
    ("create_sender_identity", 1, "true or false"),
    ("create_sender_identity", "1", "true or false"),
    ("create_sender_identity", "", "true or false"),
]


@pytest.mark.parametrize(
    ("key", "value", "accepted"), MORE_BAD_VALUES, ids=[f"{k}={v!r}"[:60] for k, v, _ in MORE_BAD_VALUES]
)
def test_a_bad_value_names_the_setting_the_value_and_what_is_accepted(key: str, value: Any, accepted: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context({**cdk_json_context(), key: value})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Invalid setting '{key}' = {value!r}: expected ")
    assert accepted in message


def _run_app(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
    node_bin = ROOT / "node_modules" / ".bin"
    if not (node_bin / "node").exists():
        pytest.fail("the pinned Node is missing: run `make setup` (npm ci) first")
    env = {
        **os.environ,
        "PATH": f"{node_bin}{os.pathsep}{os.environ['PATH']}",
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("key", "value", "first_line"),
    [
        (
            "memory_mib",
            64,
            "error: Invalid setting 'memory_mib' = 64: expected a whole number of MiB from 128 to 10240.",
        ),
        ("recipients", "ops@example", "error: Invalid setting 'recipients' = 'ops@example': expected 1 to 50 "),
        ("region", "eu-west-9", "error: Invalid setting 'region' = 'eu-west-9': did you mean 'eu-west-"),
        (
            "recipient",
            "ops@example.com",
            "error: Unknown setting 'recipient': did you mean 'recipients'? Accepted settings are stage, ",
        ),
        (
            "github_repository",
            "octo-org",
            "error: Invalid setting 'github_repository' = 'octo-org': expected owner/name of the GitHub repository ",
        ),
    ],
)
def test_the_app_exits_with_one_error_line_and_no_traceback(
    tmp_path: Path, key: str, value: Any, first_line: str
) -> None:
    result = _run_app({**cdk_json_context(), key: value}, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(first_line)
    assert "Traceback" not in result.stdout + result.stderr
    assert not list(tmp_path.iterdir()), "nothing is synthesized after a bad setting"
