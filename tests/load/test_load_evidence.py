"""Enough evidence or INCONCLUSIVE (issue 16, load and stress): real locust runs of a few
seconds against small HTTP apps of the tests' own — a login wall on another origin, a rate
limiter, a checkout that 500s with "duplicate key", a soak stopped early, a locustfile that
makes no request or does not import, a load generator that burns its own CPU.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from acme_shop import ACME_LOCUSTFILE, ACME_SECRETS, AcmeShop, acme_project
from cli_support import PROJECT, Completed, run_qgate

pytestmark = pytest.mark.integration

#: path -> (status, headers, body) for the n-th request to that path (1-based)
Route = Callable[[int, str], tuple[int, dict[str, str], str]]


class Stub:
    """A tiny HTTP app on a free 127.0.0.1 port: each route answers from a function."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                with stub.lock:
                    stub.seen[path] = n = stub.seen.get(path, 0) + 1
                route = stub.routes.get(path) or stub.routes.get("*")
                status, headers, body = route(n, self.path) if route else (404, {}, "no")
                data = body.encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stubs() -> Iterator[Callable[[dict[str, Route]], Stub]]:
    started: list[Stub] = []

    def start(routes: dict[str, Route]) -> Stub:
        started.append(Stub(routes))
        return started[-1]

    yield start
    for stub in started:
        stub.close()


def ok(body: str = '{"ok": true}') -> Route:
    return lambda n, path: (200, {}, body)


LOCUSTFILE = '''\
"""A team's locustfile: browse the catalog, check out now and then."""
from locust import FastHttpUser, HttpUser, constant, task


class Shopper(HttpUser):
    weight = 3
    wait_time = constant(0.05)

    @task(3)
    def catalog(self):
        self.client.get("/catalog", name="catalog")

    @task(1)
    def checkout(self):
        self.client.post("/checkout", json={"sku": "X-1"}, name="checkout")


class AppShopper(FastHttpUser):
    weight = 1
    wait_time = constant(0.2)

    @task
    def offers(self):
        self.client.get("/offers", name="offers")
'''


def project(root: Path, base_url: str, table: str, locustfile: str = LOCUSTFILE,
            suites: str = '["load"]') -> Path:
    """A scratch project: one environment ("shop") with its [load] table and locustfile."""
    (root / "environments").mkdir(parents=True)
    (root / "shop_locustfile.py").write_text(locustfile)
    (root / "environments" / "shop.toml").write_text(
        f'base_url = "{base_url}"\nsuites = {suites}\n{table}')
    (root / "gate.toml").write_text(f'[required]\nshop = {suites}\n')
    (root / "suites").symlink_to(PROJECT / "suites")
    return root


def run(root: Path, suite: str = "load", env: str = "shop",
        extra: dict[str, str] | None = None) -> tuple[Completed, dict[str, Any]]:
    """`qgate run --env ENV --suites SUITE`; the result and run.json ({} when none)."""
    result = run_qgate("run", "--env", env, "--suites", suite, cwd=root,
                       env={"QGATE_ROOT": str(root), "QGATE_REPORTS_DIR": str(root / "reports"),
                            **(extra or {})}, timeout=180)
    record_path = root / "reports" / "latest" / "run.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    return result, record


def rows(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in record["verdict"]["criteria"]}


TABLE = '''
[load]
locustfile = "shop_locustfile.py"
users = 4
spawn_rate = 4
duration_s = 6
abort_early = false
[load.slo]
"catalog" = {{ p95_ms = 1000 }}
{extra}
'''


def test_a_login_wall_on_another_origin_is_not_measured(tmp_path: Path, stubs: Any) -> None:
    """Every request 302s to a sign-in page elsewhere: its 200s are the wall's, not the
    shop's (before: GO, with every figure "measured" on the login page)."""
    login = stubs({"*": ok("<html><form>Sign in</form></html>")})
    wall = stubs({"*": lambda n, path: (302, {"Location": f"{login.url}/login?next={path}"},
                                        "")})
    root = project(tmp_path, wall.url, TABLE.format(extra=""))
    result, record = run(root)
    assert result.code == 3, result.out + result.err
    coverage = rows(record)["coverage: requests that reached the target"]
    assert coverage["outcome"] == "error" and coverage["observed"] == 0
    assert "redirected to another origin" in coverage["reason"]
    assert "declare the staging's [auth]" in coverage["reason"]
    assert rows(record)["catalog p95 under 1000 ms"]["outcome"] == "error"
    load = record["suites"]["load"]
    # counted per request name, status before → after, and where it ended
    notes = " ".join(load["notes"])
    assert f"'catalog': 302 → refused, to {login.url} (a login page)" in notes
    assert f"'offers': 302 → refused, to {login.url} (a login page)" in notes  # FastHttpUser
    counts = json.loads((root / "reports/latest/artifacts/load/locust/qgate_counts.json")
                        .read_text())
    assert counts["names"]["catalog"]["off_origin"] == load["metrics"]["load.catalog.requests"]
    # no load went to the other origin: each redirect there was refused, not followed
    # (before: the login page took the whole load)
    assert login.seen == {}, login.seen
    assert "Refused" in notes and "requests to other hosts than the target" in notes


