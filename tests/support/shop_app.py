"""A small shop of the tests' own: not the demo store, a plain HTTP server in a thread.

It answers like a healthy site that knows nothing of qgate (a home page in HTML, optional
readiness and version endpoints), records every request it gets (so a test can prove that
nothing was POSTed), and can be told to answer 503 for its first requests (a deploy warming
up) or to lose a route (404).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOME = ("<!doctype html><html lang='en'><head><title>Corner Grocer</title></head>"
        "<body><h1>Corner Grocer</h1><p>Fresh fruit, delivered.</p></body></html>")


class SessionHandler(BaseHTTPRequestHandler):
    """A test shop's request handler: quiet, and `_who()` is the shopper its `sid` cookie
    signs in (a subclass sets `sessions`: sid -> email)."""

    sessions: dict[str, str] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _who(self) -> str | None:
        cookie = self.headers.get("Cookie", "")
        sid = next((c.split("=", 1)[1] for c in cookie.split("; ")
                    if c.startswith("sid=")), "")
        return self.sessions.get(sid)


@dataclass
class ShopApp:
    """What the shop answers and what it was asked."""

    version: str = "7.3.1"
    #: answer 503 to this many requests first (a warming-up deploy)
    warmup_503: int = 0
    #: paths that answer 404 (a route lost in a deploy)
    missing: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request; records it."""
        with self._lock:
            self.requests.append((method, path))
            if self.warmup_503 > 0:
                self.warmup_503 -= 1
                return 503, "text/plain", b"warming up\n"
        route = path.split("?")[0]
        if route in self.missing:
            return 404, "text/html", b"<html><body>Not found</body></html>\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if route == "/":
            return 200, "text/html; charset=utf-8", HOME.encode()
        if route == "/readyz":
            return 200, "application/json", b'{"ready": true}'
        if route == "/version":
            return 200, "application/json", json.dumps({"version": self.version}).encode()
        return 404, "text/html", b"<html><body>Not found</body></html>\n"

    @property
    def methods(self) -> set[str]:
        """Every HTTP method the shop was sent."""
        return {m for m, _ in self.requests}


@contextmanager
def serve_shop(app: ShopApp | None = None) -> Iterator[ShopApp]:
    """Serve `app` on a free 127.0.0.1 port for the duration of the block."""
    shop = app or ShopApp()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, kind, body = shop.answer(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _reply

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shop.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
