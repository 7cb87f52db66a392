"""Every tool finds the stacks a deploy with the same options would make: one reader, the CDK CLI's precedence.

The CLI's own answer comes from `cdk context --json` (the pinned CLI), which prints the same merged context that
`cdk deploy` hands the app.
"""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from checks.cdk_cli import NODE_BIN, cdk_env
from inbox_mailer.contract import StackNames
from stacks.settings import CDK_CLI_KEYS, Settings
from tests.conftest import ROOT
from tests.tools.support import moto_clients
from tools import deploy_settings, deployed, preflight, redrive, status
from tools.deploy_settings import UsageError, merged_context, parse_cdk_args
from tools.deployed import run

# Where a deploy's context can come from, the CLI's first choice first, and the stage each one names.
STAGES = {"command line": "cli", "cdk.json": "project", "cdk.context.json": "cached", "~/.cdk.json": "home"}
SOURCES = tuple(STAGES)
# Each source also sets a key of its own.
OTHER_KEYS: dict[str, dict[str, Any]] = {
    "command line": {"timeout_seconds": "30"},
    "cdk.json": {"region": "eu-west-1"},
    "cdk.context.json": {"images_to_keep": 5},
    "~/.cdk.json": {"memory_mib": 1024},
}
# CDK's own keys are namespaced; the CLI merges object values key by key.
NESTED = "@example/tool:options"


def _write(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding="utf-8")


def _sources(tmp_path: Path, winner: str) -> tuple[Path, Path, list[str]]:
    """A project, a home folder and a command line where `winner` and every source after it set the stage."""
    contexts: dict[str, dict[str, Any]] = {}
    for rank, source in enumerate(SOURCES):
        stage = {"stage": STAGES[source]} if rank >= SOURCES.index(winner) else {}
        contexts[source] = {**OTHER_KEYS[source], **stage}
    project, home = tmp_path / "project", tmp_path / "home"
    _write(project / "cdk.json", {"app": "false", "context": {**contexts["cdk.json"], NESTED: {"b": 2}}})
    _write(project / "cdk.context.json", contexts["cdk.context.json"])
    _write(home / ".cdk.json", {"context": {**contexts["~/.cdk.json"], NESTED: {"a": 1, "b": 1}}})
    command_line = [word for key, value in contexts["command line"].items() for word in ("-c", f"{key}={value}")]
    return project, home, [*command_line, "--require-approval", "never"]


