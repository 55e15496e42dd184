"""Pricing: lines, coupon discount and fees. Pure functions over integer paise.

Fee rules (cart value = item total before discount):
- delivery: ₹28 below ₹99, ₹15 below ₹199, free from ₹199 (or with a free-delivery coupon);
- small_cart: ₹15 below ₹99;  platform: ₹2 on every order;
- surge: ₹30 between 18:00 and 21:00 IST;  late_night: ₹15 from 23:00 to 05:00 IST.
Invariant: item_total - discount + sum(fees) == payable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demostore.catalog import ist_minute_of_day
from demostore.errors import StoreError
from demostore.models import Coupon
from demostore.money import rupees

DELIVERY_BANDS = ((9900, 2800), (19900, 1500))  # (below this cart value, fee)
SMALL_CART_BELOW, SMALL_CART_FEE = 9900, 1500
PLATFORM_FEE = 200
SURGE_FEE, SURGE_WINDOW = 3000, (18 * 60, 21 * 60)
LATE_NIGHT_FEE, LATE_NIGHT_FROM, LATE_NIGHT_UNTIL = 1500, 23 * 60, 5 * 60


@dataclass(frozen=True)
class Line:
    """A priced cart or quote line."""

    sku: str
    name: str
    unit: str
    category: str
    price_paise: int
    mrp_paise: int
    qty: int

    @property
    def total_paise(self) -> int:
        """Price times quantity."""
        return self.price_paise * self.qty

    def to_json(self) -> dict[str, Any]:
        """API form of the line."""
        return {
            "sku": self.sku,
            "name": self.name,
            "unit": self.unit,
            "price": rupees(self.price_paise),
            "mrp": rupees(self.mrp_paise),
            "qty": self.qty,
            "line_total": rupees(self.total_paise),
        }


@dataclass(frozen=True)
class Fee:
    """One fee of a quote."""

    code: str
    label: str
    amount_paise: int

    def to_json(self) -> dict[str, Any]:
        """API form of the fee."""
        return {"code": self.code, "label": self.label, "amount": rupees(self.amount_paise)}


@dataclass(frozen=True)
class Quote:
    """A priced basket."""

    lines: tuple[Line, ...]
    item_total_paise: int
    discount_paise: int
    fees: tuple[Fee, ...]
    payable_paise: int
    coupon: Coupon | None
    priced_at: datetime

    def fee(self, code: str) -> int:
        """Amount of one fee in paise (0 when absent)."""
        return sum(f.amount_paise for f in self.fees if f.code == code)

    def to_json(self) -> dict[str, Any]:
        """API form of the totals (the caller adds store and ETA)."""
        return {
            "lines": [line.to_json() for line in self.lines],
            "item_total": rupees(self.item_total_paise),
            "discount": rupees(self.discount_paise),
            "coupon": None
            if self.coupon is None
            else {"code": self.coupon.code, "description": self.coupon.description},
            "fees": [fee.to_json() for fee in self.fees],
            "payable": rupees(self.payable_paise),
            "priced_at": self.priced_at.isoformat(timespec="seconds") + "Z",
        }


def check_coupon(coupon: Coupon | None, code: str, item_total_paise: int, now: datetime) -> Coupon:
    """Return the coupon if it applies to a cart of this value, else raise a 4xx."""
    if coupon is None:
        raise StoreError(404, "coupon_not_found", f"Coupon {code!r} does not exist.")
    if now < coupon.valid_from:
        raise StoreError(422, "coupon_not_started", f"Coupon {coupon.code} is not active yet.")
    if now >= coupon.valid_until:
        raise StoreError(422, "coupon_expired", f"Coupon {coupon.code} has expired.")
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        raise StoreError(422, "coupon_exhausted", f"Coupon {coupon.code} has been fully used.")
    if item_total_paise < coupon.min_order_paise:
        raise StoreError(
            422,
            "coupon_min_order",
            f"Add items worth ₹{(coupon.min_order_paise - item_total_paise) / 100:.2f} more "
            f"to use {coupon.code} (minimum order ₹{coupon.min_order_paise // 100}).",
            {"min_order": rupees(coupon.min_order_paise)},
        )
    return coupon


def _discount(coupon: Coupon | None, item_total: int) -> int:
    if coupon is None:
        return 0
    if coupon.kind == "flat":
        return min(coupon.value, item_total)
    if coupon.kind == "percent":
        amount = item_total * coupon.value // 100
        if coupon.max_discount_paise is not None:
            amount = min(amount, coupon.max_discount_paise)
        return amount
    return 0


def _in_window(minute: int, start: int, end: int) -> bool:
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def compute_fees(item_total: int, coupon: Coupon | None, now: datetime) -> tuple[Fee, ...]:
    """The fees for a cart of this value at this moment."""
    fees: list[Fee] = []
    delivery = 0
    for below, fee in DELIVERY_BANDS:
        if item_total < below:
            delivery = fee
            break
    if coupon is not None and coupon.kind == "free_delivery":
        fees.append(Fee("delivery", f"Delivery fee (free with {coupon.code})", 0))
    elif delivery:
        fees.append(Fee("delivery", "Delivery fee", delivery))
    else:
        fees.append(Fee("delivery", "Delivery fee (free above ₹199)", 0))
    if item_total < SMALL_CART_BELOW:
        fees.append(Fee("small_cart", "Small cart fee (below ₹99)", SMALL_CART_FEE))
    fees.append(Fee("platform", "Platform fee", PLATFORM_FEE))
    minute = ist_minute_of_day(now)
    if _in_window(minute, *SURGE_WINDOW):
        fees.append(Fee("surge", "Peak-hour surge", SURGE_FEE))
    if _in_window(minute, LATE_NIGHT_FROM, LATE_NIGHT_UNTIL):
        fees.append(Fee("late_night", "Late-night fee", LATE_NIGHT_FEE))
    return tuple(fees)


def price(lines: Sequence[Line], coupon: Coupon | None, now: datetime) -> Quote:
    """Price the lines with an (already validated) coupon."""
    item_total = sum(line.total_paise for line in lines)
    discount = _discount(coupon, item_total)
    fees = compute_fees(item_total, coupon, now)
    payable = item_total - discount + sum(f.amount_paise for f in fees)
    return Quote(tuple(lines), item_total, discount, fees, payable, coupon, now)
