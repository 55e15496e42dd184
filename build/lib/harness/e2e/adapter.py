"""The storefront adapter protocol: page-level actions and reads the journeys are written in.

An adapter drives one storefront's pages (its page objects) and returns the plain records
below; the journeys make every assertion. A step the storefront cannot perform raises
`Unsupported`, and the journey using it is reported as skipped with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.e2e.settings import E2ESettings


class Unsupported(Exception):
    """Raised by an adapter for a step its storefront cannot perform (e.g. no pincodes)."""


class StorefrontError(AssertionError):
    """The storefront did not respond to a step the way a shopper needs (product failure)."""


_MONEY = re.compile(r"-?\s*[^\d\-]*\s*(-?[\d,]+(?:\.\d+)?)")


def parse_money(text: str) -> Decimal:
    """Parse a rendered amount such as `₹1,234.50`, `- ₹50` or `FREE` into a Decimal."""
    cleaned = text.strip()
    if cleaned.lower() in {"free", ""}:
        return Decimal("0")
    match = _MONEY.search(cleaned)
    if not match:
        raise StorefrontError(f"cannot read an amount from {text!r}")
    value = Decimal(match.group(1).replace(",", ""))
    negative = cleaned.startswith("-") or cleaned.startswith("−")
    return -abs(value) if negative else value


@dataclass(frozen=True)
class Shopper:
    """A synthetic shopper created for one test."""

    name: str
    email: str
    phone: str
    password: str


@dataclass(frozen=True)
class Card:
    """A card payment (sandbox numbers only)."""

    number: str
    expiry: str
    cvc: str


@dataclass(frozen=True)
class Upi:
    """A UPI payment (sandbox VPA only)."""

    vpa: str


Payment = Card | Upi


@dataclass(frozen=True)
class LocationResult:
    """What the storefront says about a pincode."""

    serviceable: bool
    message: str
    eta_minutes: int | None = None


@dataclass(frozen=True)
class ProductSummary:
    """One product in a listing (search results, category)."""

    sku: str
    name: str
    price: Decimal
    in_stock: bool


@dataclass(frozen=True)
class ProductDetail:
    """A product page as shown for the bound store."""

    sku: str
    title: str
    price: Decimal
    mrp: Decimal
    in_stock: bool
    available: int | None
    max_per_order: int | None


@dataclass(frozen=True)
class CartChange:
    """The outcome of a cart change: accepted, or refused with the storefront's reason."""

    accepted: bool
    message: str = ""


@dataclass(frozen=True)
class CartLine:
    """One cart line."""

    sku: str
    name: str
    quantity: int
    line_total: Decimal


@dataclass(frozen=True)
class Cart:
    """The cart page: lines, totals and the last refusal, if any."""

    lines: tuple[CartLine, ...]
    item_total: Decimal
    discount: Decimal
    fees: dict[str, Decimal] = field(default_factory=dict)
    payable: Decimal = Decimal("0")
    error: str = ""

    def line(self, sku: str) -> CartLine | None:
        """The line for `sku`, if it is in the cart."""
        return next((line for line in self.lines if line.sku == sku), None)


@dataclass(frozen=True)
class CouponResult:
    """The outcome of applying a coupon."""

    applied: bool
    message: str


@dataclass(frozen=True)
class CheckoutSummary:
    """The checkout page before paying."""

    payable: Decimal
    slots: tuple[str, ...]


@dataclass(frozen=True)
class PaymentOutcome:
    """The result of paying: an order id, or the error shown and no order."""

    order_id: str | None
    error: str = ""


@dataclass(frozen=True)
class OrderView:
    """An order's confirmation/tracking page."""

    order_id: str
    status: str
    payable: Decimal
    states: tuple[str, ...]
    eta: str = ""
    refund_status: str = ""
    cancellable: bool = False


@dataclass(frozen=True)
class OrderRow:
    """One row of the shopper's order history."""

    order_id: str
    status: str


@runtime_checkable
class Storefront(Protocol):
    """Page-level actions and reads on one storefront; raise `Unsupported` for missing steps."""

    def __init__(self, page: Page, base_url: str, settings: E2ESettings) -> None: ...

    def set_location(self, pincode: str) -> LocationResult:
        """Set the delivery location and report whether it is served."""
        ...

    def search(self, term: str) -> list[ProductSummary]:
        """Search the catalog; an empty list when nothing matched."""
        ...

    def browse_category(self) -> list[ProductSummary]:
        """Open the first category from the home page and list its products."""
        ...

    def open_product(self, sku: str) -> ProductDetail:
        """Open a product page."""
        ...

    def add_to_cart(self, sku: str) -> CartChange:
        """Add one unit of `sku` from its product page."""
        ...

    def cart(self) -> Cart:
        """Open the cart and read its lines and totals."""
        ...

    def change_quantity(self, sku: str, delta: int) -> CartChange:
        """Step a cart line's quantity up (+1) or down (-1) from the cart page."""
        ...

    def remove_from_cart(self, sku: str) -> Cart:
        """Remove a line from the cart."""
        ...

    def apply_coupon(self, code: str) -> CouponResult:
        """Apply a coupon on the cart page."""
        ...

    def checkout(self) -> CheckoutSummary:
        """Go to checkout (the shopper must be logged in)."""
        ...

    def pay(self, payment: Payment, *, address: str, slot: str | None = None) -> PaymentOutcome:
        """Choose a slot, fill the address, pay and report the order id or the error."""
        ...

    def order(self, order_id: str) -> OrderView:
        """Open an order's confirmation/tracking page."""
        ...

    def track_order(self, order_id: str, *, past: str, timeout_s: float) -> OrderView:
        """Watch the tracking page until the order's status is no longer `past`."""
        ...

    def order_history(self) -> list[OrderRow]:
        """The logged-in shopper's orders, newest first."""
        ...

    def cancel_order(self, order_id: str) -> OrderView:
        """Cancel an order from its page (only before dispatch)."""
        ...

    def sign_up(self, shopper: Shopper) -> None:
        """Create an account and end up logged in."""
        ...

    def log_in(self, shopper: Shopper) -> None:
        """Log in with an existing account."""
        ...

    def log_out(self) -> None:
        """Log out."""
        ...

    def clean_up(self, shopper: Shopper) -> None:
        """Remove what this shopper left behind, where the storefront allows it."""
        ...


