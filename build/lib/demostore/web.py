"""Server-rendered storefront pages (Jinja2). Every form carries a CSRF token."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from demostore import accounts, cart, catalog, checkout, orders
from demostore.errors import StoreError
from demostore.models import Order, Payment, Product, Store
from demostore.money import format_inr
from demostore.payments import PaymentDetails
from demostore.runtime import (
    Visitor,
    check_csrf,
    client_address,
    csrf_token,
    ensure_session,
    flash,
    get_db,
    load_visitor,
    now,
    remember_login,
    runtime,
)

PACKAGE_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=str(PACKAGE_DIR / "templates"))
templates.env.filters["inr"] = format_inr


def initials(name: str) -> str:
    """Two letters for a product or category tile (emoji fonts are not everywhere)."""
    words = [w for w in name.replace("&", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper()


templates.env.filters["initials"] = initials
STATIC_JS = (PACKAGE_DIR / "static" / "store.js").read_text(encoding="utf-8")
# The broken-add-to-cart defect: a renamed function that the click handler still calls.
BROKEN_JS = STATIC_JS.replace("addToCart(button);", "addItemToCart(button);")
if BROKEN_JS == STATIC_JS:  # store.js changed shape: the fault would silently do nothing
    raise RuntimeError("broken-add-to-cart: call site 'addToCart(button);' not in store.js")

router = APIRouter(include_in_schema=False)
Db = Annotated[Session, Depends(get_db)]
OrderId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # ids beyond INT overflow some DBs


def _visitor(request: Request, db: Db) -> Visitor:
    return load_visitor(request, db)


Who = Annotated[Visitor, Depends(_visitor)]


def _safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths, so ?next= cannot redirect off-site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def redirect(url: str) -> RedirectResponse:
    """A 303 after a POST."""
    return RedirectResponse(url, status_code=303)


def render(request: Request, name: str, db: Session, who: Visitor, status: int = 200,
           **context: Any) -> HTMLResponse:
    """Render a page with the layout's context (location, cart count, user, CSRF, flash)."""
    from demostore.app import read_flash

    config = runtime(request).config
    count = sum(qty for _, qty in cart.items(db, who.ws))
    base = {
        "user": who.user,
        "pincode": who.ws.pincode if who.ws else None,
        "cart_count": count,
        "csrf": csrf_token(request),
        "flash": read_flash(request),
        "version": config.version,
        "faults": config.faults,
        "q": "",
    }
    base.update(context)
    return templates.TemplateResponse(request, name, base, status_code=status)


def render_error(request: Request, error: StoreError) -> Response:
    """The HTML page for a refused request (used by the app's error handler)."""
    rt = runtime(request)
    with rt.sessions() as db:
        who = load_visitor(request, db)
        return render(request, "error.html", db, who, status=error.status, error=error)


def _shop_store(db: Session, who: Visitor) -> tuple[Store, catalog.Serviceability | None]:
    return catalog.browsing_store(db, who.ws.pincode if who.ws else None, now())


def _cards(db: Session, who: Visitor, products: list[Product]) -> list[dict[str, Any]]:
    store, _ = _shop_store(db, who)
    stock = catalog.availability(db, store.id, [p.sku for p in products])
    return [{"p": p, "available": stock[p.sku]} for p in products]


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def home(request: Request, db: Db, who: Who) -> Response:
    """Home: location picker, categories, featured products."""
    _, service = _shop_store(db, who)
    return render(request, "home.html", db, who, service=service, location_error=None,
                  categories=catalog.categories(db),
                  cards=_cards(db, who, catalog.featured_products(db)))


