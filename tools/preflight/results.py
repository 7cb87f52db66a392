"""What a check reports: a line that passed, failed or was not run, and for a failure the fix to type or do."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from botocore.exceptions import ClientError


class CheckError(Exception):
    """A check found a problem; `fix` is what the user types or does about it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Result:
    check: str
    passed: bool | None  # None: not run, because a check it needs failed
    detail: str
    fix: str = ""


def command(*words: str) -> str:
    """A command line to show the user, quoted for a POSIX shell."""
    return f"`{shlex.join(words)}`"


def error_code(error: ClientError) -> str:
    """The code AWS gave for a refusal (`ParameterNotFound`, `AccessDeniedException`...)."""
    return str(error.response.get("Error", {}).get("Code", ""))
