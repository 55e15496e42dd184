"""Issue 17's real-shop defects, each built into a JSON shop of the tests' own
(tests/support/json_shop.py): every check fires on the defective variant and stays quiet on
the fixed one. The shop is reached only through its declared `[security]` table."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from json_shop import Defects, serve_shop

from harness.schema import build
from harness.security.checks import check_login_rate_limit, make_clients
from harness.security.scan import ScanTarget
from harness.security.settings import SecuritySettings

SHOP_SECURITY = """
[security]
pages = ["/"]

[security.authorisation.sign_up]
method = "POST"
path = "/api/customers"
json = { email = "{email}", password = "{password}" }

[security.login]
attempts = 8
request.method = "POST"
request.path = "/api/sessions"
request.json = { email = "{email}", password = "{password}" }

[[security.login.endpoints]]
name = "customer token"
attempts = 8
request.method = "POST"
request.path = "/api/token"
request.json = { email = "{email}", password = "{password}" }
"""


def shop_settings(extra: str = "") -> SecuritySettings:
    """The shop's declarations (plus a test's own tables), built as an environment file is."""
    data = tomllib.loads(SHOP_SECURITY + extra)
    return build(SecuritySettings, data["security"], "shop.toml", "security")


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
