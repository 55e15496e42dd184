"""Settings of the e2e suite: the `[e2e]` table of an environment file.

Two kinds of keys live here. *Run settings* (viewports, retries, timeouts) have neutral
defaults. *Facts and capabilities* of the shop under test (its SKUs, pincodes, coupons, how a
shopper logs in and pays, whether orders move on staging) have **no defaults**: `None` means
"nobody said", and a journey that needs an unsaid fact is a config error naming the key
(see `harness.e2e.coverage`). A capability is declared absent with `false`, `""` or `[]`;
the journeys about it are then *not applicable* there, and every other journey still runs.
No environment inherits the demo store's facts: they are written out in
`environments/demo.toml`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DEMO_ADAPTER = "harness.suites.e2e.adapters.demostore:DemoStorefront"

PaymentMethod = Literal["card", "upi", "cod", "none"]
CouponKind = Literal["flat", "percent", "free_delivery", "buy_x_get_y", "free_item"]
#: What a fee is for; an adapter maps its shop's fee names onto these roles.
FEE_ROLES = ("delivery", "small_cart", "platform", "handling", "surge", "late_night",
             "packaging", "cash_on_delivery", "tax", "other")


@dataclass(frozen=True)
class CatalogFacts:
    """`[e2e.catalog]`: products the journeys buy and what the product pages show."""

    #: a word whose search lists `sku`
    search_term: str | None = None
    #: the adapter's identifier of an in-stock product (SKU, slug, id: whatever it uses)
    sku: str | None = None
    #: the home page links categories (false: browse-category journey not applicable)
    categories: bool | None = None
    #: product pages show an MRP (list price) next to the selling price
    mrp: bool | None = None
    #: product pages show the units available in the bound store
    stock_levels: bool | None = None
    #: a product with a small max-per-order; "" = the shop has no max per order
    max_per_order_sku: str | None = None
    #: a product that is out of stock; "" = none to test with
    out_of_stock_sku: str | None = None


@dataclass(frozen=True)
class LocationFacts:
    """`[e2e.location]`: delivery location by pincode (or postcode)."""

    #: a serviceable pincode; "" = the shop has no location step (one warehouse)
    pincode: str | None = None
    #: a pincode served by another store; "" = one store serves every pincode
    second_store_pincode: str | None = None
    #: a pincode no store serves; "" = the shop serves everywhere
    unserviceable_pincode: str | None = None
    #: a pincode whose store is paused; "" = stores cannot be paused on this staging
    paused_pincode: str | None = None
    #: stock-level journeys shop here (another store than other journeys; default `pincode`)
    decline_pincode: str = ""
    cancel_pincode: str = ""
    #: the delivery promise a serviceable pincode must show, at most (quick commerce: minutes)
    max_eta_minutes: int = 60


@dataclass(frozen=True)
class CheckoutFacts:
    """`[e2e.checkout]`: what checkout asks for and what a small cart is charged."""

    #: the delivery address typed at checkout (adapter_options carry shop-specific fields)
    address: str | None = None
    #: checkout offers delivery slots (false: instant ETA only)
    slots: bool | None = None
    #: fee roles (see FEE_ROLES) a one-item cart shows; [] = the cart shows no fees
    fees: list[str] | None = None
    #: fee roles known only at checkout (shipping chosen there, taxes added there): the cart
    #: does not show them, the checkout summary does, and the order must charge what that
    #: summary showed
    fees_at_checkout: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentSettings:
    """`[e2e.payment]`: how a shopper pays; sandbox instruments only, never real ones."""

    #: "card", "upi", "cod" (cash on delivery: placed with payment pending, nothing
    #: captured) or "none" (a no-payment placeholder checkout); the first one is the
    #: journeys' default way to pay
    methods: list[PaymentMethod] | None = None
    card_success: str = ""
    #: a card the sandbox always declines; "" = the sandbox has none
    card_declined: str | None = None
    card_expiry: str = ""
    card_cvc: str = ""
    upi_success: str = ""
    #: a UPI id the sandbox always declines; "" = none
    upi_failure: str | None = None


@dataclass(frozen=True)
class OrderSettings:
    """`[e2e.orders]`: how orders move on this staging and what a shopper may do with them."""

    #: "automatic" (the shop moves orders itself), "hook" (advance_hook moves them), or
    #: "none" (orders stay put on staging: tracking journeys are not applicable)
    progress: Literal["automatic", "hook", "none"] | None = None
    #: with progress = "hook": a command (`{order_id}` is replaced) or an http(s) URL to POST
    advance_hook: str = ""
    #: how long an order may take to move on once it should
    progress_timeout_s: float = 30.0
    #: the shopper can cancel an order before dispatch
    customer_cancel: bool | None = None
    #: stock-level journeys buy their own products, one per viewport (default: catalog.sku)
    decline_skus: list[str] = field(default_factory=list)
    cancel_skus: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoginSettings:
    """`[e2e.login]`: how a shopper gets a session."""

    #: "password" (email + password), "otp" (phone + one-time code) or "storage_state"
    #: (a logged-in Playwright state from [auth] storage_state)
    method: Literal["password", "otp", "storage_state"] | None = None
    #: a new shopper can create an account (false: sign-up journeys not applicable)
    sign_up: bool | None = None
    #: synthetic shoppers' phone numbers start with this (e.g. "+91"); default a fictional
    #: +1 555 01xx number
    phone_prefix: str = ""
    #: where the one-time code comes from (one of): a fixed staging code, an SMS-sink or
    #: test-mailbox URL polled for it (`{phone}` is replaced), or a command printing it
    otp_fixed: str = ""
    otp_url: str = ""
    otp_hook: str = ""
    #: the code inside the sink's text or the hook's output (first group)
    otp_pattern: str = r"\b(\d{4,8})\b"
    #: method = "storage_state": the account the state is logged in as
    email: str = ""


@dataclass(frozen=True)
class CouponRule:
    """One `[[e2e.coupons]]` entry: a coupon and the rule its discount must follow."""

    code: str
    kind: CouponKind
    #: amount off (flat) or percent off (percent); unused for free_delivery
    value: str | int | float = 0
    #: largest discount a percent coupon gives; empty = no cap
    cap: str | int | float = ""
    #: smallest item total it applies to
    min_order: str | int | float = 0
    expired: bool = False
    #: product used to build a qualifying cart (default: catalog.sku); for buy_x_get_y the
    #: product the offer is on
    sku: str = ""
    #: buy_x_get_y: for every `buy` units of `sku`, `get` more are free (buy 2 get 1: a cart
    #: of 3 pays for 2); free_item: `get` units of `free_sku` are free (default 1)
    buy: int = 0
    get: int = 0
    #: free_item: the product given free with a qualifying cart (the shopper puts it in the
    #: cart, as most shops ask, unless the shop already did)
    free_sku: str = ""


@dataclass(frozen=True)
class PoolAccount:
    """One pre-provisioned test shopper of `[e2e.accounts] pool` (values from `${VAR}`)."""

    email: str
    password: str = ""
    #: for a shop that logs in by phone and one-time code
    phone: str = ""
    name: str = "E2E Shopper"


@dataclass(frozen=True)
class AccountSettings:
    """`[e2e.accounts]`: which shopper journeys needing a session use.

    By default ("per-test") each such journey signs up a new shopper, as a shop without a
    limit allows. A shop that limits sign-ups or logins per IP (a handful per 15 minutes)
    gets test accounts instead: a `pool` of pre-provisioned shoppers (one per pytest worker;
    logged in once per worker) or `signup = "once-per-worker"` (each worker signs up one
    shopper). Either way the login is kept in Playwright's storage state and reused by the
    worker's next journeys; only the sign-up journey itself signs up.
    """

    signup: Literal["per-test", "once-per-worker"] = "per-test"
    pool: list[PoolAccount] = field(default_factory=list)

    @property
    def reused(self) -> bool:
        """Journeys share a worker's shopper (a pool, or one sign-up per worker)."""
        return bool(self.pool) or self.signup == "once-per-worker"


