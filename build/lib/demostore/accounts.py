"""Accounts and sessions: sign-up, log-in with rate limiting, session tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from demostore.errors import StoreError
from demostore.models import CartItem, User, WebSession
from demostore.passwords import hash_password, verify_password

SESSION_TTL = timedelta(days=7)
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
PHONE_RE = re.compile(r"^(?:\+91|0)?([6-9][0-9]{9})$")


def hash_token(token: str) -> str:
    """Sessions are stored by token hash, so a database leak is not a session leak."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignupForm:
    """What a new customer submits."""

    name: str
    email: str
    phone: str
    password: str


class LoginLimiter:
    """Sliding-window limit on failed log-ins, per email and per client address."""

    def __init__(self, per_email: int = 5, per_client: int = 50, window: float = 300.0) -> None:
        self._per_email = per_email
        self._per_client = per_client
        self._window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        if len(self._failures) > 10_000:  # bound memory under a spray of random emails
            cutoff = now - self._window
            self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > cutoff}
        hits = self._failures.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        return hits

    def check(self, email: str, client: str) -> None:
        """Raise 429 if this email or client has failed too often recently."""
        now = time.monotonic()
        with self._lock:
            by_email = self._recent("e:" + email, now)
            by_client = self._recent("c:" + client, now)
            if len(by_email) >= self._per_email or len(by_client) >= self._per_client:
                firsts = [hits[0] for hits in (by_email, by_client) if hits]
                oldest = min(firsts, default=now)
                retry = int(self._window - (now - oldest)) + 1
                raise StoreError(
                    429,
                    "too_many_attempts",
                    f"Too many failed log-in attempts. Try again in {retry} s.",
                    {"retry_after": retry},
                )

    def record_failure(self, email: str, client: str) -> None:
        """Count one failed attempt."""
        now = time.monotonic()
        with self._lock:
            self._recent("e:" + email, now).append(now)
            self._recent("c:" + client, now).append(now)

    def reset(self, email: str) -> None:
        """Forget an email's failures after a successful log-in."""
        with self._lock:
            self._failures.pop("e:" + email, None)


def normalise_email(email: str) -> str:
    """Lower-cased, stripped email, or 422."""
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise StoreError(422, "invalid_email", "Enter a valid email address.")
    return email


def normalise_phone(phone: str) -> str:
    """An Indian mobile number as +91XXXXXXXXXX, or 422."""
    match = PHONE_RE.match(re.sub(r"[\s-]", "", phone or ""))
    if not match:
        raise StoreError(422, "invalid_phone", "Enter a 10-digit Indian mobile number.")
    return "+91" + match.group(1)


def signup(db: Session, form: SignupForm, now: datetime) -> User:
    """Create an account (passwords are scrypt-hashed)."""
    name = (form.name or "").strip()
    if not 1 <= len(name) <= 100:
        raise StoreError(422, "invalid_name", "Enter your name (up to 100 characters).")
    email = normalise_email(form.email)
    phone = normalise_phone(form.phone)
    if not 8 <= len(form.password or "") <= 200:
        raise StoreError(422, "weak_password", "Use a password of at least 8 characters.")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise StoreError(409, "email_taken", "An account with this email already exists.")
    user = User(name=name, email=email, phone=phone,
                password_hash=hash_password(form.password), created_at=now)
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        db.rollback()
        raise StoreError(409, "email_taken", "An account with this email already exists.") from exc
    return user


def authenticate(db: Session, limiter: LoginLimiter, email: str, password: str,
                 client: str) -> User:
    """The user with these credentials, or 401 (429 when rate-limited)."""
    email = (email or "").strip().lower()
    limiter.check(email, client)
    user = db.scalar(select(User).where(User.email == email)) if email else None
    if user is None or not verify_password(password or "", user.password_hash):
        limiter.record_failure(email, client)
        raise StoreError(401, "invalid_credentials", "Wrong email or password.")
    limiter.reset(email)
    return user


def load_session(db: Session, token: str | None, now: datetime) -> WebSession | None:
    """The live session for a token, if any."""
    if not token or len(token) > 200:
        return None
    ws = db.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if ws is None or ws.expires_at <= now:
        return None
    return ws


def create_session(db: Session, now: datetime, *, user_id: int | None = None,
                   pincode: str | None = None) -> tuple[WebSession, str]:
    """A new session and its (secret) token."""
    token = secrets.token_urlsafe(32)
    ws = WebSession(token_hash=hash_token(token), user_id=user_id, pincode=pincode,
                    created_at=now, expires_at=now + SESSION_TTL)
    db.add(ws)
    db.flush()
    return ws, token


def start_user_session(db: Session, user: User, previous: WebSession | None,
                       now: datetime) -> tuple[WebSession, str]:
    """Log in: a fresh token (no fixation) that keeps the visitor's location and cart."""
    ws, token = create_session(db, now, user_id=user.id,
                               pincode=previous.pincode if previous else None)
    if previous is not None:
        ws.coupon_code = previous.coupon_code
        db.execute(update(CartItem).where(CartItem.session_id == previous.id)
                   .values(session_id=ws.id))
        db.execute(delete(WebSession).where(WebSession.id == previous.id))
    db.flush()
    return ws, token


def end_session(db: Session, ws: WebSession) -> None:
    """Log out: the session and its cart are gone."""
    db.execute(delete(CartItem).where(CartItem.session_id == ws.id))
    db.execute(delete(WebSession).where(WebSession.id == ws.id))
