"""The storefront adapter protocol: page-level actions and reads the journeys are written in.

An adapter drives one storefront's pages (its page objects) and returns the plain records
below, mapping the shop's words onto structured outcomes (a coupon refused *because* it
expired, a payment *declined*, an order *out for delivery*); the journeys make every
assertion on those outcomes, never on the shop's wording. A step the storefront cannot
perform raises `Unsupported`, and the journey using it is reported as skipped with that
reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.e2e.settings import E2ESettings


class Unsupported(Exception):
    """Raised by an adapter for a step its storefront cannot perform (an adapter gap).

    The journey is reported as *skipped*: missing evidence, which the verdict counts. A
    concept the shop does not have at all is declared in the environment instead, and its
    journeys are *not applicable* there (see `harness.e2e.settings`).
    """


class RateLimited(Exception):
    """Raised by an adapter when the shop's rate limiter refused a step ("too many attempts").

    Not a product failure: the journey's test becomes an *error* naming the limiter (see
    `harness.e2e.ratelimit`). A 429 (or 503 + Retry-After) the browser sees is detected
    without the adapter's help.
    """


class StorefrontError(AssertionError):
    """The storefront did not respond to a step the way a shopper needs (product failure)."""


#: Canonical order states, whatever the shop calls them; an adapter maps its words to these.
OrderState = Literal["placed", "in_progress", "out_for_delivery", "delivered", "cancelled",
                     "refunded", "payment_failed", "unknown"]
#: The happy path, in order: tracking journeys check an order only ever moves forward.
PROGRESS: tuple[OrderState, ...] = ("placed", "in_progress", "out_for_delivery", "delivered")
LocationRefusal = Literal["", "unserviceable", "store_paused", "store_closed", "other"]
CartRefusal = Literal["", "max_per_order", "out_of_stock", "insufficient_stock", "other"]
CouponRefusal = Literal["", "expired", "unknown", "below_minimum", "exhausted", "other"]
PaymentFailure = Literal["", "declined", "gateway_error", "other"]
LoginRefusal = Literal["", "wrong_credentials", "rate_limited", "other"]
Refund = Literal["", "initiated", "refunded"]
#: where an order's money stands: "pending" (to be collected: cash on delivery), "captured"
#: (paid online), "refunded", "none" (nothing to pay); "" = the page does not say
PaymentState = Literal["", "pending", "captured", "refunded", "none"]

# Currency marks, to refuse an amount shown in another currency than the environment's.
CURRENCY_MARKS: dict[str, tuple[str, ...]] = {
    "INR": ("₹", "Rs", "INR"), "EUR": ("€", "EUR"), "GBP": ("£", "GBP"),
    "USD": ("US$", "$", "USD"), "JPY": ("¥", "JPY"), "TRY": ("₺", "TRY"),
}
_GROUP_MARKS = {",", ".", "'", "’", " ", "\u00a0", "\u202f"}
_NUMBER = re.compile(r"\d[\d.,'’ \u00a0\u202f]*")


def parse_money(text: str, *, decimal_mark: str = ".", currency: str = "") -> Decimal:
    """Parse a rendered amount into a Decimal, following the shop's locale.

    `₹1,234.50`, `₹1,23,456.50`, `$1,234.50` (decimal mark "."), `€1.234,50` or
    `1 234,50 €` (decimal mark ","), `- ₹50`, `(£5.00)`, `FREE`. Grouping must be
    well-formed, so an amount written with the other decimal mark is an error, never a
    silently wrong number. With `currency`, an amount marked in another currency is refused.
    """
    cleaned = " ".join(text.split())
    if cleaned.lower() in {"free", ""}:
        return Decimal("0")
    if currency:
        for code, marks in CURRENCY_MARKS.items():
            if code != currency.upper() and any(m in cleaned for m in marks) and not any(
                    m in cleaned for m in CURRENCY_MARKS.get(currency.upper(), ())):
                raise StorefrontError(
                    f"the amount {text!r} is in {code}, but e2e.currency is {currency}")
    match = _NUMBER.search(cleaned)
    if not match:
        raise StorefrontError(f"cannot read an amount from {text!r}")
    number = match.group(0).rstrip(".,'’ \u00a0\u202f")
    whole, _, fraction = number.partition(decimal_mark)
    groups = re.split(r"[,.'’ \u00a0\u202f]", whole)
    well_formed = (
        fraction.isdigit() or not fraction) and all(g.isdigit() for g in groups) and (
        len(groups) == 1 or (1 <= len(groups[0]) <= 3 and len(groups[-1]) == 3
                             and all(len(g) in (2, 3) for g in groups[1:-1])))
    if not well_formed:
        raise StorefrontError(
            f"cannot read {text!r} as an amount with decimal mark {decimal_mark!r}; "
            "check e2e.decimal_mark")
    value = Decimal("".join(groups) + ("." + fraction if fraction else ""))
    negative = cleaned[:1] in ("-", "−", "(") or cleaned[:2] in ("- ", "− ")
    return -abs(value) if negative else value


def canonical_state(status: str, table: Mapping[str, OrderState]) -> OrderState:
    """The canonical state of a shop's status word (case-insensitive); "unknown" if unmapped."""
    wanted = " ".join(status.split()).casefold()
    for word, state in table.items():
        if word.casefold() == wanted:
            return state
    return "unknown"


