"""What a journey needs, declared facts, not-applicable vs unsupported, and the checks that run
before anything else: coverage map, adapter check, coupon rules, staging hooks."""

from __future__ import annotations

import ast
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_support import BARE_SHOP, write_env

from cli_support import run_qgate
from harness.config import load_environment
from harness.e2e.adapter import Cart, CartLine
from harness.e2e.coverage import (
    BY_TEST,
    JOURNEYS,
    check_environment,
    coverage,
    journey_table,
    load_checked_adapter,
    not_applicable_reason,
)
from harness.e2e.hooks import HookFailed, advance_order, read_otp
from harness.e2e.journey import discount_matches, expected_discount
from harness.e2e.settings import CouponRule, LoginSettings, OrderSettings
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "e2e"



# --- the catalogue is the suite --------------------------------------------------------


def _test_functions() -> dict[str, tuple[ast.FunctionDef, str]]:
    found = {}
    for path in sorted(SUITE.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        marker = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                      and getattr(n.targets[0], "id", "") == "pytestmark")
        group = marker.args[0].value  # type: ignore[attr-defined]
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = (node, group)
    return found


def test_catalogue_lists_every_journey_of_the_suite_with_its_group_and_title() -> None:
    functions = _test_functions()
    assert set(functions) == set(BY_TEST)
    for name, (node, group) in functions.items():
        spec = BY_TEST[name]
        assert spec.group == group, name
        assert (ast.get_docstring(node) or "").splitlines()[0].rstrip(".") == spec.title, name


def _asserts_outside_steps(node: ast.AST, inside: bool = False) -> Iterator[ast.Assert]:
    if isinstance(node, ast.Assert) and not inside:
        yield node
    entering = isinstance(node, ast.With) and any(
        isinstance(item.context_expr, ast.Call)
        and getattr(item.context_expr.func, "attr", "") in ("step", "check")
        for item in node.items)
    for child in ast.iter_child_nodes(node):
        yield from _asserts_outside_steps(child, inside or entering)


def test_every_journey_assertion_is_inside_a_step_and_says_what_went_wrong() -> None:
    for name, (node, _) in _test_functions().items():
        stray = [a.lineno for a in _asserts_outside_steps(node)]
        assert not stray, f"{name}: assertions outside a step at lines {stray}"
    for path in [*SUITE.glob("test_*.py"), ROOT / "harness" / "e2e" / "journey.py"]:
        bare = [n.lineno for n in ast.walk(ast.parse(path.read_text()))
                if isinstance(n, ast.Assert) and n.msg is None]
        assert not bare, f"{path.name}: assertions without a message at lines {bare}"


def test_readme_has_the_journey_to_steps_table() -> None:
    assert journey_table() in (ROOT / "docs" / "suites" / "e2e.md").read_text()


# --- declared facts: not applicable, or a config error naming the key --------------------


def test_a_shop_without_the_extras_runs_every_other_journey(tmp_path: Path) -> None:
    write_env(tmp_path, BARE_SHOP)
    env = load_environment("t", tmp_path)
    rows = {r.spec.test: r for r in check_environment(env)}
    not_applicable = {name: r.reason for name, r in rows.items() if r.status == "n/a"}
    assert not_applicable == {
        "test_serviceable_pincode_shows_delivery_eta": 'e2e.location.pincode = ""',
        "test_second_pincode_binds_another_store": 'e2e.location.pincode = ""',
        "test_unserviceable_pincode_is_refused": 'e2e.location.pincode = ""',
        "test_paused_store_is_reported": 'e2e.location.pincode = ""',
        "test_max_per_order_is_enforced": 'e2e.catalog.max_per_order_sku = ""',
        "test_out_of_stock_is_flagged_and_refused": 'e2e.catalog.out_of_stock_sku = ""',
        "test_expired_coupon_is_refused": "e2e.coupons declares no expired coupon",
        "test_order_moves_through_states":
            'e2e.orders.progress = "none": orders do not move on this staging',
        "test_upi_checkout_places_order": "e2e.payment.methods = ['none'] has no 'upi'",
        "test_cash_on_delivery_places_order_with_payment_pending":
            "e2e.payment.methods = ['none'] has no 'cod'",
        "test_declined_card_then_retry_succeeds":
            "e2e.payment.methods = ['none'] has no 'card'",
        "test_upi_failure_places_no_order": "e2e.payment.methods = ['none'] has no 'upi'",
        "test_cancel_before_dispatch_refunds_and_restocks": "e2e.orders.customer_cancel = false",
    }
    runs = sorted(name for name, r in rows.items() if r.status == "runs")
    assert len(runs) == len(JOURNEYS) - len(not_applicable) == 11, runs
    assert not_applicable_reason("test_paused_store_is_reported", env.suite_settings("e2e")) \
        == 'e2e.location.pincode = ""'
    assert not_applicable_reason("test_search_and_open_product", env.suite_settings("e2e")) == ""


