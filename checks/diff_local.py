"""Change review without AWS: compare a fresh synth with the reviewed templates in `checks/reference/`.

`python -m checks.diff_local` (`make diff-local`) synthesizes with the pinned CDK CLI and runs
`cdk diff --exclusively --template checks/reference/<stack>.template.json <stack>` for each stack: the CLI's
own diff, IAM and security-group tables included, with no credentials and no network.
`python -m checks.diff_local --refresh` (`make reference`) makes the fresh synth the new reference: run it
after an infrastructure change was reviewed and is intended, and commit the references with that change.

Asset hashes are replaced by `ASSET_HASH` on both sides before comparing. The image tag is the hash of
`lambda_image/` and changes with every edit of the handler; that change is reviewed in the code's own diff,
and here it would only hide the infrastructure changes. The current image tag is printed instead.
Reference drift never fails `make test`: this is a review tool, not a gate.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from checks import ROOT
from checks.assembly import asset_hashes, stack_templates
from checks.cdk_cli import run_cdk

REFERENCE_DIRECTORY = ROOT / "checks" / "reference"
PLACEHOLDER = "ASSET_HASH"


def synthesize(outdir: Path) -> None:
    result = run_cdk("synth", "--quiet", "-o", str(outdir))
    if result.returncode != 0:
        raise RuntimeError(f"cdk synth failed:\n{result.stderr}")


def normalised_copy(assembly: Path, destination: Path) -> dict[str, str]:
    """Copy `assembly` to `destination` with every asset hash in the templates replaced by the placeholder.

    Returns stack name → its image tags (the real hashes), for the reader.
    The hashes of file assets (the templates themselves) are replaced too but not reported.
    """
    shutil.copytree(assembly, destination, ignore=shutil.ignore_patterns("asset.*"), dirs_exist_ok=True)
    tags: dict[str, str] = {}
    for name, template in stack_templates(destination).items():
        text = template.read_text(encoding="utf-8")
        for asset_hash in asset_hashes(assembly, name):
            text = text.replace(asset_hash, PLACEHOLDER)
        template.write_text(text, encoding="utf-8")
        images = asset_hashes(assembly, name, kinds=("dockerImages",))
        if images:
            tags[name] = ", ".join(images)
    return tags


def diff(assembly: Path, stack: str, reference: Path) -> subprocess.CompletedProcess[str]:
    """`cdk diff` of one stack of an already synthesized (and normalised) assembly against a template file."""
    return run_cdk("diff", "--app", str(assembly), "--exclusively", "--template", str(reference), stack)


def refresh(normalised: Path) -> list[Path]:
    REFERENCE_DIRECTORY.mkdir(parents=True, exist_ok=True)
    written = []
    templates = stack_templates(normalised)
    for stale in REFERENCE_DIRECTORY.glob("*.template.json"):
        if stale.name.removesuffix(".template.json") not in templates:
            stale.unlink()
    for name, template in templates.items():
        target = REFERENCE_DIRECTORY / f"{name}.template.json"
        shutil.copyfile(template, target)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--refresh", action="store_true", help="accept the fresh synth as the new reference")
    parser.add_argument("--fail", action="store_true", help="exit 1 when a stack differs from its reference")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="diff-local-") as work:
        synthesize(Path(work) / "synth")
        normalised = Path(work) / "normalised"
        tags = normalised_copy(Path(work) / "synth", normalised)
        if options.refresh:
            for path in refresh(normalised):
                print(f"reference updated: {path.relative_to(ROOT)}")
            print("Commit checks/reference/ together with the infrastructure change it records.")
            return 0
        differing = 0
        for name in stack_templates(normalised):
            reference = REFERENCE_DIRECTORY / f"{name}.template.json"
            if name in tags:
                print(f"{name}: image tag {tags[name]} (shown as {PLACEHOLDER} below; review lambda_image/ in git)")
            if not reference.exists():
                print(f"{name}: no reference yet; run `make reference` after reviewing `make synth`\n")
                differing += 1
                continue
            result = diff(normalised, name, reference)
            if result.returncode != 0:
                print(result.stdout + result.stderr, file=sys.stderr)
                raise RuntimeError(f"cdk diff failed for {name}")
            output = (result.stdout + result.stderr).strip()
            print(output + "\n")
            differing += "There were no differences" not in output
        print(f"{differing} stack(s) differ from checks/reference/ (refresh with `make reference` once reviewed)")
        return 1 if options.fail and differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