@dataclass(frozen=True)
class Shopper:
    """A synthetic shopper created for one test."""

    name: str
    email: str
    phone: str
    password: str


@dataclass(frozen=True)
class Card:
    """A card payment (sandbox numbers only), on the shop's page or a hosted gateway page."""

    number: str
    expiry: str
    cvc: str


@dataclass(frozen=True)
class Upi:
    """A UPI payment (sandbox VPA only)."""

    vpa: str


@dataclass(frozen=True)
class CashOnDelivery:
    """Cash on delivery: the order is placed with payment pending, collected by the rider."""


@dataclass(frozen=True)
class NoPayment:
    """Checkout without a payment step: a staging placeholder (e.g. Oscar's default)."""


Payment = Card | Upi | CashOnDelivery | NoPayment


@dataclass(frozen=True)
class LocationResult:
    """What the storefront says about a pincode; `reason` says why it is not served."""

    serviceable: bool
    message: str
    eta_minutes: int | None = None
    reason: LocationRefusal = ""


@dataclass(frozen=True)
class ProductSummary:
    """One product in a listing (search results, category)."""

    sku: str
    name: str
    price: Decimal
    in_stock: bool


@dataclass(frozen=True)
class ProductDetail:
    """A product page as shown for the bound store; None where the shop shows no such thing."""

    sku: str
    title: str
    price: Decimal
    in_stock: bool
    mrp: Decimal | None = None
    available: int | None = None
    max_per_order: int | None = None


@dataclass(frozen=True)
class CartChange:
    """The outcome of a cart change: accepted, or refused with the shop's words and why."""

    accepted: bool
    message: str = ""
    reason: CartRefusal = ""


@dataclass(frozen=True)
class CartLine:
    """One cart line."""

    sku: str
    name: str
    quantity: int
    line_total: Decimal


@dataclass(frozen=True)
class Cart:
    """The cart page: lines, totals, fees by role (see settings.FEE_ROLES), last refusal."""

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
    """The outcome of applying a coupon: applied, or refused and why."""

    applied: bool
    message: str
    reason: CouponRefusal = ""


@dataclass(frozen=True)
class CheckoutSummary:
    """The checkout page before paying: what the shopper is shown last before the order."""

    payable: Decimal
    slots: tuple[str, ...] = ()
    #: fees the checkout summary shows, by role (those added at checkout: shipping, taxes)
    fees: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentOutcome:
    """The result of paying: an order id, or the error shown, why, and no order."""

    order_id: str | None
    error: str = ""
    reason: PaymentFailure = ""


@dataclass(frozen=True)
class OrderView:
    """An order's confirmation/tracking page: the shop's status and its canonical state."""

    order_id: str
    status: str
    payable: Decimal
    state: OrderState
    #: the timeline the page shows, as canonical states (empty when it shows none)
    states: tuple[OrderState, ...] = ()
    eta: str = ""
    refund: Refund = ""
    cancellable: bool = False
    payment: PaymentState = ""


@dataclass(frozen=True)
class OrderRow:
    """One row of the shopper's order history (`state` is "" when the list shows none)."""

    order_id: str
    status: str = ""
    state: OrderState | Literal[""] = ""


@dataclass(frozen=True)
class LoginResult:
    """The outcome of logging in: accepted, or refused and why."""

    accepted: bool
    message: str = ""
    reason: LoginRefusal = ""