@pytest.mark.parametrize(("remove", "key"), [
    ("[e2e.location]\npincode = \"\"\n", "e2e.location"),  # and the other pincodes
    ("currency = \"GBP\"\n", "e2e.currency"),
    ('[[e2e.coupons]]\ncode = "TENOFF"\nkind = "flat"\nvalue = 2\nmin_order = 10\n',
     "e2e.coupons"),
    ("method = \"password\"\n", "e2e.login.method"),
])
def test_a_fact_nobody_declared_is_a_config_error_naming_it(tmp_path: Path, remove: str,
                                                           key: str) -> None:
    assert remove in BARE_SHOP
    write_env(tmp_path, BARE_SHOP.replace(remove, ""))
    with pytest.raises(ConfigError) as info:
        check_environment(load_environment("t", tmp_path))
    assert info.value.key == key, info.value.one_line()
    assert "not declared" in info.value.one_line()
    assert key.rpartition(".")[2] in info.value.one_line()


def test_undeclared_facts_are_listed_by_table_under_a_short_first_line(
        tmp_path: Path, closed_port_url: str) -> None:
    """A fresh `qgate init` project declares none of the journeys' facts: the error says how
    many on a short first line, then lists them by table (it was one 837-character line),
    and `qgate doctor` lists every one of them."""
    env = {**os.environ, "QGATE_REPORTS_DIR": str(tmp_path / "r"),
           "STAGING_BASE_URL": closed_port_url}
    env.pop("QGATE_ROOT", None)
    assert run_qgate("init", cwd=tmp_path, env=env).code == 0
    proc = run_qgate("run", "--env", "staging", cwd=tmp_path, env=env)
    assert proc.code == 2, proc.out + proc.err
    lines = proc.err.splitlines()
    assert re.fullmatch(r"qgate: error: environments/staging\.toml: e2e: \d+ facts are not "
                        r"declared \(\d+ journeys need them\)", lines[0]), lines[0]
    assert max(len(line) for line in lines) <= 100, proc.err
    assert "  [e2e.login]    method, sign_up" in lines
    assert "`qgate doctor --env staging`" in " ".join(lines)
    listed, table = [], ""
    for line in lines[1:]:
        if (group := re.match(r"  \[(\S+)\]\s+(.*)", line)):
            table, names = group.groups()
        elif line.startswith("   ") and table:  # a wrapped table line
            names = line.strip()
        else:
            break
        listed += [f"{table}.{name}" for name in names.rstrip(",").split(", ")]
    assert len(set(listed)) == int(lines[0].split("e2e: ")[1].split()[0]), listed
    doctor = run_qgate("doctor", "--env", "staging", cwd=tmp_path, env=env)
    assert doctor.code == 2
    flat = " ".join(doctor.out.split())  # the doctor wraps at the terminal's width
    for key in listed:
        assert f"{key} not declared (" in flat, key


