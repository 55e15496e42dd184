"""`qgate load record`: a locustfile written from the e2e journeys places real orders
(issue 20, item 3). Recorded from real Chromium journeys on the demo store, then run by the
load suite against a store of its own, whose database is counted afterwards."""

from __future__ import annotations

import ast
import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
from e2e_support import demo_e2e_env, run_suite

from cli_support import run_qgate

pytestmark = pytest.mark.integration


def orders_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0])


def test_a_locustfile_recorded_from_the_journeys_places_orders(tmp_path: Path,
                                                              reports_in_tmp: Path) -> None:
    from demostore.process import start_store

    db = tmp_path / "store.db"
    with start_store(version="1.0.0", db_url=f"sqlite:///{db}") as store:
        recorded = run_suite(tmp_path, demo_e2e_env(har_dir="artifacts/e2e/har"),
                             store.base_url, "-k",
                             "checkout_places_order or search_and_open_product")
        assert recorded.exit_code == 0, recorded.output[-3000:]
        from harness.apigraph import read_graph
        graph = read_graph(tmp_path / "run" / "artifacts" / "e2e" / "api-graph.json")
        assert {"GET /search", "POST /api/cart/items", "POST /checkout",
                "GET /orders/{id}"} <= {t.key for t in graph.templates}
        edges = {(c.source, c.source_path, c.target) for c in graph.correlations}
        assert ("POST /checkout", "header:location", "GET /orders/{id}") in edges
        assert any(c.source_path == "form:csrf_token" and c.target == "POST /checkout"
                   for c in graph.correlations)
        env = {"QGATE_ROOT": str(tmp_path)}
        wrote = run_qgate("load", "record", "--env", "t", "--run", str(tmp_path / "run"),
                          "-o", "recorded.py", env=env)
        assert wrote.code == 0, wrote.out + wrote.err
        assert "checkout_places_order" in wrote.out and "checkout" in wrote.out
        source = (tmp_path / "recorded.py").read_text()
        ast.parse(source)
        # correlation is code: the order id comes from the checkout's answer, not the recording
        assert "location_id(r)" in source and 'f"/orders/{' in source
        assert "csrf_token = hidden(r, 'csrf_token')" in source
        assert "e2e+" not in source  # the recorded shopper's address is not replayed

        before = orders_in(db)
        (tmp_path / "environments" / "rec.toml").write_text(textwrap.dedent(f"""
            base_url = "{store.base_url}"
            suites = ["load"]
            [load]
            locustfile = "recorded.py"
            users = 6
            spawn_rate = 2.0
            duration_s = 30.0
            max_requests = 5000
            max_error_ratio = 0.01
            order_request = "POST /checkout"
            min_orders_per_min = 1.0
            [load.slo]
            "POST /checkout" = {{ p95_ms = 2000 }}
        """))
        (tmp_path / "gate.toml").write_text(textwrap.dedent("""
            [required]
            rec = ["load"]
            [evidence]
            min_samples = 3
        """))
        gated = run_qgate("run", "--env", "rec", "--suites", "load", env=env, timeout=300)
        placed = orders_in(db) - before
    run = json.loads((reports_in_tmp / "latest" / "run.json").read_text())
    metrics = run["suites"]["load"]["metrics"]
    assert placed > 0, gated.out[-3000:]
    assert metrics["load.orders_per_min"] > 0
    assert gated.code == 0, gated.out[-3000:]
    assert run["verdict"]["decision"] == "GO"


SIGN_UP_SHOPPERS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import recorded
recorded.RecordedShopper.host = sys.argv[2]
from locust.env import Environment
env = Environment(user_classes=[recorded.RecordedShopper])
phones = []
env.events.request.add_listener(lambda name, response, exception, **_: phones.append(
    response.json()["customer"]["phone"]) if name == "POST /api/signup" and not exception
    else None)
for _ in range(3):
    getattr(recorded.RecordedShopper(env), sys.argv[3])()
print(json.dumps(phones))
"""


def test_each_recorded_shopper_signs_up_with_a_phone_number_of_its_own(tmp_path: Path) -> None:
    """A shop with one account per phone number: the recorded number is replayed by nobody;
    each virtual shopper's is its own, shaped like it (country code, prefix, format)."""
    import subprocess
    import sys

    import phonenumbers

    from harness.apigraph import record_flow
    from harness.har import scrub_har
    from harness.load.record import record_locustfile
    from uuid_shop import record_checkout, uuid_shop

    recorded = "+91 98765 43210"
    har = tmp_path / "run" / "artifacts" / "e2e" / "har" / "checkout_desktop.har"
    har.parent.mkdir(parents=True)
    with uuid_shop(uuid_only=False) as url:
        har.write_text(json.dumps(record_checkout(url, "e2e+rec@example.com", "pw-1", recorded)))
        record_flow(har)
        scrub_har(har, ["pw-1"])
        journeys = record_locustfile(tmp_path / "run", tmp_path / "recorded.py", environment="t")
        ran = subprocess.run([sys.executable, "-c", SIGN_UP_SHOPPERS, str(tmp_path), url,
                              journeys[0].name], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    phones = json.loads(ran.stdout.strip().splitlines()[-1])
    assert len(set(phones)) == 3, (phones, ran.stderr[-2000:])
    assert all(len(p) == len(recorded) and p.startswith("+91 9") and p != recorded and
               phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones), phones
