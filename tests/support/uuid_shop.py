"""A JSON + GraphQL shop of the tests' own whose carts may be authorised by UUID only, and a
recorder that writes what a storefront's requests looked like as a HAR (as Playwright does).

- `POST /api/signup` `{"email", "password"}` (and an optional `"phone"`: one account per
  number) → a session cookie; `POST /api/login` the same
- `POST /api/carts` → `{"data": {"uuid": …}}`, the cart belongs to the session's customer
- `POST /api/carts/{uuid}/items` `{"sku", "qty"}`, `GET /api/carts/{uuid}`: with
  `uuid_only=True` (the defect) anyone holding the UUID may read and change the cart
- `POST /graphql` `mutation PlaceOrder($cart: ID!)` → `{"data": {"placeOrder": {"order":
  {"id": n}}}}`; `GET /api/orders/{id}`: the owner only (always right)
- `soft_404=True`: what is not the visitor's is answered 200 with the id echoed, no data
  (`{"data": {"uuid": …, "items": []}}`, `{"id": n, "items": []}`, `{"error": "cart … not
  found"}`): a soft 404, not a read
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shop_app import SessionHandler


@dataclass
class _State:
    uuid_only: bool
    soft_404: bool = False
    sessions: dict[str, str] = field(default_factory=dict)  # sid -> email
    accounts: dict[str, str] = field(default_factory=dict)  # email -> password
    phones: dict[str, str] = field(default_factory=dict)  # phone -> email
    carts: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(SessionHandler):
        sessions = state.sessions

        def _send(self, status: int, body: Any, cookie: str = "") -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if cookie:
                self.send_header("Set-Cookie", f"sid={cookie}; HttpOnly; SameSite=Lax; Path=/")
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                return json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return None

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            who, parts = self._who(), self.path.split("?")[0].strip("/").split("/")
            if parts[:2] == ["api", "carts"] and len(parts) == 3:
                cart = state.carts.get(parts[2])
                if cart is None or (not state.uuid_only and cart["owner"] != who):
                    if state.soft_404:
                        return self._send(200, {"data": {"uuid": parts[2], "items": []}})
                    return self._send(404, {"error": "no such cart"})
                return self._send(200, {"data": {"uuid": parts[2], "items": cart["items"]}})
            if parts[:2] == ["api", "orders"] and len(parts) == 3 and parts[2].isdigit():
                order = state.orders.get(int(parts[2]))
                if order is None or order["owner"] != who:
                    if state.soft_404:
                        return self._send(200, {"id": int(parts[2]), "items": []})
                    return self._send(404, {"error": "no such order"})
                return self._send(200, {"id": int(parts[2]), "items": order["items"]})
            if parts == [""]:
                return self._send(200, {"shop": "uuid shop"})
            self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            who, body = self._who(), self._body()
            parts = self.path.split("?")[0].strip("/").split("/")
            if body is None:
                return self._send(400, {"error": "malformed JSON"})
            with state.lock:
                if parts in (["api", "signup"], ["api", "login"]):
                    email, password = body.get("email", ""), body.get("password", "")
                    if parts[1] == "signup":
                        if email in state.accounts:
                            return self._send(409, {"error": "email taken"})
                        phone = body.get("phone")
                        if phone in state.phones:
                            return self._send(409, {"error": "phone number taken"})
                        if phone:
                            state.phones[phone] = email
                        state.accounts[email] = password
                    elif state.accounts.get(email) != password:
                        return self._send(401, {"error": "wrong password"})
                    sid = secrets.token_hex(16)
                    state.sessions[sid] = email
                    return self._send(200, {"customer": {"email": email,
                                                         "phone": body.get("phone")}},
                                      cookie=sid)
                if who is None:
                    return self._send(401, {"error": "log in first"})
                if parts == ["api", "carts"]:
                    cart_id = str(uuid.uuid4())
                    state.carts[cart_id] = {"owner": who, "items": []}
                    return self._send(201, {"data": {"uuid": cart_id}})
                if parts[:2] == ["api", "carts"] and parts[3:] == ["items"]:
                    cart = state.carts.get(parts[2])
                    if cart is None or (not state.uuid_only and cart["owner"] != who):
                        if state.soft_404:
                            return self._send(200, {"error": f"cart {parts[2]} not found"})
                        return self._send(404, {"error": "no such cart"})
                    cart["items"].append({"sku": body.get("sku"), "qty": body.get("qty")})
                    return self._send(200, {"data": {"uuid": parts[2],
                                                     "items": cart["items"]}})
                if parts == ["graphql"]:
                    cart = state.carts.get(str(body.get("variables", {}).get("cart")))
                    if cart is None or cart["owner"] != who:
                        return self._send(200, {"errors": [{"message": "no such cart"}]})
                    number = len(state.orders) + 1001
                    state.orders[number] = {"owner": who, "items": list(cart["items"])}
                    return self._send(200, {"data": {"placeOrder": {"order": {"id": number}}}})
            self._send(404, {"error": "not found"})

    return Handler


@contextmanager
def uuid_shop(*, uuid_only: bool, soft_404: bool = False) -> Iterator[str]:
    """Serve the shop on 127.0.0.1 (a free port); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(_State(uuid_only, soft_404)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class HarRecorder:
    """Records an httpx client's requests and answers as a HAR document (what Playwright's
    `record_har_path` writes for a browser), so a journey can be recorded without one."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def hook(self, response: Any) -> None:
        """httpx response event hook."""
        response.read()
        request = response.request
        entry: dict[str, Any] = {
            "startedDateTime": f"2026-12-07T08:00:00.{len(self.entries):06d}Z",
            "request": {"method": request.method, "url": str(request.url),
                        "headers": [{"name": k, "value": v} for k, v in request.headers.items()]},
            "response": {"status": response.status_code,
                         "headers": [{"name": k, "value": v}
                                     for k, v in response.headers.items()],
                         "content": {"mimeType": response.headers.get("content-type", ""),
                                     "text": response.text}}}
        if request.content:
            entry["request"]["postData"] = {
                "mimeType": request.headers.get("content-type", ""),
                "text": request.content.decode()}
        self.entries.append(entry)

    def har(self) -> dict[str, Any]:
        """The recording as a HAR document."""
        return {"log": {"version": "1.2", "creator": {"name": "tests"}, "entries": self.entries}}


def record_checkout(base_url: str, email: str, password: str, phone: str = ""
                    ) -> dict[str, Any]:
    """A shopper's journey as a storefront makes it: sign up (with a phone number, when
    given), create a cart, add to it, read it, place the order with a GraphQL mutation, read
    the order."""
    import httpx

    recorder = HarRecorder()
    with httpx.Client(base_url=base_url, event_hooks={"response": [recorder.hook]}) as client:
        client.get("/")
        client.post("/api/signup", json={"email": email, "password": password,
                                         **({"phone": phone} if phone else {})})
        cart = client.post("/api/carts", json={}).json()["data"]["uuid"]
        client.post(f"/api/carts/{cart}/items", json={"sku": "MLK-1", "qty": 2})
        client.get(f"/api/carts/{cart}")
        order = client.post("/graphql", json={
            "operationName": "PlaceOrder",
            "query": "mutation PlaceOrder($cart: ID!) { placeOrder(cart: $cart) "
                     "{ order { id } } }",
            "variables": {"cart": cart}}).json()["data"]["placeOrder"]["order"]["id"]
        client.get(f"/api/orders/{order}")
    return recorder.har()
