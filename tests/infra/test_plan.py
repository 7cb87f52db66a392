"""The plan `make synth` prints: who mails whom, the placeholders to change, the parts of each stack, at 80 columns.

Real synths (the session's of cdk.json with its placeholders; one with real addresses and another prefix through the
context), and generated settings written into the function's environment of the first, the one place the plan reads
them from. Every synth records each resource's construct path, as `cdk synth` does (`--path-metadata`, on by default).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from inbox_mailer.contract import ENVIRONMENT
from tests.conftest import AS_THE_CLI_DOES
from tests.infra.conftest import ROOT, Synthesized, cdk_json_context, synthesize
from tools import show_plan
from tools.cost.report import fixed_monthly_line
from tools.show_plan import WIDTH, Assembly, Stack

REAL = {"sender": "robot@corp.io", "recipients": "alice@corp.io; bob@partner.org", "inbox_prefix": "drop/box/"}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize({**cdk_json_context(), **AS_THE_CLI_DOES, **REAL}, tmp_path_factory.mktemp("real.out"))


def _first_view(outdir: Path) -> str:
    return show_plan.render(show_plan.plan(Assembly.read(outdir)))


def _on_an_80_column_console(text: str) -> str:
    """What a terminal 80 columns wide shows: any line longer than that would be folded onto two."""
    console = Console(width=80, file=io.StringIO(), color_system=None, markup=False, highlight=False, emoji=False)
    console.print(text, end="")
    shown: str = console.file.getvalue()  # type: ignore[attr-defined]
    return shown


def _unwrapped(text: str) -> str:
    return " ".join(text.split())


def _warnings(text: str) -> list[str]:
    """Each placeholder warning, its continuation lines joined back on."""
    warnings: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("!"):
            warnings.append(line.strip())
        elif warnings and line.startswith(" " * 6) and not warnings[-1].endswith(")"):
            warnings[-1] += " " + line.strip()
    return warnings


def _logical_ids(outdir: Path) -> set[str]:
    return {logical_id for stack in Assembly.read(outdir).stacks for logical_id in stack.resources}


def test_the_plan_says_who_mails_whom_and_flags_both_placeholders(synthesized: Synthesized) -> None:
    shown = _first_view(synthesized.outdir)
    assert "  sender       mailer@example.com\n" in shown
    assert "  recipients   ops@example.com\n" in shown
    assert "each file uploaded under incoming/ in the inbox bucket" in shown
    assert _warnings(shown) == [
        "! change sender before `make deploy` (it is still mailer@example.com)",
        "! change recipients before `make deploy` (it is still ops@example.com)",
    ]


def test_real_addresses_and_another_prefix_are_shown_and_nothing_is_flagged(real: Synthesized) -> None:
    shown = _first_view(real.outdir)
    assert "  sender       robot@corp.io\n" in shown
    assert "  recipients   alice@corp.io, bob@partner.org\n" in shown
    assert "each file uploaded under drop/box/ in the inbox bucket" in shown
    assert _warnings(shown) == []
    assert "example.com" not in shown


def test_the_first_view_fits_an_80_column_console_and_keeps_logical_ids_and_assets_out(
    synthesized: Synthesized,
) -> None:
    shown = _first_view(synthesized.outdir)
    # Nothing folded: the console shows exactly the plan's lines.
    assert _on_an_80_column_console(shown) == shown
    assert max(len(line) for line in shown.splitlines()) <= WIDTH
    assert "asset." not in shown
    assert "AWS::" not in shown
    leaked = {logical_id for logical_id in _logical_ids(synthesized.outdir) if logical_id in shown}
    assert not leaked


def test_the_first_view_names_the_parts_in_a_readers_words(synthesized: Synthesized) -> None:
    shown = _unwrapped(_first_view(synthesized.outdir))
    for words in (
        "the repository inbox-mailer-dev (tags immutable but live, rollback-*; scanned on push)",
        "the bucket: upload files here",
        "the queue (keeps messages 4 days; to the dead-letter queue after 5 tries)",
        "the dead-letter queue (keeps messages 14 days): files that could not be mailed after every retry",
        "the function (arm64 image; 512 MiB; timeout 60 s)",
        "the function reads the queue",
        "the 11 alarms notify nobody",
        "the image: built for linux/arm64 by the local container engine before this stack deploys, pushed to the "
        "repository inbox-mailer-dev",
        "2 stacks; `make deploy` deploys them in this order (python tools/show_plan.py --detail adds each resource's "
        "logical id):",
        "inbox-mailer-dev-function (after inbox-mailer-dev-registry)",
    ):
        assert words in shown


def test_detail_adds_every_logical_id_and_the_staged_image_folder(synthesized: Synthesized) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "show_plan.py"), "--detail", str(synthesized.outdir)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert _logical_ids(synthesized.outdir) <= set(result.stdout.split())
    assert " from asset." in _unwrapped(result.stdout)
    # The first view's text is all still there.
    assert "! change sender before `make deploy`" in result.stdout


def test_the_script_prints_the_plan_from_cdk_out_by_default(synthesized: Synthesized, tmp_path: Path) -> None:
    (tmp_path / "cdk.out").symlink_to(synthesized.outdir)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "show_plan.py")],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout == _first_view(synthesized.outdir)


def test_a_note_added_at_the_end_is_printed_last_and_wrapped_to_the_width(synthesized: Synthesized) -> None:
    # How another part of the plan joins it: one more call at the end of the list.
    long = "Fixed cost a month: " + "an item $1.00, " * 12 + "run `make cost` for your usage."
    sections = [*show_plan.plan(Assembly.read(synthesized.outdir)), show_plan.note(long)]
    shown = show_plan.render(sections)
    assert _unwrapped(shown).endswith(_unwrapped(long))
    assert _on_an_80_column_console(shown) == shown


# Generated settings, written where the synth writes them: the function's environment and the alarm subscriptions.

RESERVED = ("example.com", "example.org", "example.net", "mail.example.com", "corp.test", "x.invalid")
domains = st.one_of(
    st.sampled_from(RESERVED),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]\.(com|org|io|de)", fullmatch=True).filter(
        lambda d: not show_plan.is_placeholder(f"x@{d}")
    ),
)
locals_ = st.from_regex(r"[a-z][a-z0-9.+_-]{0,40}[a-z0-9]", fullmatch=True)
address = st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains)
prefix = st.from_regex(r"([a-z0-9!_.*'()-]{1,20}/){1,4}", fullmatch=True)


@pytest.fixture(scope="module")
def default_assembly(synthesized: Synthesized) -> Assembly:
    return Assembly.read(synthesized.outdir)


def _with(
    assembly: Assembly, sender: str, recipients: list[str], inbox_prefix: str, alarm_emails: list[str]
) -> Assembly:
    variables = {
        ENVIRONMENT["sender_address"].name: sender,
        ENVIRONMENT["recipients"].name: ",".join(recipients),
        ENVIRONMENT["inbox_prefix"].name: inbox_prefix,
    }
    stacks = []
    for stack in assembly.stacks:
        template: dict[str, Any] = json.loads(json.dumps(stack.template))
        mails = False
        for resource in template["Resources"].values():
            environment = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if variables.keys() <= environment.keys():
                environment.update(variables)
                mails = True
        for index, email in enumerate(alarm_emails if mails else []):
            template["Resources"][f"Subscription{index}"] = {
                "Type": "AWS::SNS::Subscription",
                "Properties": {"Protocol": "email", "Endpoint": email, "TopicArn": {"Ref": "Topic"}},
            }
        stacks.append(replace(stack, template=template))
    return replace(assembly, stacks=tuple(stacks))


@given(
    sender=address,
    recipients=st.lists(address, min_size=1, max_size=50, unique=True),
    inbox_prefix=prefix,
    alarm_emails=st.lists(address, max_size=10, unique=True),
)
def test_every_address_is_shown_only_placeholders_are_flagged_and_every_line_fits(
    default_assembly: Assembly, sender: str, recipients: list[str], inbox_prefix: str, alarm_emails: list[str]
) -> None:
    shown = show_plan.render(show_plan.plan(_with(default_assembly, sender, recipients, inbox_prefix, alarm_emails)))
    assert _on_an_80_column_console(shown) == shown
    assert max(len(line) for line in shown.splitlines()) <= WIDTH
    whole = "".join(shown.split())
    assert sender in whole
    assert all(recipient in whole for recipient in recipients)
    assert inbox_prefix in whole
    warnings = {w.split()[2]: "".join(w.split()) for w in _warnings(shown)}
    for setting, values in (("sender", [sender]), ("recipients", recipients), ("alarm_emails", alarm_emails)):
        reserved = [value for value in values if value.rpartition("@")[2] in RESERVED]
        assert (setting in warnings) == bool(reserved), setting
        for value in values:
            assert (value in warnings.get(setting, "")) == (value in reserved)


def test_a_stack_without_the_mailer_gets_no_who_mails_whom(default_assembly: Assembly) -> None:
    registry_only = replace(default_assembly, stacks=default_assembly.stacks[:1])
    assert isinstance(registry_only.stacks[0], Stack)
    shown = show_plan.render(show_plan.plan(registry_only))
    assert "Who mails whom" not in shown
    assert "!" not in shown


def test_the_cloud_builds_own_parts_are_one_line_with_the_image(synthesized_cloud: Synthesized) -> None:
    # GIVEN the image built in CodeBuild: a project, its functions and roles, and the CDK's provider framework
    cloud = synthesized_cloud
    shown = _first_view(cloud.outdir)
    # THEN the reader gets one sentence about the build, its parts counted, and the mailer's own parts as before
    assert _on_an_80_column_console(shown) == shown
    build = re.search(r"the image: built for linux/arm64 in AWS CodeBuild.*?\n(?=\S| {2}\S)", shown, re.DOTALL)
    assert build is not None
    counted = re.search(r"; the build adds (\d+) resources: (.*)", _unwrapped(build.group()))
    assert counted is not None
    assert int(counted[1]) == sum(int(n) for n in re.findall(r"(\d+) [a-z ]+", counted[2]))
    assert "functions" in counted[2]
    assert "1 build project" in counted[2]
    assert "framework" not in shown
    assert "the function (arm64 image; 512 MiB; timeout 60 s)" in shown


def test_the_plan_ends_with_the_fixed_monthly_cost_of_what_it_would_deploy(real: Synthesized) -> None:
    # GIVEN the synthesized app
    # WHEN the plan is printed
    shown = _unwrapped(_first_view(real.outdir).strip().split("\n\n")[-1])

    # THEN its last paragraph is the fixed cost the estimator works out from the same templates
    assert shown == _unwrapped(fixed_monthly_line(real.outdir))
    assert shown.startswith("Fixed cost a month in ")
    assert shown.endswith("run `make cost` for your usage.")


def test_a_small_construct_s_own_function_role_and_logs_are_named_after_it(synthesized: Synthesized) -> None:
    # GIVEN the function stack, whose live image mark has a function, a role and a log group of its own
    shown = _first_view(synthesized.outdir)

    # THEN the plan names them after the construct, never as a bare "handler"
    for noun in ("function", "role", "log group"):
        assert f"the live image mark's {noun}" in shown
    assert "the handler" not in shown
