"""`qgate doctor`: what is installed and reachable, and what to do about each gap."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import ExitCode, HarnessError


@dataclass(frozen=True)
class ToolStatus:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed_by: str = ""
    optional: bool = False


def _module(name: str, needed_by: str, fix: str, optional: bool = False) -> ToolStatus:
    spec = importlib.util.find_spec(name)
    return ToolStatus(name, spec is not None, "importable" if spec else "not installed", fix,
                   needed_by, optional)


def _browser() -> ToolStatus:
    from harness.e2e.browser import discover_browser
    try:
        path = discover_browser("")
    except HarnessError as exc:
        return ToolStatus("chromium", False, exc.message, exc.hint or
                       "apt-get install -y chromium", "e2e, smoke --browser")
    return ToolStatus("chromium", True, path or "Playwright's own Chromium", "", "e2e")


def _binary(name: str, needed_by: str, fix: str, optional: bool = False) -> ToolStatus:
    path = shutil.which(name)
    return ToolStatus(name, path is not None, path or "not on PATH", fix, needed_by, optional)


def _port(name: str, host: str, port: int, needed_by: str, fix: str) -> ToolStatus:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return ToolStatus(name, True, f"{host}:{port} accepts connections", "", needed_by, True)
    except OSError as exc:
        return ToolStatus(name, False, f"{host}:{port}: {exc.strerror or exc}", fix, needed_by,
                       True)


def _wapiti() -> ToolStatus:
    from harness.security.wapiti import find_wapiti
    try:
        path = find_wapiti()
    except HarnessError as exc:
        return ToolStatus("wapiti", False, exc.message, "make setup (installs wapiti3 in "
                          ".scanner-venv)", "security (embedded scanner)")
    return ToolStatus("wapiti", True, path, "", "security (embedded scanner)")


def _zap_daemons() -> list[ToolStatus]:
    """A row per environment whose [security] engine is zap: is its daemon reachable?"""
    from urllib.parse import urlsplit

    from harness.config import available_environments, load_environment
    rows = []
    for name in available_environments():
        try:
            env = load_environment(name)
        except HarnessError:
            continue  # unresolved secrets etc.: `qgate run` reports those
        settings = env.suite_settings("security")
        if "security" not in env.suites or settings.engine != "zap":
            continue
        url = urlsplit(settings.zap_url)
        row = _port(f"zap daemon ({name})", url.hostname or "127.0.0.1", url.port or 8080,
                    f"security on {name}", "start ZAP: docker compose -f "
                    "harness/templates/ci/zap-compose.yml up -d")
        rows.append(ToolStatus(row.name, row.ok, row.detail, row.fix, row.needed_by, False))
    return rows


def _locust() -> ToolStatus:
    """locust runs as `python -m locust` (the load and stress suites' engine)."""
    if importlib.util.find_spec("locust") is None:
        return ToolStatus("locust", False, "not installed", "pip install 'qcommerce-harness[load]'"
                          " (make setup does)", "load, stress")
    result = subprocess.run([sys.executable, "-m", "locust", "--version"], capture_output=True,
                            text=True, timeout=60, check=False)
    version = (result.stdout or result.stderr).strip().split(" from ")[0]
    return ToolStatus("locust", result.returncode == 0, version or "does not start",
                      "pip install --force-reinstall locust", "load, stress")


def _allure() -> ToolStatus:
    from harness.allure_cli import find_allure
    path = find_allure()
    return ToolStatus("allure (npm)", path is not None, path or "not installed",
                   "make setup (npm install allure)", "qgate report --allure", True)


def _playwright_driver() -> ToolStatus:
    if importlib.util.find_spec("playwright") is None:
        return ToolStatus("playwright", False, "not installed", "make setup", "e2e")
    result = subprocess.run([sys.executable, "-m", "playwright", "--version"], capture_output=True,
                            text=True, timeout=30, check=False)
    return ToolStatus("playwright", result.returncode == 0, result.stdout.strip() or
                   result.stderr.strip()[:80], "pip install playwright", "e2e")


CHECKS: list[Callable[[], ToolStatus]] = [
    lambda: _module("pytest", "every suite", "make setup"),
    lambda: _module("httpx", "smoke", "make setup"),
    lambda: _module("pytest_playwright", "e2e", "pip install pytest-playwright"),
    lambda: _module("pytest_base_url", "e2e", "pip install pytest-base-url"),
    lambda: _module("xdist", "e2e -n", "pip install pytest-xdist"),
    lambda: _module("pytest_rerunfailures", "e2e retries", "pip install pytest-rerunfailures"),
    _playwright_driver,
    _browser,
    lambda: _binary("ffmpeg", "e2e video", "apt-get install -y ffmpeg", optional=True),
    lambda: _module("fastapi", "demo store", "make setup"),
    lambda: _module("sqlalchemy", "demo store", "make setup"),
    lambda: _module("yaml", "data (dataset specs, masking rules), demo store seed",
                    "make setup (pip install pyyaml)"),
    lambda: _module("faker", "data generate, data mask, qgate demo's dataset",
                    "pip install 'qcommerce-harness[data]'"),
    lambda: _module("pyarrow", "data generate --format parquet",
                    "pip install 'qcommerce-harness[data]'", True),
    _locust,
    lambda: _module("zapv2", "security via a ZAP daemon",
                    "pip install 'qcommerce-harness[security]'", True),
    _wapiti,
    _allure,
    lambda: _port("postgresql", "127.0.0.1", 5432, "data, demo store on PostgreSQL",
                  "start PostgreSQL or use SQLite"),
    lambda: _port("mariadb", "127.0.0.1", 3306, "data, demo store on MariaDB",
                  "start MariaDB or use SQLite"),
    lambda: _port("redis", "127.0.0.1", 6379, "(reserved)", "start redis-server"),
]


def doctor() -> int:
    """Print one line per tool; exit 0 when everything required is found, else 2.

    A missing tool is a set-up problem (exit 2, like a config error), not a NO-GO (1).
    """
    from harness.terminal import print_wrapped

    findings = [check() for check in CHECKS] + _zap_daemons()
    width = max(len(f.name) for f in findings)
    for f in findings:
        mark = "ok  " if f.ok else ("--  " if f.optional else "MISS")
        text = f.detail
        if not f.ok and f.fix:
            text += f"  → {f.fix}"
        if f.needed_by:
            text += f"  [{f.needed_by}]"
        print_wrapped(text, f"{mark} {f.name:<{width}}  ")
    missing = [f for f in findings if not f.ok and not f.optional]
    print(f"\n{len(missing)} required tool(s) missing" if missing else
          "\neverything required is installed")
    return int(ExitCode.USAGE if missing else ExitCode.GO)
