"""Offline change review: `cdk diff --template` runs without AWS and shows a change, asset hashes aside.

Reference drift is deliberately not tested: `make diff-local` is a review tool, and an intended
infrastructure change must not fail `make test` until `make reference` is run.
"""

from __future__ import annotations

import json
from pathlib import Path

from checks.assembly import asset_hashes, stack_templates
from checks.diff_local import PLACEHOLDER, REFERENCE_DIRECTORY, diff, normalised_copy
from tests.conftest import Synthesized


def test_asset_hashes_are_normalised_so_an_image_change_is_not_an_infrastructure_change(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    stack = synthesized.stacks.function.stack_name
    tags = normalised_copy(synthesized.outdir, tmp_path)
    text = stack_templates(tmp_path)[stack].read_text()
    (image_hash,) = asset_hashes(synthesized.outdir, stack, kinds=("dockerImages",))
    assert tags[stack] == image_hash
    assert image_hash not in text
    assert f":{PLACEHOLDER}" in text


def test_cdk_diff_runs_offline_against_a_template_file_and_shows_the_change(
    synthesized: Synthesized, tmp_path: Path
) -> None:
    stack = synthesized.stacks.function.stack_name
    normalised_copy(synthesized.outdir, tmp_path / "assembly")
    template = json.loads(stack_templates(tmp_path / "assembly")[stack].read_text())
    function_id = synthesized.logical_id(synthesized.stacks.function.mailer.function)
    template["Resources"][function_id]["Properties"]["MemorySize"] = 256
    reference = tmp_path / "reference.template.json"
    reference.write_text(json.dumps(template))

    result = diff(tmp_path / "assembly", stack, reference)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "MemorySize" in output
    assert "[-] 256" in output
    assert "[+] 512" in output
    assert "ImageUri" not in output
    assert "Number of stacks with differences: 1" in output


def test_a_committed_reference_exists_for_every_stack_without_real_asset_hashes(synthesized: Synthesized) -> None:
    for name in stack_templates(synthesized.outdir):
        reference = REFERENCE_DIRECTORY / f"{name}.template.json"
        assert reference.exists(), f"run `make reference` to record {name}"
        text = reference.read_text()
        json.loads(text)
        assert all(h not in text for h in asset_hashes(synthesized.outdir, name))
