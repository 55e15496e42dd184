"""50 concurrent buyers of the hot SKU against a clean demo store: no oversell, no 5xx.

Each buyer signs up, sets pincode 560001 (Koramangala, 200 bags of ICE-001) and puts
`--qty` bags in the cart; then all buyers check out at the same instant (asyncio + httpx).
Reports orders placed, refusals, 5xx, checkout latency, the final stock figures and the
oversell (units committed beyond the stock). Saves benchmarks/results/store_concurrency.json,
or store_concurrency-<faults>.json when faults are switched on.

    .venv/bin/python benchmarks/store_concurrency.py                   # must show oversell 0
    .venv/bin/python benchmarks/store_concurrency.py --fault oversell  # shows the race
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demostore.process import start_store  # noqa: E402

SKU, STORE, PINCODE = "ICE-001", "KOR-01", "560001"
CARD = {"method": "card", "card_number": "4242424242424242", "expiry": "12/34", "cvc": "123"}


async def prepare(client: httpx.AsyncClient, index: int, qty: int) -> None:
    """Sign up, locate and fill the cart (all before the checkout burst)."""
    r = await client.post("/api/auth/signup", json={
        "name": f"Buyer {index}", "email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
        "phone": f"+9198{index:08d}", "password": "bench-pass-1"})
    r.raise_for_status()
    (await client.post("/api/location", json={"pincode": PINCODE})).raise_for_status()
    (await client.post("/api/cart/items", json={"sku": SKU, "qty": qty})).raise_for_status()


async def checkout(client: httpx.AsyncClient, start: asyncio.Event) -> tuple[int, float, str]:
    """Wait for the starting gun, then pay; (status, seconds, error code)."""
    await start.wait()
    began = time.perf_counter()
    r = await client.post("/api/checkout", headers={"Idempotency-Key": uuid.uuid4().hex},
                          json={"slot": "now", "address": "12 MG Road, Bengaluru",
                                "payment": CARD})
    elapsed = time.perf_counter() - began
    code = "" if r.status_code == 201 else r.json().get("error", {}).get("code", "")
    return r.status_code, elapsed, code


async def run(base_url: str, buyers: int, qty: int) -> dict[str, Any]:
    """One burst of concurrent checkouts; returns the raw figures."""
    limits = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits)
               for _ in range(buyers)]
    try:
        await asyncio.gather(*(prepare(c, i, qty) for i, c in enumerate(clients)))
        start = asyncio.Event()
        tasks = [asyncio.create_task(checkout(c, start)) for c in clients]
        await asyncio.sleep(0.2)
        burst_began = time.perf_counter()
        start.set()
        results = await asyncio.gather(*tasks)
        burst_s = time.perf_counter() - burst_began
        async with httpx.AsyncClient(base_url=base_url) as probe:
            figures = (await probe.get(f"/api/stores/{STORE}/inventory/{SKU}")).json()
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    statuses = [status for status, _, _ in results]
    latencies = sorted(seconds for _, seconds, _ in results)
    placed = statuses.count(201)
    return {
        "orders_placed": placed,
        "refused_409": statuses.count(409),
        "http_5xx": sum(1 for s in statuses if s >= 500),
        "other_status": sorted({s for s in statuses if s not in (201, 409) and s < 500}),
        "refusal_codes": sorted({code for _, _, code in results if code}),
        "units_sold": placed * qty,
        "stock": figures,
        "oversell_units": figures["oversold"],
        "sold_vs_stocked": f"{placed * qty}/{figures['stocked']}",
        "burst_seconds": round(burst_s, 3),
        "checkout_latency_s": {
            "p50": round(statistics.median(latencies), 3),
            "p95": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 3),
            "max": round(latencies[-1], 3),
        },
    }


def main() -> int:
    """Start a fresh store, run the burst, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--qty", type=int, default=5, help="bags of ice per buyer (max 10)")
    parser.add_argument("--fault", action="append", default=[], help="store fault to switch on")
    parser.add_argument("--db", default=None, help="database URL (default: SQLite temp file)")
    args = parser.parse_args()
    with start_store(faults=args.fault, db_url=args.db, tick_seconds=600) as store:
        figures = asyncio.run(run(store.base_url, args.buyers, args.qty))
    dialect = (args.db or "sqlite").split(":", 1)[0].split("+", 1)[0]
    parts = ([] if dialect == "sqlite" else [dialect]) + sorted(args.fault)
    suffix = "".join("-" + part for part in parts)
    summary = {
        "benchmark": "store_concurrency",
        "faults": sorted(args.fault),
        "database": dialect,
        "buyers": args.buyers,
        "qty_per_buyer": args.qty,
        "sku": SKU,
        **figures,
        **machine(),
    }
    out = ROOT / "benchmarks" / "results" / f"store_concurrency{suffix}.json"
    stock = figures["stock"]
    print(f"{args.buyers} buyers x {args.qty} {SKU} on {dialect} "
          f"(faults: {', '.join(args.fault) or 'none'})")
    print(f"  orders placed {figures['orders_placed']}, refused {figures['refused_409']} "
          f"({', '.join(figures['refusal_codes']) or '-'}), 5xx {figures['http_5xx']}")
    print(f"  stock: stocked {stock['stocked']}, on_hand {stock['on_hand']}, "
          f"reserved {stock['reserved']}, sold {stock['sold']}, available {stock['available']}")
    print(f"  sold vs stocked {figures['sold_vs_stocked']}, oversell {figures['oversell_units']}"
          f" units; checkout p50 {figures['checkout_latency_s']['p50']} s, "
          f"p95 {figures['checkout_latency_s']['p95']} s")
    save(out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
