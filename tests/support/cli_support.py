"""Helpers shared by the harness's own tests: run the real `qgate` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Completed:
    """A finished qgate process."""

    code: int
    out: str
    err: str


def run_qgate(*args: str, cwd: Path = PROJECT, env: dict[str, str] | None = None,
              timeout: float = 600) -> Completed:
    """Run the real `qgate` console entry in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


HEAVY = ("playwright", "locust", "sqlalchemy", "zapv2", "faker", "fastapi", "jinja2")


def heavy_modules_after(argv: list[str]) -> tuple[int | None, list[str]]:
    """Run `qgate ARGV` in a fresh interpreter; its exit code and the heavy modules it loaded."""
    code = ("import json, sys\nfrom harness.cli import main\n"
            f"try:\n    code = main({argv!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
            f"heavy = {{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})\n"
            "print(json.dumps([code, sorted(heavy)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PROJECT).stdout.strip().splitlines()[-1]
    status, loaded = json.loads(out)
    return status, loaded


def run_dir_of(output: str) -> Path:
    """The run folder a qgate command printed as its last `report: …` line."""
    line = next(x for x in reversed(output.strip().splitlines()) if x.startswith("report: "))
    return Path(line.removeprefix("report: ")).parent


def assert_partial(run: dict, ran: list[str], left_out: list[str]) -> None:
    """A partial run: INCONCLUSIVE only because `left_out` did not run; what ran passed."""
    verdict = run["verdict"]
    assert verdict["decision"] == "INCONCLUSIVE", verdict
    bad = [c for c in verdict["criteria"] if c["outcome"] in ("fail", "error")]
    assert sorted(c["suite"] for c in bad) == sorted(left_out), bad
    assert all(c["name"] == "evidence collected" and c["observed"] == "not run" for c in bad)
    assert all("left out of this run" in c["reason"] for c in bad), bad
    for suite in ran:
        assert run["suites"][suite]["status"] == "passed", run["suites"][suite]


def wait_for(condition, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every live descendant of `pid` (walks /proc children lists;
    never looks at processes outside this tree)."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            for child in children:
                if child in found:
                    continue
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as f:
                        found[child] = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                todo.append(child)
    return found


def alive(pid: int, cmdline: str) -> bool:
    """Whether `pid` still runs `cmdline` (not reused by another process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace") == cmdline
    except OSError:
        return False


#: one smoke check, for scratch environment files (an environment declares its checks)
SMOKE_CHECK = '\n[[smoke.checks]]\nname = "healthz"\npath = "/healthz"\n'
