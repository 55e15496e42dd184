"""Issue 17's real-shop defects, each built into a JSON shop of the tests' own
(tests/support/json_shop.py): every check fires on the defective variant and stays quiet on
the fixed one. The shop is reached only through its declared `[security]` table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from json_shop import CARTS, CROSS_SITE, HYGIENE, RACES, Defects, serve_shop, shop_settings

from harness.security.checks import (
    check_authorisation,
    check_cookies,
    check_csrf,
    check_login_rate_limit,
    check_response_hygiene,
    failing,
    make_clients,
)
from harness.security.races import check_races
from harness.security.scan import ScanTarget
from harness.security.settings import SecuritySettings


@pytest.fixture
def shop() -> Iterator[Any]:
    """`shop(**defects)`: the JSON shop with those defects, served; returns its base URL."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        def start(**defects: bool) -> str:
            url, _ = stack.enter_context(serve_shop(Defects(**defects)))
            return url
        yield start


def run(check: Any, base_url: str, settings: SecuritySettings) -> list[Any]:
    target = ScanTarget(base_url)
    return check(target, settings, make_clients(target, settings))


# --- 17.5 rate limits that can be bypassed ---------------------------------------------


def test_fixed_shop_limits_every_auth_endpoint(shop: Any) -> None:
    assert run(check_login_rate_limit, shop(), shop_settings()) == []


def test_limiter_trusting_x_forwarded_for_is_a_high_finding(shop: Any) -> None:
    problems = run(check_login_rate_limit, shop(limiter_trusts_xff=True), shop_settings())
    bypasses = [p.finding for p in problems if p.finding.rule_id == "qgate.rate-limit-bypass"]
    assert {(f.parameter, f.severity) for f in bypasses} == {("X-Forwarded-For", "high")}
    assert len(bypasses) == 2, [p.message for p in problems]  # the login and the token
    assert problems[0].message.startswith("login: refused after 6 attempts, but the next one "
                                          "with X-Forwarded-For: 198.51.100.")
    assert "-H 'X-Forwarded-For: 198.51.100.'$i" in bypasses[0].reproduce


def test_unlimited_token_endpoint_is_a_finding(shop: Any) -> None:
    problems = run(check_login_rate_limit, shop(token_unlimited=True), shop_settings())
    assert [p.message for p in problems] == [
        "customer token: 8 wrong passwords in a row were never refused for too many attempts "
        "(answers: [401])"]
    assert problems[0].finding.parameter == "customer token"
    assert problems[0].finding.severity == "medium"


# --- 17.6 CSRF judged by what a browser can do -----------------------------------------



def test_fixed_shop_refuses_foreign_origins(shop: Any) -> None:
    assert run(check_csrf, shop(), shop_settings(CROSS_SITE)) == []


def test_json_only_cross_origin_write_is_low_hardening(shop: Any) -> None:
    problems = run(check_csrf, shop(cross_origin_json=True), shop_settings(CROSS_SITE))
    assert [p.finding.severity for p in problems] == ["low"]
    assert "but only as JSON: as a simple request it was refused (form-urlencoded 415, " \
           "multipart 415, text/plain 415)" in problems[0].message
    assert failing(problems) == []  # hardening: recorded, the test does not fail


def test_cross_origin_write_as_text_plain_is_high(shop: Any) -> None:
    problems = run(check_csrf, shop(cross_origin_json=True, parses_any_content_type=True),
                   shop_settings(CROSS_SITE))
    assert [p.finding.severity for p in problems] == ["high"]
    assert "sent as a simple request (text/plain, no preflight) it answered 200" \
        in problems[0].message
    assert "Content-Type: text/plain" in problems[0].finding.reproduce


def test_cors_allowing_the_origin_with_credentials_is_high(shop: Any) -> None:
    problems = run(check_csrf, shop(cross_origin_json=True, cors_with_credentials=True),
                   shop_settings(CROSS_SITE))
    assert [p.finding.severity for p in problems] == ["high"]
    assert "CORS allows that origin with credentials (the preflight answered " \
           "Access-Control-Allow-Origin: https://attacker.example" in problems[0].message


@pytest.mark.parametrize(("defects", "severity"), [
    ({"cookie_without_samesite": True}, "low"),
    ({"cookie_without_samesite": True, "cross_origin_json": True,
      "parses_any_content_type": True}, "medium"),
], ids=["no-forgery-shown", "forgery-shown"])
def test_cookie_without_samesite_is_low_unless_a_forgery_was_shown(
        shop: Any, defects: dict[str, bool], severity: str) -> None:
    problems = run(check_cookies, shop(**defects), shop_settings(CROSS_SITE))
    assert [(p.finding.parameter, p.finding.severity) for p in problems] == [("sid", severity)]
    assert problems[0].message.startswith("cookie sid (set by POST ")
    assert ("a cross-site write was shown" in problems[0].message) == (severity == "medium")


def test_fixed_shop_cookies_pass(shop: Any) -> None:
    assert run(check_cookies, shop(), shop_settings(CROSS_SITE)) == []


# --- 17.8 response hygiene ------------------------------------------------------------



def test_fixed_shop_hygiene_is_clean(shop: Any) -> None:
    assert run(check_response_hygiene, shop(), shop_settings(HYGIENE)) == []


