"""The storefront adapter for your shop: page-level actions the e2e journeys are written in.

Every step you do not implement raises `Unsupported` (inherited from BaseStorefront), and
the journeys that need it are reported as skipped — which the gate counts as missing
evidence, so the run stays INCONCLUSIVE until the core journeys (find a product, add to
cart, checkout and pay, see the order) can run. See README.md, "E2E journeys and storefront
adapters", for each method's contract and a worked example.
"""

from __future__ import annotations

from harness.e2e.adapter import BaseStorefront


class MyShopStorefront(BaseStorefront):
    """My shop's web storefront."""

    name = "my-shop"
