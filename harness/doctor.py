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
    from harness.config import project_root
    local = project_root() / ".scanner-venv" / "bin" / "wapiti"
    path = str(local) if local.exists() else shutil.which("wapiti")
    return ToolStatus("wapiti", path is not None, path or "not installed",
                   "the security suite will install it in .scanner-venv", "security (planned)",
                   True)


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
    _locust,
    lambda: _module("zapv2", "security via a ZAP daemon (planned)",
                    "pip install 'qcommerce-harness[zap]'", True),
    _wapiti,
    _allure,
    lambda: _port("postgresql", "127.0.0.1", 5432, "data, demo store on PostgreSQL",
                  "start PostgreSQL or use SQLite"),
    lambda: _port("mariadb", "127.0.0.1", 3306, "data, demo store on MariaDB",
                  "start MariaDB or use SQLite"),
    lambda: _port("redis", "127.0.0.1", 6379, "(reserved)", "start redis-server"),
]


def doctor() -> int:
    """Print one line per tool; exit 0 when everything required is found, else 1."""
    findings = [check() for check in CHECKS]
    width = max(len(f.name) for f in findings)
    for f in findings:
        mark = "ok  " if f.ok else ("--  " if f.optional else "MISS")
        line = f"{mark} {f.name:<{width}}  {f.detail}"
        if not f.ok and f.fix:
            line += f"  → {f.fix}"
        if f.needed_by:
            line += f"  [{f.needed_by}]"
        print(line)
    missing = [f for f in findings if not f.ok and not f.optional]
    print(f"\n{len(missing)} required tool(s) missing" if missing else
          "\neverything required is installed")
    return int(ExitCode.NO_GO if missing else ExitCode.GO)
