"""discover_browser: configured path, then Playwright's own Chromium, then the system's."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.e2e.browser import (
    BrowserNotFound,
    discover_browser,
    playwright_browsers_dir,
    playwright_chromium_installed,
)
from harness.errors import ToolMissing


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_configured_path_wins_over_everything(tmp_path: Path) -> None:
    chrome = _executable(tmp_path / "my-chrome")
    system = _executable(tmp_path / "bin" / "chromium")
    found = discover_browser(str(chrome), playwright_installed=True, search_path=str(system.parent))
    assert found == str(chrome)


def test_configured_path_that_is_not_executable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound, match="e2e.browser_path") as info:
        discover_browser(str(tmp_path / "missing"), playwright_installed=True)
    assert isinstance(info.value, ToolMissing)
    assert "leave it empty" in info.value.one_line()


def test_playwright_own_chromium_beats_the_system_one(tmp_path: Path) -> None:
    _executable(tmp_path / "bin" / "chromium")
    found = discover_browser("", playwright_installed=True, search_path=str(tmp_path / "bin"))
    assert found is None


@pytest.mark.parametrize("name", ["chromium", "chromium-browser", "google-chrome"])
def test_system_chromium_on_path(tmp_path: Path, name: str) -> None:
    system = _executable(tmp_path / "bin" / name)
    found = discover_browser("", playwright_installed=False, search_path=str(system.parent))
    assert found == str(system)


def test_no_chromium_anywhere_names_the_three_fixes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrowserNotFound) as info:
        discover_browser("", playwright_installed=False, search_path=str(tmp_path / "empty"))
    message = info.value.one_line()
    assert "playwright install chromium" in message and "e2e.browser_path" in message


def test_playwright_install_is_detected_by_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    assert playwright_browsers_dir() == tmp_path
    assert not playwright_chromium_installed()
    # Another Playwright's build does not count; this version's does.
    (tmp_path / "chromium-1").mkdir()
    (tmp_path / "chromium-1" / "INSTALLATION_COMPLETE").touch()
    assert not playwright_chromium_installed()
    import json

    import playwright

    manifest = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(
        b["revision"] for b in json.loads(manifest.read_text())["browsers"]
        if b["name"] == "chromium"
    )
    (tmp_path / f"chromium-{revision}").mkdir()
    (tmp_path / f"chromium-{revision}" / "INSTALLATION_COMPLETE").touch()
    assert playwright_chromium_installed()


def test_this_machine_has_a_chromium() -> None:
    # No skip: CI must provide a browser, and the e2e suite fails without one.
    found = discover_browser("")
    assert found is None or os.access(found, os.X_OK)
