"""Real shops' facts, without a browser: fees added at checkout, cash on delivery,
buy-x-get-y coupons and test accounts, as declared in an environment and checked before
anything runs (the browser side: `test_e2e_real_shop.py`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from e2e_support import BARE_SHOP, write_env

from harness.config import load_environment
from harness.e2e.adapter import Cart, CartLine, CheckoutSummary
from harness.e2e.coverage import check_environment, shop_facts
from harness.e2e.journey import assert_checkout_adds_up, expected_discount
from harness.e2e.settings import CouponRule
from harness.errors import ConfigError

D = Decimal
CART = Cart((CartLine("milk", "Oat milk", 1, D("89.99")),), D("89.99"), D("0"), {}, D("89.99"))


def test_a_fee_added_at_checkout_is_expected_there_not_in_the_cart() -> None:
    """Issue 17.1: shipping chosen at checkout gave "the order charges 94.99 but the cart
    showed 89.99"; declared at checkout, the summary's 94.99 is what must be charged."""
    shown = CheckoutSummary(D("94.99"), fees={"delivery": D("5.00")})
    assert_checkout_adds_up(CART, shown, ["delivery"])
    with pytest.raises(AssertionError, match="checkout asks 94.99 but the cart showed 89.99"):
        assert_checkout_adds_up(CART, shown, [])  # undeclared: still a wrong total


@pytest.mark.parametrize(("summary", "why"), [
    (CheckoutSummary(D("99.99"), fees={"delivery": D("5.00")}),
     "checkout asks 99.99 but the cart showed 89.99 + delivery 5.00 added at checkout = 94.99"),
    (CheckoutSummary(D("94.99")), "checkout shows no delivery fee"),
])
def test_a_wrong_checkout_total_is_still_caught(summary: CheckoutSummary, why: str) -> None:
    with pytest.raises(AssertionError, match=why.replace("+", r"\+")):
        assert_checkout_adds_up(CART, summary, ["delivery"])


def test_buy_two_get_one_takes_one_unit_off_per_three() -> None:
    rule = CouponRule(code="B2G1", kind="buy_x_get_y", sku="coffee", buy=2, get=1)

    def cart(quantity: int) -> Cart:
        total = D("11.90") * quantity
        return Cart((CartLine("coffee", "Coffee", quantity, total),), total, D("0"), {}, total)

    assert [expected_discount(rule, cart(q)) for q in (2, 3, 5, 6)] == [
        D("0"), D("11.90"), D("11.90"), D("23.80")]


@pytest.mark.parametrize(("bread_total", "expected"), [
    (D("5.25"), D("5.25")),   # the free loaf shown at its price: the coupon must take it off
    (D("0.00"), D("0")),      # shown at 0: nothing to take off
])
def test_a_free_item_costs_nothing_in_the_end(bread_total: Decimal, expected: Decimal) -> None:
    rule = CouponRule(code="FREEBREAD", kind="free_item", sku="coffee", free_sku="bread")
    lines = (CartLine("coffee", "Coffee", 1, D("11.90")), CartLine("bread", "Bread", 1,
                                                                  bread_total))
    total = D("11.90") + bread_total
    assert expected_discount(rule, Cart(lines, total, D("0"), {}, total)) == expected


PANTRY_LIKE = BARE_SHOP.replace('methods = ["none"]', 'methods = ["cod"]').replace(
    'fees = []', 'fees = []\nfees_at_checkout = ["delivery"]') + """
[e2e.accounts]
pool = [{ email = "${SHOPPER_1_EMAIL}", password = "${SHOPPER_1_PASSWORD}" }]
[[e2e.coupons]]
code = "B2G1"
kind = "buy_x_get_y"
sku = "coffee"
buy = 2
get = 1
"""


def test_the_account_pool_comes_from_secrets_and_doctor_shows_the_facts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPPER_1_EMAIL", "qa-1@shop.test")
    monkeypatch.setenv("SHOPPER_1_PASSWORD", "s3cret-pool-pw")
    write_env(tmp_path, PANTRY_LIKE.replace('sign_up = true', 'sign_up = false'))
    env = load_environment("t", tmp_path)
    settings = env.suite_settings("e2e")
    assert settings.accounts.pool[0].password == "s3cret-pool-pw"
    assert "s3cret-pool-pw" in env.secret_values()  # masked in every artifact
    rows = {r.spec.test: r.status for r in check_environment(env)}
    # no sign-up on this shop: the pool still runs every journey needing a session
    assert rows["test_cash_on_delivery_places_order_with_payment_pending"] == "runs"
    assert rows["test_wrong_password_is_refused"] == "runs"
    assert rows["test_sign_up_log_out_and_log_in"] == "n/a"
    facts = "\n".join(shop_facts(settings))
    assert "a pool of 1 test accounts" in facts and "added at checkout: delivery" in facts
    assert "cash on delivery (placed with payment pending, nothing captured)" in facts
    assert "free-item coupons: B2G1 buy 2 get 1 of coffee" in facts


@pytest.mark.parametrize(("text", "key"), [
    (PANTRY_LIKE.replace('password = "${SHOPPER_1_PASSWORD}"', 'password = ""'),
     "e2e.accounts.pool[0].password"),
    (PANTRY_LIKE.replace("buy = 2\n", ""), "e2e.coupons"),
    (PANTRY_LIKE + '[[e2e.coupons]]\ncode = "FREE"\nkind = "free_item"\n', "e2e.coupons"),
])
def test_an_incomplete_pool_account_or_offer_is_a_config_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str) -> None:
    monkeypatch.setenv("SHOPPER_1_EMAIL", "qa-1@shop.test")
    monkeypatch.setenv("SHOPPER_1_PASSWORD", "s3cret-pool-pw")
    write_env(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        check_environment(load_environment("t", tmp_path))
    assert info.value.key == key, info.value.one_line()
