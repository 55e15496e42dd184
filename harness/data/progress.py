"""A progress line for long data jobs: rows done, rate, and (when known) the share done.

On a terminal it redraws one line; elsewhere (CI logs, pytest) it prints a line every few
seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """Counts rows for one job and shows how far it got."""

    def __init__(self, label: str, total: int | None = None, *, stream: IO[str] | None = None,
                 enabled: bool = True, every_s: float | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 5.0)
        self.started = time.perf_counter()
        self._shown = self.started

    def advance(self, rows: int, what: str = "") -> None:
        """Add `rows` to the count and redraw when due."""
        self.done += rows
        now = time.perf_counter()
        if self.enabled and now - self._shown >= self.every_s:
            self._shown = now
            self._show(what)

    def rate(self) -> float:
        """Rows per second so far."""
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def finish(self, what: str = "") -> float:
        """Print the final line; returns the elapsed seconds."""
        elapsed = time.perf_counter() - self.started
        if self.enabled:
            self._show(what, final=True)
        return elapsed

    def _show(self, what: str, final: bool = False) -> None:
        share = (f" ({100 * self.done / self.total:.0f}%)" if self.total else "")
        of = f"/{self.total:,}" if self.total else ""
        line = (f"{self.label}: {self.done:,}{of} rows{share}, {self.rate():,.0f} rows/s"
                f"{' — ' + what if what else ''}")
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
