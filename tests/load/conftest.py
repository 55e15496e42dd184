"""Fixtures for the load tests: Acme (a shop of the tests' own) and temporary reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from acme_shop import AcmeShop, serve_acme


@pytest.fixture
def acme_shop() -> Iterator[AcmeShop]:
    """The Acme shop on a free 127.0.0.1 port, for one test."""
    shop, server = serve_acme()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
