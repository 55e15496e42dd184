"""Journey steps shared by the e2e journeys, written against the Storefront protocol only.

Every step is timed and named through `step`, and every assertion says, in a shopper's
words, what went wrong. Nothing here knows a shop's words, routes, currency or statuses:
adapters return structured outcomes (`harness.e2e.adapter`), and the shop's facts come from
the environment's `[e2e]` tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal

from harness.e2e.adapter import (
    PROGRESS,
    Card,
    Cart,
    CashOnDelivery,
    CheckoutSummary,
    LoginResult,
    NoPayment,
    OrderRow,
    OrderView,
    Payment,
    RateLimited,
    Shopper,
    Storefront,
    Upi,
)
from harness.e2e.settings import CouponRule, E2ESettings

StepRunner = Callable[..., AbstractContextManager[None]]
#: one minor unit (paise, cents): a percent discount may round either way by this much per line
MINOR_UNIT = Decimal("0.01")


@dataclass
class AccountLease:
    """This journey's use of its worker's test account (`[e2e.accounts]`).

    `restored`: the context started from the worker's saved login (storage state);
    `exists`: the account is known to the shop (a pool account, or signed up earlier in this
    worker), so a lost session is logged in again rather than signed up; `save` keeps the
    context's login for the worker's next journeys.
    """

    restored: bool
    exists: bool
    save: Callable[[], None]


class Journey:
    """Steps shared by several journeys, bound to one test's storefront, shopper and viewport."""

    def __init__(
        self,
        storefront: Storefront,
        shopper: Shopper,
        settings: E2ESettings,
        step: StepRunner,
        viewport: str,
        account: AccountLease | None = None,
    ) -> None:
        self.store = storefront
        self.shopper = shopper
        self.settings = settings
        self.catalog = settings.catalog
        self.location = settings.location
        self.step = step
        self.viewport = viewport
        #: None: this journey's shopper is its own (new); else the worker's reused account
        self.account = account

    @property
    def fresh_shopper(self) -> bool:
        """The shopper is new to the shop (signed up by this journey): no earlier orders."""
        return self.account is None or self.settings.login.method == "storage_state"

    def check(self, what: str) -> AbstractContextManager[None]:
        """A named, untimed step for assertions, so a failure is attributed to it."""
        return self.step(f"check {what}", timed=False)

    def own_sku(self, skus: list[str]) -> str:
        """This viewport's product from a per-viewport list (parallel runs never share stock)."""
        if not skus:
            return str(self.catalog.sku)
        index = self.settings.viewports.index(self.viewport) if (
            self.viewport in self.settings.viewports) else 0
        return skus[index % len(skus)]

    # --- location (only where the shop has one) ------------------------------------------

    @property
    def has_location(self) -> bool:
        """The environment declares a delivery-location step."""
        return bool(self.location.pincode)

    def arrive(self, pincode: str = "") -> None:
        """Set the delivery location when the shop has one: a shopper's first step there."""
        if self.has_location:
            self.deliver_to(pincode or str(self.location.pincode))

    def deliver_to(self, pincode: str) -> None:
        """Set a serviceable delivery location."""
        with self.step("set location"):
            result = self.store.set_location(pincode)
            assert result.serviceable, (
                f"the shop refused to deliver to {pincode}, which should be served: "
                f"{result.message!r}")

    # --- sessions --------------------------------------------------------------------------

    def sign_up(self) -> None:
        """Create this test's shopper; the shop should then show them logged in."""
        with self.step("sign up"):
            self.store.sign_up(self.shopper)
        with self.check("signed in"):
            shown = self.store.signed_in_as()
            assert shown == self.shopper.email, (
                f"after signing up the shop shows {shown or 'nobody'} logged in, "
                f"not {self.shopper.email}")

    def start_session(self) -> None:
        """Be logged in the way this shop allows: a stored state, the worker's test account
        (`[e2e.accounts]`: its saved login, else log in or sign up once), log in by OTP, or
        sign up a new shopper."""
        method = self.settings.login.method
        if method == "storage_state":
            with self.check("signed in"):
                shown = self.store.signed_in_as()
                assert shown == self.shopper.email, (
                    f"the stored login state shows {shown or 'nobody'} logged in, not "
                    f"{self.shopper.email} (e2e.login.email)")
            return
        lease = self.account
        if lease is not None and lease.restored:
            with self.check("signed in"):
                shown = self.store.signed_in_as()
            if shown == self.shopper.email:
                return  # the worker's saved login still holds: no auth request at all
        if method == "otp" or (lease is not None and lease.exists):
            self.log_in()
        else:
            self.sign_up()
        if lease is not None:
            lease.exists = True
            lease.save()

    def orders_before(self) -> list[OrderRow]:
        """The shopper's orders before this journey's: none for a new shopper; read from the
        history for a reused test account."""
        if self.fresh_shopper:
            return []
        with self.step("order history"):
            return self.store.order_history()

    def log_in(self) -> None:
        """Log this shopper in; the shop should then show them logged in."""
        otp = self.settings.login.method == "otp"
        with self.step("log in"):
            result = limited_login(self.store.log_in(self.shopper))
            how = "with the one-time code" if otp else f"as {self.shopper.email}"
            assert result.accepted, f"logging in {how} was refused: {result.message!r}"
        if not otp:
            with self.check("signed in"):
                shown = self.store.signed_in_as()
                assert shown == self.shopper.email, (
                    f"after logging in the shop shows {shown or 'nobody'}, not "
                    f"{self.shopper.email}")

    # --- cart ------------------------------------------------------------------------------

    def add(self, sku: str, quantity: int = 1) -> Cart:
        """Add `quantity` units of `sku` and return the cart."""
        with self.step("add to cart"):
            change = self.store.add_to_cart(sku)
            assert change.accepted, f"adding {sku} to the cart was refused: {change.message!r}"
            for _ in range(quantity - 1):
                change = self.store.change_quantity(sku, +1)
                assert change.accepted, (
                    f"raising {sku} to {quantity} in the cart was refused: {change.message!r}")
        with self.step("read cart"):
            cart = self.store.cart()
            line = cart.line(sku)
            assert line is not None, f"{sku} is missing from the cart right after adding it"
            assert line.quantity == quantity, (
                f"the cart shows {line.quantity} × {sku}, the shopper added {quantity}")
            return cart

    def check_totals(self, cart: Cart) -> None:
        """item_total = Σ lines and item_total − discount + Σ fees = payable."""
        with self.step("check totals", timed=False):
            assert_totals_add_up(cart)

    # --- stock (only where product pages show it) -------------------------------------------

    @property
    def shows_stock(self) -> bool:
        """Product pages show the units available (declared in e2e.catalog.stock_levels)."""
        return bool(self.catalog.stock_levels)

    def available(self, sku: str) -> int | None:
        """Units of `sku` available in the bound store, or None where the shop does not say."""
        if not self.shows_stock:
            return None
        with self.step("read stock"):
            product = self.store.open_product(sku)
            assert product.available is not None, (
                f"the page of {sku} shows no stock level, though the environment says product "
                "pages show one")
            return product.available

    # --- checkout --------------------------------------------------------------------------

    @property
    def success_payment(self) -> Payment:
        """The first declared way to pay that the sandbox always accepts."""
        methods = self.settings.payment.methods or ["none"]
        return self.payment_for(methods[0])

    def payment_for(self, method: str) -> Payment:
        """The sandbox success instrument of `method` ("card", "upi", "cod" or "none")."""
        pay = self.settings.payment
        if method == "card":
            return Card(pay.card_success, pay.card_expiry, pay.card_cvc)
        if method == "upi":
            return Upi(pay.upi_success)
        if method == "cod":
            return CashOnDelivery()
        return NoPayment()

    @staticmethod
    def captures(payment: Payment) -> bool:
        """Paying this way takes the money at checkout (so cancelling must refund it)."""
        return isinstance(payment, (Card, Upi))

    @property
    def declined_card(self) -> Card:
        """The sandbox card that is always declined."""
        pay = self.settings.payment
        return Card(str(pay.card_declined), pay.card_expiry, pay.card_cvc)

    @property
    def address(self) -> str:
        """The delivery address typed at checkout."""
        return str(self.settings.checkout.address)

    def place_order(self, payment: Payment | None = None) -> OrderView:
        """Checkout and pay; return the confirmation page."""
        payment = payment or self.success_payment
        with self.step("checkout"):
            cart = self.store.cart()
            summary = self.store.checkout()
            assert_checkout_adds_up(cart, summary, self.settings.checkout.fees_at_checkout)
            if self.settings.checkout.slots:
                assert summary.slots, "checkout offers no delivery slot"
        with self.step("payment"):
            outcome = self.store.pay(payment, address=self.address)
            assert outcome.order_id, (
                f"paying did not place an order; the shop said {outcome.error!r}")
        with self.step("order confirmation"):
            order = self.store.order(outcome.order_id)
            assert order.order_id == outcome.order_id, (
                f"the confirmation shows order {order.order_id}, payment placed "
                f"{outcome.order_id}")
            # what the shopper was shown last: the checkout summary (the cart, plus the fees
            # only checkout knows)
            shown = "checkout showed" if self.settings.checkout.fees_at_checkout else (
                "the cart showed")
            assert order.payable == summary.payable, (
                f"the order charges {order.payable} but {shown} {summary.payable}")
            assert order.state == "placed", (
                f"a new order should be placed, the shop shows {order.status!r} ({order.state})")
            if isinstance(payment, CashOnDelivery):
                assert order.payment == "pending", (
                    f"a cash-on-delivery order should be placed with its payment pending (to "
                    f"be collected), the shop shows {order.payment or 'no payment state'}")
            return order

    # --- orders ------------------------------------------------------------------------------

    def advance(self, order: OrderView) -> OrderView:
        """Move the order on: wait for the shop, or run the environment's advance hook first."""
        orders = self.settings.orders
        if orders.progress == "hook":
            from harness.e2e.hooks import advance_order
            with self.step("advance order (hook)", timed=False):
                advance_order(orders, order.order_id)
        with self.step("tracking"):
            return self.store.track_order(order.order_id, past=order.state,
                                          timeout_s=orders.progress_timeout_s)

    # --- coupons -------------------------------------------------------------------------------

    def qualifying_cart(self, coupon: CouponRule) -> Cart:
        """A cart whose item total meets `coupon`'s minimum order (one product, enough units)."""
        sku = coupon.sku or str(self.catalog.sku)
        with self.step("open product"):
            price = self.store.open_product(sku).price
            assert price > 0, f"{sku} shows no price"
        minimum = money(coupon.min_order)
        quantity = max(1, math.ceil(minimum / price)) if minimum else 1
        if coupon.kind == "buy_x_get_y":  # enough units for the offer to give one free set
            quantity = max(quantity, coupon.buy + coupon.get)
        cart = self.add(sku, quantity)
        if coupon.kind == "free_item" and cart.line(coupon.free_sku) is None:
            cart = self.add(coupon.free_sku)  # the shopper takes the free product
        return cart


