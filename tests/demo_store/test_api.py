"""The store's JSON API and business rules, over real HTTP against a real store process."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from demostore.process import StoreProcess

from .conftest import Shopper, stock

Json = dict[str, Any]


def quote(store: StoreProcess, items: list[tuple[str, int]], pincode: str = "560001",
          coupon: str | None = None) -> httpx.Response:
    body = {"pincode": pincode, "items": [{"sku": s, "qty": q} for s, q in items],
            "coupon": coupon}
    return httpx.post(f"{store.base_url}/api/quote", json=body, timeout=10)


def fees(body: Json) -> dict[str, float]:
    return {fee["code"]: fee["amount"] for fee in body["fees"]}


def time_fees(body: Json) -> dict[str, float]:
    """The surge / late-night fees expected at the moment the quote was priced (IST)."""
    at = datetime.fromisoformat(body["priced_at"].rstrip("Z")) + timedelta(hours=5, minutes=30)
    minute = at.hour * 60 + at.minute
    expected = {}
    if 18 * 60 <= minute < 21 * 60:
        expected["surge"] = 30.0
    if minute >= 23 * 60 or minute < 5 * 60:
        expected["late_night"] = 15.0
    return expected


def assert_adds_up(body: Json) -> None:
    total = body["item_total"] - body["discount"] + sum(f["amount"] for f in body["fees"])
    assert round(total, 2) == body["payable"]
    for number in (body["item_total"], body["discount"], body["payable"]):
        assert round(number, 2) == number


def assert_error(r: httpx.Response, status: int, code: str) -> Json:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return dict(body)


# --- ops endpoints -------------------------------------------------------------------------

def test_health_ready_version(store: StoreProcess) -> None:
    base = store.base_url
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{base}/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "database": "ok"}
    assert httpx.get(f"{base}/version").json() == {"version": "1.0.0", "commit": "demo"}
    schema = httpx.get(f"{base}/openapi.json").json()
    assert "/api/checkout" in schema["paths"] and "/api/quote" in schema["paths"]


# --- catalog -------------------------------------------------------------------------------

def test_search_and_product(store: StoreProcess) -> None:
    r = httpx.get(f"{store.base_url}/api/products", params={"q": "milk"})
    items = r.json()["items"]
    assert {"MLK-001", "MLK-002"} <= {i["sku"] for i in items}
    for item in items:
        assert {"sku", "name", "price", "mrp", "category"} <= item.keys()
        assert item["price"] <= item["mrp"]
    product = httpx.get(f"{store.base_url}/api/products/MLK-001").json()
    assert product["perishable"] is True and product["available"] > 0
    assert httpx.get(f"{store.base_url}/api/products/ICE-001").json()["max_per_order"] == 10
    assert httpx.get(f"{store.base_url}/api/products/AVO-001").json()["in_stock"] is False
    assert httpx.get(f"{store.base_url}/api/products/CIG-001").json()["min_age"] == 21
    assert_error(httpx.get(f"{store.base_url}/api/products/NOPE-1"), 404, "unknown_sku")
    assert httpx.get(f"{store.base_url}/api/products", params={"q": "%_"}).json()["items"] == []


def test_catalog_size_and_categories(store: StoreProcess) -> None:
    cats = httpx.get(f"{store.base_url}/api/categories").json()["items"]
    assert {"fruits-veg", "dairy", "snacks", "beverages", "frozen", "personal-care", "baby",
            "pet", "otc"} <= {c["slug"] for c in cats}
    total = sum(len(httpx.get(f"{store.base_url}/api/products",
                              params={"category": c["slug"]}).json()["items"]) for c in cats)
    assert 35 <= total <= 50


# --- serviceability ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("pincode", "serviceable", "reason"),
    [("560001", True, "ok"), ("560102", True, "ok"), ("110001", False, "paused"),
     ("400001", False, "unserviceable")],
)
def test_serviceability(store: StoreProcess, pincode: str, serviceable: bool, reason: str) -> None:
    body = httpx.get(f"{store.base_url}/api/serviceability", params={"pincode": pincode}).json()
    assert body["serviceable"] is serviceable and body["reason"] == reason


def test_two_stores_serve_different_pincodes(store: StoreProcess) -> None:
    a = quote(store, [("MLK-001", 1)], "560001").json()["store"]
    b = quote(store, [("MLK-001", 1)], "560102").json()["store"]
    assert a["name"] == "Koramangala Dark Store" and b["name"] != a["name"]


# --- quote: fees, totals, coupons -----------------------------------------------------------

@pytest.mark.parametrize(
    ("items", "delivery", "small_cart"),
    [
        ([("MLK-001", 2)], 28.0, 15.0),  # ₹54: below ₹99
        ([("MLK-001", 2), ("SOD-001", 2)], 15.0, None),  # ₹134: ₹99-₹199
        ([("NUT-001", 1)], 0.0, None),  # ₹299: free delivery
    ],
)
def test_quote_fees_and_totals(store: StoreProcess, items: list[tuple[str, int]],
                               delivery: float, small_cart: float | None) -> None:
    r = quote(store, items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store"]["name"] == "Koramangala Dark Store"
    assert body["eta_minutes"] == 10
    got = fees(body)
    assert got["delivery"] == delivery
    assert got.get("small_cart") == small_cart
    assert got["platform"] == 2.0
    for code, amount in time_fees(body).items():
        assert got[code] == amount
    assert {"surge", "late_night"} & got.keys() == time_fees(body).keys()
    assert_adds_up(body)


def test_quote_has_no_side_effects(store: StoreProcess) -> None:
    before = stock(store.base_url, "ICE-001")
    for _ in range(3):
        assert quote(store, [("ICE-001", 10)], coupon="SAVE10").status_code == 200
    assert stock(store.base_url, "ICE-001")["available"] == before["available"]


@pytest.mark.parametrize(
    ("coupon", "items", "discount", "free_delivery"),
    [
        ("FLAT50", [("NUT-001", 1)], 50.0, False),
        ("SAVE10", [("NUT-001", 1)], 29.9, False),
        ("SAVE10", [("BAB-001", 2)], 100.0, False),  # 10% of ₹1398 capped at ₹100
        ("FREEDEL", [("MLK-001", 2)], 0.0, True),
        ("flat50", [("NUT-001", 1)], 50.0, False),  # codes are case-insensitive
    ],
)
def test_coupons_apply(store: StoreProcess, coupon: str, items: list[tuple[str, int]],
                       discount: float, free_delivery: bool) -> None:
    body = quote(store, items, coupon=coupon).json()
    assert body["discount"] == discount
    assert body["coupon"]["code"] == coupon.upper()
    if free_delivery:
        assert fees(body)["delivery"] == 0.0
    assert_adds_up(body)


@pytest.mark.parametrize(
    ("coupon", "code"),
    [("EXPIRED20", "coupon_expired"), ("ONCE", "coupon_exhausted"),
     ("FLAT50", "coupon_min_order"), ("NOSUCH", "coupon_not_found")],
)
def test_coupons_refused(store: StoreProcess, coupon: str, code: str) -> None:
    r = quote(store, [("MLK-001", 2)], coupon=coupon)
    assert 400 <= r.status_code < 500
    assert_error(r, r.status_code, code)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"pincode": "400001", "items": [{"sku": "MLK-001", "qty": 1}]}, 422, "unserviceable"),
        ({"pincode": "110001", "items": [{"sku": "MLK-001", "qty": 1}]}, 422, "store_paused"),
        ({"pincode": "012345", "items": [{"sku": "MLK-001", "qty": 1}]}, 422, "invalid_pincode"),
        ({"pincode": "56001", "items": [{"sku": "MLK-001", "qty": 1}]}, 422, "invalid_pincode"),
        ({"pincode": "560001", "items": [{"sku": "MLK-001", "qty": 0}]}, 422, "invalid_quantity"),
        ({"pincode": "560001", "items": [{"sku": "MLK-001", "qty": -3}]}, 422, "invalid_quantity"),
        ({"pincode": "560001", "items": [{"sku": "MLK-001", "qty": 10000}]}, 422,
         "max_per_order"),
        ({"pincode": "560001", "items": [{"sku": "MLK-001", "qty": 10**30}]}, 422,
         "max_per_order"),
        ({"pincode": "560001", "items": [{"sku": "AVO-001", "qty": 1}]}, 409, "out_of_stock"),
        ({"pincode": "560001", "items": [{"sku": "NOPE", "qty": 1}]}, 404, "unknown_sku"),
        ({"pincode": "560001", "items": []}, 422, "items_required"),
        ({"pincode": "560001", "items": [{"sku": "MLK-001", "qty": "two"}]}, 422,
         "invalid_request"),
        ({"items": [{"sku": "MLK-001", "qty": 1}]}, 422, "invalid_request"),
    ],
)
def test_quote_bad_input_is_4xx_json(store: StoreProcess, body: Json, status: int,
                                     code: str) -> None:
    r = httpx.post(f"{store.base_url}/api/quote", json=body)
    assert_error(r, status, code)


def test_malformed_json_is_4xx(store: StoreProcess) -> None:
    r = httpx.post(f"{store.base_url}/api/quote", content=b"{not json",
                   headers={"content-type": "application/json"})
    assert_error(r, 422, "invalid_request")
    assert_error(httpx.get(f"{store.base_url}/api/nope"), 404, "not_found")


# --- cart ----------------------------------------------------------------------------------

def test_cart_rules(store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(store)
    assert_error(s.add("MLK-001"), 409, "location_required")
    assert_error(s.locate("400001"), 422, "unserviceable")
    assert_error(s.locate("110001"), 422, "store_paused")
    assert s.locate("560001").status_code == 200
    assert s.add("MLK-001", 2).json()["count"] == 2
    assert_error(s.add("MLK-001", 5), 422, "max_per_order")  # 2 + 5 > 6
    assert_error(s.add("MLK-001", 0), 422, "invalid_quantity")
    assert_error(s.add("MLK-001", 10000), 422, "max_per_order")
    assert_error(s.add("AVO-001"), 409, "out_of_stock")
    assert_error(s.add("NOPE"), 404, "unknown_sku")
    r = s.http.put("/api/cart/items/MLK-001", json={"qty": 4})
    assert r.json()["count"] == 4
    cart = s.cart()
    assert cart["item_total"] == 108.0
    assert_adds_up(cart)
    assert_error(s.http.post("/api/cart/coupon", json={"code": "FLAT50"}), 422,
                 "coupon_min_order")
    assert_error(s.http.post("/api/cart/coupon", json={"code": "EXPIRED20"}), 422,
                 "coupon_expired")
    assert s.http.post("/api/cart/coupon", json={"code": "SAVE10"}).json()["discount"] == 10.8
    assert s.http.delete("/api/cart/items/MLK-001").json()["count"] == 0


def test_location_change_rebinds_cart(store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(store)
    s.locate("560001")
    assert s.add("ICE-001", 10).status_code == 200
    r = s.locate("560102")
    assert r.status_code == 200 and r.json()["store"]["code"] == "HSR-01"
    assert s.cart()["store"]["code"] == "HSR-01"


# --- accounts ------------------------------------------------------------------------------

def test_signup_login_logout(store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(store).signup()
    assert s.http.get("/api/me").json()["user"]["email"] == s.email
    cookie = next(c for c in s.http.cookies.jar if c.name == "qs_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    dup = s.http.post("/api/auth/signup", json={"name": "X", "email": s.email,
                                                "phone": "9876543210", "password": "whatever1"})
    assert_error(dup, 409, "email_taken")
    assert s.http.post("/api/auth/logout").status_code == 200
    assert_error(s.http.get("/api/me"), 401, "login_required")
    other = shopper_for(store)
    r = other.http.post("/api/auth/login", json={"email": s.email, "password": s.password})
    assert r.status_code == 200 and r.json()["token"]
    bearer = httpx.get(f"{store.base_url}/api/me",
                       headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert bearer.json()["user"]["email"] == s.email


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("email", "not-an-email", "invalid_email"), ("phone", "12345", "invalid_phone"),
     ("password", "short", "weak_password"), ("name", "", "invalid_name")],
)
def test_signup_validation(store: StoreProcess, field: str, value: str, code: str) -> None:
    body = {"name": "A", "email": f"v-{uuid.uuid4().hex[:8]}@example.com",
            "phone": "9876543210", "password": "long-enough", field: value}
    assert_error(httpx.post(f"{store.base_url}/api/auth/signup", json=body), 422, code)


def test_login_is_rate_limited(store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(store).signup()
    client = shopper_for(store).http
    for _ in range(5):
        r = client.post("/api/auth/login", json={"email": s.email, "password": "wrong"})
        assert_error(r, 401, "invalid_credentials")
    r = client.post("/api/auth/login", json={"email": s.email, "password": s.password})
    assert_error(r, 429, "too_many_attempts")
    assert int(r.headers["retry-after"]) > 0


def test_cross_site_api_write_is_refused(shopper: Shopper) -> None:
    r = shopper.http.post("/api/cart/items", json={"sku": "MLK-001", "qty": 1},
                          headers={"Origin": "https://evil.example"})
    assert_error(r, 403, "cross_site_request")


# --- checkout and payments -----------------------------------------------------------------

def test_checkout_requires_login(store: StoreProcess, shopper_for: Any) -> None:
    s: Shopper = shopper_for(store)
    s.locate()
    s.add("MLK-001")
    assert_error(s.checkout(), 401, "login_required")


def test_checkout_success_and_totals(shopper: Shopper, store: StoreProcess) -> None:
    before = stock(store.base_url, "SOD-001")["available"]
    shopper.add("SOD-001", 3)
    shopper.http.post("/api/cart/coupon", json={"code": "SAVE10"})
    cart = shopper.cart()
    r = shopper.checkout()
    assert r.status_code == 201, r.text
    order = r.json()["order"]
    assert order["status"] == "PLACED"
    assert order["payable"] == cart["payable"] and order["discount"] == 12.0
    assert_adds_up(order)
    assert order["payment"]["status"] == "captured"
    assert "4242" in order["payment"]["instrument"] and "4242 4242" not in str(order)
    assert shopper.cart()["count"] == 0
    assert stock(store.base_url, "SOD-001")["available"] == before - 3
    assert [o["id"] for o in shopper.http.get("/api/orders").json()["items"]][0] == order["id"]


def test_idempotent_double_submit_charges_once(shopper: Shopper, store: StoreProcess) -> None:
    before = stock(store.base_url, "CHP-001")
    shopper.add("CHP-001", 2)
    key = uuid.uuid4().hex
    first = shopper.checkout(key=key)
    second = shopper.checkout(key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json()["order"]["id"] == second.json()["order"]["id"]
    after = stock(store.base_url, "CHP-001")
    assert after["reserved"] - before["reserved"] == 2
    orders = shopper.http.get("/api/orders").json()["items"]
    assert len(orders) == 1
    other_body = shopper.checkout(key=key, upi="success@razorpay")
    assert_error(other_body, 422, "idempotency_key_reused")
    assert_error(shopper.http.post("/api/checkout", json={"address": "x", "payment": {
        "method": "card"}}), 400, "idempotency_key_required")


def test_concurrent_double_submit_charges_once(shopper: Shopper) -> None:
    shopper.add("CHP-002", 1)
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: shopper.checkout(key=key), range(4)))
    assert all(r.status_code in (201, 409) for r in results), [r.text for r in results]
    ids = {r.json()["order"]["id"] for r in results if r.status_code == 201}
    assert len(ids) == 1
    assert len(shopper.http.get("/api/orders").json()["items"]) == 1


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000 0000 0000 0002", "card_declined"),
        ("4000 0000 0000 9995", "insufficient_funds"),
        ("4000 0000 0000 0069", "expired_card"),
        ("4000 0000 0000 0127", "incorrect_cvc"),
    ],
)
def test_declined_cards_place_no_order_and_keep_cart(shopper: Shopper, store: StoreProcess,
                                                     card: str, code: str) -> None:
    shopper.add("ICE-002", 2)
    before = stock(store.base_url, "ICE-002")
    assert_error(shopper.checkout(card), 402, code)
    # reservation released, stock not lost (only `available` is compared: earlier tests'
    # orders of this SKU may be delivered by the fulfilment clock meanwhile)
    assert stock(store.base_url, "ICE-002")["available"] == before["available"]
    assert shopper.cart()["count"] == 2
    assert shopper.http.get("/api/orders").json()["items"] == []
    r = shopper.checkout()  # the retry succeeds
    assert r.status_code == 201
    assert stock(store.base_url, "ICE-002")["available"] == before["available"] - 2


def test_3ds_challenge_approved(shopper: Shopper, store: StoreProcess,
                                shopper_for: Any) -> None:
    shopper.add("ICE-002", 1)
    before = stock(store.base_url, "ICE-002")
    r = shopper.checkout("4000 0027 6000 3184")
    details = assert_error(r, 402, "requires_action")["error"]["details"]
    assert details["challenge_url"].startswith("/3ds/")
    assert stock(store.base_url, "ICE-002")["available"] == before["available"] - 1  # held
    assert shopper.cart()["count"] == 1
    assert shopper.http.get("/api/orders").json()["items"] == []
    intruder: Shopper = shopper_for(store).signup()
    assert_error(intruder.http.post(details["authenticate_url"], json={"approve": True}), 404,
                 "payment_not_found")
    r = shopper.http.post(details["authenticate_url"], json={"approve": True})
    assert r.status_code == 201, r.text
    assert r.json()["order"]["status"] == "PLACED"
    assert r.json()["order"]["payment"]["status"] == "captured"
    assert shopper.cart()["count"] == 0
    assert_error(shopper.http.post(details["authenticate_url"], json={"approve": True}), 409,
                 "challenge_closed")


def test_3ds_challenge_denied_releases_stock(shopper: Shopper, store: StoreProcess) -> None:
    shopper.add("ICE-002", 2)
    before = stock(store.base_url, "ICE-002")
    details = shopper.checkout("4000 0027 6000 3184").json()["error"]["details"]
    r = shopper.http.post(details["authenticate_url"], json={"approve": False})
    assert_error(r, 402, "authentication_failed")
    assert stock(store.base_url, "ICE-002")["available"] == before["available"]
    assert shopper.cart()["count"] == 2
    assert shopper.checkout().status_code == 201


def test_upi_sandbox(shopper: Shopper) -> None:
    shopper.add("BIS-001", 1)
    assert_error(shopper.checkout(upi="failure@razorpay"), 402, "upi_declined")
    r = shopper.checkout(upi="success@razorpay")
    assert r.status_code == 201 and r.json()["order"]["payment"]["method"] == "upi"


@pytest.mark.parametrize(
    ("payment", "code"),
    [
        ({"method": "card", "card_number": "4242 4242 4242 4241", "expiry": "12/34",
          "cvc": "123"}, "invalid_card_number"),
        ({"method": "card", "card_number": "4242424242424242", "expiry": "13/34",
          "cvc": "123"}, "invalid_expiry"),
        ({"method": "card", "card_number": "4242424242424242", "expiry": "01/20",
          "cvc": "123"}, "invalid_expiry"),
        ({"method": "card", "card_number": "4242424242424242", "expiry": "12/34",
          "cvc": "12"}, "invalid_cvc"),
        ({"method": "upi", "upi_id": "no-at-sign"}, "invalid_upi_id"),
        ({"method": "bitcoin"}, "invalid_payment_method"),
    ],
)
def test_bad_payment_details_are_422(shopper: Shopper, payment: Json, code: str) -> None:
    shopper.add("BIS-001", 1)
    r = shopper.http.post("/api/checkout", headers={"Idempotency-Key": uuid.uuid4().hex},
                          json={"address": "12 MG Road, Bengaluru", "payment": payment})
    assert_error(r, 422, code)


def test_checkout_validations(shopper: Shopper) -> None:
    assert_error(shopper.checkout(), 422, "cart_empty")
    shopper.add("CIG-001", 1)
    assert_error(shopper.checkout(), 422, "age_confirmation_required")
    assert_error(shopper.checkout(slot="yesterday", age_confirmed=True), 422, "invalid_slot")
    assert_error(shopper.checkout(address="", age_confirmed=True), 422, "invalid_address")
    assert shopper.checkout(age_confirmed=True).status_code == 201


def test_slots(shopper: Shopper) -> None:
    slots = shopper.http.get("/api/slots").json()["items"]
    assert slots[0]["id"] == "now" and slots[0]["label"].startswith("Now, ~")
    assert len(slots) == 4


# --- orders: clock, cancellation, authorisation -----------------------------------------------

def _wait_for(shopper: Shopper, order_id: int, status: str, timeout: float = 10.0) -> Json:
    deadline = time.monotonic() + timeout
    while True:
        body = dict(shopper.http.get(f"/api/orders/{order_id}").json())
        if body["status"] == status or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _wait_for_refund(shopper: Shopper, order_id: int, timeout: float = 15.0) -> Json:
    deadline = time.monotonic() + timeout
    while True:
        body = dict(shopper.http.get(f"/api/orders/{order_id}").json())
        if body["refund_status"] == "REFUNDED" or time.monotonic() > deadline:
            return body
        time.sleep(0.25)


def test_order_moves_through_states_to_delivered(shopper: Shopper, store: StoreProcess) -> None:
    before = stock(store.base_url, "FRU-002")
    order = shopper.buy("FRU-002", 2)
    body = _wait_for(shopper, order["id"], "DELIVERED")
    assert body["status"] == "DELIVERED"
    states = [e["state"] for e in body["events"]]
    assert states == ["CREATED", "PAYMENT_PENDING", "PLACED", "PICKING", "PACKED",
                      "RIDER_ASSIGNED", "OUT_FOR_DELIVERY", "DELIVERED"]
    stamps = [e["at"] for e in body["events"]]
    assert stamps == sorted(stamps)  # timestamps never go backwards
    after = stock(store.base_url, "FRU-002")
    assert after["sold"] == before["sold"] + 2 and after["on_hand"] == before["on_hand"] - 2
    assert after["reserved"] == before["reserved"]
    assert_error(shopper.http.post(f"/api/orders/{order['id']}/cancel"), 409, "cannot_cancel")
    assert shopper.http.get(f"/api/orders/{order['id']}").json()["status"] == "DELIVERED"


def test_cancel_before_dispatch_refunds_and_releases_stock(slow_store: StoreProcess,
                                                           shopper_for: Any) -> None:
    store = slow_store  # 2 s per step: the order is surely not dispatched yet
    shopper: Shopper = shopper_for(store).signup()
    before = stock(store.base_url, "FRU-003")
    order = shopper.buy("FRU-003", 3)
    assert stock(store.base_url, "FRU-003")["available"] == before["available"] - 3
    r = shopper.http.post(f"/api/orders/{order['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "CANCELLED"
    assert r.json()["refund_status"] == "REFUND_INITIATED"
    assert stock(store.base_url, "FRU-003")["available"] == before["available"]
    body = _wait_for_refund(shopper, order["id"])
    assert body["status"] == "CANCELLED" and body["refund_status"] == "REFUNDED"
    assert body["payment"]["status"] == "refunded"
    assert_error(shopper.http.post(f"/api/orders/{order['id']}/cancel"), 409, "cannot_cancel")


def test_customers_see_only_their_own_orders(shopper: Shopper, store: StoreProcess,
                                             shopper_for: Any) -> None:
    order = shopper.buy("PAN-001", 1)
    intruder: Shopper = shopper_for(store).signup()
    assert_error(intruder.http.get(f"/api/orders/{order['id']}"), 404, "order_not_found")
    assert_error(intruder.http.post(f"/api/orders/{order['id']}/cancel"), 404,
                 "order_not_found")
    assert intruder.http.get("/api/orders").json()["items"] == []
    anonymous = httpx.get(f"{store.base_url}/api/orders/{order['id']}")
    assert_error(anonymous, 401, "login_required")


# --- stock under concurrency ---------------------------------------------------------------

def test_concurrent_buyers_never_oversell(store_factory: Any, shopper_for: Any) -> None:
    # HSR-01 (560102) holds 40 bags of ice; 10 concurrent buyers of 10 bags each.
    proc = store_factory(fresh=True, tick_seconds=600)  # clean stock, orders stay reserved
    buyers = [shopper_for(proc).signup() for _ in range(10)]
    for b in buyers:
        b.locate("560102")
        assert b.add("ICE-001", 10).status_code == 200
    with ThreadPoolExecutor(len(buyers)) as pool:
        results = list(pool.map(lambda b: b.checkout(), buyers))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 4, [r.text for r in results if r.status_code != 201]
    assert all(s in (201, 409) for s in statuses)
    assert {r.json()["error"]["code"] for r in results if r.status_code == 409} <= {
        "out_of_stock", "insufficient_stock"}
    figures = stock(proc.base_url, "ICE-001", store="HSR-01")
    assert figures["reserved"] == 40 and figures["available"] == 0
    assert figures["oversold"] == 0


@pytest.mark.parametrize(("email", "password"), [("demo@example.com", "demo-pass-123"),
                                                 ("other@example.com", "other-pass-123")])
def test_seeded_demo_accounts_log_in(store: StoreProcess, email: str, password: str) -> None:
    r = httpx.post(f"{store.base_url}/api/auth/login", json={"email": email,
                                                              "password": password})
    assert r.status_code == 200 and r.json()["user"]["email"] == email


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/orders/99999999999999999999999", 422),
        ("GET", "/api/orders/-1", 422),
        ("POST", "/api/orders/99999999999999999999/cancel", 422),
        ("GET", "/api/serviceability", 422),
        ("GET", "/api/serviceability?pincode=abc", 422),
        ("GET", "/api/products?category=nope", 404),
        ("GET", "/api/stores/NOPE/inventory", 404),
        ("GET", "/api/slots", 409),
        ("PUT", "/api/cart/items/MLK-001", 422),
    ],
)
def test_odd_requests_are_4xx_json(shopper: Shopper, method: str, path: str,
                                   status: int) -> None:
    if path == "/api/slots":
        shopper = Shopper(shopper.base_url)  # no location bound
    r = shopper.http.request(method, path)
    assert r.status_code == status, r.text
    assert "error" in r.json()


def test_head_on_probes(store: StoreProcess) -> None:
    for path in ("/", "/healthz", "/readyz", "/version"):
        assert httpx.head(store.base_url + path).status_code == 200


def test_clock_delivers_orders_nobody_looks_at(shopper: Shopper, store: StoreProcess) -> None:
    before = stock(store.base_url, "PER-004")
    shopper.buy("PER-004", 1)
    deadline = time.monotonic() + 15
    while stock(store.base_url, "PER-004")["sold"] == before["sold"]:
        assert time.monotonic() < deadline, "the clock never delivered the order"
        time.sleep(0.3)
    after = stock(store.base_url, "PER-004")
    assert after["sold"] == before["sold"] + 1 and after["reserved"] == before["reserved"]
