"""Lines for the terminal: free text wrapped at its width, with a hanging indent."""

from __future__ import annotations

import shutil
import textwrap

#: the width when the output is no terminal (a pipe, a CI log) and COLUMNS is unset
FALLBACK_WIDTH = 100
#: a hanging indent that leaves less room than this continues nearer the left instead
MIN_TEXT_WIDTH = 40


def terminal_width() -> int:
    """The terminal's columns (COLUMNS first), else `FALLBACK_WIDTH`."""
    return shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns


def wrap(text: str, first: str = "", rest: str | None = None, width: int | None = None
         ) -> list[str]:
    """`text` after `first`, its further lines after `rest` (default: blanks as wide as
    `first`, so a row's columns stay aligned; 4 past the row's own indent when that column
    would be narrower than `MIN_TEXT_WIDTH`), each at most `width` (default: the terminal's)
    wide. Words are never broken: one longer than the line stays whole."""
    width = width or terminal_width()
    if rest is None:
        rest = " " * len(first)
        if width - len(rest) < MIN_TEXT_WIDTH:
            rest = " " * (len(first) - len(first.lstrip()) + 4)
    width = max(width, len(rest) + 20)
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False) or [first.rstrip()]


def print_wrapped(text: str, first: str = "", rest: str | None = None) -> None:
    """Print `wrap(text, first, rest)` at the terminal's width."""
    for line in wrap(text, first, rest):
        print(line)
