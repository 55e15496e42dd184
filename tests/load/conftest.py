"""Fixtures for the load tests: Acme (a shop of the tests' own) and temporary reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from acme_shop import AcmeShop, serve_acme


@pytest.fixture(autouse=True)
def reports_in_tmp(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs started by these tests write under a temp folder, not the project's reports/."""
    path = tmp_path_factory.mktemp("reports")
    monkeypatch.setenv("QGATE_REPORTS_DIR", str(path))
    return path


@pytest.fixture
def acme_shop() -> Iterator[AcmeShop]:
    """The Acme shop on a free 127.0.0.1 port, for one test."""
    shop, server = serve_acme()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
