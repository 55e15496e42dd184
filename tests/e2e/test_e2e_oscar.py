"""The e2e suite on a shop nobody here wrote: django-oscar 4.2.1 from PyPI, unmodified.

`tests/e2e/oscarshop/` holds only what any team deploying Oscar writes (settings, URLs, a
seed, an order-advance command standing in for the dashboard), the adapter written from the
README's guide and the environment file declaring the shop's facts. The gate must run every
journey Oscar has a concept for, declare the rest not applicable (naming the key), skip none,
and say GO only because the journeys that apply passed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.e2e.coverage import BY_TEST

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "tests" / "e2e" / "oscarshop"
sys.path.insert(0, str(SHOP))
from serve import OscarShop, serve_shop  # noqa: E402

pytestmark = pytest.mark.integration

#: What the shop has, and so what must have run (desktop only: see oscar.toml).
RUNS = {
    "test_search_and_open_product", "test_search_without_match_is_empty", "test_browse_category",
    "test_add_change_quantity_and_remove", "test_out_of_stock_is_flagged_and_refused",
    "test_small_cart_totals_add_up", "test_declared_coupon_gives_its_discount[TENOFF]",
    "test_declared_coupon_gives_its_discount[SAVE10]",
    "test_coupon_below_minimum_order_is_refused", "test_expired_coupon_is_refused",
    "test_unknown_coupon_is_refused", "test_checkout_places_order",
    "test_order_moves_through_states", "test_sign_up_log_out_and_log_in",
    "test_wrong_password_is_refused",
}
NOT_APPLICABLE = {
    "test_serviceable_pincode_shows_delivery_eta": 'e2e.location.pincode = ""',
    "test_second_pincode_binds_another_store": 'e2e.location.pincode = ""',
    "test_unserviceable_pincode_is_refused": 'e2e.location.pincode = ""',
    "test_paused_store_is_reported": 'e2e.location.pincode = ""',
    "test_max_per_order_is_enforced": 'e2e.catalog.max_per_order_sku = ""',
    "test_upi_checkout_places_order": "e2e.payment.methods = ['none'] has no 'upi'",
    "test_cash_on_delivery_places_order_with_payment_pending":
        "e2e.payment.methods = ['none'] has no 'cod'",
    "test_declined_card_then_retry_succeeds": "e2e.payment.methods = ['none'] has no 'card'",
    "test_upi_failure_places_no_order": "e2e.payment.methods = ['none'] has no 'upi'",
    "test_cancel_before_dispatch_refunds_and_restocks": "e2e.orders.customer_cancel = false",
}


@pytest.fixture(scope="module")
def oscar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OscarShop]:
    """A fresh Oscar shop on 127.0.0.1 (its virtualenv and data are built on first use)."""
    with serve_shop(tmp_path_factory.mktemp("oscar")) as shop:
        yield shop


def project(root: Path, shop: OscarShop, **replace: str) -> dict[str, str]:
    """A team's qgate project for the shop: its environment file and gate policy."""
    (root / "environments").mkdir(parents=True)
    env_text = (SHOP / "oscar.toml").read_text()
    for old, new in replace.items():
        assert old in env_text, old
        env_text = env_text.replace(old, new)
    (root / "environments" / "oscar.toml").write_text(env_text)
    gate = (ROOT / "gate.toml").read_text().replace("[required]\n",
                                                    '[required]\noscar = ["e2e"]\n')
    (root / "gate.toml").write_text(gate)
    (root / "suites").symlink_to(ROOT / "suites")
    (root / "tests" / "e2e").mkdir(parents=True)
    (root / "tests" / "e2e" / "oscarshop").symlink_to(SHOP)
    return {**os.environ, "QGATE_ROOT": str(root), "QGATE_REPORTS_DIR": str(root / "reports"),
            "OSCAR_BASE_URL": shop.base_url, "OSCAR_MANAGE": shlex.join(shop.manage())}