def _cli_context(project: Path, home: Path, command_line: list[str]) -> dict[str, Any]:
    env = cdk_env(HOME=str(home))
    # With CI set (as CI runs `make test`) the CLI writes its warnings to stdout, where the JSON is read from.
    env.pop("CI", None)
    result = subprocess.run(
        [str(NODE_BIN / "cdk"), "context", "--json", "--no-notices", *command_line],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    context: dict[str, Any] = json.loads(result.stdout)
    return context


def _stack_named_by(capsys: pytest.CaptureFixture[str]) -> str:
    # On an account where nothing is deployed, a tool's one line names the stack it looked for.
    (line,) = capsys.readouterr().err.splitlines()
    return line.removeprefix("error: The stack ").split(" is not deployed")[0]


@pytest.mark.parametrize("winner", SOURCES)
def test_every_tool_finds_the_stacks_the_cli_would_deploy(
    winner: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mocked_aws: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the stage set in `winner` and in every source the CLI reads after it (each source also sets another key)
    project, home, argv = _sources(tmp_path, winner)

    # WHEN the CDK CLI reads them THEN the stage is the winner's
    cli = _cli_context(project, home, argv)
    assert cli["stage"] == STAGES[winner]
    expected = StackNames.of_stage(cli["stage"])

    # AND the tools' reader hands the app exactly the context the CLI does
    assert merged_context(parse_cdk_args(argv).context, project=project, home=home) == cli

    # AND the preflight, make status and make redrive all look for that stage's stacks
    monkeypatch.setattr(deploy_settings, "PROJECT", project)
    monkeypatch.setenv("HOME", str(home))
    checked: list[Settings] = []

    def check(settings: Settings, **_: Any) -> bool:
        checked.append(settings)
        return True

    monkeypatch.setattr(preflight, "run_preflight", check)
    assert preflight.main(argv, console=Console(file=io.StringIO())) == 0
    assert [s.stack_names for s in checked] == [expected]

    console = Console(file=io.StringIO())
    assert run(lambda args: status.main(args, clients=moto_clients(), console=console), argv) == 1
    assert _stack_named_by(capsys) == expected.function
    assert run(lambda args: redrive.main(args, clients=moto_clients(), console=console), argv) == 1
    assert _stack_named_by(capsys) == expected.function


def test_what_the_cli_keeps_in_cdk_context_json_for_itself_is_no_setting(tmp_path: Path) -> None:
    # GIVEN a project where someone ran `cdk acknowledge` and `cdk cli-telemetry --disable`
    project = tmp_path / "project"
    _write(project / "cdk.json", {"app": "false", "context": {"stage": "qa"}})
    for command in (["acknowledge", "31061"], ["cli-telemetry", "--disable"]):
        subprocess.run(
            [str(NODE_BIN / "cdk"), *command, "--no-notices"],
            cwd=project, env=cdk_env(HOME=str(tmp_path)), capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    assert set(json.loads((project / "cdk.context.json").read_text())) == set(CDK_CLI_KEYS)

    # WHEN the deploy's settings are read THEN those keys are the CLI's, not unknown settings
    assert deploy_settings.read([], project=project, home=tmp_path).settings.stage == "qa"


def test_profile_and_output_come_from_the_command_line_then_cdk_json_then_home(tmp_path: Path) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    _write(project / "cdk.json", {"app": "false", "profile": "project-profile"})
    _write(home / ".cdk.json", {"profile": "home-profile", "output": "home.out"})

    from_files = deploy_settings.read([], project=project, home=home)
    assert (from_files.profile, from_files.assembly_directory) == ("project-profile", project / "home.out")

    given = deploy_settings.read(["--profile", "ops", "-o", "out"], project=project, home=home)
    assert (given.profile, given.assembly_directory) == ("ops", project / "out")

    bare = deploy_settings.read([], project=tmp_path / "empty", home=tmp_path / "nobody")
    assert (bare.profile, bare.assembly_directory) == (None, tmp_path / "empty" / "cdk.out")
    assert bare.settings == Settings()


def test_what_cdk_json_does_not_set_is_the_declared_default_unless_another_source_sets_it(tmp_path: Path) -> None:
    # GIVEN the project's cdk.json (the sender and the recipients) and a ~/.cdk.json that sets the memory
    project, home = tmp_path / "project", tmp_path / "home"
    _write(project / "cdk.json", json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")))
    _write(home / ".cdk.json", {"context": {"memory_mib": 1024}})

    # WHEN the deploy's settings are read
    settings = deploy_settings.read(["-c", "stage=qa"], project=project, home=home).settings

    # THEN the memory is the home folder's, and every other setting cdk.json leaves out is its declared default
    assert settings == replace(Settings(), stage="qa", repository_name="inbox-mailer-qa", memory_mib=1024)


def test_context_options_are_read_like_the_cdk_cli_reads_them() -> None:
    command_line = parse_cdk_args(
        ["-c", "stage=prod", "--context=recipients=a@example.com,b@example.com", "--context", "x=a=b", "-c", "e=",
         "--require-approval", "never", "--profile", "ops", "-o", "out"]
    )  # fmt: skip
    assert command_line.context == {"stage": "prod", "recipients": "a@example.com,b@example.com", "x": "a=b", "e": ""}
    assert (command_line.profile, command_line.output) == ("ops", "out")


def test_a_context_option_without_a_value_is_refused_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=r"^Context argument is not an assignment \(key=value\): 'stage'\.$"):
        parse_cdk_args(["-c", "stage"])
    # The CLI would go on without it, on another stage: the tools stop instead.
    assert run(lambda args: status.main(args, clients=moto_clients(), console=Console()), ["-c", "stage"]) == 1
    assert capsys.readouterr().err == "error: Context argument is not an assignment (key=value): 'stage'.\n"


_NO_REGION = {name: "" for name in ("AWS_REGION", "AMAZON_REGION", "AWS_DEFAULT_REGION", "AMAZON_DEFAULT_REGION")}


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_REGION": "eu-west-3"}, "eu-west-3"),
        ({"AMAZON_REGION": "ap-south-1"}, "ap-south-1"),
        ({"AWS_DEFAULT_REGION": "eu-central-1"}, "eu-central-1"),
        ({"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-central-1"}, "eu-west-3"),
        ({}, "us-east-1"),
    ],
)
def test_the_operator_tools_look_in_the_region_the_cdk_cli_deployed_to(
    environment: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN no region in the AWS configuration, and the region variables the CDK CLI reads (boto3 alone reads
    # only AWS_DEFAULT_REGION), or none: then the CLI deploys to us-east-1
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name, value in {**_NO_REGION, **environment}.items():
        monkeypatch.setenv(name, value) if value else monkeypatch.delenv(name, raising=False)
    target = deployed.target_from([])

    # WHEN a tool makes its clients THEN they look where the CLI deployed
    assert deployed.Clients.for_target(target).region == expected
    # AND a region setting wins over all of them, as it does for the CLI
    assert deployed.Clients.for_target(replace(target, region="sa-east-1")).region == "sa-east-1"
