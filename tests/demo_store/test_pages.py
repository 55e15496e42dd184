"""The storefront pages: the TESTIDS.md contract, forms with CSRF, headers, the cart script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from demostore.process import StoreProcess

from .conftest import ADDRESS, Shopper, unique_email
from .htmlscan import Element, amount, hidden_inputs, scan

JSCHECK = Path(__file__).with_name("jscheck.js")


def run_store_js(base_url: str) -> dict[str, Any]:
    """Click add-to-cart in the served script, under node, like a browser would."""
    node = shutil.which("node")
    assert node, "node is needed to execute the storefront script"
    script = httpx.get(f"{base_url}/static/store.js").text
    out = subprocess.run([node, str(JSCHECK)], input=script, capture_output=True, text=True,
                         timeout=30, check=True)
    return dict(json.loads(out.stdout))


class Browser:
    """A cookie-keeping HTML client that submits forms with their CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.csrf = ""

    def get(self, path: str) -> tuple[httpx.Response, Element]:
        r = self.http.get(path, headers={"accept": "text/html"})
        self.csrf = hidden_inputs(r.text).get("csrf_token", self.csrf)
        return r, scan(r.text)

    def post(self, path: str, data: dict[str, str], follow: bool = True,
             ) -> tuple[httpx.Response, Element]:
        r = self.http.post(path, data={"csrf_token": self.csrf, **data},
                           headers={"accept": "text/html"}, follow_redirects=follow)
        self.csrf = hidden_inputs(r.text).get("csrf_token", self.csrf)
        return r, scan(r.text)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser(store: StoreProcess) -> Any:
    b = Browser(store.base_url)
    yield b
    b.close()


def test_layout_and_home(browser: Browser) -> None:
    r, page = browser.get("/")
    assert r.status_code == 200
    assert page.one("location-current").text == "Set location"
    assert page.one("cart-count").text == "0"
    assert page.one("cart-link").attrs["href"] == "/cart"
    assert page.one("search-input") and page.one("search-submit")
    assert page.one("login-link") and not page.find("account-link")
    assert page.one("pincode-input") and page.one("pincode-submit")
    slugs = {c.attrs["data-category"] for c in page.find("category-link")}
    assert {"dairy", "frozen", "snacks"} <= slugs
    assert all(c.attrs["href"] == f"/c/{c.attrs['data-category']}"
               for c in page.find("category-link"))
    assert page.find("product-card")


@pytest.mark.parametrize(
    ("pincode", "testid", "text"),
    [("400001", "location-error", "not serviceable"), ("110001", "location-error", "paused"),
     ("560001", "location-status", "Delivering in 10 min from Koramangala Dark Store")],
)
def test_location_form(browser: Browser, pincode: str, testid: str, text: str) -> None:
    browser.get("/")
    r, page = browser.post("/location", {"pincode": pincode})
    assert r.status_code == 200
    assert text in page.one(testid).text
    if testid == "location-status":
        assert page.one("location-current").text == pincode


def test_forms_need_csrf(store: StoreProcess) -> None:
    with httpx.Client(base_url=store.base_url) as client:
        client.get("/")
        r = client.post("/location", data={"pincode": "560001"},
                        headers={"accept": "text/html"})
        assert r.status_code == 403
        r = client.post("/location", data={"pincode": "560001", "csrf_token": "forged" * 5})
        assert r.status_code == 403
        # a non-ASCII token (a scanner's payload) is refused too, not a 500
        r = client.post("/location", data={"pincode": "560001", "csrf_token": "é" * 30})
        assert r.status_code == 403


