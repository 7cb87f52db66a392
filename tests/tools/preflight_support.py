"""What the preflight tests share: a fake engine on CDK_DOCKER, moto with the two answers it lacks, a ready account.

moto implements neither SES v2 `GetAccount` nor Lambda `GetAccountSettings`, and verifies every SES identity at
once; `CannedAnswers` gives the two answers through botocore's `before-call` hook (the request never leaves the
client) and marks `pending` identities unverified in moto's answer. Every call's IAM name is recorded.
"""

from __future__ import annotations

import io
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from rich.console import Console

from stacks.settings import Settings
from tools.preflight import run_preflight
from tools.preflight.assembly import Assembly
from tools.preflight.engine import Engine

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's
FAKE_DOCKER = Path(__file__).resolve().parent / "preflight_fake_docker.py"
NEW_ACCOUNT_SES = {
    "ProductionAccessEnabled": False,
    "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0},
}
NEW_ACCOUNT_LAMBDA = {"AccountLimit": {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}}


def fake_engine(directory: Path, state: str, *, log: Path | None = None) -> Engine:
    """An executable `docker` in `directory` answering as an engine in `state` (see preflight_fake_docker.py)."""
    script = directory / "docker"
    env = f"FAKE_DOCKER_STATE={state}" + (f" FAKE_DOCKER_LOG={log}" if log else "")
    script.write_text(f'#!/bin/sh\nexec env {env} "{sys.executable}" "{FAKE_DOCKER}" "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return Engine(str(script))


@dataclass
class CannedAnswers:
    ses_account: dict[str, Any] = field(default_factory=lambda: dict(NEW_ACCOUNT_SES))
    lambda_settings: dict[str, Any] = field(default_factory=lambda: dict(NEW_ACCOUNT_LAMBDA))
    pending: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def attach(self, session: boto3.Session) -> boto3.Session:
        session.events.register("before-parameter-build", self._record)
        # botocore uses what a before-call handler returns as the response (typed as returning None in the stubs).
        session.events.register("before-call.sesv2.GetAccount", cast(Any, self._answer_ses))
        session.events.register("before-call.lambda.GetAccountSettings", cast(Any, self._answer_lambda))
        session.events.register("after-call.ses.GetIdentityVerificationAttributes", self._mark_pending)
        return session

    def _mark_pending(self, parsed: dict[str, Any], **_: Any) -> None:
        for identity, attributes in parsed.get("VerificationAttributes", {}).items():
            if identity in self.pending:
                attributes["VerificationStatus"] = "Pending"

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.signing_name}:{model.name}")

    def _answer_ses(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return self._answer(self.ses_account)

    def _answer_lambda(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return self._answer(self.lambda_settings)

    @staticmethod
    def _answer(parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://canned", 200, HTTPHeaders(), None), {
            **parsed,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }


def make_ready(session: boto3.Session, settings: Settings, assembly_dir: Path) -> None:
    """Bootstrap the moto account at the version the assembly needs and verify the sender and recipients."""
    ssm = session.client("ssm", region_name=REGION)
    for parameter, version in Assembly.read(assembly_dir).bootstrap_versions.items():
        ssm.put_parameter(Name=parameter, Value=str(version), Type="String", Overwrite=True)
    ses = session.client("ses", region_name=REGION)
    for address in (settings.sender, *settings.recipients):
        ses.verify_email_identity(EmailAddress=address)


def run(
    settings: Settings, session: boto3.Session, assembly_dir: Path, engine: Engine, *, engine_checks: bool = True
) -> tuple[bool, list[str]]:
    """Run the preflight as `make` does and return (ready, the printed lines)."""
    out = io.StringIO()
    console = Console(file=out, width=400, color_system=None, highlight=False)
    ready = run_preflight(
        settings,
        session=session,
        region=REGION,
        assembly_dir=assembly_dir,
        engine=engine,
        engine_checks=engine_checks,
        console=console,
    )
    return ready, out.getvalue().splitlines()


def line_of(lines: list[str], check: str) -> str:
    return next(line for line in lines if line[2:].startswith(check))


def fix_of(lines: list[str], check: str) -> str:
    index = lines.index(line_of(lines, check))
    following = lines[index + 1].strip() if index + 1 < len(lines) else ""
    return following.removeprefix("fix: ") if following.startswith("fix: ") else ""
