"""What one running store shares between requests, and the request-scoped helpers."""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from demostore import accounts
from demostore.config import StoreConfig
from demostore.db import utcnow
from demostore.errors import StoreError
from demostore.models import User, WebSession
from demostore.payments import SandboxGateway

SESSION_COOKIE = "qs_session"
CSRF_COOKIE = "qs_csrf"
FLASH_COOKIE = "qs_flash"


class AccessLog:
    """Appends one line per request to <log-dir>/access.log."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        """Append one line."""
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        with self._lock:
            self._file.close()


@dataclass
class Runtime:
    """The store's shared state: settings, database, limiter, gateway, log."""

    config: StoreConfig
    engine: Engine
    sessions: sessionmaker[Session]
    limiter: accounts.LoginLimiter
    gateway: SandboxGateway
    access_log: AccessLog | None


@dataclass(frozen=True)
class Visitor:
    """Who is asking: their session (if any) and account (if logged in)."""

    ws: WebSession | None
    user: User | None


def runtime(request: Request) -> Runtime:
    """The Runtime of the app serving this request."""
    rt: Runtime = request.app.state.runtime
    return rt


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with runtime(request).sessions() as db:
        yield db


def now() -> datetime:
    """The store clock (naive UTC)."""
    return utcnow()


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def load_visitor(request: Request, db: Session) -> Visitor:
    """The visitor's session and user, remembered on request.state for the access log."""
    ws = accounts.load_session(db, _token(request), now())
    user = db.get(User, ws.user_id) if ws is not None and ws.user_id is not None else None
    if user is not None:
        request.state.customer = (user.email, user.phone)
    return Visitor(ws, user)


def ensure_session(request: Request, db: Session, visitor: Visitor) -> WebSession:
    """The visitor's session, creating one (and its cookie) on first need."""
    if visitor.ws is not None:
        return visitor.ws
    ws, token = accounts.create_session(db, now())
    request.state.set_session_token = token
    return ws


def remember_login(request: Request, token: str, user: User) -> None:
    """Have the response carry the new session cookie."""
    request.state.set_session_token = token
    request.state.customer = (user.email, user.phone)


def require_user(visitor: Visitor) -> User:
    """The logged-in user, or 401."""
    if visitor.user is None:
        raise StoreError(401, "login_required", "Log in to continue.")
    return visitor.user


def csrf_token(request: Request) -> str:
    """The double-submit CSRF token for forms (cookie value, created on first use)."""
    existing = getattr(request.state, "new_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return str(existing)
    token = secrets.token_urlsafe(32)
    request.state.new_csrf = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form post whose token does not match the visitor's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    # bytes: compare_digest raises TypeError on non-ASCII str (a scanner's payload -> 500)
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(),
                                                              submitted.encode()):
        raise StoreError(403, "csrf_failed",
                         "Your form expired or was not sent from this site. Reload and retry.")


def flash(request: Request, kind: str, message: str) -> None:
    """Show a one-line message on the next page."""
    request.state.flash = (kind, message)


def client_address(request: Request) -> str:
    """The peer address (used for rate limiting)."""
    return request.client.host if request.client else "unknown"


def state_value(request: Request, name: str, default: Any = None) -> Any:
    """A value set on request.state by a handler, if any."""
    return getattr(request.state, name, default)
