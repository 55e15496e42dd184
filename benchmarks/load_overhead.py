"""Load overhead: RPS of one endpoint through `qgate run --suites load` vs bare locust.

Same endpoint (the demo store's /healthz), same locustfile (a FastHttpUser with no think
time), same users and run time, interleaved runs against the same store. `wrk` against the
same endpoint records the server's ceiling. Target (issue 10): qgate ≥ 0.9 × bare locust.
Prints and saves benchmarks/results/load_overhead.json.

    .venv/bin/python benchmarks/load_overhead.py       # BENCH_PAIRS=3 BENCH_SECONDS=15
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
PAIRS = int(os.environ.get("BENCH_PAIRS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
USERS = int(os.environ.get("BENCH_USERS", "20"))

LOCUSTFILE = '''\
from locust import FastHttpUser, constant, task


class Prober(FastHttpUser):
    wait_time = constant(0)

    @task
    def healthz(self):
        self.client.get("/healthz", name="healthz")
'''


def bare_locust(work: Path, url: str) -> float:
    """RPS of plain `locust --headless` (its own JSON statistics)."""
    out = work / "bare"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(work / "bench_locustfile.py"),
                    "--headless", "--host", url, "-u", str(USERS), "-r", str(USERS), "-t",
                    f"{SECONDS}s", "--json-file", str(out / "stats"), "--only-summary",
                    "--logfile", str(out / "locust.log")], check=False, capture_output=True)
    from harness.load.stats import read_stats_json
    stats = read_stats_json(out / "stats.json")
    return stats.requests / stats.duration_s


def through_qgate(work: Path, url: str) -> float:
    """RPS as the load suite measured it (`load.rps` in its SuiteResult)."""
    reports = work / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "bench", "--suites",
                    "load"], cwd=work, check=False, capture_output=True,
                   env={**os.environ, "QGATE_ROOT": str(work), "QGATE_REPORTS_DIR": str(reports)})
    result = json.loads((reports / "latest" / "suites" / "load.json").read_text())
    return float(result["metrics"]["load.rps"])


def wrk(url: str) -> float:
    """Requests per second wrk gets from the same endpoint (the server's ceiling here)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    out = subprocess.run(["wrk", "-t", "2", "-c", str(USERS), "-d", f"{SECONDS}s",
                          f"{url}/healthz"], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("Requests/sec:"))
    return float(line.split()[1])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from demostore.process import start_store

    with tempfile.TemporaryDirectory(prefix="qgate-bench-load-") as tmp, \
            start_store(version="1.0.0") as store:
        work = Path(tmp)
        (work / "bench_locustfile.py").write_text(LOCUSTFILE)
        (work / "environments").mkdir()
        (work / "environments" / "bench.toml").write_text(f'''
base_url = "{store.base_url}"
suites = ["load"]
[load]
locustfile = "bench_locustfile.py"
users = {USERS}
spawn_rate = {USERS}
duration_s = {SECONDS}
abort_early = false
''')
        (work / "gate.toml").write_text('[required]\nbench = ["load"]\n')
        (work / "suites").symlink_to(ROOT / "suites")
        bare, qgate = [], []
        for i in range(PAIRS):  # interleaved, so drift hits both equally
            bare.append(bare_locust(work, store.base_url))
            qgate.append(through_qgate(work, store.base_url))
            print(f"pair {i + 1}/{PAIRS}: bare {bare[-1]:.1f} rps, qgate {qgate[-1]:.1f} rps",
                  file=sys.stderr, flush=True)
        ceiling = wrk(store.base_url)
    ratio = statistics.median(qgate) / statistics.median(bare)
    figures = {
        "benchmark": "load_overhead", "endpoint": "/healthz (demo store, SQLite)",
        "users": USERS, "seconds_per_run": SECONDS, "pairs": PAIRS,
        "bare_locust_rps": [round(x, 1) for x in bare],
        "qgate_rps": [round(x, 1) for x in qgate],
        "bare_locust_rps_median": round(statistics.median(bare), 1),
        "qgate_rps_median": round(statistics.median(qgate), 1),
        "ratio_qgate_to_bare": round(ratio, 3), "target": ">= 0.9",
        "wrk_rps_ceiling": round(ceiling, 1),
        **machine(),
    }
    out = ROOT / "benchmarks" / "results" / "load_overhead.json"
    print(f"qgate {figures['qgate_rps_median']} rps vs bare locust "
          f"{figures['bare_locust_rps_median']} rps: {ratio:.2f}× (target ≥ 0.9); "
          f"wrk ceiling {figures['wrk_rps_ceiling']} rps")
    save(out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
