"""The JSON API of the demo store (OpenAPI at /openapi.json).

Amounts are rupees (numbers, at most 2 decimals). Errors are `{"error": {"code", "message"}}`
with a 4xx status (5xx only for the gateway fault or a bug). Authenticate with the
`qs_session` cookie (set by login/sign-up/location) or `Authorization: Bearer <token>`.
Cross-site writes (a foreign `Origin`) are refused.

| method | path                              | what                                        |
|--------|-----------------------------------|---------------------------------------------|
| GET    | /healthz, /readyz, /version       | liveness, DB readiness, build version       |
| GET    | /api/categories                   | categories                                  |
| GET    | /api/products?q=&category=        | search / list products (stock of your store)|
| GET    | /api/products/{sku}               | one product                                 |
| GET    | /api/stores                       | dark stores, pincodes, paused status        |
| GET    | /api/serviceability?pincode=      | can this pincode be served now, by whom     |
| GET    | /api/stores/{code}/inventory[/{sku}] | stock figures (oversell invariant)       |
| POST   | /api/quote                        | price a basket, no side effects             |
| POST   | /api/location                     | bind the session (and cart) to a pincode    |
| GET    | /api/cart                         | the priced cart                             |
| POST   | /api/cart/items                   | add `{sku, qty}` (qty is added)             |
| PUT    | /api/cart/items/{sku}             | set `{qty}`; 0 removes                      |
| DELETE | /api/cart/items/{sku}             | remove a line                               |
| POST   | /api/cart/coupon, DELETE same     | apply `{code}` / remove the coupon          |
| GET    | /api/slots                        | delivery slots of the bound store           |
| POST   | /api/auth/signup, /api/auth/login | create account / log in (returns a token)   |
| POST   | /api/auth/logout; GET /api/me     | log out; who am I                           |
| POST   | /api/checkout                     | place and pay (Idempotency-Key header)      |
| POST   | /api/payments/{ref}/authenticate  | finish a 3-D Secure challenge `{approve}`   |
| GET    | /api/orders, /api/orders/{id}     | my orders; one order (clock advanced)       |
| POST   | /api/orders/{id}/cancel           | cancel before dispatch: refund, stock back  |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from demostore import accounts, cart, catalog, checkout, orders, pricing
from demostore.errors import StoreError
from demostore.models import Coupon, Product, ServiceArea, Store
from demostore.money import rupees
from demostore.payments import PaymentDetails
from demostore.runtime import (
    Visitor,
    client_address,
    ensure_session,
    get_db,
    load_visitor,
    now,
    remember_login,
    require_user,
    runtime,
)

router = APIRouter()
Db = Annotated[Session, Depends(get_db)]
OrderId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # ids beyond INT overflow some DBs


def _visitor(request: Request, db: Db) -> Visitor:
    return load_visitor(request, db)


Who = Annotated[Visitor, Depends(_visitor)]


class QuoteItem(BaseModel):
    """One requested line."""

    sku: str = Field(max_length=40)
    qty: int


class QuoteIn(BaseModel):
    """A basket to price."""

    pincode: str = Field(max_length=20)
    items: list[QuoteItem] = Field(max_length=50)
    coupon: str | None = Field(default=None, max_length=40)


class LocationIn(BaseModel):
    """A delivery pincode."""

    pincode: str = Field(max_length=20)


class CartItemIn(BaseModel):
    """A SKU and quantity to add."""

    sku: str = Field(max_length=40)
    qty: int = 1


class QtyIn(BaseModel):
    """A new quantity."""

    qty: int


class CouponIn(BaseModel):
    """A coupon code."""

    code: str = Field(max_length=40)


class SignupIn(BaseModel):
    """A new account."""

    name: str = Field(max_length=200)
    email: str = Field(max_length=300)
    phone: str = Field(max_length=30)
    password: str = Field(max_length=300)


class LoginIn(BaseModel):
    """Credentials."""

    email: str = Field(max_length=300)
    password: str = Field(max_length=300)


class PaymentIn(BaseModel):
    """Card or UPI details (sandbox)."""

    method: str = Field(max_length=10)
    card_number: str = Field(default="", max_length=40)
    expiry: str = Field(default="", max_length=10)
    cvc: str = Field(default="", max_length=10)
    upi_id: str = Field(default="", max_length=100)


class CheckoutIn(BaseModel):
    """Checkout of the session cart."""

    slot: str = Field(default="now", max_length=20)
    address: str = Field(max_length=400)
    payment: PaymentIn
    age_confirmed: bool = False


def product_json(product: Product, available: int | None = None) -> dict[str, Any]:
    """API form of a product."""
    body: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "price": rupees(product.price_paise),
        "mrp": rupees(product.mrp_paise),
        "category": product.category_slug,
        "unit": product.unit,
        "net_weight_g": product.net_weight_g,
        "perishable": product.perishable,
        "storage": product.storage,
        "max_per_order": product.max_per_order,
        "min_age": product.min_age,
        "tags": [tag for tag in product.tags.split(",") if tag],
    }
    if available is not None:
        body["available"] = available
        body["in_stock"] = available > 0
    return body


def _shop_store(db: Session, visitor: Visitor) -> Store:
    """The store whose stock a visitor sees: their bound store, else the default one."""
    return catalog.browsing_store(db, visitor.ws.pincode if visitor.ws else None, now())[0]


def store_json(store: Store) -> dict[str, Any]:
    """API form of a store."""
    return {"id": store.id, "code": store.code, "name": store.name, "city": store.city,
            "eta_minutes": store.eta_minutes, "paused": store.paused}


def cart_json(db: Session, visitor: Visitor) -> dict[str, Any]:
    """API form of the visitor's priced cart."""
    view = cart.view(db, visitor.ws, now())
    return {
        "pincode": view.pincode,
        "store": store_json(view.store) if view.store else None,
        "count": view.count,
        **view.quote.to_json(),
        "coupon_problem": view.coupon_problem,
        "eta_minutes": view.store.eta_minutes if view.store else None,
    }