@router.post("/location")
def set_location(request: Request, db: Db, who: Who, pincode: Annotated[str, Form()] = "",
                 csrf_token: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/") -> Response:
    """Bind the visitor to the store serving a pincode (re-binding the cart)."""
    check_csrf(request, csrf_token)
    at = now()
    try:
        result = catalog.check_pincode(db, pincode[:20], at)
        catalog.require_store(db, result.pincode, at)
    except StoreError as exc:
        _, service = _shop_store(db, who)
        return render(request, "home.html", db, who, service=service,
                      location_error=exc.message, typed_pincode=pincode[:20],
                      categories=catalog.categories(db),
                      cards=_cards(db, who, catalog.featured_products(db)))
    ws = ensure_session(request, db, who)
    changes = cart.rebind(db, ws, result.pincode, at)
    db.commit()
    if changes:
        flash(request, "notice", "Your cart changed: " + "; ".join(changes) + ".")
    return redirect(_safe_next(next))


@router.get("/c/{slug}", response_class=HTMLResponse)
def category(slug: str, request: Request, db: Db, who: Who) -> Response:
    """A category's products."""
    found = catalog.get_category(db, slug)
    return render(request, "category.html", db, who, category=found,
                  categories=catalog.categories(db),
                  cards=_cards(db, who, catalog.products_in_category(db, slug)))


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, db: Db, who: Who, q: str = "") -> Response:
    """Search results."""
    q = q[:100]
    return render(request, "search.html", db, who, q=q,
                  cards=_cards(db, who, catalog.search_products(db, q)))


@router.get("/p/{sku}", response_class=HTMLResponse)
def product(sku: str, request: Request, db: Db, who: Who) -> Response:
    """A product page with availability in the bound store."""
    item = catalog.get_product(db, sku)
    store, service = _shop_store(db, who)
    available = catalog.availability(db, store.id, [item.sku])[item.sku]
    return render(request, "product.html", db, who, item=item, available=available,
                  store=store, service=service, category=catalog.get_category(db,
                                                                            item.category_slug))


@router.get("/cart", response_class=HTMLResponse)
def cart_page(request: Request, db: Db, who: Who) -> Response:
    """The cart with fees, coupon and totals."""
    view = cart.view(db, who.ws, now())
    return render(request, "cart.html", db, who, view=view,
                  shown_payable=_displayed_payable(request, view))


def _displayed_payable(request: Request, view: cart.CartView) -> int:
    """The payable amount as shown; the wrong-total fault drops the delivery fee."""
    payable = view.quote.payable_paise
    if runtime(request).config.has("wrong-total"):
        payable -= view.quote.fee("delivery")
    return payable


@router.post("/cart/update")
def cart_update(request: Request, db: Db, who: Who, sku: Annotated[str, Form()] = "",
                action: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
                ) -> Response:
    """Quantity buttons and remove on the cart page."""
    check_csrf(request, csrf_token)
    current = dict((p.sku, q) for p, q in cart.items(db, who.ws))
    qty = current.get(sku.upper(), 0)
    target = {"inc": qty + 1, "dec": max(qty - 1, 0), "remove": 0}.get(action)
    if target is None:
        raise StoreError(422, "invalid_action", "Unknown cart action.")
    try:
        cart.set_quantity(db, who.ws, sku, target, now())
        db.commit()
    except StoreError as exc:
        db.rollback()
        flash(request, "cart_error", exc.message)
    return redirect("/cart")


@router.post("/cart/coupon")
def cart_coupon(request: Request, db: Db, who: Who, code: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "",
                remove: Annotated[str, Form()] = "") -> Response:
    """Apply or remove a coupon."""
    check_csrf(request, csrf_token)
    if remove:
        if who.ws is not None:
            who.ws.coupon_code = None
            db.commit()
        flash(request, "coupon_ok", "Coupon removed.")
        return redirect("/cart")
    try:
        coupon = cart.apply_coupon(db, who.ws, code, now())
        db.commit()
        flash(request, "coupon_ok", f"{coupon.code} applied: {coupon.description}.")
    except StoreError as exc:
        db.rollback()
        flash(request, "coupon_error", exc.message)
    return redirect("/cart")


def _login_redirect(path: str) -> RedirectResponse:
    return redirect("/login?next=" + quote(path, safe="/"))