def test_technology_headers_are_low_findings_with_a_reproduce_line(shop: Any) -> None:
    url = shop(discloses_technology=True)
    problems = run(check_response_hygiene, url, shop_settings(HYGIENE))
    assert {(p.finding.parameter, p.finding.severity) for p in problems} == {
        ("X-Powered-By", "low"), ("Server", "low")}
    server = next(p for p in problems if p.finding.parameter == "Server")
    assert server.message.startswith(f"GET {url}/ answers Server: shop/4.2.1 (Ubuntu)")
    assert server.finding.reproduce == f"curl -sI {url}/ | grep -i '^Server:'"


def test_head_answered_404_is_a_low_finding(shop: Any) -> None:
    url = shop(head_404=True)
    problems = run(check_response_hygiene, url, shop_settings(HYGIENE))
    assert [(p.message, p.finding.severity) for p in problems] == [
        (f"HEAD {url}/ answered 404 while GET answered 200 (monitors, caches and link checkers "
         "use HEAD)", "low")]


def test_client_errors_answered_500_are_medium_findings(shop: Any) -> None:
    url = shop(client_errors_500=True)
    problems = run(check_response_hygiene, url, shop_settings(HYGIENE))
    assert [(p.finding.parameter, p.finding.severity) for p in problems] == [
        ("malformed JSON", "medium"), ("out of stock", "medium"), ("unknown coupon", "medium")]
    assert problems[2].message.startswith(f"unknown coupon: POST {url}/api/carts/")
    assert problems[2].finding.reproduce.startswith("curl -i -X POST")
    assert failing(problems) == problems


# --- 17.7 object-level authorisation through chained requests ---------------------------



def test_fixed_shop_keeps_carts_to_their_owner(shop: Any) -> None:
    assert run(check_authorisation, shop(), shop_settings(CARTS)) == []


def test_cart_authorised_by_uuid_only_is_caught(shop: Any) -> None:
    url = shop(cart_uuid_only=True)
    problems = run(check_authorisation, url, shop_settings(CARTS))
    said = [p.message.split(": ")[0] + " " + p.message.split(" ")[-1] for p in problems]
    assert said == ["shopper B read shopper A's cart 200",
                    "an anonymous visitor read shopper A's cart 200",
                    "shopper B changed shopper A's cart 201",
                    "an anonymous visitor changed shopper A's cart 201"]
    assert all(p.finding.severity == "high" and p.finding.parameter == "cart"
               and p.finding.rule_id == "qgate.authorisation" for p in problems)
    cart = problems[2].finding.location.split("/")[-2]
    assert problems[2].finding.location == f"{url}/api/carts/{cart}/items"  # the captured uuid


def test_a_write_nobody_may_send_does_not_hide_a_read_finding(shop: Any) -> None:
    """The declared write is refused even to the owner (its refusals prove nothing), but
    shopper B read A's cart: the read findings stand, as for orders, not an error hiding them."""
    settings = shop_settings(CARTS.replace("/api/carts/{uuid}/items", "/api/carts/{uuid}/no"))
    problems = run(check_authorisation, shop(cart_uuid_only=True), settings)
    assert [p.message.split(":")[0] for p in problems] == [
        "shopper B read shopper A's cart", "an anonymous visitor read shopper A's cart"]


def test_a_capture_that_finds_nothing_is_a_harness_error(shop: Any) -> None:
    from harness.security.checks import CheckError

    settings = shop_settings(CARTS.replace("data.uuid", "data.id"))
    with pytest.raises(CheckError, match=r"capture 'uuid': nothing at 'data.id' in the answer"):
        run(check_authorisation, shop(cart_uuid_only=True), settings)


# --- 17.9 races a shopper can trigger ---------------------------------------------------



def test_fixed_checkout_is_exactly_once(shop: Any) -> None:
    assert run(check_races, shop(), shop_settings(RACES)) == []


def test_check_then_insert_idempotency_captures_twice(shop: Any) -> None:
    url = shop(racy_checkout=True)
    problems = run(check_races, url, shop_settings(RACES))
    said = [(p.finding.parameter, p.message.split(f"{url}/api/checkout at once")[1])
            for p in problems]
    retried, last_unit = ("checkout retried at once with one Idempotency-Key",
                          "two shoppers buy the last unit")
    # how many overlap depends on the machine's load; at least two always do (the window is
    # 0.2 s wide), and then every exactly-once effect is broken
    assert [who for who, _ in said] == [retried] * 3 + [last_unit] * 2, said
    assert re.fullmatch(r" created [2-5] different 'data.number' \(R\d{6}-\w{4}, .*\), at most 1 "
                        r"may be \(a check-then-insert race\)", said[0][1]), said[0]
    assert re.fullmatch(r": invariant 'one order' broken: data = [2-5], at most 1", said[1][1])
    assert re.fullmatch(r": invariant 'one capture' broken: data = [2-5], at most 1", said[2][1])
    assert said[3:] == [
        (last_unit, ": 2 were accepted, at most 1 may be (answers: [201, 201])"),
        (last_unit, ": invariant 'stock never below zero' broken: data.available = -1, "
                    "at least 0")]
    assert {p.finding.severity for p in problems} == {"high"}
    assert problems[0].message.startswith(f"{retried}: 5 × POST {url}/api/checkout")
    assert problems[0].finding.reproduce.endswith("& done; wait")
