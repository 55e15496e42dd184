"""Text as the reports show it: no memory addresses, never cut in the middle of a word."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.verdict import Verdict

# `<harness.e2e.fixtures.Shopper object at 0x7f3a…>`: an address says nothing to a reader
_OBJECT_AT = re.compile(r"<([\w.]+?)(?: object)? at 0x[0-9a-fA-F]+>")


def tidy(text: str) -> str:
    """`text` without Python's `<… object at 0x…>` noise (the class name is kept)."""
    return _OBJECT_AT.sub(lambda m: f"<{m.group(1).rsplit('.', 1)[-1]}>", text)


def shorten(text: str, limit: int) -> str:
    """`text` (tidied) cut to at most `limit` characters at a word boundary, with `…`."""
    text = tidy(text)
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:  # a very long word (a URL) is cut where it must be
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + "…"


def left_out(reason: str) -> bool:
    """Whether a criterion's reason says its suite was left out of the run."""
    return "left out of this run" in reason


_COLOURS = {"GO": "32", "passed": "32", "ok": "32", "NO-GO": "31", "failed": "31",
            "INCONCLUSIVE": "33", "error": "33", "skipped": "33", "dim": "2"}


def use_colour(stream: object) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    import os

    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def paint(text: str, what: str, enabled: bool) -> str:
    """`text` in the colour of `what` (a decision or status) when `enabled`."""
    code = _COLOURS.get(what)
    return f"\033[{code}m{text}\033[0m" if enabled and code else text


_LEFT_OUT = re.compile(r"([\w-]+): left out of this run \(ran: [^)]*\); the gate requires it "
                       r"for ([\w.-]+)")


def headline(verdict: Verdict, limit: int = 600) -> str:
    """The verdict's summary, at most `limit` characters, with the suites left out of the
    run said once at the end (`…; left out of this run: data, load (the gate requires them
    for demo)`) rather than once per suite."""
    left = sorted({c.suite for c in verdict.criteria
                   if c.outcome == "error" and left_out(c.reason)})
    if not left:
        return shorten(verdict.summary, limit)
    reason = next(c.reason for c in verdict.criteria if c.suite == left[0] and left_out(c.reason))
    env = re.search(r"requires it for ([\w.-]+)", reason)
    rest = "; ".join(p.strip() for p in _LEFT_OUT.sub("", verdict.summary).split(";")
                     if p.strip())
    them = "them" if len(left) > 1 else "it"
    tail = (f"left out of this run: {', '.join(left)} (the gate requires {them}"
            + (f" for {env.group(1)})" if env else ")"))
    if not rest:
        return tail
    return f"{shorten(rest, max(80, limit - len(tail) - 2))}; {tail}"