def test_one_undeclared_fact_says_what_it_is(tmp_path: Path) -> None:
    write_env(tmp_path, BARE_SHOP.replace("fees = []\n", ""))
    with pytest.raises(ConfigError) as info:
        check_environment(load_environment("t", tmp_path))
    assert info.value.key == "e2e.checkout.fees"
    assert info.value.one_line().splitlines()[:2] == [
        f"{tmp_path}/environments/t.toml: e2e.checkout.fees: not declared; 2 journeys need it",
        "  e2e.checkout.fees: fee roles a one-item cart shows, or [] for none"]


def test_only_the_selected_journeys_facts_are_required(tmp_path: Path) -> None:
    write_env(tmp_path, BARE_SHOP.replace("[e2e.location]\npincode = \"\"\n", ""))
    env = load_environment("t", tmp_path)
    # Location journeys and every journey that may set a location first need the key...
    with pytest.raises(ConfigError, match="e2e.location.pincode"):
        check_environment(env, ["test_sign_up_log_out_and_log_in",
                                "test_search_and_open_product"])
    # ...account journeys alone do not.
    check_environment(env, ["test_sign_up_log_out_and_log_in"])


def test_demo_environment_declares_every_fact_and_runs_every_journey() -> None:
    env = load_environment("demo", ROOT)
    rows = check_environment(env)
    # the demo store takes every payment online: cash on delivery is its one absent concept
    assert {r.spec.test: r.reason for r in rows if r.status != "runs"} == {
        "test_cash_on_delivery_places_order_with_payment_pending":
            "e2e.payment.methods = ['card', 'upi'] has no 'cod'"}


def test_adapter_gaps_are_unsupported_not_declared_absent(tmp_path: Path) -> None:
    (tmp_path / "bare.py").write_text(
        "from harness.e2e.adapter import BaseStorefront\n"
        "class Bare(BaseStorefront):\n"
        "    def search(self, term):\n        return []\n")
    write_env(tmp_path, BARE_SHOP.replace("suites.e2e.adapters.demostore:DemoStorefront",
                                          f"{tmp_path / 'bare.py'}:Bare"))
    env = load_environment("t", tmp_path)
    rows = {r.spec.test: r for r in coverage(env.suite_settings("e2e"),
                                             load_checked_adapter(env))}
    assert rows["test_search_without_match_is_empty"].status == "runs"
    assert rows["test_search_and_open_product"].status == "unsupported"
    assert rows["test_search_and_open_product"].reason == "adapter lacks open_product"
    assert rows["test_paused_store_is_reported"].status == "n/a"


@pytest.mark.parametrize(("adapter", "problem"), [
    ("no_colon_here", "must look like 'package.module:Class'"),
    ("no_such_module_xyz:Shop", "not found"),
    ("harness.e2e.adapter:NoSuchShop", "has no 'NoSuchShop'"),
    ("harness.e2e.adapter:STEPS", "is not a class"),
    ("lacking.py:Lacking", "lacks set_location, browse_category, open_product"),
    ("wrongsig.py:WrongSig", "search takes (self, query), the protocol (self, term)"),
    ("broken.py:Broken", "importing 'broken.py:Broken' failed: ZeroDivisionError"),
])
def test_a_bad_adapter_is_a_config_error_on_e2e_adapter(tmp_path: Path, monkeypatch:
                                                        pytest.MonkeyPatch, adapter: str,
                                                        problem: str) -> None:
    (tmp_path / "lacking.py").write_text("class Lacking:\n    def search(self, term): ...\n")
    (tmp_path / "wrongsig.py").write_text(
        "from harness.e2e.adapter import BaseStorefront\n"
        "class WrongSig(BaseStorefront):\n    def search(self, query): ...\n")
    (tmp_path / "broken.py").write_text("1 / 0\n")
    write_env(tmp_path, BARE_SHOP.replace("suites.e2e.adapters.demostore:DemoStorefront",
                                          adapter))
    monkeypatch.setenv("QGATE_ROOT", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        load_checked_adapter(load_environment("t", tmp_path))
    assert info.value.key == "e2e.adapter"
    assert problem in info.value.one_line()


def _gate_project(tmp_path: Path, env_text: str) -> dict[str, str]:
    write_env(tmp_path, env_text)
    (tmp_path / "gate.toml").write_text((ROOT / "gate.toml").read_text())
    (tmp_path / "suites").symlink_to(ROOT / "suites")
    return {**os.environ, "QGATE_ROOT": str(tmp_path), "QGATE_REPORTS_DIR": str(tmp_path / "r")}


def test_qgate_run_refuses_a_bad_adapter_before_running_anything(tmp_path: Path) -> None:
    env = _gate_project(tmp_path, BARE_SHOP.replace(
        "suites.e2e.adapters.demostore:DemoStorefront", "adapters.acme:Acme"))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--env", "t"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "qgate: error: environments/t.toml: e2e.adapter: module 'adapters.acme' not found on "
        f"sys.path or under {tmp_path}"]
    assert not (tmp_path / "r").exists()  # no run was started


