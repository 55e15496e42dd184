"""The harness's exception tree and exit-code contract.

::

    HarnessError                 a problem qgate reports in one line (no traceback)
    ├── UsageError               bad command-line input                      -> exit 2
    ├── ConfigError              bad environment / gate / waiver file        -> exit 2
    ├── ProductionRefused        a suite that writes or attacks, on production -> exit 2
    ├── ToolMissing              a required tool or browser is not installed -> exit 2
    ├── TargetUnreachable        the system under test does not answer       -> exit 3
    └── IncompleteEvidence       evidence cannot be complete (a shard missing) -> exit 3

Anything else that escapes is a bug in qgate: it is shown with its traceback and exit 4.
The verdict's own exit codes are 0 GO, 1 NO-GO and 3 INCONCLUSIVE.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The documented exit codes of every qgate command."""

    GO = 0
    NO_GO = 1
    USAGE = 2
    INCONCLUSIVE = 3
    INTERNAL = 4


class HarnessError(Exception):
    """Base of every error qgate reports as one line."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """The message, with the hint appended after a semicolon."""
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(HarnessError):
    """Bad command-line input: unknown suite, bad flag value."""


class ConfigError(HarnessError):
    """A configuration file is malformed, names an unknown key or lacks a variable."""

    def __init__(self, file: str, key: str, problem: str, *, hint: str = "") -> None:
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem, hint=hint)
        self.file = file
        self.key = key


class ProductionRefused(HarnessError):
    """A suite that writes data or attacks was requested against production."""


class ToolMissing(HarnessError):
    """A tool, browser or scanner the plan needs is not installed."""


class TargetUnreachable(HarnessError):
    """The system under test does not answer at all."""

    exit_code = ExitCode.INCONCLUSIVE


class IncompleteEvidence(HarnessError):
    """The evidence asked for cannot be complete (e.g. a shard of I/N is missing)."""

    exit_code = ExitCode.INCONCLUSIVE
