"""The e2e suite on a shop that does things differently (issue 17's journeys).

"Prairie Pantry" (`tests/e2e/codshop/`) chooses shipping at checkout, takes cash on delivery
only, has a buy-2-get-1 coupon and limits sign-ups and logins to 8 posts per 15 minutes per
IP, reading the client's address from the socket (nothing can be spoofed). Its adapter and
environment file are what a team would write from docs/real-shops-e2e.md. Real Chromium:

- with `[e2e.accounts]`, every journey that applies runs and passes: GO, the limiter never
  answered and no request carried a forwarded header;
- the defective release (the order charges shipping twice) is NO-GO, naming both totals;
- journeys that sign up one shopper each meet the limiter: errors naming it, INCONCLUSIVE,
  and the core journeys that never ran say what stopped them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import demo_e2e_env, run_suite

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "tests" / "e2e" / "codshop"
sys.path.insert(0, str(SHOP))
from shop import Shop, provision, serve  # noqa: E402

pytestmark = pytest.mark.integration

#: what the shop has, so what must run and pass (each in both viewports)
RUNS = {
    "test_search_and_open_product", "test_search_without_match_is_empty",
    "test_add_change_quantity_and_remove", "test_out_of_stock_is_flagged_and_refused",
    "test_small_cart_totals_add_up", "test_declared_coupon_gives_its_discount[FIVEOFF]",
    "test_declared_coupon_gives_its_discount[B2G1COFFEE]",
    "test_declared_coupon_gives_its_discount[FREEBREAD]",
    "test_coupon_below_minimum_order_is_refused", "test_expired_coupon_is_refused",
    "test_unknown_coupon_is_refused", "test_checkout_places_order",
    "test_cash_on_delivery_places_order_with_payment_pending",
    "test_sign_up_log_out_and_log_in", "test_wrong_password_is_refused",
    "test_cancel_before_dispatch_refunds_and_restocks",
}
NOT_APPLICABLE = {
    "test_serviceable_pincode_shows_delivery_eta", "test_second_pincode_binds_another_store",
    "test_unserviceable_pincode_is_refused", "test_paused_store_is_reported",
    "test_browse_category", "test_max_per_order_is_enforced", "test_order_moves_through_states",
    "test_upi_checkout_places_order", "test_declined_card_then_retry_succeeds",
    "test_upi_failure_places_no_order",
}


def project(root: Path, base_url: str, **replace: str) -> dict[str, str]:
    """A team's qgate project for the shop: its environment file and gate policy."""
    (root / "environments").mkdir(parents=True)
    text = (SHOP / "pantry.toml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    (root / "environments" / "pantry.toml").write_text(text)
    gate = (ROOT / "gate.toml").read_text().replace("[required]\n",
                                                    '[required]\npantry = ["e2e"]\n')
    (root / "gate.toml").write_text(gate)
    (root / "suites").symlink_to(ROOT / "suites")
    (root / "tests" / "e2e").mkdir(parents=True)
    (root / "tests" / "e2e" / "codshop").symlink_to(SHOP)
    return {**os.environ, "QGATE_ROOT": str(root), "QGATE_REPORTS_DIR": str(root / "reports"),
            "PANTRY_BASE_URL": base_url}


def latest(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "reports" / "latest" / "run.json").read_text())


def key(test: dict) -> str:  # type: ignore[type-arg]
    """The test's name without viewport and browser, keeping a coupon code."""
    name, _, params = test["name"].partition("[")
    coupon = [p for p in params.rstrip("]").split("-") if p.isupper() and p.isalnum()]
    return f"{name}[{coupon[0]}]" if coupon else name


def pytest_run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/e2e", "--env", "pantry", "-q",
         "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(root), *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def pantry() -> Iterator[tuple[str, Shop]]:
    with serve() as served:
        yield served


def test_a_limited_cod_shop_runs_every_journey_with_test_accounts_and_says_go(
        tmp_path: Path, pantry: tuple[str, Shop]) -> None:
    base_url, shop = pantry
    env = project(tmp_path, base_url)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "pantry",
                           "--suites", "e2e"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    run = latest(tmp_path)
    tests = run["suites"]["e2e"]["tests"]
    broken = {t["name"]: t["message"][:300] for t in tests
              if t["outcome"] not in ("passed", "not_applicable")}
    assert not broken, broken
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert run["verdict"]["decision"] == "GO"
    passed = [key(t) for t in tests if t["outcome"] == "passed"]
    assert set(passed) == RUNS and len(passed) == 2 * len(RUNS)  # desktop and mobile
    assert {key(t) for t in tests if t["outcome"] == "not_applicable"} == NOT_APPLICABLE
    # Without spoofing anything, the limiter never had to answer: the sign-up journey signs
    # up, each worker signs up one shopper and keeps its login, the rest reuse it.
    assert shop.limited == 0 and max(shop.auth_posts.values()) <= shop.limit, shop.auth_posts
    assert not shop.forwarded_headers
    signups = sum("sign up" in t["steps"] for t in tests)
    assert signups <= 2 + 2, [t["steps"] for t in tests if "sign up" in t["steps"]]
    by_name = {key(t): t for t in tests if "desktop" in t["name"]}
    # shipping appears at checkout: the order is compared with the checkout summary
    assert "checkout" in by_name["test_checkout_places_order"]["steps"]