def _checkout_page(request: Request, db: Session, who: Visitor, error: str | None = None,
                   form: dict[str, Any] | None = None) -> Response:
    at = now()
    view = cart.view(db, who.ws, at)
    if not view.quote.lines:
        flash(request, "cart_error", "Your cart is empty.")
        return redirect("/cart")
    store = view.store
    if store is None or who.ws is None or not who.ws.pincode:
        flash(request, "notice", "Set your delivery location first.")
        return redirect("/")
    products = {p.sku: p for p, _ in cart.items(db, who.ws)}
    return render(request, "checkout.html", db, who, view=view,
                  slots=checkout.slots(store, at), payment_error=error, form=form or {},
                  idem_key=secrets.token_urlsafe(16),
                  needs_age=max((p.min_age for p in products.values()), default=0),
                  shown_payable=_displayed_payable(request, view))


@router.get("/checkout", response_class=HTMLResponse)
def checkout_page(request: Request, db: Db, who: Who) -> Response:
    """Slot, address and payment (login required)."""
    if who.user is None:
        return _login_redirect("/checkout")
    return _checkout_page(request, db, who)


@router.post("/checkout")
def checkout_submit(
    request: Request, db: Db, who: Who,
    csrf_token: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
    slot: Annotated[str, Form()] = "now",
    address: Annotated[str, Form()] = "",
    payment_method: Annotated[str, Form()] = "card",
    card_number: Annotated[str, Form()] = "",
    card_expiry: Annotated[str, Form()] = "",
    card_cvc: Annotated[str, Form()] = "",
    upi_id: Annotated[str, Form()] = "",
    age_confirm: Annotated[str, Form()] = "",
) -> Response:
    """Pay; on success go to the order page, otherwise show why (cart kept)."""
    check_csrf(request, csrf_token)
    if who.user is None:
        return _login_redirect("/checkout")
    rt = runtime(request)
    req = checkout.CheckoutRequest(
        slot=slot[:20], address=address[:400], age_confirmed=bool(age_confirm),
        payment=PaymentDetails(method=payment_method[:10], card_number=card_number[:40],
                               card_expiry=card_expiry[:10], card_cvc=card_cvc[:10],
                               upi_id=upi_id[:100]))
    form = {"slot": slot, "address": address, "payment_method": payment_method,
            "upi_id": upi_id}
    try:
        result = checkout.checkout(rt.config, rt.gateway, db, who.ws, who.user, req,
                                   idempotency_key, now())
    except StoreError as exc:
        db.rollback()
        return _checkout_page(request, db, who, error=exc.message, form=form)
    if result.order_id is None:
        error = result.body.get("error", {})
        if error.get("code") == "requires_action":
            return redirect(error["details"]["challenge_url"])
        return _checkout_page(request, db, who, error=error.get("message", "Payment failed."),
                              form=form)
    return redirect(f"/orders/{result.order_id}")


@router.get("/3ds/{reference}", response_class=HTMLResponse)
def challenge_page(reference: str, request: Request, db: Db, who: Who) -> Response:
    """The sandbox bank's 3-D Secure page: approve or deny the payment."""
    if who.user is None:
        return _login_redirect(f"/3ds/{reference}")
    payment = db.scalar(select(Payment).where(Payment.reference == reference[:40]))
    order = db.get(Order, payment.order_id) if payment is not None else None
    if payment is None or order is None or order.user_id != who.user.id:
        raise StoreError(404, "payment_not_found", "No payment awaiting authentication.")
    return render(request, "challenge.html", db, who, payment=payment, order=order,
                  open=payment.status == "requires_action")


