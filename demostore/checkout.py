"""Checkout: reserve stock atomically, charge the sandbox gateway once per idempotency key.

Flow: claim the Idempotency-Key (unique row) -> validate the cart -> reserve every line with
a conditional UPDATE (one transaction, SKU order, so no deadlocks) and create the order as
PAYMENT_PENDING -> charge outside any transaction -> PLACED (cart emptied), or PAYMENT_FAILED
with the reservation released and the cart kept. The outcome is stored under the key, so a
double submit replays it instead of charging twice.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from demostore import cart, catalog, orders
from demostore.config import StoreConfig
from demostore.errors import StoreError
from demostore.models import (
    Coupon,
    IdempotencyRecord,
    Inventory,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Store,
    User,
    WebSession,
)
from demostore.payments import (
    GatewayUnavailableError,
    PaymentDetails,
    SandboxGateway,
    validate_payment,
)

CHALLENGE_TTL = timedelta(minutes=10)
RACE_WINDOW_SECONDS = 0.5  # the oversell fault's check-then-act gap (a slow pricing call)


@dataclass(frozen=True)
class Slot:
    """A delivery slot offered at checkout."""

    id: str
    label: str
    eta_minutes: int


@dataclass(frozen=True)
class CheckoutRequest:
    """What the customer submits at checkout."""

    slot: str
    address: str
    payment: PaymentDetails
    age_confirmed: bool = False


@dataclass(frozen=True)
class CheckoutResult:
    """The HTTP outcome of a checkout (stored under the idempotency key)."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def order_id(self) -> int | None:
        """The placed order's id, if the checkout succeeded."""
        order = self.body.get("order")
        return int(order["id"]) if isinstance(order, dict) else None


def slots(store: Store, now: datetime) -> list[Slot]:
    """'Now' plus the next three one-hour slots (IST)."""
    offered = [Slot("now", f"Now, ~{store.eta_minutes} min", store.eta_minutes)]
    local = now + catalog.IST
    start = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    for index in range(1, 4):
        begin = start + timedelta(hours=index - 1)
        day = "Today" if begin.date() == local.date() else "Tomorrow"
        label = f"{day} {begin:%H:%M}–{begin + timedelta(hours=1):%H:%M}"
        minutes = int((begin - local).total_seconds() // 60) + store.eta_minutes
        offered.append(Slot(f"slot-{index}", label, minutes))
    return offered


def reserve(db: Session, store_id: int, sku: str, qty: int, *, racy: bool) -> None:
    """Reserve stock; atomic unless the oversell fault asks for check-then-act."""
    if racy:
        # The defect: read, think, write. Concurrent buyers all pass the check.
        available = db.scalar(select(Inventory.on_hand - Inventory.reserved).where(
            Inventory.store_id == store_id, Inventory.sku == sku))
        if available is None or available < qty:
            raise StoreError(409, "insufficient_stock", f"Only {max(0, available or 0)} of "
                             f"{sku} left in stock.", {"sku": sku, "available": available or 0})
        time.sleep(RACE_WINDOW_SECONDS)
        db.execute(update(Inventory).where(Inventory.store_id == store_id, Inventory.sku == sku)
                   .values(reserved=Inventory.reserved + qty)
                   .execution_options(synchronize_session=False))
        return
    result = db.execute(
        update(Inventory)
        .where(Inventory.store_id == store_id, Inventory.sku == sku,
               Inventory.on_hand - Inventory.reserved >= qty)
        .values(reserved=Inventory.reserved + qty)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.rollback()
        available = catalog.availability(db, store_id, [sku])[sku]
        raise StoreError(409, "insufficient_stock" if available else "out_of_stock",
                         f"Only {available} of {sku} left in stock." if available
                         else f"{sku} is out of stock.", {"sku": sku, "available": available})


def _fingerprint(req: CheckoutRequest) -> str:
    payload = [req.slot, req.address.strip(), req.payment.method, req.payment.instrument,
               req.age_confirmed]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def _claim_key(db: Session, user: User, key: str, fingerprint: str,
               now: datetime) -> IdempotencyRecord | CheckoutResult:
    """Claim the key, or return the stored result of the request that claimed it."""
    record = IdempotencyRecord(user_id=user.id, idem_key=key, request_hash=fingerprint,
                               created_at=now)
    db.add(record)
    try:
        db.commit()
        return record
    except IntegrityError:
        db.rollback()
    existing = db.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user.id, IdempotencyRecord.idem_key == key))
    if existing is None:  # claimed and released between our insert and this read
        raise StoreError(409, "request_in_progress", "Retry this checkout in a moment.")
    if existing.request_hash != fingerprint:
        raise StoreError(422, "idempotency_key_reused",
                         "This Idempotency-Key was used for a different checkout.")
    if existing.status_code is None or existing.response_json is None:
        raise StoreError(409, "request_in_progress",
                         "A checkout with this Idempotency-Key is still being processed.")
    return CheckoutResult(existing.status_code, json.loads(existing.response_json), True)