def test_pytest_refuses_a_bad_adapter_in_one_line(tmp_path: Path) -> None:
    env = _gate_project(tmp_path, BARE_SHOP.replace("DemoStorefront", "NoSuchStorefront"))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(SUITE), "--env", "t", "-q",
                           "-p", "no:cacheprovider", "--qgate-run-dir", str(tmp_path / "run")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert proc.stderr.strip() == (
        f"ERROR: {tmp_path}/environments/t.toml: e2e.adapter: suites.e2e.adapters.demostore "
        "has no 'NoSuchStorefront'")


def test_doctor_prints_the_coverage_map(tmp_path: Path) -> None:
    env = _gate_project(tmp_path, BARE_SHOP)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "doctor", "--env", "t"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert "e2e coverage for t (environments/t.toml)" in out
    assert "n/a   test_paused_store_is_reported" in out and 'e2e.location.pincode = ""' in out
    assert "runs  test_declared_coupon_gives_its_discount" in out and "TENOFF" in out
    assert ("11 journeys run, 13 not applicable (declared), 0 unsupported by the adapter "
            "(skipped: missing evidence), 0 need undeclared facts") in " ".join(out.split())
    undeclared = _gate_project(tmp_path / "u", BARE_SHOP.replace("fees = []\n", ""))
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "doctor", "--env", "t"],
                          cwd=tmp_path / "u", env=undeclared, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "ERROR test_small_cart_totals_add_up" in proc.stdout
    assert "e2e.checkout.fees not declared" in " ".join(proc.stdout.split())


# --- coupon rules ------------------------------------------------------------------------


def _cart(*totals: str) -> Cart:
    lines = tuple(CartLine(f"SKU{i}", "x", 1, Decimal(t)) for i, t in enumerate(totals))
    total = sum((line.line_total for line in lines), Decimal(0))
    return Cart(lines=lines, item_total=total, discount=Decimal(0), payable=total)


@pytest.mark.parametrize(("rule", "totals", "expected"), [
    (CouponRule("FLAT50", "flat", 50, min_order=199), ("299",), "50"),
    (CouponRule("FLAT50", "flat", 50), ("30",), "30"),  # never more than the items
    (CouponRule("SAVE10", "percent", 10, cap=100), ("108",), "10.8"),
    (CouponRule("SAVE10", "percent", 10, cap=100), ("1500",), "100"),  # capped
    (CouponRule("SAVE10", "percent", "10"), ("1.45",), "0.145"),
    (CouponRule("FREEDEL", "free_delivery"), ("27",), "0"),
])
def test_expected_discount_follows_the_declared_rule(rule: CouponRule, totals: tuple[str, ...],
                                                     expected: str) -> None:
    assert expected_discount(rule, _cart(*totals)) == Decimal(expected)


