"""Acceptance runs write their reports under a temp folder, not the project's reports/."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def reports_in_tmp(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh reports folder for one `qgate demo` run."""
    path = tmp_path_factory.mktemp("reports")
    monkeypatch.setenv("QGATE_REPORTS_DIR", str(path))
    return path
