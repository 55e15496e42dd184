"""Fixtures for the data tools' tests: real SQLite, PostgreSQL and MariaDB databases.

Server databases are uniquely named (`qgate_data_<random>`) and dropped afterwards; an
unreachable server fails the test (never a skip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import PROJECT
from scratch_db import NewDatabase, scratch_databases

__all__ = ["NewDatabase"]

MASK_KEY = "qgate-data-test-key-0123456789"


@pytest.fixture(scope="session")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewDatabase]:
    """Make an empty database on a backend (sqlite, postgresql, mariadb); all dropped at the end."""
    with scratch_databases(lambda: tmp_path_factory.mktemp("db")) as make:
        yield make


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
