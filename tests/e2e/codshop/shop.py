"""Prairie Pantry: a small shop of the e2e tests' own that does things differently.

What it does differently (none of it a defect): shipping is chosen at checkout (the cart
shows no fee, the checkout summary adds it), cash on delivery is its only payment method
(orders are placed with payment pending; nothing is captured), buy-2-get-1 and free-item
coupons, and a per-IP limiter on sign-up and on login (by default 8 posts per 15 minutes
each, answered with HTTP 429 and Retry-After). It reads the client address from the socket only: no
forwarded header can reset it.

`defect="order_total"` is the defective release: the order charges the shipping fee twice,
while the checkout summary the shopper saw was right.

Run on its own: `python tests/e2e/codshop/shop.py [--defect order_total] [--limit 8]`.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PRODUCTS = {  # sku: (name, price, stock)
    "oat-milk": ("Oat Milk 1 L", Decimal("3.49"), 500),
    "sourdough": ("Sourdough Loaf", Decimal("5.25"), 500),
    "coffee": ("Ground Coffee 500 g", Decimal("11.90"), 500),
    "saffron": ("Saffron 1 g", Decimal("8.00"), 0),
}
SHIPPING = {"standard": ("Standard (3-5 days)", Decimal("4.99")),
            "express": ("Express (next day)", Decimal("12.00"))}
COUPONS: dict[str, dict[str, Any]] = {
    "FIVEOFF": {"kind": "flat", "value": Decimal("5"), "min": Decimal("20")},
    "B2G1COFFEE": {"kind": "bxgy", "sku": "coffee", "buy": 2, "get": 1},
    "FREEBREAD": {"kind": "free", "sku": "sourdough", "min": Decimal("10")},
    "WINTER15": {"kind": "expired"},
}
WINDOW_S = 15 * 60


def money(value: Decimal) -> str:
    """US dollars, as the shop shows them."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


@dataclass
class Account:
    email: str
    password: str
    name: str
    orders: list[str] = field(default_factory=list)


@dataclass
class Order:
    id: str
    email: str
    lines: list[tuple[str, int, Decimal]]
    items: Decimal
    discount: Decimal
    shipping: str
    shipping_fee: Decimal
    total: Decimal
    address: str
    status: str = "Pending"
    payment: str = "Cash on delivery: to be paid to the courier"


@dataclass
class Session:
    email: str = ""
    cart: dict[str, int] = field(default_factory=dict)
    coupon: str = ""
    flash: str = ""


