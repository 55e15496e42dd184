"""Smoke wall time and start-up: `qgate smoke` vs a plain parallel httpx script, same run.

Prints and saves benchmarks/results/smoke.json. Target (issue 5): qgate smoke ≤ 1.5× the
plain script; start-up measured with `python -X importtime` for `qgate --help` and
`qgate smoke`.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "15"))


# Measure what users get: Python caches bytecode (some shells disable it for development).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


def import_ms(args: list[str]) -> float:
    """Total import time (ms) of one `qgate ARGS` run, from `python -X importtime`."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-m", "harness.cli", *args],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, check=False).stderr
    total = 0
    for line in err.splitlines():
        parts = line.split("|")
        # top-level imports have exactly one space before the name; nested ones more
        if len(parts) == 3 and parts[1].strip().isdigit() and re.match(r"^ \S", parts[2]):
            total += int(parts[1])
    return total / 1000


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from demostore.process import start_store

    with start_store(version="1.0.0") as store:
        qgate = [sys.executable, "-m", "harness.cli", "smoke", "--env", "demo", "--base-url",
                 store.base_url, "--expect-version", "1.0.0"]
        plain = [sys.executable, "benchmarks/_plain_smoke.py", store.base_url]
        timed(qgate), timed(plain)  # warm caches
        q_times, p_times = [], []
        for i in range(RUNS):  # interleaved, so drift hits both equally
            q_times.append(timed(qgate))
            p_times.append(timed(plain))
            print(f"\rrun {i + 1}/{RUNS}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        smoke_imports = import_ms(qgate[3:])
    q, p = statistics.median(q_times), statistics.median(p_times)
    result = {
        "runs": RUNS,
        "qgate_smoke_median_s": round(q, 3), "plain_httpx_median_s": round(p, 3),
        "ratio": round(q / p, 2), "target_ratio_max": 1.5,
        "import_ms": {"qgate --help": import_ms(["--help"]),
                      "qgate smoke": smoke_imports},
    }
    out = ROOT / "benchmarks" / "results" / "smoke.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"qgate smoke {q:.3f}s vs plain httpx {p:.3f}s: {q / p:.2f}× (target ≤ 1.5×) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
