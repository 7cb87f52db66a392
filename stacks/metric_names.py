"""The function's metric names, read from the function's own code so the dashboard and alarms cannot drift.

The source is lambda_image/inbox_mailer/metric_names.py; it is loaded by path because the function's package
is not on the CDK app's import path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

SOURCE = Path(__file__).resolve().parent.parent / "lambda_image" / "inbox_mailer" / "metric_names.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inbox_mailer_metric_names", SOURCE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the function's metric names from {SOURCE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from inbox_mailer.metric_names import UNEXPECTED_SKIPS, Metric
else:
    _module = _load()
    Metric = _module.Metric
    UNEXPECTED_SKIPS = _module.UNEXPECTED_SKIPS

__all__ = ["SOURCE", "UNEXPECTED_SKIPS", "Metric"]