def test_an_order_charging_more_than_the_checkout_showed_is_no_go(tmp_path: Path) -> None:
    """The defective release, checked out by a pool account from secrets: both orders are
    NO-GO naming both totals; the worker logged in once and its second journey reused the
    login (nobody signed up); the password reached none of the run's files (traces, logs)."""
    with serve(defect="order_total") as (base_url, shop):
        provision(shop, "pool-1@pantry.test", "pool-secret-pw-1")
        env = project(tmp_path, base_url, **{
            'viewports = ["desktop", "mobile"]': 'viewports = ["desktop"]',
            'workers = "2"': 'workers = "0"',
            'signup = "once-per-worker"': 'pool = [{ email = "${PANTRY_SHOPPER_EMAIL}", '
                                          'password = "${PANTRY_SHOPPER_PASSWORD}" }]'})
        env |= {"PANTRY_SHOPPER_EMAIL": "pool-1@pantry.test",
                "PANTRY_SHOPPER_PASSWORD": "pool-secret-pw-1"}
        proc = pytest_run(tmp_path, env, "-k", "checkout_places_order or cash_on_delivery")
    run = latest(tmp_path)
    ran = {key(t): t for t in run["suites"]["e2e"]["tests"] if t["outcome"] != "not_applicable"}
    assert set(ran) == {"test_checkout_places_order",
                        "test_cash_on_delivery_places_order_with_payment_pending"}, ran
    for test in ran.values():
        assert test["outcome"] == "failed", test
        assert test["step"] == "order confirmation"
        # $3.49 of oat milk + $4.99 standard shipping, which the order charges twice
        assert "the order charges 13.47 but checkout showed 8.48" in test["message"], test
    assert run["verdict"]["decision"] == "NO-GO"
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert shop.auth_posts == {"signup": 0, "login": 1}, shop.auth_posts
    assert sum("log in" in t["steps"] for t in ran.values()) == 1, ran
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert any(p.name == "trace.zip" for p in files)  # the failures kept their evidence
    for path in files:
        contents = [path.read_bytes()]
        if path.suffix == ".zip":  # a trace: every member, uncompressed
            with zipfile.ZipFile(path) as trace:
                contents += [trace.read(name) for name in trace.namelist()]
        assert not any(b"pool-secret-pw-1" in c for c in contents), path


def test_sign_ups_past_the_limit_are_errors_naming_it_not_failures(tmp_path: Path) -> None:
    """Per-test sign-ups against a limit of one: the first journey gets its account, the two
    checkouts are stopped at sign-up by HTTP 429. INCONCLUSIVE, never NO-GO, and the core
    journeys that never ran name the step and the answer that stopped them (issue 16.18)."""
    with serve(limit=1) as (base_url, shop):
        env = project(tmp_path, base_url, **{
            'viewports = ["desktop", "mobile"]': 'viewports = ["desktop"]',
            'workers = "2"': 'workers = "0"',
            '[e2e.accounts]\nsignup = "once-per-worker"\n': ''})
        proc = pytest_run(tmp_path, env, "-p", "no:randomly", "-k",
                          "sign_up_log_out or search_and_open or checkout_places_order or "
                          "cash_on_delivery")
    run = latest(tmp_path)
    outcomes = {key(t): t for t in run["suites"]["e2e"]["tests"]}
    assert {k: t["outcome"] for k, t in outcomes.items() if t["outcome"] != "not_applicable"} == {
        "test_search_and_open_product": "passed", "test_sign_up_log_out_and_log_in": "passed",
        "test_checkout_places_order": "error",
        "test_cash_on_delivery_places_order_with_payment_pending": "error"}, outcomes
    limited = outcomes["test_checkout_places_order"]
    assert re.match(r"rate-limited at POST /signup \(HTTP 429, Retry-After \d+\) in step "
                    "'sign up'", limited["message"]), limited["message"]
    assert "in step 'sign up' — not a product failure: use test accounts ([e2e.accounts]) or " \
           "allow-list this client" in limited["message"].splitlines()[0]
    assert shop.limited == 2 and not shop.forwarded_headers
    rows = {c["name"]: c for c in run["verdict"]["criteria"] if c["suite"] == "e2e"}
    assert rows["tests pass"]["outcome"] == "pass", rows["tests pass"]
    assert "first: rate-limited at POST /signup" in rows[
        "tests ran without harness errors"]["reason"]
    for core in ("add to cart", "checkout and pay", "see the order"):
        row = rows[f"core journey ran: {core}"]
        assert row["outcome"] == "error", row
        assert "rate-limited at POST /signup (HTTP 429" in row["reason"], row
        assert "not applicable" not in row["reason"] and "e2e.location" not in row["reason"]
    assert run["verdict"]["decision"] == "INCONCLUSIVE"
    assert proc.returncode == 3, proc.stdout[-3000:]


def test_a_429_at_sign_up_is_an_error_in_any_environment(tmp_path: Path) -> None:
    """Shop-neutral: the adapter reads nothing about limits; the browser saw the 429."""
    with serve(limit=0) as (base_url, _):
        env = demo_e2e_env(adapter=f"{SHOP / 'adapter.py'}:PantryStorefront", currency="USD")
        run = run_suite(tmp_path, env, base_url, "-k", "test_sign_up_log_out_and_log_in")
    test = run.test("test_sign_up_log_out_and_log_in")
    assert test["outcome"] == "error", test
    assert test["message"].startswith("rate-limited at POST /signup (HTTP 429, Retry-After 900)"
                                      " in step 'sign up'"), test["message"]
    assert "after signing up the shop shows nobody logged in" in test["message"]

