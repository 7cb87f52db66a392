"""`make cost`: a monthly estimate of the synthesized app for a usage profile (README, "What it costs").

python -m tools.cost [cdk options: -c key=value, --output] [--files-per-day N] [--average-file-mib M]
    [--largest-file-mib M] [--link-share F] [--region R]

Reads the cloud assembly `make synth` wrote for the same options, the reviewed price table (tools/cost/prices.csv)
and the figures of `make bench` (bench/results.json). Offline: no AWS account is needed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from stacks.settings import SettingsError
from tools import deploy_settings
from tools.cost import assembly, prices
from tools.cost.estimate import BenchFigures, estimate
from tools.cost.profile import ProfileError, parse
from tools.cost.report import WIDTH, print_estimate


def main(args: Sequence[str], console: Console | None = None) -> int:
    console = console or Console(width=WIDTH)
    try:
        command_line = parse(args)
        deploy = deploy_settings.read(command_line.cdk_args)
        deployment = assembly.read(deploy.assembly_directory)
    except (ProfileError, SettingsError, deploy_settings.UsageError, assembly.AssemblyError) as error:
        console.print(str(error), markup=False, soft_wrap=True)
        return 2
    expected = deploy.settings.stack_names.function
    if expected not in deployment.stacks:
        console.print(
            f"{deploy.assembly_directory} holds no stack {expected}: synthesize with the same options first "
            "(make cost ARGS=... does).",
            markup=False,
            soft_wrap=True,
        )
        return 2
    result = estimate(
        deployment,
        command_line.profile,
        recipients=len(deploy.settings.recipients),
        prices=prices.load(),
        bench=BenchFigures.read(),
        region=command_line.region,
    )
    print_estimate(result, console)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