def test_discount_may_round_by_one_minor_unit_per_line_only() -> None:
    assert discount_matches(Decimal("0.14"), Decimal("0.145"), 1)   # rounded down
    assert discount_matches(Decimal("0.15"), Decimal("0.145"), 1)   # rounded up
    assert not discount_matches(Decimal("0.13"), Decimal("0.145"), 1)
    assert not discount_matches(Decimal("0.01"), Decimal("0"), 1)
    assert discount_matches(Decimal("0.30"), Decimal("0.29"), 2)


# --- staging hooks: one-time codes and orders that move ------------------------------------


@pytest.fixture
def sink() -> Iterator[tuple[str, list[str]]]:
    """A tiny SMS sink on 127.0.0.1: GET /sms/<phone> answers the last message; POSTs logged."""
    calls: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            calls.append(self.path)
            ready = len(calls) >= 2  # the first poll finds nothing yet
            body = b"Your code is 482913. Do not share it." if ready else b"no messages"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length", 0))
            calls.append(f"POST {self.path} {self.rfile.read(length).decode()}")
            self.send_response(204 if "good" in self.path else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        thread.join(5)


def test_otp_comes_from_a_fixed_code_a_sink_url_or_a_hook(sink: tuple[str, list[str]]) -> None:
    url, calls = sink
    assert read_otp(LoginSettings(method="otp", otp_fixed="123456"), "+15550100") == "123456"
    login = LoginSettings(method="otp", otp_url=url + "/sms/{phone}")
    assert read_otp(login, "+12025550142") == "482913"
    assert calls[-1] == "/sms/%2B12025550142"  # polled until the code arrived
    hook = LoginSettings(method="otp", otp_hook=f"{sys.executable} -c \"print('OTP 7731 for "
                                                f"{{phone}}')\"")
    assert read_otp(hook, "+12025550142") == "7731"


def test_otp_sink_without_a_code_fails_with_the_key(sink: tuple[str, list[str]]) -> None:
    url, _ = sink
    login = LoginSettings(method="otp", otp_url=url + "/sms/{phone}", otp_pattern=r"(\d{9})")
    with pytest.raises(HookFailed, match="e2e.login.otp_url gave no one-time code"):
        read_otp(login, "+12025550142", timeout_s=1.0)


def test_advance_hook_runs_a_command_or_posts_to_a_url(tmp_path: Path,
                                                       sink: tuple[str, list[str]]) -> None:
    log = tmp_path / "moves.txt"
    script = f"open({str(log)!r}, 'a').write('{{order_id}}\\n')"
    advance_order(OrderSettings(progress="hook",
                                advance_hook=f"{sys.executable} -c \"{script}\""), "ORD-7")
    assert log.read_text() == "ORD-7\n"
    url, calls = sink
    advance_order(OrderSettings(progress="hook", advance_hook=url + "/good/{order_id}"), "ORD 8")
    assert calls[-1].replace(" ", "") == 'POST/good/ORD%208{"order_id":"ORD8"}'
    with pytest.raises(HookFailed, match="answered HTTP 500 for order ORD-9"):
        advance_order(OrderSettings(progress="hook", advance_hook=url + "/bad"), "ORD-9")
    with pytest.raises(HookFailed, match="exited 3"):
        advance_order(OrderSettings(progress="hook", advance_hook=f"{sys.executable} -c "
                                    "\"raise SystemExit(3)\""), "ORD-10")


def test_declared_facts_reach_the_settings_with_their_types() -> None:
    settings = load_environment("demo", ROOT).suite_settings("e2e")
    assert [c.code for c in settings.coupons] == ["FLAT50", "SAVE10", "FREEDEL", "EXPIRED20"]
    assert settings.payment.methods == ["card", "upi"]
    assert json.loads(json.dumps(settings.checkout.fees)) == ["delivery", "small_cart",
                                                              "platform"]
