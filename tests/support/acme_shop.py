"""A second shop of the load tests' own ("Acme"), its team's locustfiles, scratch projects.

"Acme" is a minimal HTTP shop (not the demo store) behind basic auth and a staging-token
header, with pages that are fast, slow, rate limited or slower the busier it is. Its team's
locustfile knows nothing of qgate or of the auth: qgate has to bring both.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cli_support import PROJECT

ACME_USER, ACME_PASSWORD, ACME_TOKEN = "acme-qa", "acme-s3cret-pw", "acme-token-77"

ACME_LOCUSTFILE = '''\
"""Acme Grocer's own locustfile: no qgate, no auth code."""
from locust import FastHttpUser, constant, task


class AcmeShopper(FastHttpUser):
    wait_time = constant(0.05)

    @task(3)
    def catalog(self):
        self.client.get("/catalog", name="catalog")

    @task(1)
    def basket(self):
        self.client.post("/basket", json={"sku": "ACME-1", "qty": 1}, name="basket")
'''

ACME_SLOW_LOCUSTFILE = ACME_LOCUSTFILE + '''
    @task(2)
    def deals(self):
        self.client.get("/slow", name="deals page")

    @task(1)
    def partner_tracking(self):
        self.client.get("https://tracker.example.net/pixel", name="partner pixel")
'''

ACME_LIMITED_LOCUSTFILE = ACME_LOCUSTFILE + '''
    @task(12)
    def offers(self):
        self.client.get("/limited", name="offers")
'''

ACME_STRESS_LOCUSTFILE = '''\
"""Acme's stress shape: two more shoppers every 2 s."""
from locust import FastHttpUser, LoadTestShape, constant, task


class AcmeShopper(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def search(self):
        self.client.get("/busy", name="search")


class Steps(LoadTestShape):
    def tick(self):
        t = self.get_run_time()
        return (min(16, 2 * (int(t // 2) + 1)), 8) if t < 30 else None
'''


@dataclass
class AcmeShop:
    """The running app and what it saw."""

    base_url: str
    authorized: int = 0
    unauthorized: int = 0
    paths: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    slow_s: float = 0.25


def _handler(shop: AcmeShop) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{ACME_USER}:{ACME_PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest's output clean
            pass

        def answer(self, status: int, body: dict[str, object],
                   headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            ok = (self.headers.get("Authorization") == expected
                  and self.headers.get("X-Acme-Token") == ACME_TOKEN)
            with shop.lock:
                shop.authorized += ok
                shop.unauthorized += not ok
                path = self.path.split("?")[0]
                shop.paths[path] = shop.paths.get(path, 0) + 1
                shop.in_flight += 1
                busy = shop.in_flight
                seen = shop.paths[path]
            try:
                if not ok:
                    self.answer(401, {"error": "auth"}, {"WWW-Authenticate": "Basic"})
                elif path in ("/catalog", "/"):
                    self.answer(200, {"items": [{"sku": "ACME-1"}]})
                elif path == "/basket":
                    self.answer(201, {"basket": 1})
                elif path == "/slow":
                    time.sleep(shop.slow_s)
                    self.answer(200, {"deals": []})
                elif path == "/limited":
                    if seen % 10:
                        self.answer(429, {"error": "slow down"}, {"Retry-After": "1"})
                    else:
                        self.answer(200, {"offers": []})
                elif path == "/busy":
                    time.sleep(0.012 * busy)  # slower the more shoppers are inside
                    self.answer(200, {"results": []})
                else:
                    self.answer(404, {"error": "not found"})
            finally:
                with shop.lock:
                    shop.in_flight -= 1

        do_GET = do_POST = do_HEAD = handle_any

    return Handler


def serve_acme() -> tuple[AcmeShop, ThreadingHTTPServer]:
    """Start the Acme shop on a free 127.0.0.1 port (call server.shutdown() when done)."""
    shop = AcmeShop(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(shop))
    server.daemon_threads = True
    shop.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return shop, server


def acme_project(root: Path, shop: AcmeShop, locustfile: str, load_table: str,
                 suites: str = '["load"]') -> Path:
    """A scratch project: Acme's environment file, its locustfile, qgate's suites."""
    (root / "environments").mkdir(parents=True)
    (root / "acme_locustfile.py").write_text(locustfile)
    (root / "environments" / "acme.toml").write_text(f'''
base_url = "{shop.base_url}"
suites = {suites}
[auth]
basic_user = "{ACME_USER}"
basic_password = "${{ACME_PASSWORD}}"
headers = {{ "X-Acme-Token" = "${{ACME_TOKEN}}" }}
{load_table}
''')
    (root / "gate.toml").write_text('[required]\nacme = ["load"]\n')
    (root / "suites").symlink_to(PROJECT / "suites")
    return root


ACME_SECRETS = {"ACME_PASSWORD": ACME_PASSWORD, "ACME_TOKEN": ACME_TOKEN}