def checkout(config: StoreConfig, gateway: SandboxGateway, db: Session, ws: WebSession | None,
             user: User, req: CheckoutRequest, key: str, now: datetime) -> CheckoutResult:
    """Place an order for the session's cart and pay for it, at most once per key."""
    key = (key or "").strip()
    if not 1 <= len(key) <= 100:
        raise StoreError(400, "idempotency_key_required",
                         "Send an Idempotency-Key header (1-100 characters) with checkout.")
    claimed = _claim_key(db, user, key, _fingerprint(req), now)
    if isinstance(claimed, CheckoutResult):
        return claimed
    try:
        result = _place_and_pay(config, gateway, db, ws, user, req, now)
    except (StoreError, GatewayUnavailableError) as exc:
        # Nothing was charged: free the key so the same submit can be retried.
        db.rollback()
        db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claimed.id))
        db.commit()
        if isinstance(exc, GatewayUnavailableError):
            raise StoreError(502, "payment_gateway_error", "The payment gateway is not "
                             "responding. You were not charged; please try again.") from exc
        raise
    db.execute(update(IdempotencyRecord).where(IdempotencyRecord.id == claimed.id).values(
        status_code=result.status, response_json=json.dumps(result.body)))
    db.commit()
    return result


def _place_and_pay(config: StoreConfig, gateway: SandboxGateway, db: Session,
                   ws: WebSession | None, user: User, req: CheckoutRequest,
                   now: datetime) -> CheckoutResult:
    store = cart.bound_store(db, ws, now)
    assert ws is not None  # bound_store refuses a missing session
    view = cart.view(db, ws, now)
    products = {p.sku: p for p, _ in cart.items(db, ws)}
    if not view.quote.lines:
        raise StoreError(422, "cart_empty", "Your cart is empty.")
    if view.coupon_problem:
        raise StoreError(422, "coupon_invalid", view.coupon_problem)
    for line in view.quote.lines:
        product = products[line.sku]
        if line.qty > product.max_per_order:
            cart.validate_qty(product, line.qty, line.qty)
        if product.min_age and not req.age_confirmed:
            raise StoreError(422, "age_confirmation_required",
                             f"{product.name} is for customers aged {product.min_age}+; "
                             "confirm your age to continue.", {"sku": product.sku})
    slot = next((s for s in slots(store, now) if s.id == req.slot), None)
    if slot is None:
        raise StoreError(422, "invalid_slot", "Choose one of the offered delivery slots.")
    address = " ".join((req.address or "").split())
    if not 5 <= len(address) <= 300:
        raise StoreError(422, "invalid_address", "Enter a delivery address (5-300 characters).")
    payment = validate_payment(req.payment, now)
    if config.has("slow-checkout"):
        time.sleep(random.uniform(1.5, 3.0))  # the defect: a slow synchronous call

    quote = view.quote
    for line in sorted(quote.lines, key=lambda item: item.sku):
        reserve(db, store.id, line.sku, line.qty, racy=config.has("oversell"))
    order = Order(
        user_id=user.id, store_id=store.id, status="PAYMENT_PENDING", pincode=ws.pincode or "",
        address=address, slot=slot.label, eta_minutes=slot.eta_minutes,
        item_total_paise=quote.item_total_paise, discount_paise=quote.discount_paise,
        fees_json=json.dumps([fee.to_json() for fee in quote.fees]),
        payable_paise=quote.payable_paise,
        coupon_code=quote.coupon.code if quote.coupon else None, created_at=now,
    )
    db.add(order)
    db.flush()
    for line in quote.lines:
        db.add(OrderLine(order_id=order.id, sku=line.sku, name=line.name,
                         price_paise=line.price_paise, qty=line.qty))
    db.add(OrderEvent(order_id=order.id, state="CREATED", at=now))
    db.add(OrderEvent(order_id=order.id, state="PAYMENT_PENDING", at=now))
    db.commit()

    try:
        charge = gateway.charge(payment, quote.payable_paise)
    except GatewayUnavailableError:
        _fail(db, order, payment, "gateway_error", now)
        raise
    if charge.code == "requires_action":
        # 3-D Secure: the order waits, stock stays reserved, the cart is kept until the
        # customer completes (or fails) the challenge.
        db.add(Payment(order_id=order.id, method=payment.method, instrument=payment.instrument,
                       amount_paise=quote.payable_paise, status="requires_action",
                       reference=charge.reference, created_at=now))
        db.commit()
        return CheckoutResult(402, StoreError(402, charge.code, charge.message, {
            "payment_reference": charge.reference, "cart_kept": True,
            "challenge_url": f"/3ds/{charge.reference}",
            "authenticate_url": f"/api/payments/{charge.reference}/authenticate",
        }).to_json())
    if not charge.captured:
        _fail(db, order, payment, charge.code, now, reference=charge.reference)
        return CheckoutResult(402, StoreError(402, charge.code, charge.message, {
            "payment_reference": charge.reference, "cart_kept": True}).to_json())

    db.add(Payment(order_id=order.id, method=payment.method, instrument=payment.instrument,
                   amount_paise=quote.payable_paise, status="captured",
                   reference=charge.reference, created_at=now))
    _place(db, order, ws, now)
    return CheckoutResult(201, {"order": orders.order_json(db, order, now, config.tick_seconds)})


