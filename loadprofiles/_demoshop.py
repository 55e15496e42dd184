"""Shoppers of the bundled demo store, shared by its load profiles (ci, peak, stress, soak).

Plain locust: nothing here imports qgate, and every profile also runs on its own, e.g.
`locust -f loadprofiles/ci.py --host http://127.0.0.1:8000` (web UI) or with `--headless`.

A shopper signs up once (a fresh synthetic account), then browses (home, category, search,
product page), buys (set location, add to cart, cart, checkout = place and pay) and tracks
its orders. Shoppers behave like real ones under a slow site: some double-tap "pay" (a
second checkout with the same Idempotency-Key while the first is in flight) and a checkout
that times out is retried with the same key. Answers the shop gives by design are not
failures but get their own request name: a sold-out SKU ("… (sold out)"), an expected card
decline ("checkout (declined card)"), a replayed or in-progress duplicate.

These are the demo store's routes and words; a team's own shop has its own locustfile.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import gevent
from locust import HttpUser, between, task

SERVICEABLE_PINCODES = ("560001", "560034", "560102")
#: pincodes of KOR-01, the dark store holding the 200 bags of the hot SKU
HOT_PINCODES = ("560001", "560034")
SEARCH_TERMS = ("milk", "bread", "chips", "ice", "banana", "juice", "water", "biscuits")
CATEGORIES = ("fruits-veg", "dairy", "snacks", "beverages", "frozen", "personal-care", "otc")
#: everyday SKUs in stock everywhere (the e2e journeys' own SKUs are left alone)
EVERYDAY = ("MLK-002", "CHP-002", "BIS-001", "SOD-002", "WAT-001", "FRU-001", "FRU-002",
            "FRU-003", "CHO-001", "JUI-001", "PER-002", "OTC-004")
#: New Year's Eve: a narrow basket, so a few inventory rows get very hot
PARTY = ("ICE-001", "CHP-001", "SOD-001", "CUP-001")
#: the SKU every party basket holds, bought by the bag-full: its stock runs out during the
#: peak, which is where an oversell race shows (or does not)
HOT_SKU, HOT_UNITS = "ICE-001", (3, 8)
CARD_OK = {"method": "card", "card_number": "4242 4242 4242 4242", "expiry": "12/34",
           "cvc": "123"}
CARD_DECLINED = {"method": "card", "card_number": "4000 0000 0000 0002", "expiry": "12/34",
                 "cvc": "123"}
UPI_OK = {"method": "upi", "upi_id": "success@razorpay"}
ADDRESS = "Flat 12, Load Test Residency, 80 Feet Road, Koramangala"
SOLD_OUT = frozenset({"out_of_stock", "insufficient_stock", "max_per_order"})


def error_code(response: Any) -> str:
    """The demo API's error code (`{"error": {"code": ...}}`), or ''."""
    try:
        body = response.json()
    except Exception:  # not JSON (an HTML error page, a cut connection)
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def order_id(response: Any) -> int | None:
    """The placed order's id from a checkout answer, or None."""
    try:
        return int(response.json()["order"]["id"])
    except Exception:
        return None