@router.post("/3ds/{reference}")
def challenge_submit(reference: str, request: Request, db: Db, who: Who,
                     outcome: Annotated[str, Form()] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve -> order page; deny -> back to checkout with the reason."""
    check_csrf(request, csrf_token)
    if who.user is None:
        return _login_redirect(f"/3ds/{reference}")
    try:
        result = checkout.authenticate_challenge(runtime(request).config, db, who.ws, who.user,
                                                 reference, outcome == "approve", now())
    except StoreError as exc:
        flash(request, "payment_error", exc.message)
        return redirect("/checkout")
    if result.order_id is not None:
        return redirect(f"/orders/{result.order_id}")
    flash(request, "payment_error", result.body["error"]["message"])
    return redirect("/checkout")


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(order_id: OrderId, request: Request, db: Db, who: Who) -> Response:
    """Confirmation and tracking."""
    if who.user is None:
        return _login_redirect(f"/orders/{order_id}")
    tick = runtime(request).config.tick_seconds
    at = now()
    order = orders.advance(db, orders.get_order(db, order_id, who.user), at, tick)
    return render(request, "order.html", db, who, order=order,
                  data=orders.order_json(db, order, at, tick),
                  cancellable=order.status in orders.CANCELLABLE,
                  flow=orders.FLOW, poll_ms=int(max(1.0, min(tick, 10.0)) * 1000))


@router.post("/orders/{order_id}/cancel")
def order_cancel(order_id: OrderId, request: Request, db: Db, who: Who,
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Cancel before dispatch."""
    check_csrf(request, csrf_token)
    if who.user is None:
        return _login_redirect(f"/orders/{order_id}")
    order = orders.get_order(db, order_id, who.user)
    try:
        orders.cancel(db, order, now(), runtime(request).config.tick_seconds)
        flash(request, "notice", f"Order {order_id} cancelled; your refund is on its way.")
    except StoreError as exc:
        flash(request, "error", exc.message)
    return redirect(f"/orders/{order_id}")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: Db, who: Who, next: str = "/account") -> Response:
    """Log-in form."""
    return render(request, "login.html", db, who, next=_safe_next(next, "/account"),
                  error=None, email="")


@router.post("/login")
def login_submit(request: Request, db: Db, who: Who, email: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Log in and go back where the visitor was headed."""
    check_csrf(request, csrf_token)
    target = _safe_next(next, "/account")
    try:
        user = accounts.authenticate(db, runtime(request).limiter, email[:300], password[:300],
                                     client_address(request))
    except StoreError as exc:
        return render(request, "login.html", db, who, status=exc.status, next=target,
                      error=exc.message, email=email[:300])
    ws, token = accounts.start_user_session(db, user, who.ws, now())
    db.commit()
    remember_login(request, token, user)
    return redirect(target)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, db: Db, who: Who, next: str = "/account") -> Response:
    """Sign-up form."""
    return render(request, "signup.html", db, who, next=_safe_next(next, "/account"),
                  error=None, form={})


@router.post("/signup")
def signup_submit(request: Request, db: Db, who: Who, name: Annotated[str, Form()] = "",
                  email: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                  password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
                  csrf_token: Annotated[str, Form()] = "") -> Response:
    """Create an account and log in."""
    check_csrf(request, csrf_token)
    target = _safe_next(next, "/account")
    at = now()
    try:
        user = accounts.signup(db, accounts.SignupForm(name[:200], email[:300], phone[:30],
                                                       password[:300]), at)
    except StoreError as exc:
        db.rollback()
        return render(request, "signup.html", db, who, status=exc.status, next=target,
                      error=exc.message, form={"name": name[:200], "email": email[:300],
                                               "phone": phone[:30]})
    ws, token = accounts.start_user_session(db, user, who.ws, at)
    db.commit()
    remember_login(request, token, user)
    return redirect(target)


@router.post("/logout")
def logout(request: Request, db: Db, who: Who, csrf_token: Annotated[str, Form()] = "",
           ) -> Response:
    """Log out."""
    check_csrf(request, csrf_token)
    if who.ws is not None:
        accounts.end_session(db, who.ws)
        db.commit()
    request.state.clear_session = True
    return redirect("/")


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, db: Db, who: Who) -> Response:
    """Profile and order history."""
    if who.user is None:
        return _login_redirect("/account")
    tick = runtime(request).config.tick_seconds
    at = now()
    history = [orders.advance(db, o, at, tick) for o in orders.list_orders(db, who.user)]
    return render(request, "account.html", db, who, history=history)


@router.get("/static/store.js")
def store_js(request: Request) -> Response:
    """The storefront script (broken under the broken-add-to-cart fault)."""
    broken = runtime(request).config.has("broken-add-to-cart")
    return Response(BROKEN_JS if broken else STATIC_JS, media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})
