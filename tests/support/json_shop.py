"""A small JSON shop of the security tests' own (not the demo store), with switchable defects.

Its routes, words and status codes are not the demo's: the portable checks reach it only
through what its environment declares (`SHOP_SECURITY`, a `[security]` table). Each defect of
issue 17's real shop can be switched on alone; with none on, it is the fixed shop.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import tomllib
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.schema import build
from harness.security.settings import SecuritySettings


@dataclass(frozen=True)
class Defects:
    """What is wrong with the shop (all off: the fixed shop)."""

    #: the auth limiter keys on X-Forwarded-For (any client resets it)
    limiter_trusts_xff: bool = False
    #: the token endpoint is outside the limiter
    token_unlimited: bool = False
    #: anyone holding a cart's UUID can read and change that cart
    cart_uuid_only: bool = False
    #: cross-origin JSON writes accepted (no Origin check); JSON only, no CORS
    cross_origin_json: bool = False
    #: ... and the body is parsed as JSON whatever its Content-Type (text/plain works)
    parses_any_content_type: bool = False
    #: ... and the CORS preflight allows any origin with credentials
    cors_with_credentials: bool = False
    #: the session cookie has no SameSite
    cookie_without_samesite: bool = False
    #: X-Powered-By and a versioned Server header
    discloses_technology: bool = False
    #: malformed JSON, an unknown coupon and an out-of-stock item answer 500
    client_errors_500: bool = False
    #: HEAD on pages answers 404
    head_404: bool = False
    #: checkout's idempotency is check-then-insert, and stock is checked then decremented
    racy_checkout: bool = False


LIMIT = 5  # failed auth attempts per client per window


@dataclass
class ShopState:
    """Everything the shop stores (in memory)."""

    defects: Defects
    users: dict[str, str] = field(default_factory=dict)  # email -> password
    sessions: dict[str, str] = field(default_factory=dict)  # sid -> email
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    captures: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # idempotency key -> order index
    stock: dict[str, int] = field(default_factory=lambda: {"LAST-1": 1, "TEA-1": 1000})
    profile: dict[str, str] = field(default_factory=dict)
    failures: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: ShopState

    def log_message(self, *args: Any) -> None:
        pass

    # --- plumbing ------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
              ) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        d = self.state.defects
        if d.discloses_technology:
            self.send_header("X-Powered-By", "Express")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def version_string(self) -> str:
        return "shop/4.2.1 (Ubuntu)" if self.state.defects.discloses_technology else "shop"

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind = (self.headers.get("content-type") or "").split(";")[0].strip()
        if kind == "application/json" or (self.state.defects.parses_any_content_type and raw):
            return json.loads(raw or b"{}")  # ValueError: malformed
        if kind == "application/x-www-form-urlencoded" and not \
                self.state.defects.parses_any_content_type:
            return None
        return None

    def _user(self) -> str | None:
        cookie = self.headers.get("cookie") or ""
        match = re.search(r"(?:^|;\s*)sid=([\w-]+)", cookie)
        return self.state.sessions.get(match.group(1)) if match else None

    def _login(self, email: str) -> dict[str, str]:
        sid = secrets.token_urlsafe(16)
        self.state.sessions[sid] = email
        same_site = "" if self.state.defects.cookie_without_samesite else "; SameSite=Lax"
        return {"Set-Cookie": f"sid={sid}; Path=/; HttpOnly{same_site}"}

    def _client(self) -> str:
        if self.state.defects.limiter_trusts_xff and self.headers.get("x-forwarded-for"):
            return self.headers["x-forwarded-for"].split(",")[0].strip()
        return self.client_address[0]

    def _limited(self) -> bool:
        now = time.monotonic()
        with self.state.lock:
            hits = self.state.failures.setdefault(self._client(), deque())
            while hits and hits[0] < now - 60:
                hits.popleft()
            return len(hits) >= LIMIT

    def _fail(self) -> None:
        with self.state.lock:
            self.state.failures.setdefault(self._client(), deque()).append(time.monotonic())

    def _cross_origin_refused(self) -> bool:
        origin = self.headers.get("origin")
        host = f"http://{self.headers.get('host')}"
        return (not self.state.defects.cross_origin_json and origin is not None
                and origin != host)

    # --- routes --------------------------------------------------------------------

    def do_HEAD(self) -> None:  # noqa: N802
        if self.state.defects.head_404:
            self._send(404)
        elif self.path == "/":
            self._send(200, {"shop": "json"})
        else:
            self._send(404)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/":
            self._send(200, {"shop": "json"})
            return
        user = self._user()
        match = re.fullmatch(r"/api/carts/([\w-]+)", self.path)
        if match:
            cart = self._cart(match.group(1), user)
            if cart is not None:
                self._send(200, {"data": {"uuid": match.group(1), "items": cart["items"]}})
            return
        if self.path == "/api/orders":
            if user is None:
                self._send(401, {"message": "sign in"})
                return
            mine = [o for o in self.state.orders if o["owner"] == user]
            self._send(200, {"data": mine})
            return
        if self.path == "/api/captures":
            self._send(200, {"data": [c for c in self.state.captures if c["owner"] == user]})
            return
        match = re.fullmatch(r"/api/stock/([\w-]+)", self.path)
        if match:
            self._send(200, {"data": {"sku": match.group(1),
                                      "available": self.state.stock.get(match.group(1), 0)}})
            return
        self._send(404, {"message": "no such route"})

    def do_OPTIONS(self) -> None:  # noqa: N802
        origin = self.headers.get("origin", "")
        if self.state.defects.cors_with_credentials and origin:
            self._send(204, headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE",
                "Access-Control-Allow-Headers": "content-type, idempotency-key"})
        else:
            self._send(404, {"message": "no such route"})

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = self._body()
        except ValueError:
            if self.state.defects.client_errors_500:
                self._send(500, {"message": "Internal Server Error"})
            else:
                self._send(400, {"message": "malformed JSON"})
            return
        if self.path in ("/api/customers", "/api/sessions", "/api/token", "/api/profile") \
                and not isinstance(body, dict):
            self._send(415, {"message": "JSON only"})
            return
        user = self._user()
        if self.path == "/api/customers":
            if self._cross_origin_refused():
                self._send(403, {"message": "foreign origin"})
                return
            self.state.users[body["email"]] = body["password"]
            self._send(201, {"data": {"email": body["email"]}}, self._login(body["email"]))
        elif self.path in ("/api/sessions", "/api/token"):
            limited = self.path == "/api/sessions" or not self.state.defects.token_unlimited
            if limited and self._limited():
                self._send(429, {"message": "slow down"}, {"Retry-After": "60"})
                return
            if self.state.users.get(body.get("email")) != body.get("password"):
                if limited:
                    self._fail()
                self._send(401, {"message": "wrong email or password"})
                return
            if self.path == "/api/token":
                self._send(200, {"token": secrets.token_urlsafe(16)})
            else:
                self._send(200, {"ok": True}, self._login(body["email"]))
        elif self.path == "/api/profile":
            if self._cross_origin_refused():
                self._send(403, {"message": "foreign origin"})
                return
            if user is None:
                self._send(401, {"message": "sign in"})
                return
            self.state.profile[user] = str(body.get("nickname"))
            cors = ({"Access-Control-Allow-Origin": self.headers.get("origin", ""),
                     "Access-Control-Allow-Credentials": "true"}
                    if self.state.defects.cors_with_credentials else {})
            self._send(200, {"data": {"nickname": self.state.profile[user]}}, cors)
        elif self.path == "/api/carts":
            cart_id = str(uuid.uuid4())
            self.state.carts[cart_id] = {"owner": user, "items": [], "coupon": ""}
            self._send(201, {"data": {"uuid": cart_id}})
        elif re.fullmatch(r"/api/carts/[\w-]+/items", self.path):
            cart = self._cart(self.path.split("/")[3], user)
            if cart is None:
                return
            sku, qty = str((body or {}).get("sku")), int((body or {}).get("qty", 1))
            if self.state.stock.get(sku, 0) < qty:
                if self.state.defects.client_errors_500:
                    self._send(500, {"message": "Internal Server Error"})
                else:
                    self._send(409, {"message": "out of stock"})
                return
            cart["items"].append({"sku": sku, "qty": qty})
            self._send(201, {"data": {"items": cart["items"]}})
        elif re.fullmatch(r"/api/carts/[\w-]+/coupon", self.path):
            cart = self._cart(self.path.split("/")[3], user)
            if cart is None:
                return
            if (body or {}).get("code") != "WELCOME":
                if self.state.defects.client_errors_500:
                    self._send(500, {"message": "Internal Server Error"})
                else:
                    self._send(422, {"message": "unknown coupon"})
                return
            cart["coupon"] = "WELCOME"
            self._send(200, {"data": {"coupon": "WELCOME"}})
        elif self.path == "/api/checkout":
            self._checkout(body or {}, user)
        else:
            self._send(404, {"message": "no such route"})

    def _cart(self, cart_id: str, user: str | None) -> dict[str, Any] | None:
        cart = self.state.carts.get(cart_id)
        if cart is None or (not self.state.defects.cart_uuid_only and cart["owner"] != user):
            self._send(404, {"message": "no such cart"})
            return None
        return cart

    def _checkout(self, body: dict[str, Any], user: str | None) -> None:
        if user is None:
            self._send(401, {"message": "sign in"})
            return
        cart = self._cart(str(body.get("cart")), user)
        if cart is None:
            return
        key = self.headers.get("idempotency-key", "")
        racy = self.state.defects.racy_checkout
        if not racy:
            self.state.lock.acquire()
        try:
            if key in self.state.keys:  # a retry: the same order again
                self._send(200, {"data": self.state.orders[self.state.keys[key]]})
                return
            short = [i for i in cart["items"] if self.state.stock.get(i["sku"], 0) < i["qty"]]
            if short or not cart["items"]:
                self._send(409, {"message": "out of stock" if short else "empty cart"})
                return
            if racy:
                time.sleep(0.2)  # the window between the check and the insert
            for item in cart["items"]:
                self.state.stock[item["sku"]] -= item["qty"]
            number = f"R{len(self.state.orders) + 1:06d}-{secrets.token_hex(2)}"
            order = {"number": number, "owner": user, "items": list(cart["items"])}
            self.state.orders.append(order)
            self.state.captures.append({"order": number, "owner": user, "amount": 10})
            if key:
                self.state.keys[key] = len(self.state.orders) - 1
            self._send(201, {"data": order})
        finally:
            if not racy:
                self.state.lock.release()


@contextmanager
def serve_shop(defects: Defects | None = None) -> Iterator[tuple[str, ShopState]]:
    """The shop on a free 127.0.0.1 port: (base URL, its state)."""
    state = ShopState(defects or Defects())
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()



# --- the shop's environment: what its [security] declares ----------------------------

SHOP_SECURITY = """
[security]
pages = ["/"]