def _journeys(root: Path, env: dict[str, str], selected: str
              ) -> subprocess.CompletedProcess[str]:
    """The e2e suite run the plain pytest way in `root`, only the journeys `selected` (-k)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/e2e", "--env", "oscar", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(root), "-k", selected],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)


def _latest(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "reports" / "latest" / "run.json").read_text())


def _key(test: dict) -> str:  # type: ignore[type-arg]
    """test name without the viewport/browser ids, keeping a coupon code."""
    name, _, params = test["name"].partition("[")
    coupon = [p for p in params.rstrip("]").split("-") if p.isupper()]
    return f"{name}[{coupon[0]}]" if coupon else name


def test_gate_on_an_oscar_shop_runs_what_applies_and_says_go(tmp_path: Path,
                                                               oscar: OscarShop) -> None:
    env = project(tmp_path, oscar)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "oscar"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    run = _latest(tmp_path)
    e2e = run["suites"]["e2e"]
    outcomes = {_key(t): t for t in e2e["tests"]}
    failed = {k: t["message"][:400] for k, t in outcomes.items() if t["outcome"] != "passed"
              and t["outcome"] != "not_applicable"}
    assert not failed, failed
    assert proc.returncode == 0, output[-3000:]
    assert run["verdict"]["decision"] == "GO", run["verdict"]
    assert {k for k, t in outcomes.items() if t["outcome"] == "passed"} == RUNS
    assert {k: t["message"] for k, t in outcomes.items()
            if t["outcome"] == "not_applicable"} == NOT_APPLICABLE
    metrics = e2e["metrics"]
    assert (metrics["e2e.passed"], metrics["e2e.not_applicable"], metrics["e2e.skipped"],
            metrics["e2e.failed"], metrics["e2e.error"]) == (15, 10, 0, 0, 0)
    criteria = {c["name"]: c for c in run["verdict"]["criteria"]}
    for core in ("find a product", "add to cart", "checkout and pay", "see the order"):
        assert criteria[f"core journey ran: {core}"]["outcome"] == "pass", criteria
    # Each test went through the steps the README's journey table lists for it.
    for test in e2e["tests"]:
        spec = BY_TEST[test["name"].split("[")[0]]
        assert set(test["steps"]) <= set(spec.steps), (test["name"], test["steps"])
    assert "advance order (hook)" in outcomes["test_order_moves_through_states"]["steps"]


def test_a_coupon_that_breaks_its_declared_rule_is_a_no_go(tmp_path: Path,
                                                          oscar: OscarShop) -> None:
    # Declare TENOFF as £3 off: Oscar takes £2, so the journey must fail, naming both.
    env = project(tmp_path, oscar, **{'code = "TENOFF"\nkind = "flat"\nvalue = 2':
                                      'code = "TENOFF"\nkind = "flat"\nvalue = 3'})
    proc = _journeys(tmp_path, env, "declared_coupon and TENOFF")
    run = _latest(tmp_path)
    test = run["suites"]["e2e"]["tests"][0]
    assert test["outcome"] == "failed", test
    assert test["step"] == "check discount"
    assert ("TENOFF (flat 3) should take 3.00 off an item total of 24.00; the cart shows a "
            "discount of 2.00") in test["message"]
    assert run["verdict"]["decision"] == "NO-GO"
    assert proc.returncode != 0


def test_fixture_shop_is_oscar_from_pypi_untouched(oscar: OscarShop) -> None:
    # The shop's code is Oscar's own: nothing under tests/e2e/oscarshop overrides a template,
    # view or model; it only configures, seeds and advances orders.
    assert not list(SHOP.rglob("templates")) and not list(SHOP.rglob("models.py"))
    out = subprocess.run([str(oscar.python), "-m", "pip", "show", "django-oscar"],
                         capture_output=True, text=True, check=True).stdout
    assert "Version: 4.2.1" in out
    assert shutil.which("env")  # the advance hook runs manage.py through env(1)


def _order_count(shop: OscarShop) -> int:
    out = subprocess.run([*shop.manage("shell", "-c", "from oscar.apps.order.models import Order;"
                                       " print(Order.objects.count())")],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return int(out.strip().splitlines()[-1])


def test_oscars_journeys_give_a_graph_a_clean_matrix_and_a_locustfile_that_buys(
        tmp_path: Path, oscar: OscarShop) -> None:
    """Issue 20 on a shop nobody here wrote: the journeys' recording is a request graph,
    Oscar's authorisation holds against the matrix, and the locustfile written from the
    recording adds to the basket and checks out under load."""
    from harness.apigraph import read_graph
    from harness.security.checks import make_clients
    from harness.security.matrix import check_authorisation_matrix
    from harness.security.scan import ScanTarget
    from harness.security.settings import SecuritySettings

    env = project(tmp_path, oscar, **{"retries = 0\n":
                                      'retries = 0\nhar_dir = "artifacts/e2e/har"\n'})
    proc = _journeys(tmp_path, env, "checkout_places_order or search_and_open_product")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    run_dir = (tmp_path / "reports" / "latest").resolve()
    graph = read_graph(run_dir / "artifacts" / "e2e" / "api-graph.json")
    keys = {t.key for t in graph.templates}
    assert {"POST /basket/add/{id}/", "POST /checkout/preview/",
            "GET /accounts/orders/{id}/"} <= keys
    # the order number a thank-you page shows is what the order page is asked for
    assert any(c.target == "GET /accounts/orders/{id}/" and c.source_path.startswith("text:")
               for c in graph.correlations)

    target = ScanTarget(oscar.base_url)
    settings = SecuritySettings(seed_har="artifacts/e2e/har")
    matrix = check_authorisation_matrix(target, settings, make_clients(target, settings),
                                        run_dir)
    assert "GET /accounts/orders/{id}/" in matrix.tried, matrix
    assert not matrix.problems, [p.message for p in matrix.problems]
    assert {r.outcome for r in matrix.rows} == {"refused"}

    wrote = subprocess.run([sys.executable, "-m", "harness.cli", "load", "record", "--env",
                            "oscar", "--run", str(run_dir), "-o", "recorded.py"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    assert "checkout_places_order" in wrote.stdout and " checkout " in wrote.stdout
    (tmp_path / "environments" / "buy.toml").write_text(
        f'base_url = "{oscar.base_url}"\nsuites = ["load"]\n[load]\nlocustfile = "recorded.py"\n'
        'users = 3\nspawn_rate = 3.0\nduration_s = 20.0\nmax_requests = 3000\n'
        'order_request = "POST /checkout/preview/"\nmin_orders_per_min = 1.0\n')
    gate = (tmp_path / "gate.toml").read_text().replace(
        "[required]\n", '[required]\nbuy = ["load"]\n').replace(
        "min_samples = 20", "min_samples = 1")
    (tmp_path / "gate.toml").write_text(gate)
    before = _order_count(oscar)
    loaded = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "buy",
                             "--suites", "load"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    placed = _order_count(oscar) - before
    assert placed > 0, (loaded.stdout + loaded.stderr)[-3000:]
    metrics = _latest(tmp_path)["suites"]["load"]["metrics"]
    assert metrics["load.orders_per_min"] > 0 and metrics["load.error_ratio"] == 0, metrics
