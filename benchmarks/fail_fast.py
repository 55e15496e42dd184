"""A broken deploy is NO-GO in seconds: `qgate run` against a store whose /readyz fails.

Starts one demo store with the `health-down` fault, then times whole `qgate run --env demo`
processes (every suite the environment allows; smoke runs first and its failure stops the
run) from spawn to exit. Prints the figures and saves benchmarks/results/fail_fast.json.
Target (issue 8): NO-GO in ≤ 10 s wall.

    .venv/bin/python benchmarks/fail_fast.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "fail_fast.json"
TARGET_S = 10.0


def one_run(base_url: str, reports: str) -> tuple[float, int, str]:
    """(wall seconds, exit code, verdict line) of one `qgate run`."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "demo",
                           "--base-url", base_url], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "QGATE_REPORTS_DIR": reports}, check=False)
    wall = time.perf_counter() - started
    verdict = next((x for x in proc.stdout.splitlines() if x.startswith("VERDICT")), "")
    return wall, proc.returncode, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from demostore.process import start_store

    walls, codes, verdicts = [], set(), set()
    with start_store(faults=("health-down",), version="1.0.0") as store, \
            tempfile.TemporaryDirectory() as reports:
        for i in range(args.runs):
            wall, code, verdict = one_run(store.base_url, reports)
            walls.append(wall)
            codes.add(code)
            verdicts.add(verdict.split(" — ")[0])
            print(f"run {i + 1}/{args.runs}: {wall:.2f} s, exit {code}, {verdict[:90]}",
                  flush=True)
    figures = {
        "benchmark": "fail_fast", "target_s": TARGET_S, "runs": args.runs,
        "wall_s": {"median": round(statistics.median(walls), 2), "max": round(max(walls), 2),
                   "min": round(min(walls), 2)},
        "exit_codes": sorted(codes), "verdicts": sorted(verdicts),
        "met": max(walls) <= TARGET_S and codes == {1},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "command": "qgate run --env demo --base-url <store with --fault health-down>",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"NO-GO after a failed readiness check: median {figures['wall_s']['median']} s, "
          f"max {figures['wall_s']['max']} s (target ≤ {TARGET_S:g} s) -> "
          f"{'met' if figures['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
