"""Cost of the load suite itself: start-up to the first request, and parsing the results.

- time from launch to the first request a target receives: bare `locust --headless` vs
  qgate's engine (locust + qgate's plugin, the same locustfile), median of interleaved runs;
- a whole `qgate run --suites load` of 5 s of load: wall time vs the load itself;
- parsing locust's JSON histograms and stats history into the suite's evidence: a real run's
  files and a synthetic soak (100 request names, 30 minutes of per-second history).

Prints and saves benchmarks/results/load_startup.json.

    .venv/bin/python benchmarks/load_startup.py        # BENCH_RUNS=5
"""

from __future__ import annotations

import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LOCUSTFILE = '''\
from locust import FastHttpUser, constant, task


class Prober(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def ping(self):
        self.client.get("/ping", name="ping")
'''


class FirstRequest:
    """A tiny target that remembers when the first request arrived."""

    def __init__(self) -> None:
        self.first: float | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if owner.first is None:
                    owner.first = time.monotonic()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def bare_first_request(work: Path, target: FirstRequest) -> float:
    target.first = None
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "locust", "-f", str(work / "probe.py"), "--headless",
                    "--host", target.url, "-u", "1", "-r", "1", "-t", "2s", "--only-summary",
                    "--json-file", str(work / "bare" / "stats"), "--logfile",
                    str(work / "bare.log")], capture_output=True, check=False)
    assert target.first is not None
    return target.first - started


def engine_first_request(work: Path, target: FirstRequest) -> float:
    from harness.load.engine import LocustPlan, run_locust

    target.first = None
    started = time.monotonic()
    run_locust(LocustPlan(locustfile=work / "probe.py", host=target.url, out_dir=work / "eng",
                          users=1, spawn_rate=1, duration_s=2, max_requests=10_000))
    assert target.first is not None
    return target.first - started


def suite_run(work: Path, target: FirstRequest) -> tuple[float, float]:
    """Wall time of `qgate run --suites load` with 5 s of load, and the load's own span."""
    (work / "environments").mkdir(exist_ok=True)
    (work / "environments" / "bench.toml").write_text(f'''
base_url = "{target.url}"
suites = ["load"]
[load]
locustfile = "probe.py"
users = 2
duration_s = 5
''')
    (work / "gate.toml").write_text('[required]\nbench = ["load"]\n')
    if not (work / "suites").exists():
        (work / "suites").symlink_to(ROOT / "suites")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "bench", "--suites",
                    "load"], cwd=work, capture_output=True, check=False,
                   env={**os.environ, "QGATE_ROOT": str(work),
                        "QGATE_REPORTS_DIR": str(work / "reports")})
    wall = time.monotonic() - started
    load = json.loads((work / "reports" / "latest" / "suites" / "load.json").read_text())
    return wall, load["metrics"]["load.duration_s"]


def parse(out_dir: Path) -> float:
    """Seconds to turn locust's files into the suite's evidence."""
    from harness.load.evidence import derive_evidence
    from harness.load.settings import LoadSettings, Slo
    from harness.load.stats import read_history_csv, read_stats_json

    started = time.perf_counter()
    stats = read_stats_json(out_dir / "stats.json")
    history = read_history_csv(out_dir / "locust_stats_history.csv")
    settings = LoadSettings(slo={n: Slo(p95_ms=500) for n in list(stats.entries)[:20]})
    derive_evidence("load", stats, history, {}, settings)
    return time.perf_counter() - started


def synthetic_soak(out_dir: Path, names: int = 100, seconds: int = 1800) -> None:
    """Files shaped like locust's after a 30-minute run with `names` request names."""
    rng = random.Random(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 1_800_000_000
    entries = []
    for i in range(names):
        buckets = {str(b): rng.randint(1, 50) for b in
                   sorted({rng.choice([*range(1, 100), *range(100, 1000, 10),
                                       *range(1000, 10000, 100)]) for _ in range(400)})}
        count = sum(buckets.values())
        entries.append({"name": f"request {i}", "method": "GET", "num_requests": count,
                        "num_failures": rng.randint(0, 5), "response_times": buckets,
                        "total_response_time": count * 50, "max_response_time": 9900,
                        "start_time": start, "last_request_timestamp": start + seconds,
                        "num_reqs_per_sec": {str(start + s): rng.randint(0, 9)
                                             for s in range(seconds)},
                        "num_fail_per_sec": {}})
    (out_dir / "stats.json").write_text(json.dumps(entries))
    with (out_dir / "locust_stats_history.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
                         "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%",
                         "99.99%", "100%", "Total Request Count", "Total Failure Count",
                         "Total Median Response Time", "Total Average Response Time",
                         "Total Min Response Time", "Total Max Response Time",
                         "Total Average Content Size"])
        for s in range(seconds):
            for name in [*(e["name"] for e in entries), "Aggregated"]:
                writer.writerow([start + s, 50, "GET", name, "3.2", "0.0", *(["42"] * 11),
                                 s * 3, 0, 40, 41.5, 2, 900, 120])


def main() -> int:
    sys.path.insert(0, str(ROOT))
    target = FirstRequest()
    with tempfile.TemporaryDirectory(prefix="qgate-bench-startup-") as tmp:
        work = Path(tmp)
        (work / "probe.py").write_text(LOCUSTFILE)
        bare_first_request(work, target)  # warm caches
        bare, engine = [], []
        for i in range(RUNS):
            bare.append(bare_first_request(work, target))
            engine.append(engine_first_request(work, target))
            print(f"run {i + 1}/{RUNS}: bare {bare[-1]:.2f} s, qgate engine {engine[-1]:.2f} s",
                  file=sys.stderr, flush=True)
        wall, span = suite_run(work, target)
        real_files = sorted((work / "reports").glob("*/artifacts/load/locust"))[-1]
        real_parse = statistics.median(parse(real_files) for _ in range(5))
        synthetic_soak(work / "soak")
        soak_parse = parse(work / "soak")
    figures = {
        "benchmark": "load_startup", "runs": RUNS,
        "first_request_s": {"bare_locust_median": round(statistics.median(bare), 3),
                            "qgate_engine_median": round(statistics.median(engine), 3),
                            "bare_locust": [round(x, 3) for x in bare],
                            "qgate_engine": [round(x, 3) for x in engine]},
        "engine_startup_overhead_s": round(statistics.median(engine) - statistics.median(bare),
                                           3),
        "suite_run_5s_load": {"wall_s": round(wall, 2), "load_span_s": span,
                              "overhead_s": round(wall - span, 2)},
        "parse_s": {"real_run": round(real_parse, 4),
                    "synthetic_soak_100_names_1800s": round(soak_parse, 2)},
        **machine(),
    }
    out = ROOT / "benchmarks" / "results" / "load_startup.json"
    print(f"first request: bare locust {figures['first_request_s']['bare_locust_median']} s, "
          f"qgate engine {figures['first_request_s']['qgate_engine_median']} s; "
          f"qgate run with 5 s of load: {wall:.1f} s wall ({wall - span:.1f} s overhead); "
          f"parsing: {real_parse * 1000:.1f} ms (real run), {soak_parse:.1f} s (30-min soak, "
          "100 names)")
    save(out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
