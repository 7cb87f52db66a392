"""`make cost` on the synthesized app: the rows follow the templates, and docs/cost.md is what the tool renders."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.conftest import ROOT, Synthesized
from tools.cost import assembly, docs, prices, report
from tools.cost.__main__ import main
from tools.cost.estimate import BenchFigures, Estimate, estimate, money
from tools.cost.profile import DEFAULT


@pytest.fixture
def copy(synthesized: Synthesized, tmp_path: Path) -> Path:
    """The session's assembly, its manifest and templates only, to be edited by a test."""
    folder = tmp_path / "cdk.out"
    folder.mkdir()
    for path in synthesized.outdir.glob("*.json"):
        shutil.copy(path, folder)
    return folder


def _priced(folder: Path) -> Estimate:
    return estimate(
        assembly.read(folder),
        DEFAULT,
        recipients=1,
        prices=prices.load(),
        bench=BenchFigures.read(),
        region="us-east-1",
    )


def _rows(result: Estimate) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {row.label: (row.quantity, row.usd) for row in result.rows}


def _edit(folder: Path, change: Any) -> None:
    """Apply `change` to the function stack's template in place."""
    path = next(folder.glob("*-function.template.json"))
    template = json.loads(path.read_text(encoding="utf-8"))
    change(template["Resources"])
    path.write_text(json.dumps(template), encoding="utf-8")


def test_the_alarm_row_counts_the_metrics_of_every_synthesized_alarm(synthesized: Synthesized) -> None:
    alarms = synthesized.function.find_resources("AWS::CloudWatch::Alarm").values()
    metrics = sum(sum("MetricStat" in m for m in a["Properties"].get("Metrics", [])) or 1 for a in alarms)
    quantity, usd = _rows(_priced(synthesized.outdir))["Alarms"]
    assert (quantity, usd) == (Decimal(metrics), metrics * Decimal("0.10"))


def test_an_added_alarm_moves_the_alarm_row_and_nothing_else(copy: Path) -> None:
    before = _rows(_priced(copy))

    def add_alarm(resources: dict[str, Any]) -> None:
        resources["ExtraAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "X", "Period": 300}}

    _edit(copy, add_alarm)
    after = _rows(_priced(copy))
    assert after["Alarms"] == (before["Alarms"][0] + 1, (before["Alarms"][0] + 1) * Decimal("0.10"))
    assert {k: v for k, v in after.items() if k != "Alarms"} == {k: v for k, v in before.items() if k != "Alarms"}


def test_twice_the_memory_doubles_the_function_time_rows_and_nothing_else(copy: Path, synthesized: Synthesized) -> None:
    before = _rows(_priced(copy))

    def double_memory(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            if resource["Type"] == "AWS::Lambda::Function":
                resource["Properties"]["MemorySize"] = 2 * synthesized.settings.memory_mib

    _edit(copy, double_memory)
    after = _rows(_priced(copy))
    moved = {"Function run time", "Function cold starts"}
    for label in moved:
        assert after[label][0] == 2 * before[label][0]
        assert after[label][1] == 2 * before[label][1]  # type: ignore[operator]
    assert {k: v for k, v in after.items() if k not in moved} == {k: v for k, v in before.items() if k not in moved}


def test_the_stored_images_follow_the_lifecycle_count(copy: Path) -> None:
    before = _rows(_priced(copy))["Stored images (ECR)"][0]
    path = next(copy.glob("*-registry.template.json"))
    template = json.loads(path.read_text(encoding="utf-8"))
    (repository,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::ECR::Repository")
    policy = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
    counted = [r for r in policy["rules"] if r["selection"]["countType"] == "imageCountMoreThan"]
    kept = sum(r["selection"]["countNumber"] for r in counted)
    counted[0]["selection"]["countNumber"] += 7
    repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"] = json.dumps(policy)
    path.write_text(json.dumps(template), encoding="utf-8")
    after = _rows(_priced(copy))["Stored images (ECR)"][0]
    assert after / before == Decimal(kept + 7) / Decimal(kept)


def test_the_plan_line_for_the_synthesized_app(synthesized: Synthesized) -> None:
    result = _priced(synthesized.outdir)
    line = report.fixed_monthly_line(synthesized.outdir)
    assert line.startswith(f"Fixed cost a month in us-east-1: ${money(result.fixed_usd)} (alarms $")
    assert line.endswith("before free tiers; run `make cost` for your usage.")


def test_make_cost_prints_the_table_at_80_columns(synthesized: Synthesized) -> None:
    console = Console(record=True, width=report.WIDTH, color_system=None)
    assert main(["-o", str(synthesized.outdir), "--files-per-day", "1000"], console) == 0
    text = console.export_text()
    assert text.startswith("1,000 files a day")
    assert max(len(line) for line in text.splitlines()) <= report.WIDTH
    assert "Total" in text
    assert "Function run time: 512 MiB arm64" in text


def test_a_cdk_out_of_another_stage_is_refused(synthesized: Synthesized) -> None:
    console = Console(record=True, width=400, color_system=None)
    assert main(["-o", str(synthesized.outdir), "-c", "stage=prod"], console) == 2
    assert console.export_text() == (
        f"{synthesized.outdir} holds no stack inbox-mailer-prod-function: synthesize with the same options first "
        "(make cost ARGS=... does).\n"
    )


def test_docs_cost_tables_are_the_ones_the_tool_renders(synthesized: Synthesized) -> None:
    text = (ROOT / "docs" / "cost.md").read_text(encoding="utf-8")
    assert docs.block_in(text) == docs.render(synthesized.outdir, synthesized.settings), (
        "run `make synth` then `python -m tools.cost.docs`"
    )


def test_regenerating_the_docs_replaces_only_the_tables() -> None:
    text = f"# Cost\n\nkept\n\n{docs.BEGIN}old table\n{docs.END}\nalso kept\n"
    assert docs.with_block(text, "new\n") == f"# Cost\n\nkept\n\n{docs.BEGIN}new\n{docs.END}\nalso kept\n"
    with pytest.raises(ValueError, match="lacks the markers"):
        docs.block_in("# Cost\n")
