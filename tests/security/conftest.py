"""Fixtures for the security suite's own tests: a recorded ZAP API, patched demo stores."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

RECORDED = Path(__file__).parent / "zap_api"


@dataclass
class FakeZap:
    """A local HTTP server answering the ZAP API from recorded JSON (zapv2 uses it as proxy)."""

    api_key: str = "zap-key-123"
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    proxied: list[tuple[str, str, bytes]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def answer(self, endpoint: str) -> Any:
        """The recorded body for `endpoint` (successive calls walk a recorded list)."""
        if endpoint in self.overrides:
            body = self.overrides[endpoint]
        else:
            path = RECORDED / f"{endpoint.replace('/', '_')}.json"
            if not path.is_file():
                return None
            body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, list):
            index = self.served.get(endpoint, 0)
            self.served[endpoint] = index + 1
            return body[min(index, len(body) - 1)]
        return body

    def endpoints(self) -> list[str]:
        """The API endpoints called, in order."""
        return [name for name, _ in self.calls]

    def params(self, endpoint: str) -> list[dict[str, str]]:
        """The parameters of every call to `endpoint`."""
        return [params for name, params in self.calls if name == endpoint]


@pytest.fixture
def fake_zap() -> Iterator[FakeZap]:
    """A recorded ZAP daemon on a free 127.0.0.1 port."""
    zap = FakeZap()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if parts.hostname != "zap":  # a request ZAP would proxy to the target
                zap.proxied.append((self.command, self.path, body))
                self._send(200, b"<html>ok</html>", "text/html")
                return
            segments = [s for s in parts.path.split("/") if s]  # JSON/<component>/<type>/<name>
            endpoint = "/".join(segments[1:4])
            params = dict(parse_qsl(parts.query)) | dict(parse_qsl(body.decode()))
            zap.calls.append((endpoint, params))
            if self.headers.get("X-ZAP-API-Key") != zap.api_key:
                self._json(400, {"code": "bad_api_key", "message": "Bad API Key"})
                return
            answer = zap.answer(endpoint)
            if answer is None:
                self._json(400, {"code": "bad_view", "message": "No Implementor"})
                return
            self._json(200, answer)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json; charset=UTF-8")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    zap.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield zap
    server.shutdown()
    server.server_close()


@dataclass
class InProcessStore:
    """A demo store app served from this process (so a test can patch a defect into it)."""

    base_url: str


@pytest.fixture
def patched_store(tmp_path: Path) -> Iterator[Any]:
    """`start(wrap=None)`: serve the demo app in-process, after the test's monkeypatches.

    `wrap` takes the ASGI app and returns another one (e.g. put an auth gate in front).
    """
    import socket
    import time

    import uvicorn

    from demostore.app import create_app
    from demostore.config import StoreConfig

    servers: list[tuple[Any, threading.Thread]] = []

    def start(wrap: Any = None, tick_seconds: float = 3.0) -> InProcessStore:
        app: Any = create_app(StoreConfig(db_url=f"sqlite:///{tmp_path / 'store.db'}",
                                          tick_seconds=tick_seconds))
        if wrap is not None:
            app = wrap(app)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the patched demo store did not start")
            time.sleep(0.05)
        servers.append((server, thread))
        return InProcessStore(f"http://127.0.0.1:{port}")

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def clean_demo() -> Iterator[str]:
    """A clean demo store subprocess (3 s fulfilment ticks, like `qgate demo`)."""
    from demostore.process import start_store

    with start_store(tick_seconds=3.0) as store:
        yield store.base_url


@pytest.fixture(scope="session")
def demo_settings() -> Any:
    """The demo environment's [security] declarations (what the checks send)."""
    from harness.config import load_environment

    return load_environment("demo").suite_settings("security")
