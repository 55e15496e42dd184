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


def late_names(raw: str) -> set[str]:
    """The late-bound variables a value names as written in its file (`$VAR`, not `${VAR}`)."""
    return {m.group(1) for m in _LATE_VAR.finditer(raw)}


def expand_late(value: str, *, file: str = "", key: str = "",
                only: set[str] | None = None) -> str:
    """Replace `$VAR` with the variable's value; an unset variable is a ConfigError.

    `only` limits it to the variables the file wrote late-bound: a `$` that arrived inside
    an already-resolved `${VAR}` (a password `Pa$HOME`) is then left as it is.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if only is not None and name not in only:
            return match.group(0)
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


#: the drivers qgate's `data` extra installs, for URLs that name none (SQLAlchemy's own
#: defaults, psycopg 3 and mysqlclient, are not installed)
_DEFAULT_DRIVERS = {"postgresql": ("psycopg2", "psycopg2"), "mysql": ("pymysql", "pymysql"),
                    "mariadb": ("pymysql", "pymysql")}
_EXTRA_HINT = 'pip install "qcommerce-harness[data]" (or the driver the URL names)'


def normalise_url(url: str, label: str = "--db") -> Any:
    """A SQLAlchemy URL object with a driver qgate installs when the URL names none:
    `postgresql://` and `postgres://` use psycopg2, `mysql://` and `mariadb://` PyMySQL."""
    import importlib.util

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"{label}: '{display_url(url)}' is not a database URL",
                         hint="write it like sqlite:///path.db, "
                              "postgresql://user@host/db or mysql://user@host/db") from None
    backend = parsed.get_backend_name()
    if "+" not in parsed.drivername and backend in _DEFAULT_DRIVERS:
        driver, module = _DEFAULT_DRIVERS[backend]
        native = {"postgresql": "psycopg", "mysql": "MySQLdb", "mariadb": "mariadb"}[backend]
        if importlib.util.find_spec(native) is None and importlib.util.find_spec(module):
            parsed = parsed.set(drivername=f"{backend}+{driver}")
    return parsed


def make_engine(url: str, *, read_only: bool = False, label: str = "--db") -> Any:
    """An SQLAlchemy engine for `url`; a malformed URL or missing driver is a UsageError.

    With `read_only`, the session refuses writes: SQLite opens the file read-only,
    PostgreSQL sets default_transaction_read_only, MariaDB a read-only session.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    parsed = normalise_url(url, label)
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
    except ImportError as exc:
        raise UsageError(f"{label}: the database driver for '{parsed.drivername}' is not "
                         f"installed ({exc.name or exc})", hint=_EXTRA_HINT) from None
    except (ArgumentError, NoSuchModuleError) as exc:
        raise UsageError(f"{label}: cannot use '{display_url(url)}': {exc}") from None
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


def server_identity(engine: Any) -> tuple[str, ...]:
    """What the server says the database is, whatever the URL's spelling (`localhost` or
    `127.0.0.1`, a DNS alias, another port forward): PostgreSQL's system identifier and
    database name, MariaDB/MySQL's server (uuid where MySQL has one, else host, port and data
    directory) and schema, SQLite's file (device and inode)."""
    from sqlalchemy import text

    name = engine.dialect.name
    if name == "sqlite":
        database = engine.url.database or ":memory:"
        if database == ":memory:":
            return ("sqlite", ":memory:", str(id(engine)))
        stat = Path(database).resolve().stat()
        return ("sqlite", str(stat.st_dev), str(stat.st_ino))
    with engine.connect() as conn:
        if name == "postgresql":
            row = conn.execute(text("SELECT (SELECT system_identifier::text FROM "
                                    "pg_control_system()), current_database()")).one()
            return ("postgresql", str(row[0]), str(row[1]))
        if name in ("mysql", "mariadb"):
            row = conn.execute(text("SELECT @@hostname, @@port, @@datadir, DATABASE()")).one()
            try:
                uuid = str(conn.execute(text("SELECT @@server_uuid")).scalar())
            except Exception:  # MariaDB has no server_uuid
                uuid = ""
            return ("mysql", uuid or f"{row[0]}:{row[1]}:{row[2]}", str(row[3]))
    return (name, *database_identity(str(engine.url))[1:])


def same_server_database(a: Any, b: Any) -> bool:
    """Whether two engines reach the same database, by what the servers say."""
    if a.dialect.name != b.dialect.name and {a.dialect.name, b.dialect.name} != {
            "mysql", "mariadb"}:
        return False
    return server_identity(a) == server_identity(b)


def production_databases(root: Path) -> dict[str, str]:
    """Where production data lives, by label: every production environment's `[data]
    database`, and every environment's `[data] source` and `reference` (a masked copy's
    source is production, or a replica of it).

    Read straight from the files; a value whose variables are unset here is skipped, since
    it could not be named either.
    """
    from harness.config import _dotenv

    found: dict[str, str] = {}
    for path in sorted((root / "environments").glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        variables = _dotenv(root, path.stem)  # the process, then .env.<name>, then .env
        data = raw.get("data")
        if not isinstance(data, dict):
            continue
        keys = ["source", "reference"] + (["database"] if raw.get("production") is True else [])
        for key in keys:
            value = data.get(key)
            if not isinstance(value, str) or not value:
                continue
            resolved = _substitute(value, variables)
            if resolved is not None:
                found[f"environments/{path.name} [data] {key}"] = resolved
    return found


def _substitute(value: str, variables: dict[str, str]) -> str | None:
    """`${VAR}` and `$VAR` replaced once from `variables`; None when one is unset."""
    unresolved: list[str] = []

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            unresolved.append(name)
            return ""
        return variables[name]

    resolved = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", lookup,
                      value)
    return None if unresolved else resolved


def _identity_of(url: str) -> tuple[str, ...] | None:
    """The server's identity of `url`'s database; None when it cannot be reached quickly."""
    try:
        from sqlalchemy import create_engine

        parsed = normalise_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            database = parsed.database or ""
            if not database or not Path(database).exists():
                return None
        args = ({"connect_timeout": 3} if backend in ("postgresql", "mysql", "mariadb")
                else {})
        engine = create_engine(parsed, connect_args=args)
        try:
            return server_identity(engine)
        finally:
            engine.dispose()
    except Exception:
        return None


def refuse_production(url: str, root: Path, *, what: str, allow: bool) -> str:
    """Refuse to write into a database an environment marks production.

    Returns the production environment's name when `allow` overrides the refusal ("" when
    the database is not production).
    """
    production = production_databases(root)
    identity: tuple[str, ...] | None = None
    for name, production_url in production.items():
        try:
            match = same_database(url, production_url)
        except Exception:
            continue
        if not match:  # another spelling of the same server and database?
            if identity is None:
                identity = _identity_of(url) or ()
            match = bool(identity) and _identity_of(production_url) == identity
        if match:
            if allow:
                return name
            raise ProductionRefused(
                f"{what} {display_url(url)} holds production data ({name})",
                hint="write into a staging database; --allow-production overrides "
                     "(and is printed)")
    return ""
