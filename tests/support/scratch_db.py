"""Scratch databases on the local PostgreSQL and MariaDB servers, uniquely named
(`qgate_data_<random>`) and dropped afterwards; an unreachable server fails the test (never
a skip)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
MARIADB_ADMIN = {"host": "127.0.0.1", "port": 3306, "user": "root"}

NewDatabase = Callable[[str], str]


@contextmanager
def scratch_databases(sqlite_dir: Callable[[], Path]) -> Iterator[NewDatabase]:
    """Make an empty database on a backend (sqlite, postgresql, mariadb): its SQLAlchemy URL.
    Every server database made is dropped at the end."""
    import psycopg2
    import pymysql

    made: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        name = f"qgate_data_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{sqlite_dir() / (name + '.db')}"
        if backend == "postgresql":
            admin = psycopg2.connect(**PG_ADMIN)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
            admin.close()
            made.append((backend, name))
            return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
        if backend == "mariadb":
            admin = pymysql.connect(**MARIADB_ADMIN, autocommit=True)  # type: ignore[arg-type]
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                            "COLLATE utf8mb4_unicode_ci")
            admin.close()
            made.append((backend, name))
            return f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
        raise ValueError(backend)

    try:
        yield make
    finally:
        for backend, name in made:
            if backend == "postgresql":
                admin = psycopg2.connect(**PG_ADMIN)
                admin.autocommit = True
                with admin.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.close()
            else:
                admin = pymysql.connect(**MARIADB_ADMIN, autocommit=True)  # type: ignore[arg-type]
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                admin.close()
