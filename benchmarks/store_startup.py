"""Demo store start-up: spawn `python -m demostore serve` (SQLite) until the first 200 /healthz.

Measures, over several runs, the time from spawning the process to (a) the
`demostore listening on URL` line and (b) the first 200 from /healthz. Prints the figures and
saves benchmarks/results/store_startup.json. Target (issue 3): under 2 s on SQLite.

    .venv/bin/python benchmarks/store_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "store_startup.json"
TARGET_S = 2.0


def one_run() -> tuple[float, float]:
    """(seconds to the listening line, seconds to the first 200 /healthz)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "demostore", "serve", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        announced = time.perf_counter() - started
        if not line.startswith("demostore listening on "):
            raise RuntimeError(f"unexpected first line: {line!r}")
        url = line.rsplit(" ", 1)[-1] + "/healthz"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return announced, time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def main() -> int:
    """Run the benchmark, print and save the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    one_run()  # warm the OS file cache so the runs measure the store, not the disk
    runs = [one_run() for _ in range(args.runs)]
    ready = [r[1] for r in runs]
    summary = {
        "benchmark": "store_startup",
        "command": "python -m demostore serve --port 0 (SQLite temp file)",
        "runs": args.runs,
        "listening_s": [round(r[0], 3) for r in runs],
        "healthz_200_s": [round(r, 3) for r in ready],
        "median_s": round(statistics.median(ready), 3),
        "max_s": round(max(ready), 3),
        "target_s": TARGET_S,
        "meets_target": max(ready) < TARGET_S,
        **machine(),
    }
    print(f"store start-up to first 200 /healthz over {args.runs} runs: "
          f"median {summary['median_s']:.3f} s, max {summary['max_s']:.3f} s "
          f"(target < {TARGET_S:.0f} s; load avg {summary['load_avg_1m']})")
    save(RESULTS, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