class Shopper(HttpUser):
    """An everyday shopper: browses more than it buys, pays by card or UPI."""

    abstract = True
    wait_time = between(0.5, 2.0)
    basket: tuple[str, ...] = EVERYDAY
    pincodes: tuple[str, ...] = SERVICEABLE_PINCODES
    max_units = 1
    lines = (1, 3)
    #: a checkout answer slower than this is a timeout; the client retries with the same key
    pay_timeout_s = 5.0
    double_tap_share = 0.1
    declined_share = 0.05
    upi_share = 0.3
    #: share of purchases made by a new customer, who signs up first
    new_customer_share = 0.3

    def on_start(self) -> None:
        """Sign up a fresh synthetic shopper (its bearer token authenticates the API)."""
        self.token = ""
        self.orders: list[int] = []
        self.sign_up()

    def sign_up(self) -> None:
        """Create a synthetic account (example.com email, valid +91 mobile) and log in."""
        email = f"load+{uuid.uuid4().hex[:16]}@example.com"
        phone = "+91" + random.choice("6789") + "".join(random.choices("0123456789", k=9))
        with self.client.post("/api/auth/signup", name="sign up", catch_response=True, json={
                "name": "Load Shopper", "email": email, "phone": phone,
                "password": "load-pass-" + uuid.uuid4().hex[:8]}) as r:
            self.token = ""
            if r.status_code == 201:
                self.token = r.json().get("token", "")
            else:
                r.failure(f"sign up answered {r.status_code} {error_code(r)}")

    @property
    def auth(self) -> dict[str, str]:
        """The shopper's bearer token (the store also accepts its session cookie)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @task(2)
    def home(self) -> None:
        """Open the home page."""
        self.client.get("/", name="home", headers=self.auth)

    @task(2)
    def category(self) -> None:
        """Browse a category."""
        self.client.get(f"/c/{random.choice(CATEGORIES)}", name="category", headers=self.auth)

    @task(3)
    def search(self) -> None:
        """Search the catalog."""
        self.client.get(f"/search?q={random.choice(SEARCH_TERMS)}", name="search",
                        headers=self.auth)

    @task(3)
    def product_page(self) -> None:
        """Open a product page."""
        self.client.get(f"/p/{random.choice(self.basket)}", name="product page",
                        headers=self.auth)

    @task(3)
    def buy(self) -> None:
        """Set the location, fill the cart, check out and pay, then look at the order."""
        if random.random() < self.new_customer_share:
            self.sign_up()
            self.orders = []
        if not self.token:
            return
        pincode = random.choice(self.pincodes)
        self.client.post("/api/location", name="set location", headers=self.auth,
                         json={"pincode": pincode})
        lines = self.pick_basket()
        skus = [sku for sku, _ in lines]
        for sku, qty in lines:
            self.add_to_cart(sku, qty)
        cart = self.client.get("/api/cart", name="cart", headers=self.auth)
        try:
            count = int(cart.json().get("count", 0))
        except Exception:
            count = 0
        if not count:
            return
        if random.random() < self.declined_share:
            self.pay_declined()
        placed = self.pay(UPI_OK if random.random() < self.upi_share else CARD_OK)
        if placed is None:
            self.empty_cart(skus)
        else:
            self.orders.append(placed)
            self.track_order(placed)

    def pick_basket(self) -> list[tuple[str, int]]:
        """(sku, units) lines for one order: a few SKUs of the basket, 1..max_units each."""
        skus = random.sample(sorted(set(self.basket)),
                             k=min(len(set(self.basket)), random.randint(*self.lines)))
        return [(sku, random.randint(1, self.max_units)) for sku in skus]

    @task(1)
    def track(self) -> None:
        """Look at one of the shopper's orders (the fulfilment clock moves it on)."""
        if self.orders:
            self.track_order(random.choice(self.orders[-5:]))

    def add_to_cart(self, sku: str, qty: int) -> None:
        """Add units; a sold-out SKU or a reached limit is the shop's answer, not a failure."""
        with self.client.post("/api/cart/items", name="add to cart", headers=self.auth,
                              json={"sku": sku, "qty": qty}, catch_response=True) as r:
            if r.status_code in (409, 422) and error_code(r) in SOLD_OUT:
                r.request_meta["name"] = "add to cart (sold out)"
                r.success()

    def empty_cart(self, skus: list[str]) -> None:
        """Drop what a checkout that did not place an order left in the cart."""
        for sku in skus:
            self.client.delete(f"/api/cart/items/{sku}", name="remove from cart",
                               headers=self.auth)

    def track_order(self, order: int) -> None:
        """The order's current state."""
        self.client.get(f"/api/orders/{order}", name="track order", headers=self.auth)

    def checkout(self, key: str, payment: dict[str, str], name: str) -> Any:
        """Send one checkout (unreported: the caller decides and exits the context)."""
        return self.client.post(
            "/api/checkout", name=name, catch_response=True, timeout=self.pay_timeout_s,
            headers={**self.auth, "Idempotency-Key": key},
            json={"slot": "now", "address": ADDRESS, "payment": payment})

    def pay_declined(self) -> None:
        """A card the sandbox declines: the shop must say so (402) and place nothing."""
        r = self.checkout(uuid.uuid4().hex, CARD_DECLINED, "checkout (declined card)")
        with r:
            if r.status_code == 402 and error_code(r) == "card_declined":
                r.success()
            else:
                r.failure(f"a declined card answered {r.status_code} {error_code(r)}")

    def pay(self, payment: dict[str, str]) -> int | None:
        """Check out and pay once per idempotency key: double taps and timeouts included."""
        key = uuid.uuid4().hex
        if random.random() < self.double_tap_share:
            first_tap = gevent.spawn(self.checkout, key, payment, "checkout")
            gevent.sleep(random.uniform(0.05, 0.3))
            second = self.checkout(key, payment, "checkout (double tap)")
            first = first_tap.get()
            placed = self.settle_duplicate(second, self.settle(first, duplicate=True))
        else:
            first = self.checkout(key, payment, "checkout")
            placed = self.settle(first)
        if placed is None and self.retryable(first):
            placed = self.retry(key, payment)
        return placed

    def settle(self, r: Any, duplicate: bool = False) -> int | None:
        """Report a checkout: 201 placed; sold out is an answer; anything else fails."""
        with r:
            code = error_code(r)
            if r.status_code == 201:
                placed = order_id(r)
                if placed is None:
                    r.failure("201 without an order id")
                return placed
            if r.status_code == 409 and code in SOLD_OUT:
                r.request_meta["name"] = "checkout (sold out)"
                r.success()
            elif duplicate and r.status_code == 409 and code == "request_in_progress":
                r.success()  # the other tap got there first: the shop refused a duplicate
            elif r.status_code == 0:
                r.failure(f"no answer within {self.pay_timeout_s:g} s ({r.error!r})")
            else:
                r.failure(f"checkout answered {r.status_code} {code}")
        return None

    def settle_duplicate(self, r: Any, placed: int | None) -> int | None:
        """The second tap must replay the first outcome or be told it is in progress."""
        with r:
            code = error_code(r)
            other = order_id(r) if r.status_code == 201 else None
            if placed is not None and other is not None and other != placed:
                r.failure(f"double charge: the second tap placed order {other} next to "
                          f"{placed} with the same Idempotency-Key")
            elif r.status_code == 201 or (r.status_code == 409 and code in
                                          ("request_in_progress", *SOLD_OUT)):
                r.success()
            else:
                r.failure(f"second tap answered {r.status_code} {code}")
        return placed if placed is not None else other

    @staticmethod
    def retryable(r: Any) -> bool:
        """A timeout or a server error: the client cannot know whether it paid."""
        return r.status_code == 0 or r.status_code >= 500

    def retry(self, key: str, payment: dict[str, str], attempts: int = 3) -> int | None:
        """Retry with the same Idempotency-Key: a replay, never a second charge."""
        for attempt in range(attempts):
            gevent.sleep(0.5 * (attempt + 1))
            r = self.checkout(key, payment, "checkout (retry)")
            with r:
                code = error_code(r)
                if r.status_code == 201:
                    return order_id(r)
                if r.status_code == 409 and code == "request_in_progress":
                    r.success()  # the first attempt is still being processed: ask again
                    continue
                if r.status_code == 409 and code in SOLD_OUT:
                    r.request_meta["name"] = "checkout (sold out)"
                    r.success()
                    return None
                r.failure(f"retry answered {r.status_code} {code}")
                if not self.retryable(r):
                    return None
        return None


class PartyShopper(Shopper):
    """New Year's Eve: goes straight for ice, chips, soda and cups, in a hurry."""

    abstract = True
    wait_time = between(0.2, 1.0)
    basket = PARTY
    pincodes = HOT_PINCODES
    max_units = 4
    lines = (0, 1)

    def pick_basket(self) -> list[tuple[str, int]]:
        """Ice by the bag-full, every time, and maybe one more party SKU."""
        others = [sku for sku in self.basket if sku != HOT_SKU]
        extra = random.sample(others, k=random.randint(*self.lines))
        return [(HOT_SKU, random.randint(*HOT_UNITS)),
                *((sku, random.randint(1, self.max_units)) for sku in extra)]

    @task(8)
    def buy(self) -> None:  # type: ignore[override]
        """Buying is most of what a party shopper does."""
        super().buy()
