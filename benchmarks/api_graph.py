"""The request graph and the recorded locustfile (issue 20).

1. Graph building: the time to turn a run's HARs into flows and merge them into
   api-graph.json. The HARs are synthetic but shaped like the demo's (50 journeys, as the
   demo's e2e suite records on two viewports; pages of ~20 KB, JSON answers, CSRF tokens,
   order ids in Location headers). Target: seconds.
2. Recorded vs hand-written: the demo's checkout journey recorded by the real e2e suite
   (Chromium) and written by `qgate load record`, against the same journey written by hand
   (regexes, no HTML parser), both with no think time, same users and run time, interleaved
   against one demo store. Target: the recorded file's RPS within 10 % of the hand-written.
Prints and saves benchmarks/results/api_graph.json.

    .venv/bin/python benchmarks/api_graph.py       # BENCH_PAIRS=2 BENCH_SECONDS=20
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import machine, save

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "api_graph.json"
PAIRS = int(os.environ.get("BENCH_PAIRS", "2"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
USERS = int(os.environ.get("BENCH_USERS", "8"))
JOURNEYS = int(os.environ.get("BENCH_JOURNEYS", "50"))

HAND_WRITTEN = '''\
"""The demo's checkout journey, written by hand (what a team writes without qgate)."""
import re
import uuid

from locust import HttpUser, constant, task

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


class Shopper(HttpUser):
    wait_time = constant(0)

    @task
    def checkout_places_order(self):
        self.client.cookies.clear()
        email = f"load+{uuid.uuid4().hex[:12]}@example.com"
        r = self.client.get("/signup", name="GET /signup", allow_redirects=False)
        token = TOKEN.search(r.text).group(1)
        self.client.post("/signup", name="POST /signup", allow_redirects=False, data={
            "csrf_token": token, "next": "/account", "name": "Load Shopper", "email": email,
            "phone": "+919812345678", "password": "Load-pw-12345"})
        self.client.get("/account", name="GET /account", allow_redirects=False)
        self.client.get("/account", name="GET /account", allow_redirects=False)
        r = self.client.get("/", name="GET /", allow_redirects=False)
        token = TOKEN.search(r.text).group(1)
        self.client.post("/location", name="POST /location", allow_redirects=False,
                         data={"csrf_token": token, "pincode": "560001"})
        self.client.get("/", name="GET /", allow_redirects=False)
        self.client.get("/p/MLK-001", name="GET /p/{slug}", allow_redirects=False)
        self.client.post("/api/cart/items", name="POST /api/cart/items",
                         json={"sku": "MLK-001", "qty": 1}, allow_redirects=False)
        self.client.get("/cart", name="GET /cart", allow_redirects=False)
        r = self.client.get("/checkout", name="GET /checkout", allow_redirects=False)
        key = KEY.search(r.text).group(1)
        r = self.client.post("/checkout", name="POST /checkout", allow_redirects=False, data={
            "csrf_token": token, "idempotency_key": key, "slot": "now",
            "address": "Flat 4B, Test Residency, MG Road", "payment_method": "card",
            "card_number": "4242 4242 4242 4242", "card_expiry": "12/30", "card_cvc": "123",
            "upi_id": ""})
        order = r.headers.get("location", "").rstrip("/").rsplit("/", 1)[-1]
        self.client.get(f"/orders/{order}", name="GET /orders/{id}", allow_redirects=False)
        self.client.get("/account", name="GET /account", allow_redirects=False)
        self.client.get(f"/orders/{order}", name="GET /orders/{id}", allow_redirects=False)
