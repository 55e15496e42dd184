"""Fixtures every test folder shares."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def reports_in_tmp(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs started by the tests write under a fresh temp folder, never the project's
    reports/ (a test that needs its own folder sets QGATE_REPORTS_DIR itself)."""
    path = tmp_path_factory.mktemp("reports")
    monkeypatch.setenv("QGATE_REPORTS_DIR", str(path))
    return path


@pytest.fixture
def closed_port_url() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
