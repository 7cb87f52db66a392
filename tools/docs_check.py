"""Two checks on README.md and docs/*.md: every link reaches a file or heading, and no prose states a measured figure.

Links are relative paths and `#anchors`, resolved the way GitHub renders the files: an anchor is a heading's
slug (lowercase, punctuation dropped, spaces to hyphens, `-1`, `-2` ... for repeated headings). Measured figures
(test and mutant counts, timings read off a clock, mutation scores) go stale the day after they are written, so
they live in `bench/*.json` and reach the docs only through `tools/figures_table.py`'s generated blocks.
Design constants ("every 30 s", "after 5 tries", "above 2 %") are not measured and pass.

`python -m tools.docs_check` prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.figures_table import GENERATED_BLOCK

ROOT = Path(__file__).resolve().parent.parent
# Files other branches add; a link to one is accepted until they land.
ARRIVING: frozenset[str] = frozenset()

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.M | re.S)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)

# What a hand-measured figure looks like in prose.
MEASURED = {
    "a count of tests or mutants": re.compile(r"\b\d[\d,]*\s+(?:tests|test cases|mutants|survivors)\b", re.I),
    "a timing read off a clock": re.compile(
        r"\b\d+\.\d+\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b|\b\d+\s?min(?:utes?)?\s+\d+\s?s\b", re.I
    ),
    "how long something took": re.compile(
        r"\b(?:took|takes|take|taking|lasted|lasts|ran in|runs in)\s+"
        r"(?:(?:about|around|roughly|under|over|nearly|almost|only|just)\s+)?\d",
        re.I,
    ),
    # A confidence level ("its 95 % interval") is a method, not a result.
    "a score": re.compile(
        r"\b(?:scored?|scores|killed|caught)\b[^\n%]{0,40}?\b\d+(?:\.\d+)?\s?%(?!\s*(?:confidence|interval))", re.I
    ),
}


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: code and emphasis marks dropped with other punctuation."""
    text = _CODE_SPAN.sub(lambda match: match.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).strip().lower()
    kept = "".join(char for char in text if char in " -" or _is_word(char))
    return kept.replace(" ", "-")


def _is_word(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LMN" or category == "Pc"


def anchors(text: str) -> set[str]:
    """Every anchor the headings of a Markdown text get, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for match in _HEADING.finditer(_blank(_FENCE, text)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(files: Iterable[Path], root: Path = ROOT, arriving: frozenset[str] = ARRIVING) -> list[Problem]:
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        prose = _blank(_CODE_SPAN, _blank(_FENCE, text))
        for match in _LINK.finditer(prose):
            target = match.group(1)
            if _EXTERNAL.match(target):
                continue
            line = prose.count("\n", 0, match.start()) + 1
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            relative = _relative(linked, root)
            if relative in arriving:
                continue
            if not linked.exists():
                problems.append(Problem(path, line, f"links to {target}, but {relative} does not exist"))
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
                problems.append(Problem(path, line, f"links to {target}, but {relative} has no heading #{anchor}"))
    return problems


def measured_figures(files: Iterable[Path]) -> list[Problem]:
    """Measured figures in prose: outside code blocks, code spans and generated blocks."""
    problems = []
    for path in files:
        prose = _blank(_CODE_SPAN, _blank(_FENCE, _blank(GENERATED_BLOCK, path.read_text(encoding="utf-8"))))
        for kind, pattern in MEASURED.items():
            for match in pattern.finditer(prose):
                line = prose.count("\n", 0, match.start()) + 1
                problems.append(
                    Problem(
                        path,
                        line,
                        f"'{' '.join(match.group(0).split())}' reads as {kind} written by hand: put it in "
                        "bench/*.json and show it with `python -m tools.figures_table`, or say it without the number",
                    )
                )
    return sorted(problems, key=lambda problem: (str(problem.path), problem.line))


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """`text` with each match replaced by as many empty lines, so line numbers stay true."""
    return pattern.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def main() -> int:
    files = documents()
    problems = broken_links(files, root=ROOT) + measured_figures(files)
    for problem in problems:
        print(_relative(problem.path, ROOT) + str(problem)[len(str(problem.path)) :])
    if not problems:
        print(f"{len(files)} documents: every link resolves, no measured figure written by hand")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
