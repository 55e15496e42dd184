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