def limited_login(result: LoginResult) -> LoginResult:
    """The login's outcome; RateLimited when the adapter says the shop's limiter refused it
    (no evidence about the password either way: the test becomes an error)."""
    if result.reason == "rate_limited":
        raise RateLimited(f"the shop's limiter refused the login: {result.message!r}")
    return result


def money(value: str | int | float) -> Decimal:
    """A declared amount (TOML number or string) as a Decimal; '' is zero."""
    return Decimal(str(value)) if str(value).strip() else Decimal("0")


def expected_discount(coupon: CouponRule, cart: Cart) -> Decimal:
    """The discount `coupon`'s rule gives on `cart`, computed from its lines, unrounded."""
    items = sum((line.line_total for line in cart.lines), Decimal("0"))
    if coupon.kind == "flat":
        return min(money(coupon.value), items)
    if coupon.kind == "percent":
        amount = items * money(coupon.value) / 100
        cap = money(coupon.cap)
        return min(amount, cap) if cap else amount
    if coupon.kind == "buy_x_get_y":
        line = cart.line(coupon.sku)
        if line is None or line.quantity <= 0 or coupon.buy <= 0 or coupon.get <= 0:
            return Decimal("0")
        unit = line.line_total / line.quantity
        return unit * (line.quantity // (coupon.buy + coupon.get) * coupon.get)
    if coupon.kind == "free_item":
        line = cart.line(coupon.free_sku)
        if line is None or line.quantity <= 0:
            return Decimal("0")
        # a free line shown at its price is taken off; one shown at 0 needs no discount
        return line.line_total / line.quantity * min(max(coupon.get, 1), line.quantity)
    return Decimal("0")  # free delivery: the delivery fee goes, the items keep their price


def discount_matches(observed: Decimal, expected: Decimal, lines: int) -> bool:
    """Equal, up to rounding to the minor unit (either way) once per cart line."""
    return abs(observed - expected) < MINOR_UNIT * max(1, lines)


def moved_on(before: str, after: str) -> bool:
    """`after` is further along the happy path (placed → … → delivered) than `before`."""
    return after in PROGRESS and before in PROGRESS and PROGRESS.index(after) > PROGRESS.index(
        before)


def assert_totals_add_up(cart: Cart) -> None:
    """The cart's totals identity, with the amounts in the message when it breaks."""
    lines = sum((line.line_total for line in cart.lines), Decimal("0"))
    assert cart.item_total == lines, (
        f"the item total {cart.item_total} is not the sum of the lines {lines}")
    fees = sum(cart.fees.values(), Decimal("0"))
    expected = cart.item_total - cart.discount + fees
    assert cart.payable == expected, (
        f"payable {cart.payable} ≠ item total {cart.item_total} − discount {cart.discount}"
        f" + fees {fees} ({', '.join(f'{k} {v}' for k, v in cart.fees.items()) or 'none'})"
        f" = {expected}"
    )


def assert_checkout_adds_up(cart: Cart, summary: CheckoutSummary,
                            fees_at_checkout: list[str]) -> None:
    """Checkout asks what the cart showed plus exactly the fees only checkout knows."""
    missing = [role for role in fees_at_checkout if role not in summary.fees]
    assert not missing, (
        f"checkout shows no {', '.join(missing)} fee, which e2e.checkout.fees_at_checkout "
        f"says is added there (it shows: {', '.join(summary.fees) or 'no fees'})")
    added = {role: summary.fees[role] for role in fees_at_checkout}
    expected = cart.payable + sum(added.values(), Decimal("0"))
    late = "".join(f" + {role} {amount}" for role, amount in added.items())
    assert summary.payable == expected, (
        f"checkout asks {summary.payable} but the cart showed {cart.payable}"
        + (f"{late} added at checkout = {expected}" if late else ""))
