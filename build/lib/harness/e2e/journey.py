"""Journey steps shared by the e2e journeys, written against the Storefront protocol only."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal

from harness.e2e.adapter import Card, Cart, OrderView, Shopper, Storefront, Upi
from harness.e2e.settings import E2ESettings

HAPPY_PATH = (
    "CREATED", "PAYMENT_PENDING", "PLACED", "PICKING", "PACKED", "RIDER_ASSIGNED",
    "OUT_FOR_DELIVERY", "DELIVERED",
)


class Journey:
    """Steps shared by several journeys, each timed and named through `step`."""

    def __init__(
        self,
        storefront: Storefront,
        shopper: Shopper,
        settings: E2ESettings,
        step: Callable[[str], AbstractContextManager[None]],
        viewport: str,
    ) -> None:
        self.store = storefront
        self.shopper = shopper
        self.settings = settings
        self.facts = settings.shopper
        self.sandbox = settings.sandbox
        self.step = step
        self.viewport = viewport

    def own_sku(self, skus: list[str]) -> str:
        """This viewport's SKU from a per-viewport list (parallel runs never share stock)."""
        index = self.settings.viewports.index(self.viewport) if (
            self.viewport in self.settings.viewports) else 0
        return skus[index % len(skus)]

    @property
    def success_card(self) -> Card:
        """The sandbox card that always succeeds."""
        s = self.sandbox
        return Card(s.card_success, s.card_expiry, s.card_cvc)

    @property
    def declined_card(self) -> Card:
        """The sandbox card that is always declined."""
        s = self.sandbox
        return Card(s.card_declined, s.card_expiry, s.card_cvc)

    @property
    def success_upi(self) -> Upi:
        """The sandbox UPI id that always succeeds."""
        return Upi(self.sandbox.upi_success)

    def sign_up(self) -> None:
        """Create this test's shopper and log in."""
        with self.step("sign up"):
            self.store.sign_up(self.shopper)

    def deliver_to(self, pincode: str) -> None:
        """Set a serviceable delivery location."""
        with self.step("set location"):
            result = self.store.set_location(pincode)
            assert result.serviceable, f"pincode {pincode} should be served: {result.message!r}"

    def add(self, sku: str, quantity: int = 1) -> Cart:
        """Add `quantity` units of `sku` and return the cart."""
        with self.step("add to cart"):
            change = self.store.add_to_cart(sku)
            assert change.accepted, f"adding {sku} was refused: {change.message!r}"
            for _ in range(quantity - 1):
                change = self.store.change_quantity(sku, +1)
                assert change.accepted, f"raising {sku} was refused: {change.message!r}"
        with self.step("read cart"):
            cart = self.store.cart()
            line = cart.line(sku)
            assert line is not None, f"{sku} missing from the cart after adding it"
            assert line.quantity == quantity
            return cart

    def check_totals(self, cart: Cart) -> None:
        """item_total = Σ lines and item_total − discount + Σ fees = payable."""
        with self.step("check totals"):
            assert_totals_add_up(cart)

    def place_order(self, payment: Card | Upi | None = None) -> OrderView:
        """Checkout and pay; return the confirmation page."""
        with self.step("checkout"):
            cart = self.store.cart()
            summary = self.store.checkout()
            assert summary.payable == cart.payable, (
                f"checkout asks {summary.payable} but the cart showed {cart.payable}"
            )
            assert summary.slots, "checkout offers no delivery slot"
        with self.step("payment"):
            outcome = self.store.pay(payment or self.success_card, address=self.facts.address)
            assert outcome.order_id, f"payment did not place an order: {outcome.error!r}"
        with self.step("order confirmation"):
            order = self.store.order(outcome.order_id)
            assert order.order_id == outcome.order_id
            assert order.payable == cart.payable, (
                f"order charges {order.payable} but the cart showed {cart.payable}"
            )
            return order

    def available(self, sku: str) -> int:
        """Units of `sku` available in the bound store, from its product page."""
        with self.step("read stock"):
            product = self.store.open_product(sku)
            assert product.available is not None, f"{sku}: the store shows no stock level"
            return product.available

    def wait_for_progress(self, order_id: str, past: str) -> OrderView:
        """Watch the tracking page until the order has moved past `past`."""
        with self.step("tracking"):
            return self.store.track_order(
                order_id, past=past, timeout_s=self.settings.order_progress_timeout_s
            )


def assert_totals_add_up(cart: Cart) -> None:
    """The cart's totals identity, with the amounts in the message when it breaks."""
    lines = sum((line.line_total for line in cart.lines), Decimal("0"))
    assert cart.item_total == lines, f"item total {cart.item_total} ≠ sum of lines {lines}"
    fees = sum(cart.fees.values(), Decimal("0"))
    expected = cart.item_total - cart.discount + fees
    assert cart.payable == expected, (
        f"payable {cart.payable} ≠ item total {cart.item_total} − discount {cart.discount}"
        f" + fees {fees} ({', '.join(f'{k} {v}' for k, v in cart.fees.items()) or 'none'})"
        f" = {expected}"
    )