def _place(db: Session, order: Order, ws: WebSession | None, now: datetime) -> None:
    """Payment captured: the order is PLACED, its coupon used, the cart emptied."""
    db.execute(update(Order).where(Order.id == order.id).values(status="PLACED", placed_at=now)
               .execution_options(synchronize_session=False))
    db.add(OrderEvent(order_id=order.id, state="PLACED", at=now))
    if order.coupon_code is not None:
        db.execute(update(Coupon).where(Coupon.code == order.coupon_code)
                   .values(used_count=Coupon.used_count + 1)
                   .execution_options(synchronize_session=False))
    if ws is not None:
        cart.clear(db, ws)
    db.commit()
    db.refresh(order)


def authenticate_challenge(config: StoreConfig, db: Session, ws: WebSession | None, user: User,
                           reference: str, approve: bool, now: datetime) -> CheckoutResult:
    """Complete a 3-D Secure challenge: approve captures and places the order, deny fails it."""
    payment = db.scalar(select(Payment).where(Payment.reference == reference[:40]))
    order = db.get(Order, payment.order_id) if payment is not None else None
    if payment is None or order is None or order.user_id != user.id:
        raise StoreError(404, "payment_not_found", "No payment awaiting authentication.")
    if payment.status != "requires_action" or order.status != "PAYMENT_PENDING":
        raise StoreError(409, "challenge_closed", "This authentication is already complete.")
    expired = now - payment.created_at > CHALLENGE_TTL
    # Claim the challenge first, so a double click cannot capture twice.
    claimed = db.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "requires_action")
        .values(status="captured" if approve and not expired else "failed",
                failure_code=None if approve and not expired else
                ("authentication_expired" if expired else "authentication_failed"))
        .execution_options(synchronize_session=False))
    if not getattr(claimed, "rowcount", 0):
        db.rollback()
        raise StoreError(409, "challenge_closed", "This authentication is already complete.")
    db.expire(payment)  # the UPDATE above bypassed the identity map
    if approve and not expired:
        _place(db, order, ws, now)
        return CheckoutResult(201, {"order": orders.order_json(db, order, now,
                                                                config.tick_seconds)})
    db.execute(update(Order).where(Order.id == order.id).values(status="PAYMENT_FAILED")
               .execution_options(synchronize_session=False))
    db.add(OrderEvent(order_id=order.id, state="PAYMENT_FAILED", at=now))
    orders.release_stock(db, order, sold=False)
    db.commit()
    code = "authentication_expired" if expired else "authentication_failed"
    message = ("The authentication window closed; please pay again." if expired else
               "3-D Secure authentication failed; you were not charged.")
    return CheckoutResult(402, StoreError(402, code, message, {"cart_kept": True}).to_json())


def _fail(db: Session, order: Order, payment: PaymentDetails, code: str, now: datetime,
          reference: str = "") -> None:
    """Record a failed attempt: no order is placed and the reserved stock goes back."""
    db.add(Payment(order_id=order.id, method=payment.method, instrument=payment.instrument,
                   amount_paise=order.payable_paise, status="failed", failure_code=code,
                   reference=reference or "none", created_at=now))
    db.execute(update(Order).where(Order.id == order.id).values(status="PAYMENT_FAILED")
               .execution_options(synchronize_session=False))
    db.add(OrderEvent(order_id=order.id, state="PAYMENT_FAILED", at=now))
    orders.release_stock(db, order, sold=False)
    db.commit()


def expire_challenges(db: Session, now: datetime) -> int:
    """Fail 3-D Secure challenges nobody answered in time, releasing their stock."""
    stale = list(db.scalars(select(Payment).where(
        Payment.status == "requires_action", Payment.created_at < now - CHALLENGE_TTL)
        .limit(200)))
    for payment in stale:
        claimed = db.execute(
            update(Payment).where(Payment.id == payment.id, Payment.status == "requires_action")
            .values(status="failed", failure_code="authentication_expired")
            .execution_options(synchronize_session=False))
        order = db.get(Order, payment.order_id)
        if not getattr(claimed, "rowcount", 0) or order is None:
            db.rollback()
            continue
        db.execute(update(Order).where(Order.id == order.id, Order.status == "PAYMENT_PENDING")
                   .values(status="PAYMENT_FAILED").execution_options(synchronize_session=False))
        db.add(OrderEvent(order_id=order.id, state="PAYMENT_FAILED", at=now))
        orders.release_stock(db, order, sold=False)
        db.commit()
    return len(stale)
