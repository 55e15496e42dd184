"""Storefront adapter for qgate's demo store: page objects that use `data-testid` only.

The contract it relies on is `demostore/TESTIDS.md`; nothing else of the store's HTML. The
store's words (status names, refusal messages) are mapped to qgate's structured outcomes
here, and only here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from harness.e2e.adapter import (
    BaseStorefront,
    Card,
    Cart,
    CartChange,
    CartLine,
    CartRefusal,
    CheckoutSummary,
    CouponRefusal,
    CouponResult,
    LocationResult,
    LoginResult,
    OrderRow,
    OrderState,
    OrderView,
    Payment,
    PaymentOutcome,
    ProductDetail,
    ProductSummary,
    Refund,
    Shopper,
    StorefrontError,
    Unsupported,
    Upi,
    canonical_state,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from harness.e2e.settings import E2ESettings

_ETA = re.compile(r"(\d+)\s*min")
_REFUSED = re.compile(r"(?i)\b(not|invalid|expired|minimum|exhausted|cannot|can't|limit|only)\b")

# The demo store's words → qgate's outcomes.
STATES: dict[str, OrderState] = {
    "CREATED": "placed", "PAYMENT_PENDING": "placed", "PLACED": "placed",
    "PICKING": "in_progress", "PACKED": "in_progress", "RIDER_ASSIGNED": "in_progress",
    "OUT_FOR_DELIVERY": "out_for_delivery", "DELIVERED": "delivered",
    "PARTIALLY_FULFILLED": "delivered", "CANCELLED": "cancelled", "REFUNDED": "refunded",
    "PAYMENT_FAILED": "payment_failed",
}
REFUNDS: dict[str, Refund] = {"REFUND_INITIATED": "initiated", "REFUNDED": "refunded"}
COUPON_REFUSALS: tuple[tuple[str, CouponRefusal], ...] = (
    ("does not exist", "unknown"), ("has expired", "expired"), ("minimum order", "below_minimum"),
    ("fully used", "exhausted"), ("not active yet", "other"))
CART_REFUSALS: tuple[tuple[str, CartRefusal], ...] = (
    ("at most", "max_per_order"), ("out of stock", "out_of_stock"),
    ("left in stock", "insufficient_stock"))


def _reason(message: str, table: tuple[tuple[str, Any], ...], default: Any = "other") -> Any:
    lowered = message.lower()
    return next((reason for words, reason in table if words in lowered), default)


class DemoStorefront(BaseStorefront):
    """Drives the demo store's pages through their `data-testid` attributes."""

    name = "demostore"

    def __init__(self, page: Page, base_url: str, settings: E2ESettings) -> None:
        super().__init__(page, base_url, settings)
        self._placed: list[str] = []  # order ids this journey placed, for clean_up
        self._fresh_order: str | None = None  # confirmation page on screen right after pay()

    # --- helpers ----------------------------------------------------------------------

    def _id(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    def _goto(self, path: str) -> None:
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")

    def _on(self, path: str) -> bool:
        current = self.page.url.split("?", 1)[0].split("#", 1)[0]
        return current.rstrip("/") == (self.base_url + path).rstrip("/")

    def _text(self, locator: Locator) -> str:
        return " ".join(locator.inner_text().split())

    def _optional_text(self, testid: str, within: Locator | None = None) -> str:
        locator = (within or self.page).get_by_test_id(testid)
        if locator.count() == 0 or not locator.first.is_visible():
            return ""
        return self._text(locator.first)

    def _mark_page(self) -> None:
        # A navigation drops this marker, so a later check can tell whether the page reloaded.
        self.page.evaluate("window.__qgateMarker = true")

    def _page_reloaded(self) -> bool:
        return not self.page.evaluate("window.__qgateMarker === true")

    def _submit(self, button: Locator) -> None:
        """Click a button that submits a form, and wait for the resulting page."""
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            button.click()

    def _click_and_settle(self, button: Locator, watch: str, what: str) -> None:
        """Click, then wait for a new page (form post) or a fresh text in `watch` (in-page JS)."""
        element = self._id(watch)
        before = self._text(element.first) if element.count() else ""
        self._mark_page()
        self._wait(
            """([testid, before]) => {
                if (window.__qgateMarker !== true) return document.readyState !== 'loading';
                const e = document.querySelector(`[data-testid="${testid}"]`);
                const now = e ? e.textContent.trim().replace(/\\s+/g, ' ') : '';
                return now.length > 0 && now !== before;
            }""",
            [watch, before],
            what,
            action=button.click,
        )
        self.page.wait_for_load_state("domcontentloaded")

    def _wait(
        self, condition: str, arg: Any, what: str, action: Callable[[], None] | None = None
    ) -> None:
        """Wait for a JS condition, failing with a shopper-level description of what was due.

        `action` (the click) runs once the error listener is on: an uncaught script error
        ends the wait early (after a short grace), so a broken button fails in about a
        second and the message carries the script's error.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        errors: list[str] = []

        def on_error(error: Any) -> None:
            errors.append(str(error).splitlines()[0] if str(error) else repr(error))

        timeout_s = self.settings.action_timeout_ms / 1000
        started = time.monotonic()
        self.page.on("pageerror", on_error)
        try:
            if action is not None:
                action()
            while True:
                try:
                    self.page.wait_for_function(condition, arg=arg, timeout=250, polling=50)
                    return
                except PlaywrightTimeout:
                    waited = time.monotonic() - started
                    if errors and waited > 1.0:
                        raise StorefrontError(
                            f"{what}; the page raised {errors[0]!r}"
                        ) from None
                    if waited > timeout_s:
                        raise StorefrontError(f"{what} (waited {timeout_s:.0f} s)") from None
        finally:
            self.page.remove_listener("pageerror", on_error)

    # --- location ----------------------------------------------------------------------

    def set_location(self, pincode: str) -> LocationResult:
        """Set the pincode on the home page and read the serviceability message."""
        self._goto("/")
        self._id("pincode-input").fill(pincode)
        self._submit(self._id("pincode-submit"))
        outcome = self._id("location-status").or_(self._id("location-error"))
        outcome.first.wait_for(state="visible")
        error = self._optional_text("location-error")
        if error:
            why = "store_paused" if "paused" in error.lower() else (
                "store_closed" if "closed" in error.lower() else "unserviceable")
            return LocationResult(serviceable=False, message=error, reason=why)
        message = self._text(self._id("location-status"))
        eta = _ETA.search(message)
        return LocationResult(
            serviceable=True, message=message, eta_minutes=int(eta.group(1)) if eta else None
        )

    def current_location(self) -> str:
        """The pincode shown in the header."""
        return self._text(self._id("location-current"))

    # --- catalog -----------------------------------------------------------------------

    def _cards(self) -> list[ProductSummary]:
        products = []
        for card in self._id("product-card").all():
            products.append(
                ProductSummary(
                    sku=card.get_attribute("data-sku") or "",
                    name=self._text(card.get_by_test_id("product-name")),
                    price=self.money(self._text(card.get_by_test_id("product-price"))),
                    in_stock=card.get_by_test_id("out-of-stock").count() == 0,
                )
            )
        return products

    def search(self, term: str) -> list[ProductSummary]:
        """Search from the header's search form."""
        if self.page.url in ("", "about:blank"):
            self._goto("/")
        self._id("search-input").fill(term)
        self._submit(self._id("search-submit"))
        # The results container is present (possibly empty) on every search page.
        self._id("search-results").wait_for(state="attached")
        if self._id("search-empty").count() and self._id("search-empty").is_visible():
            return []
        return self._cards()

    def browse_category(self) -> list[ProductSummary]:
        """Open the first category linked from the home page."""
        self._goto("/")
        link = self._id("category-link").first
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            link.click()
        return self._cards()

    def open_product(self, sku: str) -> ProductDetail:
        """Open a product from the listing on screen, or by its URL."""
        card = self.page.locator(f'[data-testid="product-card"][data-sku="{sku}"]')
        if card.count():
            with self.page.expect_navigation(wait_until="domcontentloaded"):
                card.first.get_by_test_id("product-link").first.click()
        else:
            self._goto(f"/p/{quote(sku)}")
        self._id("product-title").wait_for()
        availability = self._id("product-availability")
        available = availability.get_attribute("data-available")
        max_attr = self._id("max-per-order").get_attribute("data-max") if self._id(
            "max-per-order"
        ).count() else None
        return ProductDetail(
            sku=sku,
            title=self._text(self._id("product-title")),
            price=self.money(self._text(self._id("product-price"))),
            mrp=self.money(self._text(self._id("product-mrp"))),
            in_stock=self._text(availability).lower().startswith("in stock"),
            available=int(available) if available not in (None, "") else None,
            max_per_order=int(max_attr) if max_attr not in (None, "") else None,
        )

    def add_to_cart(self, sku: str) -> CartChange:
        """Click add-to-cart on the product page and read the store's answer."""
        if not self._on(f"/p/{quote(sku)}"):
            self.open_product(sku)
        status = self._id("add-to-cart-status")
        # Clear the previous answer so that the next one is known to be fresh.
        self.page.evaluate(
            "() => { const s = document.querySelector('[data-testid=add-to-cart-status]');"
            " if (s) s.textContent = ''; }"
        )
        self._wait(
            "() => { const s = document.querySelector('[data-testid=add-to-cart-status]');"
            " return !!s && s.textContent.trim().length > 0; }",
            None,
            f"add to cart: the page showed no outcome after clicking add-to-cart for {sku}",
            action=self._id("add-to-cart").click,
        )
        message = self._text(status)
        if message.lower().startswith("added"):
            return CartChange(accepted=True, message=message)
        return CartChange(accepted=False, message=message, reason=_reason(message, CART_REFUSALS))

    def cart_count(self) -> int:
        """Units in the cart according to the header badge."""
        text = self._text(self._id("cart-count"))
        return int(text) if text.isdigit() else 0

    # --- cart --------------------------------------------------------------------------

    def cart(self) -> Cart:
        """Open the cart page and read lines, totals and the last refusal.

        Already on the cart, the page is read as is: every cart change made there reloads it.
        """
        if not self._on("/cart"):
            self._goto("/cart")
        return self._read_cart()

    def _read_cart(self) -> Cart:
        self._id("cart-line").or_(self._id("cart-empty")).first.wait_for()
        error = self._optional_text("cart-error")
        if self._id("cart-empty").count() and self._id("cart-empty").is_visible():
            return Cart(lines=(), item_total=Decimal("0"), discount=Decimal("0"), error=error)
        lines = []
        for row in self._id("cart-line").all():
            qty = row.get_by_test_id("line-qty")
            is_input = qty.evaluate("e => e.tagName === 'INPUT'")
            qty_text = qty.input_value() if is_input else self._text(qty)
            lines.append(
                CartLine(
                    sku=row.get_attribute("data-sku") or "",
                    name=self._text(row.get_by_test_id("line-name")),
                    quantity=int(re.sub(r"\D", "", qty_text) or 0),
                    line_total=self.money(self._text(row.get_by_test_id("line-total"))),
                )
            )
        fees = {}
        for fee in self._id("fee-line").all():
            # The store's fee codes are qgate's fee roles already (delivery, small_cart, …).
            fees[fee.get_attribute("data-fee") or "other"] = self.money(
                self._text(fee.get_by_test_id("fee-amount"))
            )
        return Cart(
            lines=tuple(lines),
            item_total=self.money(self._text(self._id("item-total"))),
            discount=abs(self.money(self._text(self._id("discount")))),
            fees=fees,
            payable=self.money(self._text(self._id("payable"))),
            error=error,
        )

    def _line(self, sku: str) -> Locator:
        return self.page.locator(f'[data-testid="cart-line"][data-sku="{sku}"]')

    def change_quantity(self, sku: str, delta: int) -> CartChange:
        """Click qty-increase / qty-decrease on a cart line; report a refusal if shown."""
        if delta not in (1, -1):
            raise ValueError("change_quantity steps one unit at a time")
        if not self._on("/cart"):
            self._goto("/cart")
        line = self._line(sku)
        if line.count() == 0:
            raise StorefrontError(f"change quantity: {sku} is not in the cart")
        before = self._read_cart().line(sku)
        self._mark_page()
        # Form post (page reload) or in-page update: either way the page must show an outcome.
        self._wait(
            """([sku, qty]) => {
                if (window.__qgateMarker !== true && document.readyState !== 'loading') return true;
                const line = document.querySelector(`[data-testid=cart-line][data-sku="${sku}"]`);
                const q = line && line.querySelector('[data-testid=line-qty]');
                const now = !q ? '' : (q.tagName === 'INPUT' ? q.value : q.textContent);
                const err = document.querySelector('[data-testid=cart-error]');
                return !line || now.replace(/\\D/g, '') !== String(qty)
                       || (err && err.textContent.trim().length > 0);
            }""",
            [sku, before.quantity if before else 0],
            f"change quantity: the cart showed no outcome after stepping {sku} by {delta}",
            action=line.get_by_test_id("qty-increase" if delta > 0 else "qty-decrease").click,
        )
        self.page.wait_for_load_state("domcontentloaded")
        after = self._read_cart()
        line_after = after.line(sku)
        quantity_after = line_after.quantity if line_after else 0
        expected = (before.quantity if before else 0) + delta
        if quantity_after == expected:
            return CartChange(accepted=True, message=after.error)
        return CartChange(accepted=False, message=after.error,
                          reason=_reason(after.error, CART_REFUSALS))

    def remove_from_cart(self, sku: str) -> Cart:
        """Remove a cart line."""
        if not self._on("/cart"):
            self._goto("/cart")
        self._mark_page()
        self._wait(
            """(sku) => (window.__qgateMarker !== true && document.readyState !== 'loading')
                || !document.querySelector(`[data-testid=cart-line][data-sku="${sku}"]`)""",
            sku,
            f"remove from cart: {sku} is still in the cart",
            action=self._line(sku).get_by_test_id("line-remove").click,
        )
        self.page.wait_for_load_state("domcontentloaded")
        return self._read_cart()

    def apply_coupon(self, code: str) -> CouponResult:
        """Apply a coupon on the cart page and read its message."""
        if not self._on("/cart"):
            self._goto("/cart")
        self._id("coupon-input").fill(code)
        self._click_and_settle(
            self._id("coupon-apply"), "coupon-message",
            f"apply coupon: the cart showed no outcome after applying {code}",
        )
        message = self._optional_text("coupon-message") or self._optional_text("flash")
        # The message names an applied coupon ("FLAT50 applied: …") or says why it was refused;
        # with no coupon the store shows a hint, which is not an application either.
        applied = "applied" in message.lower() and not _REFUSED.search(message)
        if applied:
            return CouponResult(applied=True, message=message)
        return CouponResult(applied=False, message=message,
                            reason=_reason(message, COUPON_REFUSALS))

    # --- checkout and payment ----------------------------------------------------------

    def checkout(self) -> CheckoutSummary:
        """Go from the cart to checkout."""
        if not self._on("/cart"):
            self._goto("/cart")
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self._id("checkout-button").click()
        if "/login" in self.page.url:
            raise StorefrontError("checkout redirected to the login page: shopper not logged in")
        self._id("pay-button").wait_for()
        slots = tuple(
            s.get_attribute("data-slot") or "" for s in self._id("slot-option").all()
        )
        return CheckoutSummary(
            payable=self.money(self._text(self._id("checkout-payable"))), slots=slots
        )

    def pay(self, payment: Payment, *, address: str, slot: str | None = None) -> PaymentOutcome:
        """Pick a slot, fill the address and pay; report the order id or the error shown."""
        if not isinstance(payment, (Card, Upi)):
            raise Unsupported("the demo store always takes a payment (card or UPI)")
        if not self._on("/checkout"):
            self.checkout()
        slots = self._id("slot-option")
        if slot:
            self.page.locator(f'[data-testid="slot-option"][data-slot="{slot}"]').check()
        elif slots.count():
            slots.first.check()
        self._id("address-input").fill(address)
        if isinstance(payment, Card):
            self.page.locator('[data-testid="payment-method"][value="card"]').check()
            self._id("card-number").fill(payment.number)
            self._id("card-expiry").fill(payment.expiry)
            self._id("card-cvc").fill(payment.cvc)
        else:
            self.page.locator('[data-testid="payment-method"][value="upi"]').check()
            self._id("upi-id").fill(payment.vpa)
        self._mark_page()
        self._wait(
            """() => (window.__qgateMarker !== true && document.readyState !== 'loading'
                      && !!document.querySelector(
                          '[data-testid=order-id], [data-testid=payment-error]'))
                  || (() => { const e = document.querySelector('[data-testid=payment-error]');
                             return !!e && e.textContent.trim().length > 0; })()""",
            None,
            "pay: neither an order confirmation nor a payment error appeared",
            action=self._id("pay-button").click,
        )
        error = self._optional_text("payment-error")
        if error:
            lowered = error.lower()
            declined = any(w in lowered for w in ("declined", "insufficient", "has expired",
                                                  "incorrect"))
            reason = "declined" if declined else (
                "gateway_error" if "gateway" in lowered else "other")
            return PaymentOutcome(order_id=None, error=error, reason=reason)
        order_id = self._text(self._id("order-id"))
        self._placed.append(order_id)
        self._fresh_order = order_id
        return PaymentOutcome(order_id=order_id)

    # --- orders ------------------------------------------------------------------------

    def order(self, order_id: str) -> OrderView:
        """Open the order's tracking page (the confirmation just shown by pay() is read as is)."""
        if self._fresh_order != order_id or not self._on(f"/orders/{quote(order_id)}"):
            self._goto(f"/orders/{quote(order_id)}")
        self._fresh_order = None
        return self._read_order()

    def track_order(self, order_id: str, *, past: str, timeout_s: float) -> OrderView:
        """Stay on the tracking page, which updates itself, until the status moves on."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if not self._on(f"/orders/{quote(order_id)}"):
            self._goto(f"/orders/{quote(order_id)}")
        deadline = time.monotonic() + timeout_s
        view = self._read_order()
        while view.state == past:
            # The page updates itself: wait for its status text to change, then map it.
            left = deadline - time.monotonic()
            try:
                self.page.wait_for_function(
                    """(shown) => { const s = document.querySelector('[data-testid=order-status]');
                                   return !!s && s.textContent.trim().toUpperCase() !== shown; }""",
                    arg=view.status, timeout=max(left, 0.001) * 1000, polling=200,
                )
            except PlaywrightTimeout:
                raise StorefrontError(
                    f"tracking: order {order_id} stayed {view.status} on the tracking page for "
                    f"{timeout_s:.0f} s"
                ) from None
            view = self._read_order()
        return view

    def _read_order(self) -> OrderView:
        self._id("order-status").wait_for()
        cancel = self._id("cancel-order")
        status = self._text(self._id("order-status")).upper()
        return OrderView(
            order_id=self._text(self._id("order-id")),
            status=status,
            payable=self.money(self._text(self._id("order-payable"))),
            state=canonical_state(status, STATES),
            states=tuple(
                canonical_state(s.get_attribute("data-state") or "", STATES)
                for s in self._id("status-step").all()
            ),
            eta=self._optional_text("order-eta"),
            refund=REFUNDS.get(self._optional_text("refund-status").upper(), ""),
            cancellable=cancel.count() > 0 and cancel.first.is_visible(),
        )

    def order_history(self) -> list[OrderRow]:
        """The account page's order history."""
        self._goto("/account")
        self._id("order-history").wait_for()
        rows = []
        for row in self._id("order-row").all():
            status = self._text(row.get_by_test_id("order-status")).upper()
            rows.append(OrderRow(order_id=row.get_attribute("data-order-id") or "",
                                 status=status, state=canonical_state(status, STATES)))
        return rows

    def cancel_order(self, order_id: str) -> OrderView:
        """Cancel from the order page (accepting a confirm dialog if the store asks)."""
        if not self._on(f"/orders/{quote(order_id)}"):
            self._goto(f"/orders/{quote(order_id)}")
        cancel = self._id("cancel-order")
        if cancel.count() == 0 or not cancel.first.is_visible():
            raise StorefrontError(
                f"cancel order: no cancel button on order {order_id} "
                f"(status {self._text(self._id('order-status'))})"
            )
        self.page.once("dialog", lambda dialog: dialog.accept())
        self._submit(cancel.first)
        return self._read_order()

    # --- accounts ----------------------------------------------------------------------

    def sign_up(self, shopper: Shopper) -> None:
        """Create an account; the store logs the new shopper in."""
        self._goto("/signup")
        self._id("signup-name").fill(shopper.name)
        self._id("signup-email").fill(shopper.email)
        self._id("signup-phone").fill(shopper.phone)
        self._id("signup-password").fill(shopper.password)
        self._submit(self._id("signup-submit"))
        error = self._optional_text("signup-error")
        if error:
            raise StorefrontError(f"sign up refused: {error}")
        if self._id("account-link").count() == 0:
            result = self.log_in(shopper)
            if not result.accepted:
                raise StorefrontError(f"signed up but could not log in: {result.message}")

    def log_in(self, shopper: Shopper) -> LoginResult:
        """Log in from the login page; a refusal says why."""
        self._goto("/login")
        self._id("login-email").fill(shopper.email)
        self._id("login-password").fill(shopper.password)
        self._submit(self._id("login-submit"))
        self._id("login-error").or_(self._id("account-link")).first.wait_for()
        error = self._optional_text("login-error")
        if error:
            lowered = error.lower()
            reason = "wrong_credentials" if "wrong email or password" in lowered else (
                "rate_limited" if "too many" in lowered else "other")
            return LoginResult(accepted=False, message=error, reason=reason)
        return LoginResult(accepted=True)

    def log_out(self) -> None:
        """Log out from the header."""
        self._submit(self._id("logout-button"))
        self._id("login-link").wait_for()

    def signed_in_as(self) -> str:
        """The email the account page shows; "" when the store asks to log in instead."""
        self._goto("/account")
        self._id("account-email").or_(self._id("login-email")).first.wait_for()
        return self._optional_text("account-email")

    def clean_up(self, shopper: Shopper) -> None:
        """Cancel this journey's orders that are still cancellable, releasing their stock.

        The demo store has no account deletion, and carts end with the browser context.
        """
        for order_id in self._placed:
            self._goto(f"/orders/{quote(order_id)}")
            cancel = self._id("cancel-order")
            if cancel.count() and cancel.first.is_visible():
                self.page.once("dialog", lambda dialog: dialog.accept())
                self._submit(cancel.first)
