"""Catalog, stock and serviceability look-ups."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from demostore.errors import StoreError
from demostore.models import Category, Inventory, Product, ServiceArea, Store

PINCODE_RE = re.compile(r"^[1-9][0-9]{5}$")
IST = timedelta(hours=5, minutes=30)
DEFAULT_STORE_CODE = "KOR-01"


@dataclass(frozen=True)
class Serviceability:
    """Whether a pincode can be served right now, and by which store."""

    pincode: str
    store: Store | None
    reason: str  # ok | unserviceable | paused | closed
    message: str

    @property
    def serviceable(self) -> bool:
        """True when a live, open store serves the pincode."""
        return self.reason == "ok"


def ist_minute_of_day(now: datetime) -> int:
    """Minutes since midnight in India Standard Time for a naive-UTC instant."""
    local = now + IST
    return local.hour * 60 + local.minute


def validate_pincode(pincode: str) -> str:
    """Return the pincode stripped, or raise 422 if it is not 6 digits starting 1-9."""
    pincode = (pincode or "").strip()
    if not PINCODE_RE.match(pincode):
        raise StoreError(422, "invalid_pincode", "A pincode is 6 digits and cannot start with 0.")
    return pincode


def check_pincode(db: Session, pincode: str, now: datetime) -> Serviceability:
    """Resolve a (valid) pincode to its store and say whether it can be served now."""
    pincode = validate_pincode(pincode)
    store = db.scalar(
        select(Store).join(ServiceArea, ServiceArea.store_id == Store.id).where(
            ServiceArea.pincode == pincode
        )
    )
    if store is None:
        return Serviceability(pincode, None, "unserviceable",
                              f"Sorry, {pincode} is not serviceable yet.")
    if store.paused:
        why = f" ({store.pause_reason})" if store.pause_reason else ""
        return Serviceability(pincode, store, "paused",
                              f"{store.name} is paused{why}; {pincode} is not serviceable now.")
    minute = ist_minute_of_day(now)
    if not store.opens_minute <= minute < store.closes_minute:
        return Serviceability(pincode, store, "closed",
                              f"{store.name} is closed now; {pincode} is not serviceable.")
    return Serviceability(pincode, store, "ok",
                          f"Delivering in {store.eta_minutes} min from {store.name}")


def require_store(db: Session, pincode: str, now: datetime) -> Store:
    """The live store serving the pincode, or a 422 saying why there is none."""
    result = check_pincode(db, pincode, now)
    if result.store is None or not result.serviceable:
        code = {"paused": "store_paused", "closed": "store_closed"}.get(
            result.reason, "unserviceable"
        )
        raise StoreError(422, code, result.message, {"pincode": pincode})
    return result.store


def default_store(db: Session) -> Store:
    """The store whose stock is shown before a customer sets a location."""
    store = db.scalar(select(Store).where(Store.code == DEFAULT_STORE_CODE))
    if store is None:
        store = db.scalars(select(Store).order_by(Store.id)).first()
    if store is None:
        raise RuntimeError("the store database has no stores; was it seeded?")
    return store


def browsing_store(db: Session, pincode: str | None,
                   now: datetime) -> tuple[Store, Serviceability | None]:
    """The store whose stock a visitor sees (theirs, else the default) and their status."""
    if pincode:
        result = check_pincode(db, pincode, now)
        return (result.store or default_store(db)), result
    return default_store(db), None


def categories(db: Session) -> list[Category]:
    """All categories in display order."""
    return list(db.scalars(select(Category).order_by(Category.position)))


def get_category(db: Session, slug: str) -> Category:
    """A category by slug, or 404."""
    category = db.get(Category, slug)
    if category is None:
        raise StoreError(404, "unknown_category", f"No category {slug!r}.")
    return category


def get_product(db: Session, sku: str) -> Product:
    """A product by SKU, or 404."""
    product = db.get(Product, sku.strip().upper()) if sku else None
    if product is None:
        raise StoreError(404, "unknown_sku", f"No product with SKU {sku!r}.", {"sku": sku})
    return product


def search_products(db: Session, query: str, limit: int = 50) -> list[Product]:
    """Products whose name, SKU, tags or category match the query (case-insensitive)."""
    query = query.strip()[:100]
    if not query:
        return []
    stmt = (
        select(Product)
        .join(Category, Category.slug == Product.category_slug)
        .where(
            or_(
                Product.name.icontains(query, autoescape=True),
                Product.sku.icontains(query, autoescape=True),
                Product.tags.icontains(query, autoescape=True),
                Category.name.icontains(query, autoescape=True),
            )
        )
        .order_by(Product.featured.desc(), Product.name)
        .limit(limit)
    )
    return list(db.scalars(stmt))


def products_in_category(db: Session, slug: str) -> list[Product]:
    """The products of one category."""
    stmt = select(Product).where(Product.category_slug == slug).order_by(Product.name)
    return list(db.scalars(stmt))


def featured_products(db: Session) -> list[Product]:
    """Products shown on the home page."""
    return list(db.scalars(select(Product).where(Product.featured).order_by(Product.sku)))


def availability(db: Session, store_id: int, skus: Iterable[str]) -> dict[str, int]:
    """Available units (on_hand - reserved, floored at 0) per SKU in one store."""
    skus = list(skus)
    if not skus:
        return {}
    rows = db.execute(
        select(Inventory.sku, Inventory.on_hand - Inventory.reserved).where(
            Inventory.store_id == store_id, Inventory.sku.in_(skus)
        )
    )
    found = {sku: max(0, int(units)) for sku, units in rows}
    return {sku: found.get(sku, 0) for sku in skus}


def inventory_report(db: Session, store_code: str, sku: str | None = None) -> list[dict[str, int | str]]:  # noqa: E501
    """Stock figures of a store for post-run invariants (oversell = committed - stocked)."""
    store = db.scalar(select(Store).where(Store.code == store_code))
    if store is None:
        raise StoreError(404, "unknown_store", f"No store {store_code!r}.")
    stmt = select(Inventory).where(Inventory.store_id == store.id).order_by(Inventory.sku)
    if sku is not None:
        stmt = stmt.where(Inventory.sku == sku)
    rows = list(db.scalars(stmt))
    if sku is not None and not rows:
        raise StoreError(404, "unknown_sku", f"No stock row for {sku!r} in {store_code}.")
    return [
        {
            "store": store.code,
            "sku": row.sku,
            "stocked": row.stocked,
            "on_hand": row.on_hand,
            "reserved": row.reserved,
            "sold": row.sold,
            "available": row.on_hand - row.reserved,
            "oversold": max(0, row.reserved + row.sold - row.stocked),
        }
        for row in rows
    ]


def count_products(db: Session) -> int:
    """Number of SKUs in the catalog (a cheap real query for /readyz)."""
    return int(db.scalar(select(func.count()).select_from(Product)) or 0)
