"""Builds the demo store's FastAPI application for one StoreConfig."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from demostore import accounts
from demostore.config import StoreConfig
from demostore.db import make_engine, prepare_database
from demostore.errors import StoreError
from demostore.payments import SandboxGateway
from demostore.runtime import (
    CSRF_COOKIE,
    FLASH_COOKIE,
    SESSION_COOKIE,
    AccessLog,
    Runtime,
    state_value,
)

log = logging.getLogger("demostore")
PACKAGE_DIR = Path(__file__).parent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(config: StoreConfig) -> FastAPI:
    """The store app: schema created and seeded on build, routes, middleware, handlers."""
    engine = make_engine(config.db_url)
    runtime = Runtime(
        config=config,
        engine=engine,
        sessions=prepare_database(engine),
        limiter=accounts.LoginLimiter(),
        gateway=SandboxGateway(fail_every=5 if config.has("payment-errors") else 0),
        access_log=AccessLog(config.log_dir / "access.log") if config.log_dir else None,
    )
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from demostore.clock import FulfilmentClock

        clock = FulfilmentClock(runtime.sessions, config.tick_seconds)
        clock.start()
        yield
        clock.stop()
        if runtime.access_log is not None:
            runtime.access_log.close()
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="qgate demo store",
        version=config.version,
        description="A reference quick-commerce store. See demostore/api.py for the API.",
        docs_url=None,  # Swagger UI needs a CDN; the schema stays at /openapi.json
        redoc_url=None,
    )
    app.state.runtime = runtime

    from demostore import api, web

    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    _install_handlers(app)
    _install_middleware(app, runtime)

    return app


def wants_json(request: Request) -> bool:
    """API paths and JSON clients get JSON errors; browsers get an HTML page."""
    path = request.url.path
    if path.startswith("/api/") or path in ("/healthz", "/readyz", "/version", "/openapi.json"):
        return True
    return "text/html" not in request.headers.get("accept", "text/html")


def _error_response(request: Request, error: StoreError) -> Response:
    if wants_json(request):
        headers = {}
        if "retry_after" in error.details:
            headers["Retry-After"] = str(error.details["retry_after"])
        return JSONResponse(error.to_json(), status_code=error.status, headers=headers)
    from demostore.web import render_error

    return render_error(request, error)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        error = StoreError(422, "invalid_request", "; ".join(problems) or "Invalid request.")
        return _error_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "Page not found." if exc.status_code == 404 else str(exc.detail)
        return _error_response(request, StoreError(exc.status_code, code, message))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        traceback.print_exception(exc, file=sys.stderr)
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "Something went wrong."}},
            status_code=500,
        )


def _install_middleware(app: FastAPI, runtime: Runtime) -> None:
    config = runtime.config
    insecure = config.has("no-security-headers")
    pii_in_logs = config.has("pii-in-logs")

    @app.middleware("http")
    async def _edge(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if unsafe and request.url.path.startswith("/api/") and _cross_site(request):
            response: Response = JSONResponse(
                {"error": {"code": "cross_site_request",
                           "message": "Cross-site API requests are refused."}},
                status_code=403,
            )
        else:
            response = await call_next(request)
        secure = request.url.scheme == "https" and not insecure
        cookie_flags: dict[str, Any] = (
            {"httponly": False, "samesite": None, "secure": False} if insecure
            else {"httponly": True, "samesite": "lax", "secure": secure}
        )
        token = state_value(request, "set_session_token")
        if token:
            response.set_cookie(SESSION_COOKIE, token, max_age=7 * 24 * 3600, path="/",
                                **cookie_flags)
        if state_value(request, "clear_session"):
            response.delete_cookie(SESSION_COOKIE, path="/", **cookie_flags)
        csrf = state_value(request, "new_csrf")
        if csrf:
            response.set_cookie(CSRF_COOKIE, csrf, path="/", **cookie_flags)
        flash = state_value(request, "flash")
        if flash:
            response.set_cookie(FLASH_COOKIE, quote(f"{flash[0]}|{flash[1]}"), max_age=60,
                                path="/", **cookie_flags)
        elif state_value(request, "flash_shown"):
            response.delete_cookie(FLASH_COOKIE, path="/", **cookie_flags)
        if not insecure:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/") or request.url.path.startswith("/orders"):
            response.headers.setdefault("Cache-Control", "no-store")
        if runtime.access_log is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            line = (f"{stamp} {request.method} {request.url.path} {response.status_code} "
                    f"{elapsed_ms:.1f}ms")
            customer = state_value(request, "customer")
            if pii_in_logs and customer:
                # The defect: contact details of the customer end up in the log.
                line += f" customer_email={customer[0]} customer_phone={customer[1]}"
            runtime.access_log.write(line)
        return response


def _cross_site(request: Request) -> bool:
    """Browsers send Origin on cross-site writes; cookies alone must not authorise them."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") != host


def read_flash(request: Request) -> tuple[str, str] | None:
    """The pending flash message (kind, text), consumed by this render."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    request.state.flash_shown = True
    kind, _, text = unquote(raw).partition("|")
    return (kind, text[:300]) if text else None