def test_category_search_and_product(browser: Browser) -> None:
    browser.get("/")
    browser.post("/location", {"pincode": "560001"})
    _, page = browser.get("/c/dairy")
    card = next(c for c in page.find("product-card") if c.attrs["data-sku"] == "MLK-001")
    assert card.one("product-name").text == "Amul Taaza Toned Milk"
    assert amount(card.one("product-price").text) == 27.0
    assert card.one("product-link").attrs["href"] == "/p/MLK-001"
    assert card.one("add-to-cart").attrs["data-sku"] == "MLK-001"
    assert not card.find("out-of-stock")
    _, page = browser.get("/c/fruits-veg")
    avocado = next(c for c in page.find("product-card") if c.attrs["data-sku"] == "AVO-001")
    assert avocado.one("out-of-stock")

    _, page = browser.get("/search?q=milk")
    results = page.one("search-results")
    assert "MLK-001" in {c.attrs["data-sku"] for c in results.find("product-card")}
    _, page = browser.get("/search?q=zzzznothing")
    assert page.one("search-empty") and not page.find("product-card")

    _, page = browser.get("/p/MLK-001")
    assert page.one("product-title").text == "Amul Taaza Toned Milk"
    assert amount(page.one("product-price").text) == 27.0
    assert amount(page.one("product-mrp").text) == 28.0
    availability = page.one("product-availability")
    assert availability.text == "In stock" and int(availability.attrs["data-available"]) > 0
    assert page.one("max-per-order").attrs["data-max"] == "6"
    assert page.one("add-to-cart").attrs["data-sku"] == "MLK-001"
    assert page.one("add-to-cart-status").text == ""
    _, page = browser.get("/p/AVO-001")
    assert page.one("product-availability").text == "Out of stock"
    r, _ = browser.get("/p/NOPE-404")
    assert r.status_code == 404


