"""Synthetic data generation: pooled sampling vs Faker per row, and 1M orders into SQLite.

Part 1 (same run, interleaved rounds, CPU time of this process so a busy shared machine
skews neither side, same fields): customer name, email, mobile, UPI id, a delivery address
with the rider's note and a SKU name, made (a) by a plain loop that calls the Faker providers for
every record and (b) by qgate's pools (Faker called a few thousand times up front, pool
building included in the timing) sampled with `random.Random`. Target: >= 10x.

Part 2: `qgate data generate --spec datasets/peak.yaml --db sqlite:///...` in a subprocess:
wall time, rows, and the process's own peak RSS (VmHWM, see _measured.py). Targets: 1M
orders with items in < 2 min, peak RSS < 500 MB. Then how varied the data is at that size
(distinct values).

    .venv/bin/python benchmarks/data_generate.py [--faker-records 20000] [--orders 1000000]
                                                 [--rounds 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "data_generate.json"
sys.path.insert(0, str(ROOT))

from harness.data.providers import Pools, Sampler, make_faker  # noqa: E402


def per_row_faker(n: int) -> tuple[float, list[tuple[str, ...]]]:
    """Records/s of a loop that calls Faker (with qgate's provider) for every field."""
    fake = make_faker("en_IN", 7)
    started = time.process_time()
    out = []
    for _ in range(n):
        name = fake.name()
        out.append((name, fake.safe_email(name), fake.indian_mobile(), fake.upi_id(name),
                    fake.delivery_address(), fake.sku()["name"]))
    return n / (time.process_time() - started), out


def pooled(n: int) -> tuple[float, float, list[tuple[str, ...]]]:
    """Records/s of qgate's pooled sampling (pool building included), and the build time."""
    import random

    started = time.process_time()
    pools = Pools.build("en_IN", 7, names=3000, buildings=2000, skus=1500)
    built = time.process_time() - started
    rng = random.Random(7)
    sampler = Sampler(pools, rng)
    sku_names = [s["name"] for s in pools.skus]
    out: list[tuple[str, ...]] = []
    for start in range(0, n, 10_000):  # in batches, as the generator does
        size = min(10_000, n - start)
        people = sampler.people(size, start + 1)
        out.extend(zip(people["name"], people["email"], people["mobile"], people["upi"],
                       sampler.addresses(size), sampler._picks(sku_names, size), strict=True))
    return n / (time.process_time() - started), built, out


def distinct(records: list[tuple[str, ...]], column: int) -> int:
    return len({r[column] for r in records})


def generate_peak(orders: int, workdir: Path) -> dict[str, object]:
    """Run `qgate data generate` on peak.yaml (scaled to `orders`) and measure it."""
    spec = ROOT / "datasets" / "peak.yaml"
    if orders != 1_000_000:
        scaled = workdir / "peak-scaled.yaml"
        scaled.write_text(spec.read_text().replace("orders: 1000000", f"orders: {orders}")
                          .replace("reference_from: demo.yaml",
                                   f"reference_from: {ROOT / 'datasets' / 'demo.yaml'}"))
        spec = scaled
    db = workdir / "peak.db"
    command = [sys.executable, str(ROOT / "benchmarks" / "_measured.py"), "data", "generate",
               "--spec", str(spec), "--db", f"sqlite:///{db}", "--quiet"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    output = proc.stdout
    if proc.returncode != 0:
        raise SystemExit(f"qgate data generate failed:\n{output}{proc.stderr}")
    measured = dict(kv.split("=") for kv in proc.stderr.strip().splitlines()[-1].split())
    peak_rss = float(measured["peak_rss_mb"])
    rows = {}
    for line in output.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2:
            rows[parts[0]] = int(parts[1].replace(",", ""))
    conn = sqlite3.connect(db)
    variety = {
        "distinct_customer_names": conn.execute("SELECT count(DISTINCT name) FROM users")
        .fetchone()[0],
        "distinct_order_addresses": conn.execute("SELECT count(DISTINCT address) FROM orders")
        .fetchone()[0],
        "distinct_skus_ordered": conn.execute("SELECT count(DISTINCT sku) FROM order_lines")
        .fetchone()[0],
        "distinct_pincodes_ordered": conn.execute("SELECT count(DISTINCT pincode) FROM orders")
        .fetchone()[0],
    }
    conn.close()
    return {"command": " ".join(["qgate", *command[3:]]), "wall_s": round(wall, 1),
            "rows": rows, "total_rows": sum(rows.values()),
            "rows_per_s": round(sum(rows.values()) / wall),
            "peak_rss_mb": peak_rss,
            "db_size_mb": round(db.stat().st_size / 2**20, 1), "variety": variety}


def main() -> int:
    """Run both parts, print and save the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faker-records", type=int, default=20_000)
    parser.add_argument("--pooled-records", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # interleaved rounds, medians: the machine is shared, so neither side gets a quiet slot
    faker_rates, pool_rates, ratios = [], [], []
    for _ in range(args.rounds):
        faker_rate, faker_rows = per_row_faker(args.faker_records)
        pool_rate, built_s, pool_rows = pooled(args.pooled_records)
        faker_rates.append(faker_rate)
        pool_rates.append(pool_rate)
        ratios.append(pool_rate / faker_rate)
    faker_rate, pool_rate = statistics.median(faker_rates), statistics.median(pool_rates)
    speedup = statistics.median(ratios)
    print(f"per-row Faker: {faker_rate:,.0f} records/s; pooled: {pool_rate:,.0f} records/s "
          f"(pools built in {built_s:.2f} s, included): {speedup:.1f}x (median of "
          f"{args.rounds} interleaved rounds: {', '.join(f'{r:.1f}x' for r in ratios)})")
    with tempfile.TemporaryDirectory(prefix="qgate-bench-") as tmp:
        peak = generate_peak(args.orders, Path(tmp))
    orders = peak["rows"].get("orders", 0)  # type: ignore[union-attr]
    print(f"{orders:,} orders ({peak['total_rows']:,} rows with items, events, payments) into "
          f"SQLite in {peak['wall_s']} s, peak RSS {peak['peak_rss_mb']} MB; variety "
          f"{peak['variety']}")
    summary = {
        "benchmark": "data_generate",
        "fields": "name, email, mobile, UPI id, address + rider note, SKU name",
        "rounds": args.rounds,
        "per_row_faker": {"records": args.faker_records, "records_per_s": round(faker_rate)},
        "pooled": {"records": args.pooled_records, "records_per_s": round(pool_rate),
                   "pool_build_s": round(built_s, 2),
                   "distinct_names": distinct(pool_rows, 0),
                   "distinct_addresses": distinct(pool_rows, 4)},
        "speedup": round(speedup, 1),
        "speedup_per_round": [round(r, 1) for r in ratios],
        "speedup_target": 10,
        "peak": peak,
        "targets": {"wall_s": 120, "peak_rss_mb": 500},
        "meets_targets": bool(speedup >= 10 and orders >= 1_000_000
                              and float(peak["wall_s"]) < 120  # type: ignore[arg-type]
                              and float(peak["peak_rss_mb"]) < 500),  # type: ignore[arg-type]
        **machine(),
    }
    save(RESULTS, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