def test_a_login_page_on_the_same_origin_is_not_the_target_either(tmp_path: Path,
                                                                  stubs: Any) -> None:
    shop: Stub = stubs({"/login": ok("<form>Sign in</form>")})
    shop.routes["*"] = lambda n, path: (302, {"Location": "/login"}, "")
    root = project(tmp_path, shop.url, TABLE.format(extra=""))
    result, record = run(root)
    assert result.code == 3, result.out + result.err
    coverage = rows(record)["coverage: requests that reached the target"]
    assert "redirected to a login page" in coverage["reason"]


def test_rate_limiting_is_per_name_and_never_a_product_error(tmp_path: Path,
                                                            stubs: Any) -> None:
    """One name answered 429 throughout (its p95 measured the limiter); another got 2.5 %
    429s (before: counted into the error ratio, NO-GO)."""
    limiter = {"Retry-After": "1", "RateLimit-Limit": "10", "RateLimit-Remaining": "0"}
    shop = stubs({
        "/catalog": lambda n, path: (429, limiter, '{"error": "slow down"}') if n % 40 == 0
        else (200, {}, "{}"),
        "/checkout": ok(),
        "/offers": lambda n, path: (429, limiter, '{"error": "slow down"}'),
    })
    table = TABLE.format(extra='"offers" = { p95_ms = 1000 }')
    root = project(tmp_path, shop.url, table)
    result, record = run(root)
    assert result.code == 3, result.out + result.err
    by_name = rows(record)
    assert by_name["error ratio at most 1.00%"]["outcome"] == "pass", by_name
    assert by_name["catalog p95 under 1000 ms"]["outcome"] == "pass"
    offers = by_name["offers p95 under 1000 ms"]
    assert offers["outcome"] == "error"
    assert "'offers' answers were rate limited" in offers["reason"]
    assert "RateLimit-Limit, RateLimit-Remaining, Retry-After" in offers["reason"]
    assert "Allow-list the load generator" in offers["reason"]
    metrics = record["suites"]["load"]["metrics"]
    assert metrics["load.catalog.limited"] >= 1 and metrics["load.error_ratio"] == 0
    # the limiter's answers are not behind the shop's percentiles (the plugin kept their times)
    samples = record["suites"]["load"]["samples"]
    assert samples["load.catalog.p95_ms"] == \
        metrics["load.catalog.requests"] - metrics["load.catalog.limited"]


def test_a_redirect_to_another_origin_is_refused_and_not_the_shops_error(tmp_path: Path,
                                                                          stubs: Any) -> None:
    """One catalogue answer in ten redirects to another origin: qgate does not follow it (no
    load goes there), and the refused hop is neither the shop's error nor in its percentiles
    (before: followed, and the other origin's answers were timed as the shop's)."""
    elsewhere = stubs({"*": ok("<html>a partner's promo page</html>")})
    shop = stubs({
        "/catalog": lambda n, path: (302, {"Location": f"{elsewhere.url}/promo"}, "")
        if n % 10 == 0 else (200, {}, "{}"),
        "/checkout": ok(), "/offers": ok(),
    })
    root = project(tmp_path, shop.url, TABLE.format(extra=""))
    result, record = run(root)
    assert result.code == 0, result.out + result.err
    assert elsewhere.seen == {}, elsewhere.seen
    assert rows(record)["error ratio at most 1.00%"]["outcome"] == "pass"
    load = record["suites"]["load"]
    counts = json.loads((root / "reports/latest/artifacts/load/locust/qgate_counts.json")
                        .read_text())
    refused = counts["names"]["catalog"]["excused"]
    assert refused >= 1 and counts["names"]["catalog"]["off_origin"] == refused
    assert load["metrics"]["load.catalog.failures"] == refused
    assert load["samples"]["load.catalog.p95_ms"] == \
        load["metrics"]["load.catalog.requests"] - refused


DUPLICATE = ('{"error": "IntegrityError: duplicate key value violates unique constraint '
             '\\"orders_idempotency_key\\"", "session": "sid-7f3a9"}')


def test_what_failed_is_named_in_the_reason_the_record_and_the_report(tmp_path: Path,
                                                                     stubs: Any) -> None:
    """A concurrent-checkout race: checkout 500s with "duplicate key" and the run is stopped
    early on its error ratio (before: only locust's failures CSV named it)."""
    shop = stubs({"/catalog": ok(), "/offers": ok(),
                  "/checkout": lambda n, path: (500, {}, DUPLICATE) if n % 2 else
                  (201, {}, "{}")})
    table = TABLE.format(extra="").replace("abort_early = false", "abort_after_s = 2")
    root = project(tmp_path, shop.url, table.replace("duration_s = 6", "duration_s = 30"))
    result, record = run(root)
    assert result.code == 1, result.out + result.err
    ratio = rows(record)["error ratio at most 1.00%"]
    assert ratio["outcome"] == "fail"
    assert "'checkout'" in ratio["reason"] and "500 ×" in ratio["reason"]
    assert "duplicate key value violates unique constraint" in ratio["reason"]
    load = record["suites"]["load"]
    assert any(n.startswith("Stopped early") for n in load["notes"])
    [run_test] = [t for t in load["tests"] if t["name"] == "test_load_run"]
    failures = run_test["details"]["failures"]["checkout"]
    assert failures["status"]["500"] == failures["failures"] > 0
    assert "duplicate key" in failures["errors"][0]["excerpt"]
    html = (root / "reports/latest/report.html").read_text()
    assert "What failed" in html and "orders_idempotency_key" in html


