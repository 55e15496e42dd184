"""Settings of the e2e suite: the `[e2e]` table of an environment file."""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_ADAPTER = "harness.suites.e2e.adapters.demostore:DemoStorefront"


@dataclass(frozen=True)
class SandboxSettings:
    """Sandbox payment instruments (never real ones): `[e2e.sandbox]`."""

    card_success: str = "4242 4242 4242 4242"
    card_declined: str = "4000 0000 0000 0002"
    card_expiry: str = "12/30"
    card_cvc: str = "123"
    upi_success: str = "success@razorpay"
    upi_failure: str = "failure@razorpay"


@dataclass(frozen=True)
class ShopperSettings:
    """Catalog and location facts the journeys rely on: `[e2e.shopper]`."""

    pincode: str = "560001"
    second_store_pincode: str = "560102"
    paused_pincode: str = "110001"
    unserviceable_pincode: str = "400001"
    search_term: str = "milk"
    sku: str = "MLK-001"
    # A SKU with a small max per order, stepped past its limit in the cart journey.
    max_per_order_sku: str = "BRD-001"
    out_of_stock_sku: str = "AVO-001"
    # Journeys that assert on stock levels buy their own SKU, one per viewport, so parallel
    # workers never move the same counter.
    decline_pincode: str = "560102"
    decline_skus: list[str] = field(default_factory=lambda: ["EGG-001", "PNR-001"])
    cancel_pincode: str = "560001"
    cancel_skus: list[str] = field(default_factory=lambda: ["FRZ-001", "FRZ-002"])
    # One unit of this SKU meets the flat coupon's minimum order value.
    coupon_sku: str = "NUT-001"
    flat_coupon: str = "FLAT50"
    flat_coupon_amount: str = "50"
    flat_coupon_min_order: str = "199"
    free_delivery_coupon: str = "FREEDEL"
    expired_coupon: str = "EXPIRED20"
    address: str = "Flat 4B, Test Residency, MG Road"
    phone_prefix: str = "+91"


@dataclass(frozen=True)
class E2ESettings:
    """How the e2e suite runs against one environment: `[e2e]`."""

    # "package.module:Class" (imported from sys.path, then from the pytest rootdir) or
    # "path/to/file.py:Class" (relative to the rootdir).
    adapter: str = DEMO_ADAPTER
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
    # How long the tracking page may take to move the order on.
    order_progress_timeout_s: float = 30.0
    # Record each journey's requests as a HAR in this folder (relative to the run directory);
    # the security suite seeds its scan with them (security.seed_har). Secrets are masked.
    har_dir: str = ""
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    shopper: ShopperSettings = field(default_factory=ShopperSettings)
