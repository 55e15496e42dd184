"""The security suite run the pytest way: on production only its passive checks run."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.policy import GatePolicy
from harness.results import SuiteResult
from harness.verdict import judge

PROJECT = Path(__file__).resolve().parents[2]


def test_production_runs_passive_checks_only(tmp_path: Path, clean_demo: str,
                                             reports_in_tmp: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    demo = (PROJECT / "environments" / "demo.toml").read_text()
    security = demo[demo.index("[security]"):]
    (tmp_path / "environments" / "prod.toml").write_text(
        f'base_url = "{clean_demo}"\nproduction = true\nsuites = ["smoke", "security"]\n'
        + security.replace("max_scan_time_s = 30", "max_scan_time_s = 8")
        .replace('rules = "environments/security-rules.tsv"', ""))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/security", "--env", "prod", "-p",
         "no:cacheprovider", "-q", "-o", "addopts=", "--rootdir", str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "QGATE_ROOT": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=False)
    assert "refusing" not in proc.stderr, proc.stderr  # not refused: it goes passive
    result = json.loads(next(reports_in_tmp.glob("*/suites/security.json")).read_text())
    outcomes = {t["name"]: t["outcome"] for t in result["tests"]}
    for active in ("test_shopper_cannot_read_or_cancel_another_shoppers_order",
                   "test_state_changing_posts_need_a_valid_csrf_token",
                   "test_login_is_rate_limited"):
        assert outcomes[active] == "not_applicable", outcomes
    assert outcomes["test_scan"] == "passed" and outcomes["test_error_pages_leak_no_internals"] \
        == "passed"
    assert result["metrics"]["security.scan.passive_only"] == 1
    assert "production: passive checks only" in result["notes"]
    # every required check ran or is not applicable, and the passive scan covered its crawl
    coverage = {c["key"]: c for c in result["coverage"]}
    assert {k: (c["observed"] >= c["minimum"]) for k, c in coverage.items()} == {
        "security.checks_ran": True, "security.scan.pages_2xx": True,
        "security.scan.modules_finished": True}


@pytest.fixture
def cookieless_site() -> Iterator[str]:
    """A production site of the test's own whose pages set no cookie at all."""
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            found = self.path == "/"
            body = b"<html>shop</html>" if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("declared", [False, True], ids=["undeclared", "declared-n/a"])
def test_a_required_check_that_did_not_run_is_inconclusive(
        tmp_path: Path, cookieless_site: str, reports_in_tmp: Path, declared: bool) -> None:
    """Issue 16 item 9: on production the cookie check saw no session cookie, so it checked
    nothing; that is INCONCLUSIVE naming the key to declare, unless the environment declares
    it not applicable with a reason (then GO). The scan is deselected to keep this fast."""
    (tmp_path / "environments").mkdir()
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    not_applicable = ('[security.not_applicable]\ncookies = "no sessions on the public pages"\n'
                      if declared else "")
    (tmp_path / "environments" / "prod.toml").write_text(
        f'base_url = "{cookieless_site}"\nproduction = true\nsuites = ["security"]\n'
        '[security]\npages = ["/"]\n[security.cookies]\nsession_cookies = ["sid"]\n'
        + not_applicable)
    subprocess.run(
        [sys.executable, "-m", "pytest", "suites/security", "--env", "prod", "-p",
         "no:cacheprovider", "-q", "-o", "addopts=", "--rootdir", str(tmp_path),
         "-k", "not test_scan"],
        cwd=tmp_path, env={**os.environ, "QGATE_ROOT": str(tmp_path)},
        capture_output=True, text=True, timeout=120, check=False)
    result = SuiteResult.from_dict(json.loads(
        next(reports_in_tmp.glob("*/suites/security.json")).read_text()))
    verdict = judge({"security": result}, GatePolicy(), [], environment="prod",
                    required=("security",), today=dt.date(2026, 12, 7))
    row = next(r for r in verdict.criteria if "required security checks" in r.name)
    if declared:
        assert verdict.decision == "GO", verdict.summary
        assert row.outcome == "pass"
        cookies = next(t for t in result.tests if "cookies" in t.name)
        assert cookies.outcome == "not_applicable" and "no sessions" in cookies.message
    else:
        assert verdict.decision == "INCONCLUSIVE"
        assert row.outcome == "error"
        assert "did not run: cookies (skipped: " in row.reason
        assert "session cookie(s) sid were never set by security.pages" in row.reason
        assert "[security.not_applicable] (cookies = \"why\")" in row.reason


