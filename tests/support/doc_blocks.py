"""The fenced code blocks of README.md and docs/, as the tests that check them read them:
```console blocks are `$ command` steps with the output lines shown under them (`…` standing
for what varies, `(exit N)` for the exit code). tests/harness/test_docs.py runs them in a
`qgate init` project; a block marked `RUN_BY_FAULT_MATRIX` (an HTML comment on the line
before it) shows a whole `qgate demo` run and is checked by tests/acceptance instead, against
the run it makes anyway."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_support import PROJECT

DOCS = PROJECT / "docs"
PAGES = sorted([PROJECT / "README.md", *DOCS.rglob("*.md")])
#: the mark of a block whose `qgate demo` runs the fault matrix makes and checks
RUN_BY_FAULT_MATRIX = "<!-- run by tests/acceptance/test_fault_matrix.py -->"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    lang: str
    text: str
    title: str = ""
    #: the HTML comment on the line before the block, if any (`RUN_BY_FAULT_MATRIX`)
    mark: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(PROJECT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """Every fenced block of a Markdown page (indented fences included)."""
    found, lang, start, body, before, mark = [], None, 0, [], "", ""
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if lang is None and stripped.startswith("```"):
            info = shlex.split(stripped[3:]) or [""]
            lang, start, body, indent = info[0], number, [], len(line) - len(line.lstrip())
            title = next((word.removeprefix("title=") for word in info[1:]
                          if word.startswith("title=")), "")
            mark = before if before.startswith("<!--") else ""
        elif lang is not None and stripped == "```":
            found.append(Block(page, start, lang, "\n".join(body) + "\n", title, mark))
            lang = None
        elif lang is not None:
            body.append(line[indent:] if line[:indent].strip() == "" else line)
        if lang is None and stripped:
            before = stripped
    return found


BLOCKS = [b for page in PAGES for b in blocks_of(page)]




@dataclass(frozen=True)
class Step:
    """One `$ command`, the output lines shown under it, and its exit code."""

    command: str
    expected: list[str]
    code: int


def steps_of(block: Block) -> list[Step]:
    steps: list[Step] = []
    command, expected, code = None, [], 0
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                steps.append(Step(command, expected, code))
            command, expected, code = line[2:], [], 0
        elif (match := re.fullmatch(r"\(exit (\d+)\)", line.strip())):
            code = int(match.group(1))
        elif command is not None:
            expected.append(line.rstrip())
    if command is not None:
        steps.append(Step(command, expected, code))
    return steps


def pattern(line: str) -> re.Pattern[str]:
    """An expected line: literal text, `…` for whatever varies there."""
    return re.compile(".*".join(re.escape(part) for part in line.split("…")))


def assert_shown(expected: list[str], actual: list[str], where: str) -> None:
    """Every expected line appears in the output, in order (a line of `…` skips lines)."""
    position = 0
    for line in expected:
        if not line.strip() or line.strip() == "…":
            continue
        regex = pattern(line)
        while position < len(actual) and not regex.fullmatch(actual[position]):
            position += 1
        if position == len(actual):
            pytest.fail(f"{where}: this line of the example is not in the output:\n  {line}\n"
                        f"output:\n" + "\n".join(actual))
        position += 1


def demo_runs() -> dict[tuple[tuple[str, str], ...], list[tuple[str, Step]]]:
    """The documented `qgate demo` runs of the blocks marked `RUN_BY_FAULT_MATRIX`, by their
    options (a sorted tuple of (flag, value)): [(where, step)]."""
    runs: dict[tuple[tuple[str, str], ...], list[tuple[str, Step]]] = {}
    for block in BLOCKS:
        if block.mark != RUN_BY_FAULT_MATRIX:
            continue
        for step in steps_of(block):
            words = shlex.split(step.command)
            assert words[:2] == ["qgate", "demo"], f"{block.where}: {step.command}"
            runs.setdefault(demo_options(words[2:]), []).append((block.where, step))
    return runs


def demo_options(args: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`--fault x --suites a,b` -> (("--fault", "x"), ("--suites", "a,b")), in any order."""
    pairs = list(zip(args[::2], args[1::2], strict=True))
    return tuple(sorted(pairs))