class BaseStorefront:
    """Convenience base: every step raises `Unsupported` until the adapter implements it."""

    name = "storefront"

    def __init__(self, page: Page, base_url: str, settings: E2ESettings) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.settings = settings

    def _unsupported(self, step: str) -> Unsupported:
        return Unsupported(f"{self.name} adapter does not support '{step}'")

    def set_location(self, pincode: str) -> LocationResult:
        """Set the delivery location and report whether it is served."""
        raise self._unsupported("set location")

    def search(self, term: str) -> list[ProductSummary]:
        """Search the catalog."""
        raise self._unsupported("search")

    def browse_category(self) -> list[ProductSummary]:
        """Open the first category and list its products."""
        raise self._unsupported("browse category")

    def open_product(self, sku: str) -> ProductDetail:
        """Open a product page."""
        raise self._unsupported("open product")

    def add_to_cart(self, sku: str) -> CartChange:
        """Add one unit of `sku`."""
        raise self._unsupported("add to cart")

    def cart(self) -> Cart:
        """Read the cart."""
        raise self._unsupported("read cart")

    def change_quantity(self, sku: str, delta: int) -> CartChange:
        """Step a line's quantity."""
        raise self._unsupported("change quantity")

    def remove_from_cart(self, sku: str) -> Cart:
        """Remove a line."""
        raise self._unsupported("remove from cart")

    def apply_coupon(self, code: str) -> CouponResult:
        """Apply a coupon."""
        raise self._unsupported("apply coupon")

    def checkout(self) -> CheckoutSummary:
        """Go to checkout."""
        raise self._unsupported("checkout")

    def pay(self, payment: Payment, *, address: str, slot: str | None = None) -> PaymentOutcome:
        """Pay."""
        raise self._unsupported("pay")

    def order(self, order_id: str) -> OrderView:
        """Open an order page."""
        raise self._unsupported("order tracking")

    def track_order(self, order_id: str, *, past: str, timeout_s: float) -> OrderView:
        """Reload the order page every second until its status moves on (any storefront)."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            view = self.order(order_id)
            if view.status != past:
                return view
            if time.monotonic() > deadline:
                raise StorefrontError(f"order {order_id} stayed {past} for {timeout_s:.0f} s")
            time.sleep(1.0)

    def order_history(self) -> list[OrderRow]:
        """List orders."""
        raise self._unsupported("order history")

    def cancel_order(self, order_id: str) -> OrderView:
        """Cancel an order."""
        raise self._unsupported("cancel order")

    def sign_up(self, shopper: Shopper) -> None:
        """Create an account."""
        raise self._unsupported("sign up")

    def log_in(self, shopper: Shopper) -> None:
        """Log in."""
        raise self._unsupported("log in")

    def log_out(self) -> None:
        """Log out."""
        raise self._unsupported("log out")

    def clean_up(self, shopper: Shopper) -> None:
        """Nothing to clean up by default."""


def load_adapter(spec: str, rootdir: str | None = None) -> type[Storefront]:
    """Import the adapter class named by `"module:Class"` or `"path/file.py:Class"`."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"e2e.adapter {spec!r} must look like 'package.module:Class'")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_absolute() and rootdir:
            path = Path(rootdir) / path
        if not path.is_file():
            raise ValueError(f"e2e.adapter {spec!r}: no file {path}")
        unique = f"_qgate_adapter_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(unique)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(unique, path)
            assert file_spec is not None and file_spec.loader is not None
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[unique] = module
            file_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Adapters usually live in the project under test, not in site-packages.
            if not rootdir or not (exc.name and module_name.startswith(exc.name)):
                raise
            if rootdir not in sys.path:
                sys.path.insert(0, rootdir)
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                raise ValueError(
                    f"e2e.adapter {spec!r}: module {module_name!r} not found on sys.path "
                    f"or under {rootdir}"
                ) from None
    adapter = getattr(module, class_name, None)
    if adapter is None:
        raise ValueError(f"e2e.adapter {spec!r}: {module_name} has no {class_name!r}")
    return adapter  # type: ignore[no-any-return]