def _processes_scanning(port: int) -> list[int]:
    """Pids of wapiti processes whose command line targets 127.0.0.1:`port`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "wapiti" in cmdline and f"127.0.0.1:{port}/" in cmdline:
            found.append(int(entry.name))
    return found


def test_sigterm_on_qgate_stops_the_running_scanner(tmp_path: Path) -> None:
    """Issue 16 item 20: a real `qgate run` is SIGTERMed while wapiti crawls a slow site; the
    scanner's process group is gone when qgate has exited (it used to crawl on, alone)."""
    import signal
    import time

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(0.5)
            body = b"".join(b"<a href='/p%d?q=1'>p</a>" % i for i in range(50))
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    (tmp_path / "environments").mkdir()
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    (tmp_path / "environments" / "stage.toml").write_text(
        f'base_url = "http://127.0.0.1:{port}"\nsuites = ["security"]\n[security]\n'
        'max_scan_time_s = 120\nmodules = ["http_headers"]\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--env", "stage", "--suites", "security"],
        cwd=tmp_path, env={**os.environ, "QGATE_ROOT": str(tmp_path),
                           "QGATE_REPORTS_DIR": str(tmp_path / "reports")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        scanners: list[int] = []
        while not scanners and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            scanners = _processes_scanning(port)
        assert scanners, "wapiti never started"
        groups = {os.getpgid(pid) for pid in scanners}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3, out  # interrupted: INCONCLUSIVE
        assert "qgate: interrupted" in out
        for group in groups:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                continue
            raise AssertionError(f"wapiti's process group {group} outlived qgate")
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_scanning(port):
            os.kill(pid, signal.SIGKILL)
        server.shutdown()
        server.server_close()


LOCUSTFILE = '''
from locust import HttpUser, constant, task


class Shopper(HttpUser):
    wait_time = constant(0.5)

    @task
    def home(self):
        self.client.get("/", name="home")
'''


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline and " -m locust " in cmdline:
                found.append(int(entry.name))
    return found


def test_sigterm_on_qgate_stops_the_running_load_generator(tmp_path: Path,
                                                          cookieless_site: str) -> None:
    """Issue 16 item 20, load: a real `qgate run` is SIGTERMed during a 2-minute locust run;
    locust's process group is gone when qgate has exited."""
    import signal
    import time

    (tmp_path / "environments").mkdir()
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    (tmp_path / "stub_locustfile.py").write_text(LOCUSTFILE)
    (tmp_path / "environments" / "stage.toml").write_text(
        f'base_url = "{cookieless_site}"\nsuites = ["load"]\n[load]\n'
        'locustfile = "stub_locustfile.py"\nusers = 2\nspawn_rate = 2\nduration_s = 120\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--env", "stage", "--suites", "load"],
        cwd=tmp_path, env={**os.environ, "QGATE_ROOT": str(tmp_path),
                           "QGATE_REPORTS_DIR": str(tmp_path / "reports")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marker = str(tmp_path / "stub_locustfile.py")
    try:
        deadline = time.monotonic() + 90
        generators: list[int] = []
        while not generators and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            generators = _processes_with(marker)
        assert generators, "locust never started"
        time.sleep(2)  # let it start its users
        groups = {os.getpgid(pid) for pid in generators}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3, out
        for group in groups:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                continue
            raise AssertionError(f"locust's process group {group} outlived qgate")
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)