'''


def synthetic_har(index: int, shop: str) -> dict:
    """One journey's HAR shaped like the demo's: pages, a cart API, a checkout redirect."""
    token = f"Tk{index:04d}aZ9qLmN3pX7vR2sW5yB8cD"
    page = ("<html><head><title>Shop</title></head><body>"
            + "<div class='product'><a href='/p/MLK-001'>Milk</a></div>" * 200
            + f"<form><input type='hidden' name='csrf_token' value='{token}'></form></body>"
            + "</html>")
    entries, clock = [], 0

    def add(method: str, url: str, body: str = "", answer: str = "", mime: str = "text/html",
            status: int = 200, location: str = "") -> None:
        nonlocal clock
        clock += 1
        request = {"method": method, "url": shop + url,
                   "headers": [{"name": "Cookie", "value": "qs_session=abc"}]}
        if body:
            request["postData"] = {"mimeType": "application/x-www-form-urlencoded"
                                   if "=" in body and not body.startswith("{")
                                   else "application/json", "text": body}
        entries.append({"startedDateTime": f"2026-12-07T08:{clock // 60:02d}:{clock % 60:02d}Z",
                        "request": request,
                        "response": {"status": status, "headers": (
                            [{"name": "Location", "value": location}] if location else []),
                            "content": {"mimeType": mime, "text": answer}}})

    order = 1000 + index
    for _ in range(4):
        add("GET", "/", answer=page)
        add("GET", "/static/store.css", answer="body{}", mime="text/css")
    add("POST", "/location", body=f"csrf_token={token}&pincode=560001", status=303,
        location="/")
    for sku in ("MLK-001", "BRD-001", "EGG-001"):
        add("GET", f"/p/{sku}", answer=page)
        add("POST", "/api/cart/items", body=json.dumps({"sku": sku, "qty": 1}),
            answer=json.dumps({"items": [{"sku": sku, "qty": 1}], "total": "100.00"}),
            mime="application/json")
    add("GET", "/checkout", answer=page)
    add("POST", "/checkout", body=f"csrf_token={token}&slot=now", status=303,
        location=f"/orders/{order}")
    for _ in range(3):
        add("GET", f"/orders/{order}", answer=page)
        add("GET", f"/api/orders/{order}", answer=json.dumps({"id": order, "status": "placed"}),
            mime="application/json")
    return {"log": {"version": "1.2", "entries": entries}}


def graph_building(work: Path) -> dict:
    from harness.apigraph import build_graph, write_flow
    folder = work / "har"
    folder.mkdir()
    for i in range(JOURNEYS):
        (folder / f"journey{i}.har").write_text(json.dumps(synthetic_har(i, "http://s:1")))
    size = sum(p.stat().st_size for p in folder.iterdir())
    started = time.perf_counter()
    for har in sorted(folder.iterdir()):
        write_flow(har, har.stem)
    flows_s = time.perf_counter() - started
    started = time.perf_counter()
    graph = build_graph(folder)
    merge_s = time.perf_counter() - started
    return {"journeys": JOURNEYS, "har_mb": round(size / 1e6, 1),
            "flows_s": round(flows_s, 3), "merge_s": round(merge_s, 3),
            "templates": len(graph.templates), "correlations": len(graph.correlations)}


def locust_rps(locustfile: Path, url: str, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                    "--host", url, "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s",
                    "--json-file", str(out / "stats"), "--only-summary",
                    "--logfile", str(out / "locust.log")], check=False, capture_output=True)
    from harness.load.stats import read_stats_json
    stats = read_stats_json(out / "stats.json")
    return stats.requests / stats.duration_s


def recorded_vs_hand_written(work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    from e2e_support import demo_e2e_env, run_suite

    from demostore.process import start_store
    with start_store(version="1.0.0", db_url=f"sqlite:///{work / 'store.db'}") as store:
        recorded = run_suite(work, demo_e2e_env(har_dir="artifacts/e2e/har"), store.base_url,
                             "-k", "checkout_places_order")
        if recorded.exit_code != 0:
            raise SystemExit("the e2e recording failed:\n" + recorded.output[-2000:])
        subprocess.run([sys.executable, "-m", "harness.cli", "load", "record", "--env", "t",
                        "--run", str(work / "run"), "-o", "recorded.py"], cwd=work, check=True,
                       capture_output=True, env={**os.environ, "QGATE_ROOT": str(work)})
        generated = (work / "recorded.py").read_text()
        # both measure throughput: no think time in either
        generated = re.sub(r"wait_time = between\([^)]*\)", "wait_time = constant(0)",
                           generated).replace("import HttpUser, between, task",
                                              "import HttpUser, constant, task")
        (work / "recorded.py").write_text(generated)
        (work / "hand.py").write_text(HAND_WRITTEN)
        hand, rec = [], []
        for i in range(PAIRS):
            hand.append(locust_rps(work / "hand.py", store.base_url, work / f"hand{i}"))
            rec.append(locust_rps(work / "recorded.py", store.base_url, work / f"rec{i}"))
    ratio = statistics.median(rec) / statistics.median(hand)
    return {"users": USERS, "seconds": SECONDS, "pairs": PAIRS,
            "hand_written_rps": [round(x, 1) for x in hand],
            "recorded_rps": [round(x, 1) for x in rec], "ratio": round(ratio, 3),
            "target": ">= 0.90", "met": ratio >= 0.9}


def main() -> int:
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="qgate-bench-graph-") as tmp:
        work = Path(tmp)
        building = graph_building(work)
        print(f"graph from {building['journeys']} journeys ({building['har_mb']} MB of HAR): "
              f"flows {building['flows_s']} s, merge {building['merge_s']} s "
              f"({building['templates']} templates, {building['correlations']} correlations)")
        rps = recorded_vs_hand_written(work)
        print(f"recorded locustfile {rps['recorded_rps']} rps vs hand-written "
              f"{rps['hand_written_rps']} rps: ratio {rps['ratio']} (target {rps['target']})")
    save(RESULTS, {"benchmark": "api_graph", "graph_building": building,
                   "recorded_vs_hand_written": rps, **machine()})
    return 0 if rps["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
