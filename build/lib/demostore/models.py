"""Database schema (SQLAlchemy 2 ORM). Money is integer paise; times are naive UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# MariaDB's DATETIME drops sub-seconds unless asked; the fulfilment clock needs them.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Declarative base of the store schema."""


class Store(Base):
    """A dark store: a micro-warehouse serving a few pincodes."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(60))
    eta_minutes: Mapped[int] = mapped_column(Integer)
    opens_minute: Mapped[int] = mapped_column(Integer, default=0)  # minutes after 00:00 IST
    closes_minute: Mapped[int] = mapped_column(Integer, default=24 * 60)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str] = mapped_column(String(100), default="")


class ServiceArea(Base):
    """A pincode and the store that serves it."""

    __tablename__ = "service_areas"

    pincode: Mapped[str] = mapped_column(String(6), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))


class Category(Base):
    """A catalog category."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    icon: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)


class Product(Base):
    """A SKU of the catalog (prices are the same in every store)."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    category_slug: Mapped[str] = mapped_column(ForeignKey("categories.slug"))
    price_paise: Mapped[int] = mapped_column(Integer)
    mrp_paise: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(30))
    net_weight_g: Mapped[int] = mapped_column(Integer)
    perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    storage: Mapped[str] = mapped_column(String(20), default="ambient")
    max_per_order: Mapped[int] = mapped_column(Integer, default=10)
    min_age: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[str] = mapped_column(String(120), default="")
    icon: Mapped[str] = mapped_column(String(8), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)


class Inventory(Base):
    """Stock of one SKU in one store. Available = on_hand - reserved, never below 0."""

    __tablename__ = "inventory"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    # Units handed to riders; lets the oversell invariant be checked after a run.
    sold: Mapped[int] = mapped_column(Integer, default=0)
    stocked: Mapped[int] = mapped_column(Integer)


class Coupon(Base):
    """A coupon: flat, percent or free delivery, with limits."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # flat | percent | free_delivery
    value: Mapped[int] = mapped_column(Integer, default=0)  # paise (flat) or percent
    max_discount_paise: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_order_paise: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime] = mapped_column(Timestamp)
    valid_until: Mapped[datetime] = mapped_column(Timestamp)
    usage_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(200), default="")


class User(Base):
    """A customer account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class WebSession(Base):
    """A browser or API session: location binding, cart, optional login."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    pincode: Mapped[str | None] = mapped_column(String(6), nullable=True)
    coupon_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class CartItem(Base):
    """One line of a session's cart."""

    __tablename__ = "cart_items"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    qty: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(Timestamp)


class Order(Base):
    """A customer order and where it is in the fulfilment flow."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(24))
    refund_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    pincode: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(300))
    slot: Mapped[str] = mapped_column(String(20))
    eta_minutes: Mapped[int] = mapped_column(Integer)
    item_total_paise: Mapped[int] = mapped_column(Integer)
    discount_paise: Mapped[int] = mapped_column(Integer)
    fees_json: Mapped[str] = mapped_column(Text)
    payable_paise: Mapped[int] = mapped_column(Integer)
    coupon_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    placed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class OrderLine(Base):
    """A SKU, its price at the time of ordering, and the quantity."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    name: Mapped[str] = mapped_column(String(120))
    price_paise: Mapped[int] = mapped_column(Integer)
    qty: Mapped[int] = mapped_column(Integer)


class OrderEvent(Base):
    """One state an order reached, and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(Timestamp)


class Payment(Base):
    """One payment attempt against the sandbox gateway."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(10))
    instrument: Mapped[str] = mapped_column(String(40))  # masked: card last 4 or UPI handle
    amount_paise: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # captured | failed | refunded
    failure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reference: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class IdempotencyRecord(Base):
    """The stored outcome of a checkout submitted with an Idempotency-Key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "idem_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idem_key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
