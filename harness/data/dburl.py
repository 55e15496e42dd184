"""Database URLs: engines (optionally read-only), safe display, identity, production marks.

`$VAR` in a `[data]` value is read when the data suite runs (late-bound), unlike `${VAR}`,
which the environment loader resolves at load time and requires to be set then.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, ProductionRefused, TargetUnreachable, UsageError

_LATE_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_late(value: str, *, file: str = "", key: str = "") -> str:
    """Replace `$VAR` with the variable's value; an unset variable is a ConfigError."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(file or "(environment)", key, f"variable ${name} is not set",
                              hint=f"export {name}=... (qgate demo sets the demo's own)")
        return os.environ[name]

    return _LATE_VAR.sub(substitute, value)


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and reports."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show it without anything after a colon-at
        return re.sub(r"(://[^/:@]+:)[^@]+@", r"\1***@", url)


def make_engine(url: str, *, read_only: bool = False, label: str = "--db") -> Any:
    """An SQLAlchemy engine for `url`; a malformed URL or missing driver is a UsageError.

    With `read_only`, the session refuses writes: SQLite opens the file read-only,
    PostgreSQL sets default_transaction_read_only, MariaDB a read-only session.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"{label}: '{display_url(url)}' is not a database URL",
                         hint="write it like sqlite:///path.db, "
                              "postgresql+psycopg2://user@host/db or mysql+pymysql://...") from None
    kwargs: dict[str, Any] = {}
    backend = parsed.get_backend_name()
    if read_only and backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise UsageError(f"{label}: an in-memory SQLite database cannot be read here")
        path = Path(database).resolve()
        if not path.is_file():
            raise UsageError(f"{label}: SQLite file {path} does not exist")
        import sqlite3
        from urllib.parse import quote

        kwargs["creator"] = lambda: sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True,
                                                    check_same_thread=False)
    elif read_only and backend == "postgresql":
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise UsageError(f"{label}: cannot use '{display_url(url)}': {exc}") from None
    except ImportError as exc:  # the dialect exists, its DBAPI driver is not installed
        from harness.errors import ToolMissing
        raise ToolMissing(f"{label}: no driver for {parsed.drivername} ({exc})",
                          hint=f"pip install {exc.name or 'the driver'} (or name a driver "
                               "you have, e.g. postgresql+psycopg2, mysql+pymysql)") from None
    if read_only and backend in ("mysql", "mariadb"):
        @event.listens_for(engine, "connect")
        def _read_only_session(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
    return engine


def connect_check(engine: Any, label: str) -> None:
    """Open one connection; an unreachable database is a one-line HarnessError."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as exc:
        raise TargetUnreachable(f"{label}: cannot connect to {display_url(str(engine.url))}: "
                                f"{error_line(exc)}") from None


def error_line(exc: Any) -> str:
    """The database's own first line of a SQLAlchemy error (the driver's message)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def database_identity(url: str) -> tuple[str, ...]:
    """What identifies a database: backend, host, port and name (SQLite: the real path)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        if database != ":memory:":
            database = str(Path(database).resolve())
        return (backend, database)
    default_port = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(backend, 0)
    host = (parsed.host or "localhost").lower()
    if host in ("localhost", "::1"):
        host = "127.0.0.1"
    return (backend if backend != "mariadb" else "mysql", host,
            str(parsed.port or default_port), parsed.database or "")


def same_database(a: str, b: str) -> bool:
    """Whether two URLs point at the same database (user and driver do not matter)."""
    return database_identity(a) == database_identity(b)


def production_databases(root: Path) -> dict[str, str]:
    """Where production data lives, by label: every production environment's `[data]
    database`, and every environment's `[data] source` and `reference` (a masked copy's
    source is production, or a replica of it).

    Read straight from the files; a value whose variables are unset here is skipped, since
    it could not be named either.
    """
    found: dict[str, str] = {}
    for path in sorted((root / "environments").glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        data = raw.get("data")
        if not isinstance(data, dict):
            continue
        keys = ["source", "reference"] + (["database"] if raw.get("production") is True else [])
        for key in keys:
            value = data.get(key)
            if not isinstance(value, str) or not value:
                continue
            resolved = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", r"$\1", value)
            try:
                found[f"environments/{path.name} [data] {key}"] = expand_late(resolved)
            except ConfigError:
                continue
    return found


def refuse_production(url: str, root: Path, *, what: str, allow: bool) -> str:
    """Refuse to write into a database an environment marks production.

    Returns the production environment's name when `allow` overrides the refusal ("" when
    the database is not production).
    """
    for name, production_url in production_databases(root).items():
        try:
            match = same_database(url, production_url)
        except Exception:
            continue
        if match:
            if allow:
                return name
            raise ProductionRefused(
                f"{what} {display_url(url)} holds production data ({name})",
                hint="write into a staging database; --allow-production overrides "
                     "(and is printed)")
    return ""
