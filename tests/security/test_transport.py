"""Transport checks against local HTTPS servers whose certificates a CA made in the test
signed: a correct setup passes; each defect (wrong host, TLS 1.0, no HSTS, no redirect) is
caught on its own."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.security.settings import SecuritySettings, TransportChecks
from harness.security.transport import NotHttps, check_transport


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and two server certificates: for 127.0.0.1 and for another host."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=qgate test CA", cwd=d)
    for name, san in (("good", "IP:127.0.0.1,DNS:localhost"), ("other", "DNS:shop.example")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={san.split(':')[1].split(',')[0]}", cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile",
                f"{name}.ext", cwd=d)
    return d


def serve(handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None = None
          ) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def page_handler(hsts: bool) -> type[BaseHTTPRequestHandler]:
    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            if hsts:
                self.send_header("Strict-Transport-Security", "max-age=31536000")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
    return Page


def redirect_handler(to: str | None) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(301 if to else 200)
            if to:
                self.send_header("Location", to)
            self.send_header("Content-Length", "0")
            self.end_headers()
    return Redirect


@pytest.fixture
def site(pki: Path) -> Iterator[Any]:
    """`make(cert="good", tls10=False, hsts=True, redirect=True)` -> (base_url, settings)."""
    servers: list[ThreadingHTTPServer] = []

    def make(cert: str = "good", tls10: bool = False, hsts: bool = True,
             redirect: bool = True) -> tuple[str, SecuritySettings]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki / f"{cert}.pem", pki / f"{cert}.key")
        if tls10:  # the defect: an old protocol still accepted
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        else:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
        tls_server, port = serve(page_handler(hsts), context)
        base = f"https://127.0.0.1:{port}"
        plain, plain_port = serve(redirect_handler(base + "/" if redirect else None))
        servers.extend([tls_server, plain])
        settings = SecuritySettings(transport=TransportChecks(
            http_url=f"http://127.0.0.1:{plain_port}/", ca_bundle=str(pki / "ca.pem")))
        return base, settings

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def rules(problems: list[Any]) -> set[str]:
    return {p.finding.rule_id for p in problems}


def test_a_correct_https_setup_passes(site: Any) -> None:
    base, settings = site()
    assert check_transport(base, settings) == []


def test_certificate_for_another_host_is_caught(site: Any) -> None:
    base, settings = site(cert="other")
    problems = check_transport(base, settings)
    assert rules(problems) == {"qgate.transport-certificate"}
    assert "certificate of 127.0.0.1:" in problems[0].message
    assert "IP address mismatch" in problems[0].message


def test_certificate_from_an_untrusted_ca_is_caught(site: Any) -> None:
    base, settings = site()
    untrusted = dataclasses.replace(settings, transport=dataclasses.replace(
        settings.transport, ca_bundle=""))  # the system's CAs do not know the test CA
    problems = check_transport(base, untrusted)
    assert rules(problems) == {"qgate.transport-certificate"}
    assert "unable to get local issuer certificate" in problems[0].message


def test_tls_1_0_accepted_is_caught(site: Any) -> None:
    base, settings = site(tls10=True)
    problems = check_transport(base, settings)
    assert rules(problems) == {"qgate.transport-tls-version"}
    assert {p.message.split(" accepts ")[1].split(";")[0] for p in problems} == {
        "TLSv1", "TLSv1.1"}


def test_missing_hsts_is_caught(site: Any) -> None:
    base, settings = site(hsts=False)
    problems = check_transport(base, settings)
    assert rules(problems) == {"qgate.transport-hsts"}


def test_http_without_redirect_is_caught(site: Any) -> None:
    base, settings = site(redirect=False)
    problems = check_transport(base, settings)
    assert rules(problems) == {"qgate.transport-redirect"}
    assert "answered 200, not a redirect to https://" in problems[0].message


def test_plain_http_target_is_not_applicable_unless_required() -> None:
    with pytest.raises(NotHttps):
        check_transport("http://127.0.0.1:9", SecuritySettings())
    required = SecuritySettings(transport=TransportChecks(require_https=True))
    assert rules(check_transport("http://127.0.0.1:9", required)) == {"qgate.transport-https"}
