"""The session cart: bound to the store serving the session's pincode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from demostore import catalog, pricing
from demostore.errors import StoreError
from demostore.models import CartItem, Coupon, Product, Store, WebSession


@dataclass(frozen=True)
class CartView:
    """A priced cart, its store and any coupon problem."""

    store: Store | None
    pincode: str | None
    quote: pricing.Quote
    coupon_problem: str | None

    @property
    def count(self) -> int:
        """Units in the cart."""
        return sum(line.qty for line in self.quote.lines)


def bound_store(db: Session, ws: WebSession | None, now: datetime) -> Store:
    """The store the session's cart is bound to, or 422 if there is none usable."""
    if ws is None or not ws.pincode:
        raise StoreError(409, "location_required", "Set your delivery location first.")
    return catalog.require_store(db, ws.pincode, now)


def items(db: Session, ws: WebSession | None) -> list[tuple[Product, int]]:
    """(product, qty) of the cart in the order added."""
    if ws is None:
        return []
    rows = db.execute(
        select(Product, CartItem.qty)
        .join(CartItem, CartItem.sku == Product.sku)
        .where(CartItem.session_id == ws.id)
        .order_by(CartItem.added_at, CartItem.sku)
    )
    return [(product, int(qty)) for product, qty in rows]


def to_line(product: Product, qty: int) -> pricing.Line:
    """A pricing line for a product."""
    return pricing.Line(product.sku, product.name, product.unit, product.category_slug,
                        product.price_paise, product.mrp_paise, qty)


def validate_qty(product: Product, qty: int, available: int) -> None:
    """Refuse quantities below 1, above the max per order, or above the stock."""
    if qty < 1:
        raise StoreError(422, "invalid_quantity", "Quantity must be at least 1.",
                         {"sku": product.sku})
    if qty > product.max_per_order:
        raise StoreError(422, "max_per_order",
                         f"You can buy at most {product.max_per_order} of {product.name} "
                         "per order.", {"sku": product.sku, "max": product.max_per_order})
    if available <= 0:
        raise StoreError(409, "out_of_stock", f"{product.name} is out of stock.",
                         {"sku": product.sku, "available": 0})
    if qty > available:
        raise StoreError(409, "insufficient_stock",
                         f"Only {available} of {product.name} left in stock.",
                         {"sku": product.sku, "available": available})


def set_quantity(db: Session, ws: WebSession | None, sku: str, qty: int, now: datetime,
                 *, add: bool = False) -> None:
    """Set (or with add=True, increase) a line's quantity; 0 removes the line."""
    product = catalog.get_product(db, sku)
    if ws is None:
        raise StoreError(409, "location_required", "Set your delivery location first.")
    line = db.get(CartItem, (ws.id, product.sku))
    if not add and qty == 0:
        if line is not None:
            db.delete(line)
        return
    if add and qty < 1:
        raise StoreError(422, "invalid_quantity", "Quantity must be at least 1.",
                         {"sku": product.sku})
    store = bound_store(db, ws, now)
    target = qty + (line.qty if (add and line is not None) else 0)
    available = catalog.availability(db, store.id, [product.sku])[product.sku]
    validate_qty(product, target, available)
    if line is None:
        db.add(CartItem(session_id=ws.id, sku=product.sku, qty=target, added_at=now))
    else:
        line.qty = target


def clear(db: Session, ws: WebSession) -> None:
    """Empty the cart and drop its coupon."""
    db.execute(delete(CartItem).where(CartItem.session_id == ws.id))
    ws.coupon_code = None


def rebind(db: Session, ws: WebSession, pincode: str, now: datetime) -> list[str]:
    """Move the session to a new pincode; trim lines the new store cannot supply."""
    store = catalog.require_store(db, pincode, now)
    ws.pincode = catalog.validate_pincode(pincode)
    changed: list[str] = []
    lines = items(db, ws)
    stock = catalog.availability(db, store.id, [p.sku for p, _ in lines])
    for product, qty in lines:
        available = min(stock[product.sku], product.max_per_order)
        line = db.get(CartItem, (ws.id, product.sku))
        if line is None:
            continue
        if available <= 0:
            db.delete(line)
            changed.append(f"{product.name} removed (not available at {store.name})")
        elif qty > available:
            line.qty = available
            changed.append(f"{product.name} reduced to {available}")
    return changed


def apply_coupon(db: Session, ws: WebSession | None, code: str, now: datetime) -> Coupon:
    """Validate a coupon against the current cart and attach it."""
    code = (code or "").strip().upper()[:20]
    if not code:
        raise StoreError(422, "coupon_required", "Enter a coupon code.")
    if ws is None:
        raise StoreError(409, "location_required", "Set your delivery location first.")
    lines = [to_line(p, q) for p, q in items(db, ws)]
    total = sum(line.total_paise for line in lines)
    coupon = pricing.check_coupon(db.get(Coupon, code), code, total, now)
    ws.coupon_code = coupon.code
    return coupon


def view(db: Session, ws: WebSession | None, now: datetime) -> CartView:
    """The priced cart; a coupon that no longer applies is reported, not applied."""
    lines = [to_line(p, q) for p, q in items(db, ws)]
    store: Store | None = None
    pincode = ws.pincode if ws else None
    if pincode:
        result = catalog.check_pincode(db, pincode, now)
        store = result.store
    coupon: Coupon | None = None
    problem: str | None = None
    if ws is not None and ws.coupon_code:
        total = sum(line.total_paise for line in lines)
        try:
            coupon = pricing.check_coupon(db.get(Coupon, ws.coupon_code), ws.coupon_code,
                                          total, now)
        except StoreError as exc:
            problem = exc.message
    return CartView(store, pincode, pricing.price(lines, coupon, now), problem)