@dataclass(frozen=True)
class E2ESettings:
    """How the e2e suite runs against one environment: `[e2e]`."""

    # "package.module:Class" (imported from sys.path, then from the pytest rootdir) or
    # "path/to/file.py:Class" (relative to the rootdir). Required: there is no default shop.
    adapter: str | None = None
    #: ISO code of the currency amounts are shown in (INR, EUR, GBP, USD…)
    currency: str | None = None
    #: "." for 1,234.50 and ₹1,23,456.50; "," for 1.234,50
    decimal_mark: Literal[".", ","] = "."
    #: free-form facts only this environment's adapter reads (e.g. a postcode format)
    adapter_options: dict[str, Any] = field(default_factory=dict)
    # Chromium to drive; empty means discover (Playwright's own, then the system's).
    browser_path: str = ""
    headless: bool = True
    viewports: list[str] = field(default_factory=lambda: ["desktop", "mobile"])
    desktop_width: int = 1280
    desktop_height: int = 800
    mobile_device: str = "Pixel 7"
    # Reruns of a failed journey; one that passes on a rerun is reported flaky.
    retries: int = 0
    # Default for `-n` when qgate runs the suite ("auto", "0" or a number).
    workers: str = "auto"
    # Playwright's default timeout for one action or expectation.
    action_timeout_ms: int = 10000
    # Record the screencast filmstrip in traces too (DOM snapshots are always recorded).
    trace_screenshots: bool = False
    # Record each journey's requests as a HAR in this folder (relative to the run directory);
    # the security suite seeds its scan with them (security.seed_har). Secrets are masked.
    har_dir: str = ""
    #: the request graph the team committed (a path in the project, e.g. "api-graph.json"):
    #: a run whose journeys' graph differs from it (a new, gone or re-shaped request) says so
    #: (`e2e.api_drift` and the suite's notes); copy a run's api-graph.json there to start
    api_graph: str = ""
    #: URL globs the browser refuses at once (third-party CDNs, analytics, chat widgets that
    #: CI cannot reach: waiting on their DNS would stall every page load)
    blocked_urls: list[str] = field(default_factory=list)
    catalog: CatalogFacts = field(default_factory=CatalogFacts)
    location: LocationFacts = field(default_factory=LocationFacts)
    checkout: CheckoutFacts = field(default_factory=CheckoutFacts)
    payment: PaymentSettings = field(default_factory=PaymentSettings)
    orders: OrderSettings = field(default_factory=OrderSettings)
    login: LoginSettings = field(default_factory=LoginSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
    #: the shop's coupons and their rules; [] = the shop has no coupons
    coupons: list[CouponRule] | None = None

    def gate_criteria(self, suite: str) -> list[Any]:
        """With a committed request graph: a warning when the journeys' graph drifted."""
        if not self.api_graph:
            return []
        from harness.policy import Criterion
        return [Criterion(suite, f"request graph unchanged since {self.api_graph}",
                          metric=f"{suite}.api_drift", op="<=", threshold=0,
                          severity="warning")]

    def preflight(self, env: Any) -> None:
        """Refuse an adapter or facts the journeys cannot run with (`qgate run` calls this)."""
        from harness.e2e.coverage import check_environment
        check_environment(env)