def test_search_escapes_query(browser: Browser) -> None:
    r, _ = browser.get("/search?q=<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def _cart_adds_up(page: Element) -> None:
    total = amount(page.one("item-total").text) - amount(page.one("discount").text)
    total += sum(amount(f.one("fee-amount").text) for f in page.find("fee-line"))
    assert round(total, 2) == amount(page.one("payable").text)


def test_cart_page(browser: Browser) -> None:
    browser.get("/")
    _, page = browser.get("/cart")
    assert page.one("cart-empty")
    browser.post("/location", {"pincode": "560001"})
    api = browser.http.post("/api/cart/items", json={"sku": "MLK-001", "qty": 5})
    assert api.status_code == 200
    _, page = browser.get("/cart")
    line = page.one("cart-line")
    assert line.attrs["data-sku"] == "MLK-001"
    assert line.one("line-name").text == "Amul Taaza Toned Milk"
    assert line.one("line-qty").text == "5"
    assert amount(line.one("line-total").text) == 135.0
    assert line.one("qty-increase") and line.one("qty-decrease") and line.one("line-remove")
    assert page.one("cart-count").text == "5"
    fees = {f.attrs["data-fee"]: amount(f.one("fee-amount").text) for f in page.find("fee-line")}
    assert fees["delivery"] == 15.0 and fees["platform"] == 2.0
    assert amount(page.one("discount").text) == 0.0
    _cart_adds_up(page)
    assert page.one("checkout-button").attrs["href"] == "/checkout"

    _, page = browser.post("/cart/update", {"sku": "MLK-001", "action": "inc"})
    assert page.one("line-qty").text == "6"
    _, page = browser.post("/cart/update", {"sku": "MLK-001", "action": "inc"})
    assert "at most 6" in page.one("cart-error").text
    assert page.one("line-qty").text == "6"
    _, page = browser.post("/cart/coupon", {"code": "EXPIRED20"})
    assert "expired" in page.one("coupon-message").text
    _, page = browser.post("/cart/coupon", {"code": "SAVE10"})
    assert "SAVE10 applied" in page.one("coupon-message").text
    assert amount(page.one("discount").text) == 16.2
    _cart_adds_up(page)
    _, page = browser.post("/cart/update", {"sku": "MLK-001", "action": "dec"})
    assert page.one("line-qty").text == "5"
    _, page = browser.post("/cart/update", {"sku": "MLK-001", "action": "remove"})
    assert page.one("cart-empty")


@pytest.fixture
def slow_browser(slow_store: StoreProcess) -> Any:
    b = Browser(slow_store.base_url)
    yield b
    b.close()


def test_checkout_order_account_journey(slow_browser: Browser) -> None:
    browser = slow_browser  # orders stay cancellable long enough under any load
    browser.get("/")
    browser.post("/location", {"pincode": "560001"})
    browser.http.post("/api/cart/items", json={"sku": "SOD-001", "qty": 2})
    r = browser.http.get("/checkout")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/checkout"

    _, page = browser.get("/signup?next=/checkout")
    email = unique_email()
    form = {"name": "Page Shopper", "email": email, "phone": "9876501234",
            "password": "page-pass-1", "next": "/checkout"}
    _, page = browser.post("/signup", {**form, "email": "bad"})
    assert page.one("signup-error")
    r, page = browser.post("/signup", form)
    assert str(r.url).endswith("/checkout")
    assert page.one("account-link") and page.one("logout-button")
    slots = page.find("slot-option")
    assert slots[0].attrs["data-slot"] == "now"
    assert {m.attrs["value"] for m in page.find("payment-method")} == {"card", "upi"}
    for testid in ("address-input", "card-number", "card-expiry", "card-cvc", "upi-id",
                   "pay-button"):
        assert page.one(testid)
    payable = amount(page.one("checkout-payable").text)
    key = hidden_inputs(r.text)["idempotency_key"]

    pay = {"slot": "now", "address": ADDRESS, "payment_method": "card",
           "card_number": "4000 0000 0000 0002", "card_expiry": "12/34", "card_cvc": "123",
           "idempotency_key": key}
    r, page = browser.post("/checkout", pay)
    assert "declined" in page.one("payment-error").text
    assert page.one("cart-count").text == "2"  # cart kept
    pay.update(card_number="4242 4242 4242 4242",
               idempotency_key=hidden_inputs(r.text)["idempotency_key"])
    r, page = browser.post("/checkout", pay)
    assert re.search(r"/orders/\d+$", str(r.url)), r.url
    order_id = page.one("order-id").text
    assert page.one("order-status").text == "PLACED"
    assert amount(page.one("order-payable").text) == payable
    assert "min" in page.one("order-eta").text
    assert "PLACED" in [s.attrs["data-state"] for s in page.find("status-step")]
    assert page.one("cancel-order")
    assert page.one("cart-count").text == "0"

    _, page = browser.post(f"/orders/{order_id}/cancel", {})
    assert page.one("order-status").text == "CANCELLED"
    assert page.one("refund-status").text in ("REFUND_INITIATED", "REFUNDED")
    assert not page.find("cancel-order")

    _, page = browser.get("/account")
    assert page.one("account-email").text == email
    rows = page.one("order-history").find("order-row")
    assert [row.attrs["data-order-id"] for row in rows] == [order_id]
    assert rows[0].one("order-status").text == "CANCELLED"

    _, page = browser.post("/logout", {})
    assert page.one("login-link")
    _, page = browser.get("/login")
    _, page = browser.post("/login", {"email": email, "password": "nope-nope", "next": "/"})
    assert "Wrong email or password" in page.one("login-error").text
    r, page = browser.post("/login", {"email": email, "password": "page-pass-1",
                                      "next": "https://evil.example/"})
    assert str(r.url).endswith("/account")  # no open redirect
    assert page.one("account-email").text == email


def test_other_customers_order_page_is_404(store: StoreProcess, shopper_for: Any) -> None:
    owner: Shopper = shopper_for(store).signup()
    order = owner.buy("WAT-001", 1)
    other: Shopper = shopper_for(store).signup()
    r = other.http.get(f"/orders/{order['id']}", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert str(order["delivery"]["phone"]) not in r.text


def test_security_headers_and_cookie_flags(store: StoreProcess) -> None:
    r = httpx.get(store.base_url + "/")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    cookie = r.headers["set-cookie"]
    assert "qs_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http


def test_cart_script_calls_the_api(store: StoreProcess) -> None:
    result = run_store_js(store.base_url)
    assert result == {"phase": "click", "error": None, "fetches": ["/api/cart/items"]}


def test_3ds_challenge_page(browser: Browser) -> None:
    browser.get("/")
    browser.post("/location", {"pincode": "560001"})
    browser.http.post("/api/cart/items", json={"sku": "CHP-001", "qty": 2})
    browser.get("/login")
    browser.post("/login", {"email": "demo@example.com", "password": "demo-pass-123",
                            "next": "/checkout"})
    r, page = browser.get("/checkout")
    pay = {"slot": "now", "address": ADDRESS, "payment_method": "card",
           "card_number": "4000 0027 6000 3184", "card_expiry": "12/34", "card_cvc": "123",
           "idempotency_key": hidden_inputs(r.text)["idempotency_key"]}
    r, page = browser.post("/checkout", pay)
    assert "/3ds/" in str(r.url)
    assert page.one("3ds-amount") and page.one("3ds-deny")
    challenge = str(r.url)
    r, page = browser.post(challenge.replace(browser.http.base_url.__str__().rstrip("/"), ""),
                           {"outcome": "approve"})
    assert re.search(r"/orders/\d+$", str(r.url)), r.url
    assert page.one("order-status").text == "PLACED"
