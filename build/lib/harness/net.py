"""Plain-language reasons for network failures ("connection refused"), shared by every engine."""

from __future__ import annotations

import errno
import socket


def describe_connect_error(exc: BaseException) -> str:
    """Why a connection failed, from the OS error underneath the HTTP client's exception."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or \
                getattr(current, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "cannot resolve host"
        if isinstance(current, (TimeoutError, socket.timeout)):
            return "connect timed out"
        if getattr(current, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "host unreachable"
        if isinstance(current, ConnectionResetError) or \
                getattr(current, "errno", None) == errno.ECONNRESET:
            return "connection reset by the server"
        current = current.__cause__ or current.__context__
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "reset by peer" in text:
        return "connection reset by the server"
    return f"cannot connect ({exc})"


def describe_transport_error(exc: BaseException) -> str:
    """Why an HTTP exchange failed below HTTP: refused, reset, closed mid-answer, …"""
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return describe_connect_error(exc)
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionResetError) or \
                getattr(current, "errno", None) == errno.ECONNRESET:
            return "connection reset by the server"
        current = current.__cause__ or current.__context__
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server closed the connection without a valid answer ({exc})"
    if isinstance(exc, httpx.ReadError):
        return f"reading the answer failed ({exc or 'connection closed'})"
    if isinstance(exc, httpx.WriteError):
        return f"sending the request failed ({exc or 'connection closed'})"
    return f"{type(exc).__name__}: {exc}"