@runtime_checkable
class Storefront(Protocol):
    """Page-level actions and reads on one storefront; raise `Unsupported` for missing steps."""

    def __init__(self, page: Page, base_url: str, settings: E2ESettings) -> None: ...

    def set_location(self, pincode: str) -> LocationResult:
        """Set the delivery location and report whether it is served, or why not."""
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
        """Open the cart and read its lines, totals and fees (by role)."""
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
        """Choose a slot, fill the address, pay (on a hosted page if the shop uses one) and
        report the order id, or the error shown and why."""
        ...

    def order(self, order_id: str) -> OrderView:
        """Open an order's confirmation/tracking page."""
        ...

    def track_order(self, order_id: str, *, past: str, timeout_s: float) -> OrderView:
        """Watch the tracking page until the order's canonical state is no longer `past`."""
        ...

    def order_history(self) -> list[OrderRow]:
        """The logged-in shopper's orders, newest first."""
        ...

    def cancel_order(self, order_id: str) -> OrderView:
        """Cancel an order from its page (only before dispatch)."""
        ...

    def sign_up(self, shopper: Shopper) -> None:
        """Create an account and end up logged in (StorefrontError if the shop refuses)."""
        ...

    def log_in(self, shopper: Shopper) -> LoginResult:
        """Log in (password, or a one-time code from `otp()`), or say why it was refused."""
        ...

    def log_out(self) -> None:
        """Log out."""
        ...

    def signed_in_as(self) -> str:
        """The email (or phone) the shop shows as logged in; "" when nobody is."""
        ...

    def clean_up(self, shopper: Shopper) -> None:
        """Remove what this shopper left behind, where the storefront allows it."""
        ...


#: The protocol's steps an adapter must have (checked before anything runs).
STEPS: tuple[str, ...] = tuple(
    name for name in vars(Storefront)
    if not name.startswith("_") and callable(getattr(Storefront, name)))


class BaseStorefront:
    """Convenience base: every step raises `Unsupported` until the adapter implements it."""

    name = "storefront"

    def __init__(self, page: Page, base_url: str, settings: E2ESettings) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.settings = settings

    def _unsupported(self, step: str) -> Unsupported:
        return Unsupported(f"{self.name} adapter does not support '{step}'")

    # --- helpers for adapters -------------------------------------------------------------

    def goto(self, path: str) -> None:
        """Open a page of the shop (a path below base_url) and wait for its document."""
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")

    def submit(self, selector: str) -> None:
        """Click the first element matching `selector` and wait for the page it leads to."""
        with self.page.expect_navigation(wait_until="domcontentloaded"):
            self.page.locator(selector).first.click()

    def text(self, selector: str, within: Any = None) -> str:
        """The visible text of the first match (inside `within`, a Locator), spaces collapsed."""
        return " ".join((within or self.page).locator(selector).first.inner_text().split())

    @staticmethod
    def reason(message: str, table: Iterable[tuple[str, str]], default: str = "other") -> Any:
        """The outcome whose words appear in `message` (case-insensitive), else `default`:
        `self.reason(shown, [("has expired", "expired"), ("not found", "unknown")])`."""
        lowered = message.lower()
        return next((why for words, why in table if words.lower() in lowered), default)

    def money(self, text: str) -> Decimal:
        """Parse an amount the way this environment writes money (e2e.currency, decimal_mark)."""
        return parse_money(text, decimal_mark=self.settings.decimal_mark,
                           currency=self.settings.currency or "")

    def otp(self, phone: str) -> str:
        """The one-time code just sent to `phone`, from the source e2e.login declares."""
        from harness.e2e.hooks import read_otp
        return read_otp(self.settings.login, phone)

    # --- steps -------------------------------------------------------------------------------

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
        """Reload the order page every second until its state moves on (any storefront)."""
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            view = self.order(order_id)
            if view.state != past:
                return view
            if time.monotonic() > deadline:
                raise StorefrontError(
                    f"order {order_id} stayed {view.status!r} ({past}) for {timeout_s:.0f} s")
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

    def log_in(self, shopper: Shopper) -> LoginResult:
        """Log in."""
        raise self._unsupported("log in")

    def log_out(self) -> None:
        """Log out."""
        raise self._unsupported("log out")

    def signed_in_as(self) -> str:
        """Who the shop shows as logged in."""
        raise self._unsupported("signed in as")

    def clean_up(self, shopper: Shopper) -> None:
        """Nothing to clean up by default."""


def implemented_steps(adapter: type) -> set[str]:
    """The protocol steps `adapter` implements itself (BaseStorefront's raise Unsupported)."""
    out = set()
    for name in STEPS:
        owner = next((k for k in adapter.__mro__ if name in vars(k)), None)
        if owner is not None and owner is not BaseStorefront and owner is not Storefront:
            out.add(name)
    return out


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