[security.authorisation.sign_up]
method = "POST"
path = "/api/customers"
json = { email = "{email}", password = "{password}" }

[security.login]
attempts = 8
request.method = "POST"
request.path = "/api/sessions"
request.json = { email = "{email}", password = "{password}" }

[[security.login.endpoints]]
name = "customer token"
attempts = 8
request.method = "POST"
request.path = "/api/token"
request.json = { email = "{email}", password = "{password}" }
"""

CROSS_SITE = """
[security.csrf]
cross_site_api = [{ method = "POST", path = "/api/profile", json = { nickname = "mallory" } }]
"""

HYGIENE = """
[[security.hygiene.client_errors]]
name = "malformed JSON"
request.method = "POST"
request.path = "/api/carts"
request.body = "{\\"sku\\": "
request.headers = { "Content-Type" = "application/json" }

[[security.hygiene.client_errors]]
name = "out of stock"
before = [{ method = "POST", path = "/api/carts", capture = { uuid = "data.uuid" } }]
request = { method = "POST", path = "/api/carts/{uuid}/items", json = { sku = "GONE-1" } }

[[security.hygiene.client_errors]]
name = "unknown coupon"
before = [{ method = "POST", path = "/api/carts", capture = { uuid = "data.uuid" } }]
request = { method = "POST", path = "/api/carts/{uuid}/coupon", json = { code = "NOSUCH" } }
"""

CARTS = """
[[security.authorisation.objects]]
name = "cart"
create = [{ method = "POST", path = "/api/carts", capture = { uuid = "data.uuid" } }]
read = [{ path = "/api/carts/{uuid}" }]
write = [{ method = "POST", path = "/api/carts/{uuid}/items", json = { sku = "TEA-1" } }]
"""

RACES = """
[[security.races]]
name = "checkout retried at once with one Idempotency-Key"
parallel = 5
setup = [
  { method = "POST", path = "/api/carts", capture = { cart = "data.uuid" } },
  { method = "POST", path = "/api/carts/{cart}/items", json = { sku = "TEA-1", qty = 1 } },
]
distinct = "data.number"
invariants = [
  { name = "one order", request = { path = "/api/orders" }, value = "data", at_most = 1 },
  { name = "one capture", request = { path = "/api/captures" }, value = "data", at_most = 1 },
]
[security.races.request]
method = "POST"
path = "/api/checkout"
headers = { "Idempotency-Key" = "{uuid}" }
json = { cart = "{cart}" }

[[security.races]]
name = "two shoppers buy the last unit"
parallel = 2
shoppers = "each"
max_accepted = 1
setup = [
  { method = "POST", path = "/api/carts", capture = { cart = "data.uuid" } },
  { method = "POST", path = "/api/carts/{cart}/items", json = { sku = "LAST-1", qty = 1 } },
]
request = { method = "POST", path = "/api/checkout", json = { cart = "{cart}" } }

[[security.races.invariants]]
name = "stock never below zero"
request = { path = "/api/stock/LAST-1" }
value = "data.available"
at_least = 0
"""

def shop_settings(extra: str = "") -> SecuritySettings:
    """The shop's declarations (plus a test's own tables), built as an environment file is."""
    data = tomllib.loads(SHOP_SECURITY + extra)
    return build(SecuritySettings, data["security"], "shop.toml", "security")