class Shop:
    """The shop's state, shared by its request handlers."""

    def __init__(self, defect: str = "", limit: int = 8) -> None:
        self.defect = defect
        self.limit = limit
        self.lock = threading.Lock()
        self.accounts: dict[str, Account] = {}
        self.sessions: dict[str, Session] = {}
        self.orders: dict[str, Order] = {}
        self.stock = {sku: p[2] for sku, p in PRODUCTS.items()}
        #: (endpoint, client ip) → times of its posts in the window
        self.posts: dict[tuple[str, str], list[float]] = {}
        #: what the tests check afterwards: posts per endpoint, 429s, forwarded headers seen
        self.auth_posts: dict[str, int] = {"signup": 0, "login": 0}
        self.limited: int = 0
        self.forwarded_headers: set[str] = set()

    def allow(self, endpoint: str, ip: str) -> int:
        """0 when the post may go on, else the seconds until it may (Retry-After)."""
        now = time.time()
        with self.lock:
            self.auth_posts[endpoint] += 1
            times = [t for t in self.posts.get((endpoint, ip), []) if now - t < WINDOW_S]
            if len(times) >= self.limit:
                self.limited += 1
                self.posts[(endpoint, ip)] = times
                return max(1, int(WINDOW_S - (now - times[0]))) if times else WINDOW_S
            times.append(now)
            self.posts[(endpoint, ip)] = times
            return 0

    # --- pricing ---------------------------------------------------------------------

    def lines(self, session: Session) -> list[tuple[str, int, Decimal]]:
        return [(sku, qty, PRODUCTS[sku][1] * qty) for sku, qty in session.cart.items()]

    def discount(self, session: Session) -> Decimal:
        rule = COUPONS.get(session.coupon)
        if not rule:
            return Decimal("0")
        if rule["kind"] == "flat":
            return rule["value"]
        if rule["kind"] == "bxgy":
            qty = session.cart.get(rule["sku"], 0)
            free = qty // (rule["buy"] + rule["get"]) * rule["get"]
            return PRODUCTS[rule["sku"]][1] * free
        if rule["kind"] == "free":  # one loaf free, shown at its price and taken off
            return PRODUCTS[rule["sku"]][1] if session.cart.get(rule["sku"]) else Decimal("0")
        return Decimal("0")

    def items_total(self, session: Session) -> Decimal:
        return sum((total for _, _, total in self.lines(session)), Decimal("0"))

    def coupon_refusal(self, code: str, session: Session) -> str:
        rule = COUPONS.get(code)
        if rule is None:
            return f"Sorry, {code} is not a code we know."
        if rule["kind"] == "expired":
            return f"{code} is no longer valid (the offer ended)."
        if rule["kind"] == "flat" and self.items_total(session) < rule["min"]:
            return f"{code} needs a basket of at least {money(rule['min'])}."
        if rule["kind"] == "free" and (self.items_total(session) - PRODUCTS[rule["sku"]][1]
                                       * session.cart.get(rule["sku"], 0) < rule["min"]):
            return f"{code} needs a basket of at least {money(rule['min'])}."
        if rule["kind"] == "free" and not session.cart.get(rule["sku"]):
            return f"{code} needs {PRODUCTS[rule['sku']][0]} in your basket."
        if rule["kind"] == "bxgy" and session.cart.get(rule["sku"], 0) < rule["buy"] + rule["get"]:
            return f"{code} needs {rule['buy'] + rule['get']} of {PRODUCTS[rule['sku']][0]}."
        return ""


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title} - Prairie Pantry</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<header><a href="/" class="brand">Prairie Pantry</a> <form action="/search" class="search">
<input name="q" aria-label="Search"><button>Search</button></form>
<nav>{who} <a href="/basket" class="basket-link">Basket</a></nav></header>
{flash}<main><h1>{title}</h1>{body}</main></body></html>"""


class Handler(BaseHTTPRequestHandler):
    """One request; the shop is the server's `shop` attribute."""

    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet."""

    @property
    def shop(self) -> Shop:
        return self.server.shop  # type: ignore[no-any-return]

    # --- plumbing ----------------------------------------------------------------------

    def session(self) -> tuple[str, Session]:
        cookie = self.headers.get("Cookie", "")
        sid = next((c.split("=", 1)[1] for c in (p.strip() for p in cookie.split(";"))
                    if c.startswith("pp_session=")), "")
        with self.shop.lock:
            if sid not in self.shop.sessions:
                sid = secrets.token_hex(12)
                self.shop.sessions[sid] = Session()
            return sid, self.shop.sessions[sid]

    def form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def send(self, status: int, body: str, sid: str, headers: dict[str, str] | None = None
             ) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", f"pp_session={sid}; Path=/; HttpOnly; SameSite=Lax")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def page(self, sid: str, session: Session, title: str, body: str, status: int = 200,
             headers: dict[str, str] | None = None) -> None:
        who = (f'<span class="who">{html.escape(session.email)}</span> '
               '<a href="/logout" class="logout">Sign out</a>' if session.email
               else '<a href="/login">Sign in</a>')
        flash = f'<p class="flash">{html.escape(session.flash)}</p>' if session.flash else ""
        session.flash = ""
        self.send(status, PAGE.format(title=html.escape(title), body=body, who=who,
                                      flash=flash), sid, headers)

    def redirect(self, sid: str, to: str) -> None:
        self.send_response(303)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.send_header("Set-Cookie", f"pp_session={sid}; Path=/; HttpOnly; SameSite=Lax")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self.route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self.route("POST")

    def route(self, method: str) -> None:
        for name in ("X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP"):
            if self.headers.get(name):
                self.shop.forwarded_headers.add(name)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        sid, session = self.session()
        parts = [p for p in url.path.split("/") if p]
        try:
            handler = getattr(self, f"{method.lower()}_{parts[0] if parts else 'home'}", None)
            if handler is None:
                self.page(sid, session, "Not found", "<p>No such page.</p>", 404)
                return
            handler(sid, session, parts[1:], query)
        except BrokenPipeError:
            pass

    # --- catalogue ---------------------------------------------------------------------

    def get_home(self, sid: str, session: Session, rest: list[str], query: dict[str, str]
                 ) -> None:
        self.get_search(sid, session, rest, {"q": ""})

    def get_search(self, sid: str, session: Session, rest: list[str], query: dict[str, str]
                   ) -> None:
        term = query.get("q", "").lower()
        found = [(sku, p) for sku, p in PRODUCTS.items() if term in p[0].lower()]
        items = "".join(
            f'<li class="product" data-sku="{sku}"><a href="/product/{sku}">{p[0]}</a> '
            f'<span class="price">{money(p[1])}</span>'
            f'{"" if self.shop.stock[sku] else " <em>Sold out</em>"}</li>' for sku, p in found)
        body = f'<ul class="products">{items}</ul>' if found else '<p class="empty">No matches.</p>'
        self.page(sid, session, "Search" if term else "Shop", body)

    def get_product(self, sid: str, session: Session, rest: list[str],
                    query: dict[str, str]) -> None:
        sku = rest[0] if rest else ""
        if sku not in PRODUCTS:
            self.page(sid, session, "Not found", "<p>No such product.</p>", 404)
            return
        name, price, _ = PRODUCTS[sku]
        stock = self.shop.stock[sku]
        buy = (f'<form method="post" action="/basket/add"><input type="hidden" name="sku" '
               f'value="{sku}"><button class="add">Add to basket</button></form>')
        body = (f'<p class="price">{money(price)}</p><p class="availability">'
                f'{"In stock" if stock else "Sold out"}</p>{buy}')
        self.page(sid, session, name, body)

    # --- basket --------------------------------------------------------------------------

    def post_basket(self, sid: str, session: Session, rest: list[str],
                    query: dict[str, str]) -> None:
        form = self.form()
        sku, action = form.get("sku", ""), rest[0] if rest else ""
        if action == "coupon":
            code = form.get("code", "").strip().upper()
            refusal = self.shop.coupon_refusal(code, session)
            session.coupon = "" if refusal else code
            session.flash = refusal or f"{code} applied."
        elif sku not in PRODUCTS:
            session.flash = "No such product."
        elif action == "add":
            if self.shop.stock[sku] <= session.cart.get(sku, 0):
                session.flash = f"{PRODUCTS[sku][0]} is sold out."
            else:
                session.cart[sku] = session.cart.get(sku, 0) + 1
                session.flash = f"{PRODUCTS[sku][0]} added to your basket."
        elif action in ("more", "less", "remove"):
            qty = session.cart.get(sku, 0) + {"more": 1, "less": -1, "remove": -10**6}[action]
            if qty <= 0:
                session.cart.pop(sku, None)
            else:
                session.cart[sku] = qty
        if session.coupon and self.shop.coupon_refusal(session.coupon, session):
            session.coupon = ""  # the basket no longer qualifies
        self.redirect(sid, "/basket")

    def get_basket(self, sid: str, session: Session, rest: list[str],
                   query: dict[str, str]) -> None:
        rows = "".join(
            f'<tr class="line" data-sku="{sku}"><td class="name">{PRODUCTS[sku][0]}</td>'
            f'<td class="qty">{qty}</td><td class="total">{money(total)}</td><td>'
            + "".join(f'<form method="post" action="/basket/{a}"><input type="hidden" '
                      f'name="sku" value="{sku}"><button class="{a}">{a}</button></form>'
                      for a in ("more", "less", "remove"))
            + "</td></tr>" for sku, qty, total in self.shop.lines(session))
        items = self.shop.items_total(session)
        discount = self.shop.discount(session)
        body = (f'<table class="lines">{rows}</table>'
                f'<dl class="totals"><dt>Items</dt><dd class="items">{money(items)}</dd>'
                f'<dt>Discount</dt><dd class="discount">{money(-discount)}</dd>'
                f'<dt>Total</dt><dd class="grand">{money(items - discount)}</dd></dl>'
                '<p class="note">Shipping is chosen at checkout.</p>'
                '<form method="post" action="/basket/coupon"><input name="code" '
                'aria-label="Coupon"><button class="apply">Apply</button></form>'
                '<a href="/checkout" class="to-checkout">Checkout</a>')
        self.page(sid, session, "Your basket", body)

    # --- checkout and orders ---------------------------------------------------------------

    def get_checkout(self, sid: str, session: Session, rest: list[str],
                     query: dict[str, str]) -> None:
        if not session.email:
            self.redirect(sid, "/login?next=/checkout")
            return
        chosen = query.get("shipping", "standard")
        if chosen not in SHIPPING:
            chosen = "standard"
        items, discount = self.shop.items_total(session), self.shop.discount(session)
        fee = SHIPPING[chosen][1]
        options = "".join(
            f'<label><input type="radio" name="shipping" value="{key}"'
            f'{" checked" if key == chosen else ""} onchange="location.search=\'shipping={key}\'">'
            f' {label} {money(price)}</label>' for key, (label, price) in SHIPPING.items())
        body = (f'<form method="post" action="/checkout/place" class="place">'
                f'<fieldset class="shipping">{options}</fieldset>'
                f'<dl class="summary"><dt>Items</dt><dd class="items">{money(items)}</dd>'
                f'<dt>Discount</dt><dd class="discount">{money(-discount)}</dd>'
                f'<dt>Shipping</dt><dd class="shipping-fee">{money(fee)}</dd>'
                f'<dt>Order total</dt><dd class="grand">{money(items - discount + fee)}</dd></dl>'
                f'<input type="hidden" name="shipping" value="{chosen}">'
                '<label>Address <input name="address" class="address"></label>'
                '<p>Payment: <label><input type="radio" name="payment" value="cod" checked> '
                'Cash on delivery</label></p><button class="place-order">Place order</button>'
                '</form>')
        self.page(sid, session, "Checkout", body)

    def post_checkout(self, sid: str, session: Session, rest: list[str],
                      query: dict[str, str]) -> None:
        form = self.form()
        if not session.email:
            self.redirect(sid, "/login")
            return
        if not session.cart or not form.get("address") or form.get("payment") != "cod":
            session.flash = "Please fill in your address."
            self.redirect(sid, "/checkout")
            return
        shipping = form.get("shipping", "standard")
        fee = SHIPPING.get(shipping, SHIPPING["standard"])[1]
        items, discount = self.shop.items_total(session), self.shop.discount(session)
        charged = fee * 2 if self.shop.defect == "order_total" else fee
        with self.shop.lock:
            order_id = f"PP-{len(self.shop.orders) + 1001}"
            for sku, qty in session.cart.items():
                self.shop.stock[sku] -= qty
            self.shop.orders[order_id] = Order(
                order_id, session.email, self.shop.lines(session), items, discount, shipping,
                charged, items - discount + charged, form["address"])
            self.shop.accounts[session.email].orders.insert(0, order_id)
        session.cart, session.coupon = {}, ""
        self.redirect(sid, f"/orders/{order_id}")

    def get_orders(self, sid: str, session: Session, rest: list[str],
                   query: dict[str, str]) -> None:
        if not session.email:
            self.redirect(sid, "/login")
            return
        account = self.shop.accounts[session.email]
        if not rest:
            rows = "".join(f'<li class="order"><a href="/orders/{o}">{o}</a> '
                           f'<span class="status">{self.shop.orders[o].status}</span></li>'
                           for o in account.orders)
            self.page(sid, session, "Your orders", f'<ul class="orders">{rows}</ul>')
            return
        order = self.shop.orders.get(rest[0])
        if order is None or order.email != session.email:
            self.page(sid, session, "Not found", "<p>No such order.</p>", 404)
            return
        cancel = ('<form method="post" action="/orders/cancel"><input type="hidden" '
                  f'name="order" value="{order.id}"><button class="cancel">Cancel order'
                  '</button></form>' if order.status == "Pending" else "")
        body = (f'<p class="order-id">{order.id}</p><p class="status">{order.status}</p>'
                f'<p class="payment">{order.payment}</p>'
                f'<dl class="summary"><dt>Shipping</dt><dd class="shipping-fee">'
                f'{money(order.shipping_fee)}</dd><dt>Order total</dt>'
                f'<dd class="grand">{money(order.total)}</dd></dl>{cancel}')
        self.page(sid, session, f"Order {order.id}", body)

    def post_orders(self, sid: str, session: Session, rest: list[str],
                    query: dict[str, str]) -> None:
        form = self.form()
        order = self.shop.orders.get(form.get("order", ""))
        if order is None or order.email != session.email or order.status != "Pending":
            session.flash = "This order can no longer be cancelled."
            self.redirect(sid, "/orders")
            return
        with self.shop.lock:
            order.status = "Cancelled"
            order.payment = "Nothing to pay"
            for sku, qty, _ in order.lines:
                self.shop.stock[sku] += qty
        self.redirect(sid, f"/orders/{order.id}")

    # --- accounts ---------------------------------------------------------------------------

    def get_login(self, sid: str, session: Session, rest: list[str],
                  query: dict[str, str]) -> None:
        body = ('<form method="post" action="/login" class="login"><input name="email" '
                'aria-label="Email"><input name="password" type="password" aria-label="Password">'
                '<button class="sign-in">Sign in</button></form>'
                '<h2>New here?</h2><form method="post" action="/signup" class="signup">'
                '<input name="name" aria-label="Name"><input name="email" aria-label="Email">'
                '<input name="password" type="password" aria-label="Password">'
                '<button class="create">Create account</button></form>')
        self.page(sid, session, "Sign in", body)

    def _limited(self, endpoint: str, sid: str, session: Session) -> bool:
        wait = self.shop.allow(endpoint, self.client_address[0])
        if wait:
            self.page(sid, session, "Too many requests",
                      "<p class='error'>Too many attempts. Please try again later.</p>", 429,
                      {"Retry-After": str(wait)})
        return bool(wait)

    def post_signup(self, sid: str, session: Session, rest: list[str],
                    query: dict[str, str]) -> None:
        form = self.form()
        if self._limited("signup", sid, session):
            return
        email = form.get("email", "").strip().lower()
        with self.shop.lock:
            if not email or email in self.shop.accounts or len(form.get("password", "")) < 8:
                session.flash = "That email cannot be used."
                self.redirect(sid, "/login")
                return
            self.shop.accounts[email] = Account(email, form["password"], form.get("name", ""))
        session.email = email
        self.redirect(sid, "/account")

    def post_login(self, sid: str, session: Session, rest: list[str],
                   query: dict[str, str]) -> None:
        form = self.form()
        if self._limited("login", sid, session):
            return
        account = self.shop.accounts.get(form.get("email", "").strip().lower())
        if account is None or account.password != form.get("password"):
            session.flash = "Email or password is incorrect."
            self.redirect(sid, "/login")
            return
        session.email = account.email
        self.redirect(sid, "/account")

    def get_logout(self, sid: str, session: Session, rest: list[str],
                   query: dict[str, str]) -> None:
        session.email = ""
        self.redirect(sid, "/")

    def get_account(self, sid: str, session: Session, rest: list[str],
                    query: dict[str, str]) -> None:
        if not session.email:
            self.redirect(sid, "/login")
            return
        self.page(sid, session, "Your account",
                  f'<p class="account-email">{html.escape(session.email)}</p>')


@contextmanager
def serve(defect: str = "", limit: int = 8) -> Iterator[tuple[str, Shop]]:
    """The shop on a free 127.0.0.1 port: (base URL, its state)."""
    shop = Shop(defect, limit)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.shop = shop  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", shop
    finally:
        server.shutdown()
        server.server_close()


def provision(shop: Shop, email: str, password: str) -> None:
    """Create a test shopper directly (a team's pre-provisioned account pool)."""
    with shop.lock:
        shop.accounts[email] = Account(email, password, "Pool Shopper")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defect", default="")
    parser.add_argument("--limit", type=int, default=8)
    args = parser.parse_args()
    with serve(args.defect, args.limit) as (url, _):
        print(url, flush=True)
        threading.Event().wait()
