"""Orders after checkout: the simulated fulfilment clock, cancellation, refunds, views.

The clock is lazy: whenever an order is read, it is moved forward to where
`placed_at + k * tick_seconds` says it should be, with one event per state reached at exactly
that time (so timestamps never go backwards). Every transition is a conditional UPDATE on the
current status, so concurrent readers cannot apply a step twice.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from demostore.errors import StoreError
from demostore.models import Inventory, Order, OrderEvent, OrderLine, Payment, Store, User
from demostore.money import rupees

FLOW = ("PLACED", "PICKING", "PACKED", "RIDER_ASSIGNED", "OUT_FOR_DELIVERY", "DELIVERED")
CANCELLABLE = frozenset({"PLACED", "PICKING", "PACKED", "RIDER_ASSIGNED"})  # before dispatch
VISIBLE = frozenset({*FLOW, "CANCELLED", "PARTIALLY_FULFILLED", "DELIVERY_FAILED"})


def _move(db: Session, order: Order, old: str, new: str, **values: Any) -> bool:
    """Conditionally move an order from old to new; False if someone else moved it first."""
    result = db.execute(
        update(Order).where(Order.id == order.id, Order.status == old)
        .values(status=new, **values).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def release_stock(db: Session, order: Order, *, sold: bool) -> None:
    """Drop the order's reservations; with sold=True the units also leave the shelf."""
    for line in db.scalars(select(OrderLine).where(OrderLine.order_id == order.id)):
        values: dict[str, Any] = {"reserved": Inventory.reserved - line.qty}
        if sold:
            values["on_hand"] = Inventory.on_hand - line.qty
            values["sold"] = Inventory.sold + line.qty
        db.execute(
            update(Inventory)
            .where(Inventory.store_id == order.store_id, Inventory.sku == line.sku)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def advance(db: Session, order: Order, now: datetime, tick_seconds: float) -> Order:
    """Bring the order up to date with the fulfilment clock and the refund clock."""
    tick = timedelta(seconds=tick_seconds)
    if order.status in FLOW and order.status != "DELIVERED" and order.placed_at is not None:
        current = FLOW.index(order.status)
        target = min(len(FLOW) - 1, int((now - order.placed_at) / tick))
        if target > current:
            if _move(db, order, order.status, FLOW[target]):
                for step in range(current + 1, target + 1):
                    db.add(OrderEvent(order_id=order.id, state=FLOW[step],
                                      at=order.placed_at + step * tick))
                if FLOW[target] == "DELIVERED":
                    release_stock(db, order, sold=True)
                db.commit()
            else:
                db.rollback()  # another request advanced it; just re-read
            db.refresh(order)
    if (order.refund_status == "REFUND_INITIATED" and order.cancelled_at is not None
            and now >= order.cancelled_at + tick):
        result = db.execute(
            update(Order).where(Order.id == order.id, Order.refund_status == "REFUND_INITIATED")
            .values(refund_status="REFUNDED").execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            db.add(OrderEvent(order_id=order.id, state="REFUNDED", at=order.cancelled_at + tick))
            db.execute(update(Payment).where(Payment.order_id == order.id,
                                             Payment.status == "captured")
                       .values(status="refunded").execution_options(synchronize_session=False))
            db.commit()
        else:
            db.rollback()
        db.refresh(order)
    return order


def get_order(db: Session, order_id: int, user: User | None, *, any_owner: bool = False) -> Order:
    """An order the user may see (404 otherwise, so ids cannot be probed)."""
    order = db.get(Order, order_id)
    if order is None or (not any_owner and (user is None or order.user_id != user.id)):
        raise StoreError(404, "order_not_found", f"No order {order_id} in your account.")
    return order


def list_orders(db: Session, user: User) -> list[Order]:
    """The user's placed orders, newest first (failed payment attempts are not orders)."""
    stmt = (select(Order).where(Order.user_id == user.id, Order.status.in_(VISIBLE))
            .order_by(Order.id.desc()).limit(100))
    return list(db.scalars(stmt))


def cancel(db: Session, order: Order, now: datetime, tick_seconds: float) -> Order:
    """Cancel before dispatch: release the stock and start the refund."""
    advance(db, order, now, tick_seconds)
    old = order.status
    if old not in CANCELLABLE:
        raise StoreError(409, "cannot_cancel",
                         f"Order {order.id} is {old} and can no longer be cancelled.",
                         {"status": old})
    if not _move(db, order, old, "CANCELLED", refund_status="REFUND_INITIATED",
                 cancelled_at=now):
        db.rollback()
        raise StoreError(409, "cannot_cancel", "The order changed meanwhile; reload and retry.")
    release_stock(db, order, sold=False)
    db.add(OrderEvent(order_id=order.id, state="CANCELLED", at=now))
    db.add(OrderEvent(order_id=order.id, state="REFUND_INITIATED", at=now))
    db.commit()
    db.refresh(order)
    return order


def eta_remaining(order: Order, now: datetime, tick_seconds: float) -> int | None:
    """Minutes until delivery by the fulfilment clock (None once it no longer applies)."""
    if order.status not in FLOW or order.status == "DELIVERED" or order.placed_at is None:
        return None
    remaining = (len(FLOW) - 1) * tick_seconds - (now - order.placed_at).total_seconds()
    return max(1, math.ceil(remaining / 60))


def events(db: Session, order: Order) -> list[OrderEvent]:
    """The order's states in the order reached."""
    stmt = select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(
        OrderEvent.at, OrderEvent.id)
    return list(db.scalars(stmt))


def order_json(db: Session, order: Order, now: datetime, tick_seconds: float) -> dict[str, Any]:
    """API form of an order, including the delivery contact (owner-only data)."""
    store = db.get(Store, order.store_id)
    user = db.get(User, order.user_id)
    lines = db.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                       .order_by(OrderLine.id))
    payment = db.scalars(select(Payment).where(Payment.order_id == order.id)
                         .order_by(Payment.id.desc())).first()
    return {
        "id": order.id,
        "status": order.status,
        "refund_status": order.refund_status,
        "store": {"id": order.store_id, "name": store.name if store else ""},
        "pincode": order.pincode,
        "slot": order.slot,
        "eta_minutes": eta_remaining(order, now, tick_seconds),
        "lines": [
            {"sku": line.sku, "name": line.name, "price": rupees(line.price_paise),
             "qty": line.qty, "line_total": rupees(line.price_paise * line.qty)}
            for line in lines
        ],
        "item_total": rupees(order.item_total_paise),
        "discount": rupees(order.discount_paise),
        "coupon": order.coupon_code,
        "fees": json.loads(order.fees_json),
        "payable": rupees(order.payable_paise),
        "payment": None if payment is None else {
            "method": payment.method, "instrument": payment.instrument,
            "status": payment.status, "reference": payment.reference,
        },
        "delivery": {
            "name": user.name if user else "",
            "phone": user.phone if user else "",
            "address": order.address,
        },
        "can_cancel": order.status in CANCELLABLE,
        "created_at": order.created_at.isoformat() + "Z",
        "placed_at": order.placed_at.isoformat() + "Z" if order.placed_at else None,
        "events": [{"state": e.state, "at": e.at.isoformat() + "Z"} for e in events(db, order)],
    }


def sweep(db: Session, now: datetime, tick_seconds: float, limit: int = 500) -> int:
    """Advance every open order (so stock is consumed on time even if nobody looks)."""
    stmt = (select(Order).where(or_(Order.status.in_(FLOW[:-1]),
                                    Order.refund_status == "REFUND_INITIATED"))
            .order_by(Order.id).limit(limit))
    found = list(db.scalars(stmt))
    for order in found:
        advance(db, order, now, tick_seconds)
    return len(found)
