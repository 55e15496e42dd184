"""Fixtures for the harness's own tests: real demo stores over real HTTP, and the CLI."""

from __future__ import annotations

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


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch project root (environments/, gate.toml, suites/ link) for config mistakes."""
    (tmp_path / "environments").mkdir()
    for name in ("demo.toml", "staging.toml", "production.toml", "security-rules.tsv"):
        (tmp_path / "environments" / name).write_text(
            (PROJECT / "environments" / name).read_text())
    (tmp_path / "gate.toml").write_text((PROJECT / "gate.toml").read_text())
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    return tmp_path
