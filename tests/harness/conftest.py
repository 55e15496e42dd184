"""Fixtures for the harness's own tests: real demo stores over real HTTP, and the CLI."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_support import PROJECT


@pytest.fixture(scope="session")
def clean_store() -> Iterator[str]:
    """A demo store with no faults, for the whole session."""
    from demostore.process import start_store
    with start_store(version="1.0.0") as store:
        yield store.base_url


@pytest.fixture(autouse=True)
def reports_in_tmp(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs started by these tests write under a temp folder, not the project's reports/."""
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


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch project root (environments/, gate.toml, suites/ link) for config mistakes."""
    (tmp_path / "environments").mkdir()
    for name in ("demo.toml", "staging.toml", "production.toml"):
        (tmp_path / "environments" / name).write_text(
            (PROJECT / "environments" / name).read_text())
    (tmp_path / "gate.toml").write_text((PROJECT / "gate.toml").read_text())
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    return tmp_path
