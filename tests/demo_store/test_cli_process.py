"""The command line and the subprocess life cycle (start, announce, stop, no orphans)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from demostore.cli import main
from demostore.faults import FAULTS, Fault
from demostore.process import StoreStartError, start_store

ISSUE_ORDER = ["slow-checkout", "payment-errors", "oversell", "broken-add-to-cart",
               "wrong-total", "xss-search", "no-security-headers", "idor-orders", "health-down",
               "version-mismatch", "pii-in-logs"]


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_faults_registry() -> None:
    assert list(FAULTS) == ISSUE_ORDER
    assert all(isinstance(f, Fault) and f.defect and f.caught_by for f in FAULTS.values())
    with pytest.raises(AttributeError):
        FAULTS["oversell"].name = "x"  # type: ignore[misc]


def test_faults_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["FAULT", "DEFECT", "CAUGHT", "BY"]
    assert [line.split()[0] for line in lines[1:]] == ISSUE_ORDER


def test_unknown_fault_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--fault", "oversell", "--fault", "no-such-fault"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no-such-fault" in err


def test_help_reads_as_qgate_store(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: qgate store serve")
    for flag in ("--host", "--port", "--db", "--fault", "--version", "--commit",
                 "--tick-seconds", "--log-dir"):
        assert flag in out


def test_serve_announces_one_line_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "demostore", "serve", "--port", "0",
                             "--version", "9.9.9", "--commit", "abc123"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"demostore listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        base = f"http://127.0.0.1:{match.group(1)}"
        assert httpx.get(base + "/version").json() == {"version": "9.9.9", "commit": "abc123"}
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and out.strip() == ""
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_start_store_context_manager_leaves_no_orphans() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with start_store() as store:
            pid = store.pid
            assert httpx.get(store.base_url + "/healthz").status_code == 200
            raise RuntimeError("boom")
    assert _gone(pid)


def test_two_stores_get_different_ports() -> None:
    with ThreadPoolExecutor(2) as pool:  # started at the same moment: no port race
        first, second = pool.submit(start_store), pool.submit(start_store)
        a, b = first.result(), second.result()
    with a, b:
        assert a.base_url != b.base_url
        assert httpx.get(a.base_url + "/healthz").status_code == 200
        assert httpx.get(b.base_url + "/healthz").status_code == 200
    assert _gone(a.pid) and _gone(b.pid)


def test_start_failure_carries_stderr_tail() -> None:
    with pytest.raises(StoreStartError) as info:
        start_store(db_url="postgresql+psycopg2://postgres@127.0.0.1:1/none", ready_timeout=20)
    message = str(info.value)
    assert "exited with code 2" in message and "cannot prepare the database" in message
    assert isinstance(info.value, RuntimeError)
