"""docs/settings-quoting.md: the documented `make` form brings a two-address list to the synth as one word.

The command is read from the doc's table and typed into a real bash (and zsh, where installed); `make -n` prints the
synth's recipe line, which make's own shell would then split as a POSIX shell does (`shlex`, `;` as its own token).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

from stacks.settings import Settings
from tests.infra.conftest import ROOT

DOC = ROOT / "docs" / "settings-quoting.md"
SHELLS = [shell for shell in ("bash", "zsh") if shutil.which(shell)]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _documented(shell_cell: str) -> str:
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith(shell_cell):
            return cells[1].strip("`")
    raise AssertionError(f"no row for {shell_cell} in {DOC.name}")


def _synth_words(shell: str, command: str) -> list[str]:
    """The words of the synth command when `command` is typed into `shell` and make's recipe shell runs its line."""
    typed = command.replace("make synth", "make -n --no-print-directory synth", 1)
    result = subprocess.run([shell, "-c", typed], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    # The line that carries ARGS, whether it runs `cdk synth` or a runner that hands them on.
    (recipe,) = [line for line in result.stdout.splitlines() if " synth " in line and "recipients=" in line]
    lexer = shlex.shlex(recipe, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    words = list(lexer)
    # A `;` token would end the cdk command there and start another.
    return words[: words.index(";")] if ";" in words else words


@pytest.mark.parametrize("shell", SHELLS)
def test_the_documented_make_form_brings_both_addresses_to_cdk_as_one_word(shell: str) -> None:
    command = _documented("bash, zsh")
    words = _synth_words(shell, command)
    assert "synth" in words
    (value,) = [word.removeprefix("recipients=") for word in words if word.startswith("recipients=")]
    assert Settings.from_context({"recipients": value}).recipients == ("a@x.com", "b@x.com")


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    "wrong",
    ["make synth ARGS='-c recipients=a@x.com;b@x.com'", 'make synth ARGS="-c recipients=a@x.com, b@x.com"'],
)
def test_one_pair_of_quotes_loses_the_second_address_on_the_way_to_the_synth(shell: str, wrong: str) -> None:
    words = _synth_words(shell, wrong)
    assert "recipients=a@x.com" in words or "recipients=a@x.com," in words
    assert not any(re.search(r"recipients=.*b@x\.com", word) for word in words)


def test_the_powershell_form_is_one_argument_for_the_runner() -> None:
    command = _documented("PowerShell")
    assert command.startswith("py tools/dev.py synth -c ")
    # PowerShell passes a double-quoted word as one argument, quotes removed; the runner hands it to cdk unchanged.
    (quoted,) = re.findall(r'"([^"]*)"', command)
    assert Settings.from_context({"recipients": quoted.removeprefix("recipients=")}).recipients == (
        "a@x.com",
        "b@x.com",
    )
