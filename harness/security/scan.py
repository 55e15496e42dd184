"""What every scanner engine returns, the seeds it starts from, and the engine choice.

An engine (wapiti, ZAP) has two steps: `prepare` (tool found, daemon reachable: seconds) and
`scan` (crawl, passive checks, attacks when allowed: minutes, bounded). Both raise
`ScanError` when they cannot collect evidence; findings are never judged here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from harness.errors import HarnessError
from harness.har import HarRequest
from harness.redaction import SENSITIVE_HEADERS
from harness.results import Coverage, Finding

Progress = Callable[[str], None]

#: request headers that describe the client or the session, not the API (never seeded)
_TRANSPORT_HEADERS = SENSITIVE_HEADERS | {
    "host", "origin", "referer", "user-agent", "content-type", "content-length", "connection",
    "accept", "accept-encoding", "accept-language", "cache-control", "pragma", "priority",
    "upgrade-insecure-requests", "dnt", "te"}


class ScanError(HarnessError):
    """The scanner could not run or finish: no evidence (the suite errors, INCONCLUSIVE)."""


@dataclass(frozen=True)
class ScanTarget:
    """Where and how to scan: the target, its auth, and what the environment allows."""

    base_url: str
    basic_auth: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: production: passive only, whatever the settings say
    production: bool = False
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Seeds:
    """Requests recorded elsewhere (e2e HAR) that the scan starts from."""

    get_urls: tuple[str, ...] = ()
    #: other requests, as an OpenAPI 3 document wapiti can read (`--swagger`)
    openapi: dict[str, Any] | None = None
    har_files: tuple[Path, ...] = ()
    requests: tuple[HarRequest, ...] = ()


@dataclass(frozen=True)
class ScanOutcome:
    """What a scan observed: findings (unjudged), counters, notes and raw files."""

    engine: str
    findings: tuple[Finding, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    #: raw tool output kept as evidence (absolute paths, already redacted)
    artifacts: tuple[tuple[Path, str, str], ...] = ()
    #: how much of the target the scan reached (pages, status mix, phases finished): the
    #: verdict judges it against the policy's minimum
    coverage: tuple[Coverage, ...] = ()


class Engine(Protocol):
    """The life cycle every scanner engine follows."""

    name: str

    def prepare(self) -> str:
        """Check the tool/daemon is there (seconds); return its version."""

    def scan(self, seeds: Seeds, workdir: Path, progress: Progress) -> ScanOutcome:
        """Crawl, passive-check and (when allowed) attack the target; bounded in time."""


def same_origin(url: str, base_url: str) -> bool:
    """Whether `url` is on the target's scheme, host and port."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def seeds_from_requests(requests: Iterable[HarRequest], base_url: str,
                        har_files: Iterable[Path] = ()) -> Seeds:
    """Turn recorded requests into scan seeds: in-scope GET URLs, and the rest as OpenAPI.

    Only requests to the target's origin are kept (scope), static assets are dropped, and
    each method + path is kept once (the first recorded body gives the example values).
    """
    kept = [r for r in requests if same_origin(r.url, base_url) and not r.is_static]
    get_urls: list[str] = []
    paths: dict[str, dict[str, Any]] = {}
    for request in kept:
        if request.method in ("GET", "HEAD"):
            if request.url not in get_urls:
                get_urls.append(request.url)
            continue
        parts = urlsplit(request.url)
        operation = paths.setdefault(parts.path or "/", {})
        method = request.method.lower()
        if method in operation:
            continue
        operation[method] = _operation(request, parts.query)
    openapi = None
    if paths:
        openapi = {"openapi": "3.0.3", "info": {"title": "requests recorded by qgate",
                                                "version": "1"}, "paths": paths}
    return Seeds(tuple(get_urls), openapi, tuple(har_files), tuple(kept))


def _operation(request: HarRequest, query: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": k, "in": "query", "schema": {"type": "string", "default": v}}
        for k, v in parse_qsl(query, keep_blank_values=True)]
    parameters += [{"name": name, "in": "header", "schema": {"type": "string", "default": value}}
                   for name, value in request.headers
                   if name.lower() not in _TRANSPORT_HEADERS and not name.startswith(":")
                   and not name.lower().startswith("sec-")]
    operation: dict[str, Any] = {"parameters": parameters,
                                 "responses": {"default": {"description": "recorded"}}}
    mime = request.mime_type.split(";", 1)[0].strip().lower()
    if request.body and mime == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if body is not None:
            operation["requestBody"] = {"content": {"application/json": {
                "schema": schema_of(body)}}}
    elif request.body and mime == "application/x-www-form-urlencoded":
        fields = dict(parse_qsl(request.body, keep_blank_values=True))
        operation["requestBody"] = {"content": {"application/x-www-form-urlencoded": {
            "schema": schema_of(fields)}}}
    return operation


def schema_of(value: Any) -> dict[str, Any]:
    """A JSON schema of `value` whose defaults are the recorded values (wapiti sends them)."""
    if isinstance(value, dict):
        return {"type": "object", "properties": {str(k): schema_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0]) if value else {"type": "string"}}
    if isinstance(value, bool):
        return {"type": "boolean", "default": value}
    if isinstance(value, int):
        return {"type": "integer", "default": value}
    if isinstance(value, float):
        return {"type": "number", "default": value}
    if value is None:
        return {"type": "string"}
    return {"type": "string", "default": str(value)}