def test_a_run_cut_short_is_not_judged_as_planned(tmp_path: Path, acme_shop: AcmeShop) -> None:
    """A 60 s plan stopped by max_requests after a second or two (before: GO)."""
    table = '''
[load]
locustfile = "acme_locustfile.py"
users = 4
spawn_rate = 4
duration_s = 60
max_requests = 40
[load.slo]
"catalog" = { p95_ms = 1000 }
'''
    root = acme_project(tmp_path, acme_shop, ACME_LOCUSTFILE, table)
    result = run_qgate("run", "--env", "acme", "--suites", "load", cwd=root,
                       env={**ACME_SECRETS, "QGATE_ROOT": str(root),
                            "QGATE_REPORTS_DIR": str(root / "reports")}, timeout=180)
    assert result.code == 3, result.out + result.err
    record = json.loads((root / "reports/latest/run.json").read_text())
    short = rows(record)["coverage: seconds run of the planned 60 s"]
    assert short["outcome"] == "error" and short["observed"] < 54
    assert "stopped at the request bound (40 requests)" in short["reason"]
    catalog = rows(record)["catalog p95 under 1000 ms"]
    assert catalog["outcome"] == "error" and "not measured: only" in catalog["reason"]
    [run_test] = [t for t in record["suites"]["load"]["tests"] if t["name"] == "test_load_run"]
    plan = run_test["details"]["plan"]
    assert plan["planned_duration_s"] == 60 and plan["planned_users"] == 4
    assert plan["achieved_duration_s"] < 54 and plan["requests"] >= 40


IDLE = '''\
from locust import HttpUser, constant, task


class Idle(HttpUser):
    wait_time = constant(1)

    @task
    def nothing(self):
        pass
'''


def test_a_run_without_requests_is_inconclusive(tmp_path: Path, stubs: Any) -> None:
    """Before: NO-GO (the run's test failed, as if the shop had)."""
    shop = stubs({"*": ok()})
    root = project(tmp_path, shop.url, TABLE.format(extra="").replace("duration_s = 6",
                                                                      "duration_s = 3"), IDLE)
    result, record = run(root)
    assert result.code == 3, result.out + result.err
    coverage = rows(record)["coverage: requests that reached the target"]
    assert coverage["observed"] == 0 and "locust made no requests" in coverage["reason"]
    assert not [c for c in record["verdict"]["criteria"] if c["outcome"] == "fail"]


def test_a_locustfile_that_does_not_import_is_a_config_error_at_plan_time(
        tmp_path: Path, stubs: Any) -> None:
    """Before: exit 3 after the run started."""
    shop = stubs({"*": ok()})
    broken = "import shop_client_we_forgot\n" + LOCUSTFILE
    root = project(tmp_path, shop.url, TABLE.format(extra=""), broken)
    result, _ = run(root)
    assert result.code == 2, result.out + result.err
    message = result.err.strip().splitlines()[0]
    assert "environments/shop.toml: load.locustfile:" in message
    assert "shop_locustfile.py cannot be loaded by locust" in message
    assert "No module named 'shop_client_we_forgot'" in message and "line 1" in message
    assert "Traceback" not in result.err
    assert not shop.seen  # nothing ran


BUSY = '''\
import time

from locust import HttpUser, constant, task


class Busy(HttpUser):
    """A locustfile that computes between requests: the load generator is the bottleneck."""
    wait_time = constant(0)

    @task
    def catalog(self):
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass
        self.client.get("/catalog", name="catalog")
'''


def test_a_latency_missed_on_a_saturated_generator_is_inconclusive(tmp_path: Path,
                                                                   stubs: Any) -> None:
    """The generator spends its CPU computing; a 1 ms objective is missed (before: NO-GO)."""
    shop = stubs({"*": ok()})
    table = TABLE.format(extra="").replace('p95_ms = 1000', 'p95_ms = 0.5')
    root = project(tmp_path, shop.url, table.replace("duration_s = 6", "duration_s = 6"), BUSY)
    result, record = run(root)
    assert result.code == 3, result.out + result.err
    catalog = rows(record)["catalog p95 under 0.5 ms"]
    assert catalog["outcome"] == "error" and catalog["observed"] >= 1  # figures still shown
    assert "measured on a saturated machine" in catalog["reason"]
    [run_test] = [t for t in record["suites"]["load"]["tests"] if t["name"] == "test_load_run"]
    machine = run_test["details"]["machine"]
    assert machine["samples"] >= 3 and machine["generator_cpu_mean"] > 0
    assert record["suites"]["load"]["saturated"]
