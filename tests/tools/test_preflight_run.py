"""The preflight as a whole: the order of its checks, `make deploy` stopping before the deploy, PREFLIGHT=0."""

from __future__ import annotations

import io
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from rich.console import Console

import tools.preflight as preflight
from tests.conftest import ROOT, Synthesized
from tests.tools.preflight_support import REGION, CannedAnswers, fake_engine, fix_of, line_of, make_ready, run
from tools.preflight.engine import Engine

ORDER = [
    "Container engine",
    "Image builder",
    "arm64 builds",
    "AWS credentials",
    "CDK bootstrap",
    "SES sender",
    "SES sandbox",
    "Lambda concurrency",
    "Image repository",
    "Image tag",
]


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        yield CannedAnswers().attach(boto3.Session(region_name=REGION))


def _checks(lines: list[str]) -> list[str]:
    return [line[2:].split("  ")[0].strip() for line in lines if line[:2] in ("✔ ", "✘ ", "- ")]


def test_a_ready_machine_and_account_pass_every_check_in_order(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    # GIVEN a healthy engine and a bootstrapped account where the sender and recipients are verified
    make_ready(session, synthesized.settings, synthesized.outdir)
    # WHEN the preflight runs
    ready, lines = run(synthesized.settings, session, synthesized.outdir, fake_engine(tmp_path, "healthy"))
    # THEN every check passes, in the documented order, and the deploy may go on
    assert ready
    assert _checks(lines) == ORDER
    assert all(line.startswith("✔ ") for line in lines[:-1])
    assert lines[-1] == "Ready to deploy."


def test_a_new_account_fails_with_each_fix_and_nothing_goes_on(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    # GIVEN a brand-new account: no bootstrap, no SES identity, in the SES sandbox
    ready, lines = run(synthesized.settings, session, synthesized.outdir, fake_engine(tmp_path, "healthy"))
    assert not ready
    assert _checks(lines) == ORDER
    failed = [name for name in ORDER if line_of(lines, name).startswith("✘ ")]
    assert failed == ["CDK bootstrap", "SES sender", "SES sandbox"]
    assert fix_of(lines, "CDK bootstrap") == "`make bootstrap` (once per account and region)"
    assert lines[-1] == "3 checks failed: nothing was built or deployed."


def test_an_engine_failure_skips_the_engine_checks_that_need_it_but_not_the_account(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    make_ready(session, synthesized.settings, synthesized.outdir)
    ready, lines = run(synthesized.settings, session, synthesized.outdir, fake_engine(tmp_path, "no-daemon"))
    assert not ready
    assert line_of(lines, "Container engine").startswith("✘ ")
    assert line_of(lines, "Image builder") == "- Image builder       not checked: needs a working container engine"
    assert line_of(lines, "arm64 builds").startswith("- ")
    assert line_of(lines, "SES sender").startswith("✔ ")
    assert lines[-1] == "1 check failed: nothing was built or deployed."


def test_engine_checks_can_be_skipped_for_a_cloud_build(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    # GIVEN no engine at all, and the caller saying the image is built in the cloud
    make_ready(session, synthesized.settings, synthesized.outdir)
    log = tmp_path / "docker.log"
    engine = fake_engine(tmp_path, "no-daemon", log=log)
    ready, lines = run(synthesized.settings, session, synthesized.outdir, engine, engine_checks=False)
    # THEN the engine is never asked and the rest passes
    assert ready
    assert not log.exists()
    assert line_of(lines, "Container engine") == (
        "- Container engine    not needed: image_build is cloud (the image is built in AWS)"
    )


def test_the_command_line_skips_the_engine_when_the_settings_say_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the preflight with its checks replaced by a recorder
    seen: dict[str, Any] = {}
    monkeypatch.setattr(preflight, "run_preflight", lambda *_, **kwargs: seen.update(kwargs) or True)

    # WHEN the tool starts with image_build=cloud (the image is built in CodeBuild)
    assert preflight.main(["-c", "image_build=cloud"], console=Console(file=io.StringIO())) == 0

    # THEN it asks for no engine checks; with the default settings it does
    assert seen["engine_checks"] is False
    preflight.main([], console=Console(file=io.StringIO()))
    assert seen["engine_checks"] is True


def test_a_bad_setting_stops_with_one_line() -> None:
    out = io.StringIO()
    assert preflight.main(["-c", "timeout_seconds=901"], console=Console(file=out, width=300)) == 2
    assert out.getvalue() == (
        "error: Invalid setting 'timeout_seconds' = '901': expected a whole number of seconds from 1 to 900.\n"
    )


# --- make -------------------------------------------------------------------------------------------------


def _make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT, env=env or dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


# What make deploy runs (the preflight first, PREFLIGHT=0 skips it) is in tests/tools/test_make.py.


@pytest.fixture
def fake_cdk(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "cdk.log"
    script = tmp_path / "cdk"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def _offline_env(tmp_path: Path, state: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "AWS_PROFILE"}
    # Nothing listens on the discard port: AWS answers "connection refused" at once.
    return {
        **env,
        "CDK_DOCKER": fake_engine(tmp_path, state).command,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
    }


def test_make_deploy_stops_before_the_deploy_when_a_check_fails(
    fake_cdk: tuple[Path, Path], tmp_path: Path, synthesized: Synthesized
) -> None:
    # GIVEN an engine without a daemon (and no AWS to reach)
    cdk, log = fake_cdk
    # (a wide terminal: each check's line whole, as the assertions below read it)
    env = {**_offline_env(tmp_path, "no-daemon"), "COLUMNS": "200"}
    # WHEN make deploy runs
    result = _make("deploy", f"CDK={cdk}", f"ARGS=-o {synthesized.outdir}", env=env)
    # THEN it failed on the preflight, and the CLI was asked to synthesize but never to deploy
    assert result.returncode != 0
    assert "✘ Container engine" in result.stdout
    assert (
        '✘ AWS credentials     AWS could not be reached: Could not connect to the endpoint URL: "http://127.0.0.1:9/"'
        in (result.stdout)
    )
    assert "nothing was built or deployed." in result.stdout
    assert log.read_text().splitlines() == [f"synth --quiet -o {synthesized.outdir}"]


def test_make_deploy_preflight_0_goes_straight_to_the_deploy(fake_cdk: tuple[Path, Path], tmp_path: Path) -> None:
    cdk, log = fake_cdk
    result = _make("deploy", "PREFLIGHT=0", f"CDK={cdk}", env=_offline_env(tmp_path, "no-daemon"))
    assert result.returncode == 0, result.stderr
    assert "Preflight" not in result.stdout
    assert log.read_text().splitlines() == ["deploy --all"]


# --- docs/preflight.md ------------------------------------------------------------------------------------


def test_the_preflight_doc_shows_real_runs(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the app as cdk.json configures it, a healthy engine found as `docker` on PATH, and a new account (moto)
    fake_engine(tmp_path, "healthy")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    docker = Engine("docker")
    # WHEN the preflight runs on the new account, then again once it is bootstrapped and the addresses verified
    _, new_account = run(synthesized.settings, session, synthesized.outdir, docker)
    make_ready(session, synthesized.settings, synthesized.outdir)
    _, ready = run(synthesized.settings, session, synthesized.outdir, docker)
    # THEN both outputs appear in docs/preflight.md word for word
    document = (ROOT / "docs" / "preflight.md").read_text(encoding="utf-8")
    header = "Preflight of stage dev (cdk.out):"
    for lines in (new_account, ready):
        block = "\n".join([header, *lines])
        assert block in document, f"docs/preflight.md should show this run:\n{block}"


def test_a_read_the_credentials_may_not_make_fails_that_check_with_the_reason(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    # GIVEN a role that may deploy but not read the bootstrap version
    make_ready(session, synthesized.settings, synthesized.outdir)

    def deny(**_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not for you"}}, "GetParameter")

    session.events.register("before-call.ssm.GetParameter", deny)
    ready, lines = run(synthesized.settings, session, synthesized.outdir, fake_engine(tmp_path, "healthy"))
    # THEN that check fails with AWS's reason and the way out, and the others still run
    assert not ready
    assert line_of(lines, "CDK bootstrap") == (
        "✘ CDK bootstrap       AWS refused GetParameter: AccessDeniedException: not for you"
    )
    assert fix_of(lines, "CDK bootstrap") == (
        "give your credentials read access to it, or skip the preflight with PREFLIGHT=0 if you know why"
    )
    assert line_of(lines, "SES sender").startswith("✔ ")


def test_without_a_synthesized_app_the_account_checks_say_to_synthesize(
    session: boto3.Session, synthesized: Synthesized, tmp_path: Path
) -> None:
    ready, lines = run(synthesized.settings, session, tmp_path / "cdk.out", fake_engine(tmp_path, "healthy"))
    assert not ready
    assert line_of(lines, "CDK bootstrap") == f"✘ CDK bootstrap       no synthesized app in {tmp_path / 'cdk.out'}"
    assert fix_of(lines, "CDK bootstrap") == "run `make preflight` (it synthesizes before it checks)"
    assert line_of(lines, "Image tag") == "- Image tag           not checked: needs a synthesized app"
