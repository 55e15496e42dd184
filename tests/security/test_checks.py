"""Each portable check passes on the clean demo store and catches its defect when injected
(a fault switch, or the demo app patched in-process), using demo.toml's declarations."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from harness.security.checks import (
    check_access_control,
    check_authorisation,
    check_cookies,
    check_csrf,
    check_error_pages,
    check_login_rate_limit,
    check_response_hygiene,
    make_clients,
)
from harness.security.races import check_races
from harness.security.scan import ScanTarget


def run(check: Any, base_url: str, settings: Any, **target: Any) -> list[Any]:
    scan_target = ScanTarget(base_url, **target)
    return check(scan_target, settings, make_clients(scan_target, settings))


@pytest.mark.parametrize("check", [check_authorisation, check_csrf, check_cookies,
                                   check_login_rate_limit, check_response_hygiene,
                                   check_races],
                         ids=lambda c: c.__name__)
def test_clean_demo_store_passes(check: Any, clean_demo: str, demo_settings: Any) -> None:
    assert run(check, clean_demo, demo_settings) == []


def test_clean_demo_error_pages_leak_nothing(clean_demo: str, demo_settings: Any) -> None:
    leaks, errors = check_error_pages(ScanTarget(clean_demo), demo_settings,
                                      make_clients(ScanTarget(clean_demo), demo_settings))
    assert leaks == [] and errors == []


# --- authorisation -------------------------------------------------------------------


def test_idor_fault_is_caught(demo_settings: Any) -> None:
    from demostore.process import start_store

    with start_store(faults=("idor-orders",), tick_seconds=3.0) as store:
        problems = run(check_authorisation, store.base_url, demo_settings)
    messages = [p.message for p in problems]
    assert any(m.startswith("shopper B read shopper A's order: GET") and "/api/orders/" in m
               for m in messages), messages
    assert any(m.startswith("an anonymous visitor read shopper A's order") for m in messages)
    assert {p.finding.rule_id for p in problems} == {"qgate.authorisation"}
    assert problems[0].finding.cwe == "CWE-639" and problems[0].finding.severity == "high"


def test_cancel_without_ownership_check_is_caught(patched_store: Any, demo_settings: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import demostore.orders as orders

    original = orders.get_order

    def cancel_ignores_owner(db: Any, order_id: int, user: Any, **kw: Any) -> Any:
        if inspect.stack()[1].function == "cancel_order":  # the API's cancel endpoint only
            kw["any_owner"] = True
        return original(db, order_id, user, **kw)

    monkeypatch.setattr(orders, "get_order", cancel_ignores_owner)
    store = patched_store()
    messages = [p.message for p in run(check_authorisation, store.base_url, demo_settings)]
    assert any(m.startswith("shopper B cancelled shopper A's order: POST") for m in messages)
    assert not any("read" in m for m in messages), messages  # reads stayed protected


# --- CSRF ----------------------------------------------------------------------------


def test_form_post_without_token_check_is_caught(patched_store: Any, demo_settings: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import demostore.web as web

    monkeypatch.setattr(web, "check_csrf", lambda request, submitted: None)
    store = patched_store()
    messages = [p.message for p in run(check_csrf, store.base_url, demo_settings)]
    for action in ("/location", "/cart/coupon", "/checkout", "/logout"):
        assert f"POST {action} without a CSRF token answered 303 (not refused)" in messages
        assert f"POST {action} with a forged CSRF token answered 303 (not refused)" in messages


def test_cross_site_api_write_is_caught(patched_store: Any, demo_settings: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import demostore.app as app

    monkeypatch.setattr(app, "_cross_site", lambda request: False)
    store = patched_store()
    problems = run(check_csrf, store.base_url, demo_settings)
    assert [p.message.split(", but only as JSON")[0] for p in problems] == [
        f"POST {store.base_url}/api/location sent from the foreign origin "
        "https://attacker.example answered 200"]
    # the demo's API parses JSON only and answers no CORS preflight: hardening, not forgery
    assert problems[0].finding.severity == "low"
    assert "-H 'Origin: https://attacker.example'" in problems[0].finding.reproduce


# --- cookies -------------------------------------------------------------------------


def test_no_security_headers_fault_drops_cookie_flags(demo_settings: Any) -> None:
    from demostore.process import start_store

    with start_store(faults=("no-security-headers",)) as store:
        problems = run(check_cookies, store.base_url, demo_settings)
    lacks = {(p.finding.parameter, p.message.rsplit(" lacks ", 1)[1].split(" ")[0],
              p.finding.severity) for p in problems}
    assert lacks == {("qs_session", "HttpOnly", "medium"),
                     ("qs_session", "SameSite=Lax/Strict", "low"),
                     ("qs_csrf", "HttpOnly", "medium"), ("qs_csrf", "SameSite=Lax/Strict", "low")}


def test_cookie_without_samesite_is_caught(patched_store: Any, demo_settings: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.responses import Response

    original = Response.set_cookie

    def no_samesite(self: Any, *args: Any, **kw: Any) -> None:
        kw["samesite"] = None
        original(self, *args, **kw)

    monkeypatch.setattr(Response, "set_cookie", no_samesite)
    store = patched_store()
    problems = run(check_cookies, store.base_url, demo_settings)
    assert {p.message.rsplit(" lacks ", 1)[1].split(" ")[0] for p in problems} == {
        "SameSite=Lax/Strict"}
    assert {p.finding.parameter for p in problems} == {"qs_session", "qs_csrf"}
    # the demo's forms need a token and its API refuses foreign origins: low, not blocking
    assert {p.finding.severity for p in problems} == {"low"}


def test_secure_flag_is_required_on_https(demo_settings: Any) -> None:
    from harness.security.checks import SetCookie

    cookie = SetCookie.parse("qs_session=abc; HttpOnly; Path=/; SameSite=lax")
    assert "secure" not in cookie.attributes and cookie.attributes["samesite"] == "lax"
    assert SetCookie.parse('qs_flash=""; Max-Age=0; Path=/').deleting


# --- login rate limit ----------------------------------------------------------------


def test_missing_login_rate_limit_is_caught(patched_store: Any, demo_settings: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import demostore.accounts as accounts

    monkeypatch.setattr(accounts.LoginLimiter, "check", lambda self, email, client: None)
    store = patched_store()
    problems = run(check_login_rate_limit, store.base_url, demo_settings)
    assert [p.message for p in problems] == [
        "8 wrong passwords in a row were never refused for too many attempts (answers: [401])"]
    assert problems[0].finding.cwe == "CWE-307"


# --- error pages ---------------------------------------------------------------------


def test_stack_trace_on_error_page_is_caught(patched_store: Any, demo_settings: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import traceback

    from fastapi.responses import HTMLResponse

    import demostore.web as web

    def debug_page(request: Any, error: Any) -> HTMLResponse:  # a framework's debug mode
        trace = "Traceback (most recent call last):\n" + "".join(traceback.format_stack(limit=4))
        return HTMLResponse(f"<pre>{trace}</pre>", status_code=error.status)

    monkeypatch.setattr(web, "render_error", debug_page)
    store = patched_store()
    leaks, _ = check_error_pages(ScanTarget(store.base_url), demo_settings,
                                 make_clients(ScanTarget(store.base_url), demo_settings))
    assert leaks, "the debug page was not noticed"
    assert all("with a stack trace" in p.message for p in leaks)
    assert any("/qgate-no-such-page-" in p.message and "answered 404" in p.message
               for p in leaks)


def test_sql_error_in_json_error_is_caught(patched_store: Any, demo_settings: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from demostore.errors import StoreError

    original = StoreError.to_json

    def leaky(self: Any) -> dict[str, Any]:
        body = original(self)
        body["error"]["debug"] = 'sqlite3.OperationalError: near "\'": syntax error'
        return body

    monkeypatch.setattr(StoreError, "to_json", leaky)
    store = patched_store()
    leaks, _ = check_error_pages(ScanTarget(store.base_url), demo_settings,
                                 make_clients(ScanTarget(store.base_url), demo_settings))
    assert any("with a SQL error" in p.message and "/api/orders/not-a-number" in p.message
               for p in leaks), [p.message for p in leaks]


# --- staging access control ----------------------------------------------------------


def _basic_auth_gate(protect_api: bool) -> Any:
    """An ASGI gate in front of the store: basic auth (the defect: /api/ left open)."""
    import base64

    expected = "Basic " + base64.b64encode(b"qa:staging-pw").decode()

    def wrap(app: Any) -> Any:
        async def gate(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                headers = dict(scope["headers"])
                open_path = not protect_api and scope["path"].startswith("/api/")
                if headers.get(b"authorization", b"").decode() != expected and not open_path:
                    await send({"type": "http.response.start", "status": 401, "headers": [
                        (b"www-authenticate", b'Basic realm="staging"')]})
                    await send({"type": "http.response.body", "body": b"auth required"})
                    return
            await app(scope, receive, send)
        return gate
    return wrap


@pytest.mark.parametrize("protect_api", [True, False], ids=["protected", "api-left-open"])
def test_staging_access_control(patched_store: Any, demo_settings: Any,
                                protect_api: bool) -> None:
    import dataclasses

    from harness.security.settings import AccessChecks

    store = patched_store(wrap=_basic_auth_gate(protect_api))
    settings = dataclasses.replace(demo_settings, access=AccessChecks(
        paths=["/", "/api/products?q=milk"]))
    problems = run(check_access_control, store.base_url, settings,
                   basic_auth=("qa", "staging-pw"))
    if protect_api:
        assert problems == []
    else:
        assert [p.message for p in problems] == [
            f"GET {store.base_url}/api/products?q=milk without the declared auth answered 200 "
            "(expected 401/403 or a login wall)"]
