"""Transport security of an HTTPS target: HTTP redirects to HTTPS, HSTS, TLS >= 1.2, and a
certificate valid for the host (system CAs, or the environment's CA bundle)."""

from __future__ import annotations

import re
import socket
import ssl
import warnings
from urllib.parse import urlsplit

from harness.security.checks import CheckError, Problem, problem
from harness.security.settings import SecuritySettings

_HSTS_MAX_AGE = re.compile(r"(?i)max-age\s*=\s*\"?(\d+)")
# The server (not our client) turned the old protocol down.
_REFUSALS = ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_VERSION_NUMBER",
             "VERSION_TOO_LOW", "SSLV3_ALERT_HANDSHAKE_FAILURE",
             "TLSV1_ALERT_INSUFFICIENT_SECURITY", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE")


class NotHttps(Exception):
    """The target is plain HTTP: the transport checks do not apply (unless required)."""


def check_transport(base_url: str, settings: SecuritySettings, *,
                    timeout: float = 10.0) -> list[Problem]:
    """Every transport problem of `base_url`; NotHttps for an http:// target."""
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        if settings.transport.require_https:
            return [problem("qgate.transport-https", "Target not served over HTTPS", "high",
                            "CWE-319", base_url, f"{base_url} is plain HTTP (security."
                            "transport.require_https)", wstg="WSTG-CRYP-03")]
        raise NotHttps(f"{base_url} is plain HTTP; transport checks run on https:// targets")
    host = parts.hostname or ""
    port = parts.port or 443
    problems: list[Problem] = []
    problems += _certificate(base_url, host, port, settings.transport.ca_bundle, timeout)
    problems += _old_protocols(base_url, host, port, timeout)
    # a rejected certificate is reported above; HSTS is still worth reading
    problems += _hsts(base_url, settings, timeout, verify=not problems)
    problems += _redirect(base_url, host, settings, timeout)
    return problems


def _certificate(url: str, host: str, port: int, ca_bundle: str, timeout: float
                 ) -> list[Problem]:
    context = ssl.create_default_context(cafile=ca_bundle or None)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                context.wrap_socket(sock, server_hostname=host) as tls:
            version = tls.version() or ""
    except ssl.SSLCertVerificationError as exc:
        return [problem("qgate.transport-certificate", "Certificate not valid for the host",
                        "high", "CWE-295", url, f"certificate of {host}:{port} rejected: "
                        f"{exc.verify_message or exc.reason}",
                        reproduce=f"openssl s_client -connect {host}:{port} -servername {host}",
                        wstg="WSTG-CRYP-01")]
    except (OSError, ssl.SSLError) as exc:
        raise CheckError(f"TLS handshake with {host}:{port} failed ({exc})") from None
    if version not in ("TLSv1.2", "TLSv1.3"):
        return [_protocol(url, host, port, f"negotiates {version} by default")]
    return []


def _old_protocols(url: str, host: str, port: int, timeout: float) -> list[Problem]:
    """TLS 1.0 and 1.1 must be refused by the server (tested with a client that offers them)."""
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        versions = (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1))
        for name, version in versions:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            try:
                context.minimum_version = version
                context.maximum_version = version
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
            except (ValueError, ssl.SSLError) as exc:
                raise CheckError(f"this machine's OpenSSL cannot offer {name}, so it cannot "
                                 f"test whether the target refuses it ({exc})") from None
            try:
                with socket.create_connection((host, port), timeout=timeout) as sock, \
                        context.wrap_socket(sock, server_hostname=host) as tls:
                    accepted = tls.version()
            except ssl.SSLError as exc:
                if any(code in str(exc) for code in _REFUSALS):
                    continue
                if "NO_PROTOCOLS_AVAILABLE" in str(exc):
                    raise CheckError(f"this machine's OpenSSL refuses to offer {name}; cannot "
                                     "test the target") from None
                continue  # another handshake failure: the old protocol did not get through
            except (ConnectionError, TimeoutError):
                continue
            except OSError as exc:
                raise CheckError(f"connecting to {host}:{port} failed ({exc})") from None
            problems.append(_protocol(url, host, port, f"accepts {accepted or name}"))
    return problems


def _protocol(url: str, host: str, port: int, what: str) -> Problem:
    return problem("qgate.transport-tls-version", "TLS older than 1.2 accepted", "high",
                   "CWE-327", url, f"{host}:{port} {what}; TLS >= 1.2 is required",
                   reproduce=f"openssl s_client -connect {host}:{port} -tls1_1",
                   wstg="WSTG-CRYP-01")


def _hsts(url: str, settings: SecuritySettings, timeout: float, verify: bool
          ) -> list[Problem]:
    import httpx

    context = ssl.create_default_context(cafile=settings.transport.ca_bundle or None)
    try:
        response = httpx.get(url, timeout=timeout, verify=context if verify else False,
                             follow_redirects=False)
    except httpx.HTTPError as exc:
        raise CheckError(f"GET {url} failed ({exc})") from None
    header = response.headers.get("strict-transport-security", "")
    match = _HSTS_MAX_AGE.search(header)
    if match and int(match.group(1)) > 0:
        return []
    return [problem("qgate.transport-hsts", "HSTS missing", "medium", "CWE-523", url,
                    f"GET {url} has no Strict-Transport-Security with max-age > 0 "
                    f"({header or 'header absent'})", reproduce=f"curl -sI {url}",
                    wstg="WSTG-CONF-07")]


def _redirect(url: str, host: str, settings: SecuritySettings, timeout: float
              ) -> list[Problem]:
    import httpx

    plain = settings.transport.http_url or f"http://{host}/"
    try:
        response = httpx.get(plain, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        message = f"nothing redirects {plain} to HTTPS ({type(exc).__name__}: {exc})"
    else:
        location = response.headers.get("location", "")
        if 300 <= response.status_code < 400 and location.startswith("https://"):
            return []
        message = (f"GET {plain} answered {response.status_code}"
                   f"{' to ' + location if location else ''}, not a redirect to https://")
    return [problem("qgate.transport-redirect", "HTTP does not redirect to HTTPS", "medium",
                    "CWE-319", plain, message, reproduce=f"curl -sI {plain}",
                    wstg="WSTG-CRYP-03")]
