"""Business invariants after load: read-only queries that must return no rows.

Each check is a SELECT declared in the environment (`[[load.invariants.checks]]`); every row
it returns is a violation (a negative stock level, an order without its capture…). A broken
invariant becomes one finding naming the offending rows' keys; the gate's criteria judge it.
Queries run in a transaction that is always rolled back (read-only on PostgreSQL), and only
statements that start with SELECT or WITH are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.load.settings import InvariantCheck, InvariantSettings, metric_slug
from harness.results import Finding

_READ_ONLY = re.compile(r"^\s*(select|with)\b", re.I)
_MUTATING = re.compile(r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|"
                       r"revoke|replace|call|exec|execute|lock|vacuum|attach|pragma)\b", re.I)


class InvariantsUnavailable(HarnessError):
    """The invariants could not be checked (no database URL, unreachable, bad query)."""


@dataclass(frozen=True)
class InvariantResult:
    """One check's outcome: the rows that violate it (first `max_rows`) and their count."""

    check: InvariantCheck
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    violations: int

    @property
    def holds(self) -> bool:
        """True when the query returned no rows."""
        return self.violations == 0


def validate_checks(settings: InvariantSettings, file: str, table: str) -> None:
    """Refuse anything but a single read-only query, naming the check's key."""
    for i, check in enumerate(settings.checks):
        key = f"{table}.invariants.checks[{i}].sql"
        body = check.sql.strip().rstrip(";")
        if not _READ_ONLY.match(body) or ";" in body:
            raise ConfigError(file, key, f"invariant '{check.name}' must be one SELECT (or WITH "
                              "… SELECT) statement", hint="invariants only read")
        if _MUTATING.search(body):
            raise ConfigError(file, key, f"invariant '{check.name}' contains a statement that "
                              "writes or changes settings", hint="invariants only read")


def run_checks(settings: InvariantSettings, *, table: str = "load") -> list[InvariantResult]:
    """Run every check against `settings.dsn`; raises InvariantsUnavailable when it cannot."""
    if not settings.dsn:
        raise InvariantsUnavailable(
            f"[{table}.invariants] has no database URL (dsn is empty)",
            hint="set it from a secret, e.g. dsn = \"${SHOP_DB_URL}\"; `qgate demo` sets "
            "QGATE_DEMO_DB_URL for the demo store")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = create_engine(settings.dsn, pool_pre_ping=True)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise InvariantsUnavailable(f"[{table}.invariants] dsn is not a usable SQLAlchemy URL: "
                                    f"{type(exc).__name__}") from None
    out: list[InvariantResult] = []
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(postgresql_readonly=True)
            for check in settings.checks:
                try:
                    with conn.begin() as tx:
                        result = conn.execute(text(check.sql.strip().rstrip(";")))
                        columns = tuple(result.keys())
                        rows = [tuple(r) for r in result.fetchall()]
                        tx.rollback()
                except SQLAlchemyError as exc:
                    first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                    raise InvariantsUnavailable(
                        f"invariant '{check.name}' could not run: {first}",
                        hint="fix its sql in the environment file") from None
                out.append(InvariantResult(check, columns, tuple(rows[:settings.max_rows]),
                                           len(rows)))
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise InvariantsUnavailable(f"cannot reach the invariants database: {first}") from None
    finally:
        engine.dispose()
    return out


def finding_for(result: InvariantResult, source: str) -> Finding:
    """A broken invariant as a finding: which rows, by their key columns only (the other
    columns may hold a customer's data, and a finding is shared; the SQL shows the rest)."""
    check = result.check
    keys = [c for c in check.key if c in result.columns]
    index = [result.columns.index(c) for c in keys]
    named = ["{" + ", ".join(f"{result.columns[i]}={row[i]}" for i in index) + "}"
             for row in result.rows] if keys else []
    more = result.violations - len(result.rows)
    if keys:
        location = " ".join(named[:5]) + (f" and {result.violations - 5} more"
                                          if result.violations > 5 else "")
        evidence = "\n".join(named) + (f"\n… and {more} more rows" if more > 0 else "")
    else:
        location = f"{result.violations} rows"
        evidence = (f"{result.violations} rows (columns {', '.join(result.columns)}); declare "
                    "its key columns (key = [...]) to name them, or run its SQL")
    return Finding(
        rule_id=f"invariant:{metric_slug(check.name)}",
        title=f"Business invariant broken: {check.name} ({result.violations} rows)",
        severity=check.severity, location=location, evidence=evidence,
        reproduce=check.sql.strip(), source=source)


def summarise(results: Sequence[InvariantResult]) -> str:
    """One line: which invariants hold and which do not."""
    broken = [f"{r.check.name} ({r.violations} rows)" for r in results if not r.holds]
    if not broken:
        return f"all {len(results)} invariants hold"
    return f"{len(broken)} of {len(results)} invariants broken: " + ", ".join(broken)
