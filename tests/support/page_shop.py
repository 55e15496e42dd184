"""A server-rendered shop of the tests' own whose order page answers a visitor who may not see
the order with a soft 404 (200, the same layout, "Order … was not found"), and a recorder of
a shopper's journey through it.

- `POST /signup` (form: email, password) → 303 to `/`, a session cookie
- `POST /orders` (form: sku, qty, address) → 303 to `/orders/{uuid}`
- every page carries a CSRF token new in every answer (as Django masks its token)
- `GET /orders/{uuid}`: the owner's order (items, address, an invoice link); anybody else,
  or a made-up id, gets 200 with "Order {uuid} was not found" in the same layout. With
  `idor=True` (the defect) anybody holding the id sees the order.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from shop_app import SessionHandler
from uuid_shop import HarRecorder

_LAYOUT = """<!doctype html><html><head><title>Page Shop</title></head><body>
<header><a href="/">Page Shop</a> <nav><a href="/offers">Offers</a>
<a href="/help">Help with an order</a></nav><p>{who}</p>
<form method=post action=/logout><input type=hidden name=csrf_token value="{token}"></form>
</header>
<main>{main}</main>
<footer><p>Fresh groceries in 20 minutes. Prices include taxes.</p></footer>
</body></html>"""


@dataclass
class _State:
    idor: bool
    sessions: dict[str, str] = field(default_factory=dict)  # sid -> email
    accounts: dict[str, str] = field(default_factory=dict)
    orders: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(SessionHandler):
        sessions = state.sessions

        def _page(self, main: str) -> None:
            who = self._who()
            data = _LAYOUT.format(who=f"Signed in as {escape(who)}" if who else "Welcome",
                                  main=main, token=secrets.token_urlsafe(16)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, to: str, cookie: str = "") -> None:
            self.send_response(303)
            self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            if cookie:
                self.send_header("Set-Cookie", f"sid={cookie}; HttpOnly; SameSite=Lax; Path=/")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = self.path.split("?")[0].strip("/").split("/")
            if parts[0] == "orders" and len(parts) == 2:
                order = state.orders.get(parts[1])
                number = escape(parts[1])
                if order is None or (not state.idor and order["owner"] != self._who()):
                    return self._page(f"<h1>Order {number} was not found</h1><p>Check the "
                                      "link in your confirmation e-mail, or ask us for help "
                                      "with the number above.</p>")
                return self._page(
                    f"<h1>Order {number}</h1><ul><li>{escape(order['sku'])} × "
                    f"{escape(order['qty'])}</li></ul><p>Deliver to "
                    f"{escape(order['address'])}</p><a href=\"/orders/{number}/invoice\">"
                    "Invoice</a>")
            self._page("<h1>Page Shop</h1><form method=post action=/signup>"
                       "<input name=email><input name=password type=password></form>")

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            path = self.path.split("?")[0]
            with state.lock:
                if path == "/signup":
                    email = form.get("email", "")
                    if not email or email in state.accounts:
                        self.send_response(409)
                        self.end_headers()
                        return
                    state.accounts[email] = form.get("password", "")
                    sid = secrets.token_hex(16)
                    state.sessions[sid] = email
                    return self._redirect("/", cookie=sid)
                who = self._who()
                if path == "/orders" and who:
                    number = str(uuid.uuid4())
                    state.orders[number] = {"owner": who, "sku": form.get("sku", ""),
                                            "qty": form.get("qty", ""),
                                            "address": form.get("address", "")}
                    return self._redirect(f"/orders/{number}")
            self.send_response(401 if path == "/orders" else 404)
            self.end_headers()

    return Handler


@contextmanager
def page_shop(*, idor: bool) -> Iterator[str]:
    """Serve the shop on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_State(idor)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def record_order(base_url: str, email: str, password: str) -> dict[str, Any]:
    """A shopper's journey as a browser makes it: sign up, place an order, see it."""
    import httpx

    recorder = HarRecorder()
    with httpx.Client(base_url=base_url, event_hooks={"response": [recorder.hook]}) as client:
        client.get("/")
        client.post("/signup", data={"email": email, "password": password})
        placed = client.post("/orders", data={"sku": "Milk 1 l", "qty": "2",
                                              "address": "12 Park Street"})
        client.get(placed.headers["location"])
    return recorder.har()
