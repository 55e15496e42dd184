"""Fixtures for the data tools' tests: real SQLite, PostgreSQL and MariaDB databases.

Server databases are uniquely named (`qgate_data_<random>`) and dropped afterwards; an
unreachable server fails the test (never a skip).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli_support import PROJECT

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
MARIADB_ADMIN = {"host": "127.0.0.1", "port": 3306, "user": "root"}
MASK_KEY = "qgate-data-test-key-0123456789"

NewDatabase = Callable[[str], str]


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewDatabase]:
    """Make an empty database on a backend (sqlite, postgresql, mariadb); all dropped at the end."""
    import psycopg2
    import pymysql

    made: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        name = f"qgate_data_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / (name + '.db')}"
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

    yield make
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


@pytest.fixture(scope="session")
def small_spec() -> object:
    """datasets/demo.yaml with fewer customers and orders (same reference facts)."""
    from harness.data.spec import Sizes, load_spec

    spec = load_spec(PROJECT / "datasets" / "demo.yaml")
    return dataclasses.replace(spec, sizes=Sizes(customers=40, orders=80), pool_names=200,
                               pool_buildings=100)


@pytest.fixture
def mask_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The masking key in the environment variable the rules name."""
    monkeypatch.setenv("QGATE_MASK_KEY", MASK_KEY)
    return MASK_KEY


def sqlite_path(url: str) -> Path:
    """The file behind a sqlite:/// URL."""
    return Path(url.removeprefix("sqlite:///"))