@router.api_route("/healthz", methods=["GET", "HEAD"], tags=["ops"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.api_route("/readyz", methods=["GET", "HEAD"], tags=["ops"])
def readyz(request: Request, db: Db) -> JSONResponse:
    """Readiness: a real query against the database."""
    if runtime(request).config.has("health-down"):
        return JSONResponse({"status": "unavailable", "database": "ok",
                             "reason": "dependency check failed"}, status_code=503)
    try:
        catalog.count_products(db)
    except Exception as exc:  # any DB failure means not ready; say why
        return JSONResponse({"status": "unavailable", "database": "error",
                             "reason": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})


def previous_version(version: str) -> str:
    """A plausible older version string (what a half-finished deploy would report)."""
    parts = version.split(".")
    if all(part.isdigit() for part in parts):
        numbers = [int(part) for part in parts]
        for index in range(len(numbers) - 1, -1, -1):
            if numbers[index] > 0:  # 2.3.1 -> 2.3.0, 1.4.0 -> 1.3.9, 1.0.0 -> 0.9.9
                numbers[index] -= 1
                numbers[index + 1:] = [9] * (len(numbers) - index - 1)
                return ".".join(str(n) for n in numbers)
    return version + "-previous"


@router.api_route("/version", methods=["GET", "HEAD"], tags=["ops"])
def version(request: Request) -> dict[str, str]:
    """The build version and commit given at start."""
    config = runtime(request).config
    shown = previous_version(config.version) if config.has("version-mismatch") else config.version
    return {"version": shown, "commit": config.commit}


@router.get("/api/categories", tags=["catalog"])
def list_categories(db: Db) -> dict[str, Any]:
    """All categories."""
    return {"items": [{"slug": c.slug, "name": c.name} for c in catalog.categories(db)]}


@router.get("/api/products", tags=["catalog"])
def list_products(db: Db, who: Who, q: str = "", category: str = "") -> dict[str, Any]:
    """Search by text, or list a category; availability is for your bound store."""
    if category:
        catalog.get_category(db, category)
        found = catalog.products_in_category(db, category)
    elif q.strip():
        found = catalog.search_products(db, q)
    else:
        found = catalog.featured_products(db)
    store = _shop_store(db, who)
    stock = catalog.availability(db, store.id, [p.sku for p in found])
    return {"store": store_json(store),
            "items": [product_json(p, stock[p.sku]) for p in found]}


@router.get("/api/products/{sku}", tags=["catalog"])
def get_product(sku: str, db: Db, who: Who) -> dict[str, Any]:
    """One product with availability in your bound store."""
    product = catalog.get_product(db, sku)
    store = _shop_store(db, who)
    return product_json(product, catalog.availability(db, store.id, [product.sku])[product.sku])


@router.get("/api/stores", tags=["stores"])
def list_stores(db: Db) -> dict[str, Any]:
    """Dark stores with the pincodes they serve."""
    areas: dict[int, list[str]] = {}
    for area in db.scalars(select(ServiceArea).order_by(ServiceArea.pincode)):
        areas.setdefault(area.store_id, []).append(area.pincode)
    return {"items": [{**store_json(s), "pincodes": areas.get(s.id, []),
                       "pause_reason": s.pause_reason}
                      for s in db.scalars(select(Store).order_by(Store.id))]}


@router.get("/api/serviceability", tags=["stores"])
def serviceability(db: Db, pincode: str = "") -> dict[str, Any]:
    """Whether a pincode can be served right now (422 for a malformed pincode)."""
    result = catalog.check_pincode(db, pincode, now())
    return {"pincode": result.pincode, "serviceable": result.serviceable,
            "reason": result.reason, "message": result.message,
            "store": store_json(result.store) if result.store else None,
            "eta_minutes": result.store.eta_minutes if result.serviceable and result.store
            else None}


@router.get("/api/stores/{code}/inventory", tags=["stores"])
def store_inventory(code: str, db: Db) -> dict[str, Any]:
    """Stock figures of every SKU in a store."""
    return {"items": catalog.inventory_report(db, code)}


@router.get("/api/stores/{code}/inventory/{sku}", tags=["stores"])
def store_inventory_sku(code: str, sku: str, db: Db) -> dict[str, Any]:
    """Stock figures of one SKU: stocked, on_hand, reserved, sold, available, oversold."""
    return catalog.inventory_report(db, code, sku)[0]


@router.post("/api/quote", tags=["cart"])
def quote(body: QuoteIn, db: Db) -> dict[str, Any]:
    """Price a basket for a pincode without touching any cart, stock or coupon."""
    at = now()
    store = catalog.require_store(db, body.pincode, at)
    if not body.items:
        raise StoreError(422, "items_required", "Add at least one item to quote.")
    wanted: dict[str, int] = {}
    products: dict[str, Product] = {}
    for item in body.items:
        product = catalog.get_product(db, item.sku)
        if item.qty < 1:
            raise StoreError(422, "invalid_quantity", "Quantity must be at least 1.",
                             {"sku": product.sku})
        products[product.sku] = product
        wanted[product.sku] = wanted.get(product.sku, 0) + item.qty
    stock = catalog.availability(db, store.id, list(wanted))
    for sku, qty in wanted.items():
        cart.validate_qty(products[sku], qty, stock[sku])
    lines = [cart.to_line(products[sku], qty) for sku, qty in wanted.items()]
    coupon: Coupon | None = None
    if body.coupon:
        code = body.coupon.strip().upper()
        coupon = pricing.check_coupon(db.get(Coupon, code), code,
                                      sum(line.total_paise for line in lines), at)
    priced = pricing.price(lines, coupon, at)
    return {"store": {"id": store.id, "name": store.name, "code": store.code},
            "pincode": body.pincode.strip(), **priced.to_json(),
            "eta_minutes": store.eta_minutes}


@router.post("/api/location", tags=["cart"])
def set_location(body: LocationIn, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """Bind the session and its cart to the store serving this pincode."""
    at = now()
    store = catalog.require_store(db, body.pincode, at)
    ws = ensure_session(request, db, who)
    changes = cart.rebind(db, ws, body.pincode, at)
    db.commit()
    return {"pincode": ws.pincode, "store": store_json(store),
            "eta_minutes": store.eta_minutes, "cart_changes": changes}


@router.get("/api/cart", tags=["cart"])
def get_cart(db: Db, who: Who) -> dict[str, Any]:
    """The priced cart."""
    return cart_json(db, who)


@router.post("/api/cart/items", tags=["cart"])
def add_to_cart(body: CartItemIn, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """Add qty units of a SKU (respecting max per order and stock)."""
    ws = who.ws
    if ws is None or not ws.pincode:
        raise StoreError(409, "location_required", "Set your delivery location first.")
    cart.set_quantity(db, ws, body.sku, body.qty, now(), add=True)
    db.commit()
    return cart_json(db, who)


@router.put("/api/cart/items/{sku}", tags=["cart"])
def set_cart_qty(sku: str, body: QtyIn, db: Db, who: Who) -> dict[str, Any]:
    """Set a line's quantity; 0 removes it."""
    if body.qty < 0:
        raise StoreError(422, "invalid_quantity", "Quantity cannot be negative.")
    cart.set_quantity(db, who.ws, sku, body.qty, now())
    db.commit()
    return cart_json(db, who)


@router.delete("/api/cart/items/{sku}", tags=["cart"])
def remove_from_cart(sku: str, db: Db, who: Who) -> dict[str, Any]:
    """Remove a line."""
    cart.set_quantity(db, who.ws, sku, 0, now())
    db.commit()
    return cart_json(db, who)


@router.post("/api/cart/coupon", tags=["cart"])
def apply_coupon(body: CouponIn, db: Db, who: Who) -> dict[str, Any]:
    """Apply a coupon to the cart (422 if expired, exhausted or below its minimum)."""
    cart.apply_coupon(db, who.ws, body.code, now())
    db.commit()
    return cart_json(db, who)


@router.delete("/api/cart/coupon", tags=["cart"])
def remove_coupon(db: Db, who: Who) -> dict[str, Any]:
    """Remove the coupon."""
    if who.ws is not None:
        who.ws.coupon_code = None
        db.commit()
    return cart_json(db, who)


@router.get("/api/slots", tags=["checkout"])
def list_slots(db: Db, who: Who) -> dict[str, Any]:
    """Delivery slots of the bound store."""
    store = cart.bound_store(db, who.ws, now())
    return {"items": [{"id": s.id, "label": s.label, "eta_minutes": s.eta_minutes}
                      for s in checkout.slots(store, now())]}


def _user_json(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email, "phone": user.phone}


@router.post("/api/auth/signup", status_code=201, tags=["auth"])
def signup(body: SignupIn, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """Create an account and log in."""
    at = now()
    user = accounts.signup(db, accounts.SignupForm(body.name, body.email, body.phone,
                                                   body.password), at)
    ws, token = accounts.start_user_session(db, user, who.ws, at)
    db.commit()
    remember_login(request, token, user)
    return {"user": _user_json(user), "token": token}


@router.post("/api/auth/login", tags=["auth"])
def login(body: LoginIn, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """Log in (5 failures per email in 5 minutes -> 429)."""
    limiter = runtime(request).limiter
    user = accounts.authenticate(db, limiter, body.email, body.password, client_address(request))
    ws, token = accounts.start_user_session(db, user, who.ws, now())
    db.commit()
    remember_login(request, token, user)
    return {"user": _user_json(user), "token": token}


@router.post("/api/auth/logout", tags=["auth"])
def logout(request: Request, db: Db, who: Who) -> dict[str, Any]:
    """End the session."""
    if who.ws is not None:
        accounts.end_session(db, who.ws)
        db.commit()
    request.state.clear_session = True
    return {"status": "logged_out"}


@router.get("/api/me", tags=["auth"])
def me(who: Who) -> dict[str, Any]:
    """The logged-in customer."""
    return {"user": _user_json(require_user(who))}


@router.post("/api/checkout", tags=["checkout"])
def place_order(body: CheckoutIn, request: Request, db: Db, who: Who,
                idempotency_key: Annotated[str, Header()] = "") -> JSONResponse:
    """Place the cart's order and pay; a repeated Idempotency-Key replays the outcome."""
    user = require_user(who)
    rt = runtime(request)
    req = checkout.CheckoutRequest(
        slot=body.slot, address=body.address, age_confirmed=body.age_confirmed,
        payment=PaymentDetails(method=body.payment.method, card_number=body.payment.card_number,
                               card_expiry=body.payment.expiry, card_cvc=body.payment.cvc,
                               upi_id=body.payment.upi_id))
    result = checkout.checkout(rt.config, rt.gateway, db, who.ws, user, req, idempotency_key,
                               now())
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


class ChallengeIn(BaseModel):
    """The customer's answer to the 3-D Secure challenge (sandbox)."""

    approve: bool = True


@router.post("/api/payments/{reference}/authenticate", tags=["checkout"])
def authenticate_payment(reference: str, body: ChallengeIn, request: Request, db: Db,
                         who: Who) -> JSONResponse:
    """Complete the 3-D Secure challenge of a checkout that answered requires_action."""
    user = require_user(who)
    result = checkout.authenticate_challenge(runtime(request).config, db, who.ws, user,
                                             reference, body.approve, now())
    return JSONResponse(result.body, status_code=result.status)


@router.get("/api/orders", tags=["orders"])
def my_orders(request: Request, db: Db, who: Who) -> dict[str, Any]:
    """The customer's orders, newest first."""
    user = require_user(who)
    tick = runtime(request).config.tick_seconds
    at = now()
    found = [orders.advance(db, o, at, tick) for o in orders.list_orders(db, user)]
    return {"items": [{"id": o.id, "status": o.status, "refund_status": o.refund_status,
                       "payable": rupees(o.payable_paise),
                       "created_at": o.created_at.isoformat() + "Z"} for o in found]}


@router.get("/api/orders/{order_id}", tags=["orders"])
def get_order(order_id: OrderId, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """One of the customer's orders, moved forward by the fulfilment clock."""
    rt = runtime(request)
    if rt.config.has("idor-orders"):
        # The defect: any order id is served to anyone, with its delivery contact.
        order = orders.get_order(db, order_id, who.user, any_owner=True)
    else:
        order = orders.get_order(db, order_id, require_user(who))
    orders.advance(db, order, now(), rt.config.tick_seconds)
    return orders.order_json(db, order, now(), rt.config.tick_seconds)


@router.post("/api/orders/{order_id}/cancel", tags=["orders"])
def cancel_order(order_id: OrderId, request: Request, db: Db, who: Who) -> dict[str, Any]:
    """Cancel before dispatch: stock released, refund initiated."""
    rt = runtime(request)
    order = orders.get_order(db, order_id, require_user(who))
    orders.cancel(db, order, now(), rt.config.tick_seconds)
    return orders.order_json(db, order, now(), rt.config.tick_seconds)
