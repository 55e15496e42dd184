"""Run smoke checks in parallel within one total time budget (async httpx).

A fresh deploy may need a few seconds to warm up, so every failing check is retried with
exponential backoff until it passes or the shared deadline arrives. The engine collects
evidence only: each check becomes a TestCase; the verdict judges.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.net import describe_connect_error
from harness.results import SuiteResult, TestCase, outcome_counts, status_from_tests
from harness.smoke.settings import Check

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 1.6


@dataclass(frozen=True)
class CheckResult:
    """The last attempt of one check."""

    name: str
    url: str
    ok: bool
    status: int | None
    latency_ms: float
    reason: str
    attempts: int
    body_version: str = ""


@dataclass(frozen=True)
class SmokeTarget:
    """Where and how to send the checks."""

    base_url: str
    auth: tuple[str, str] | None = None
    headers: dict[str, str] | None = None


async def run_checks(checks: Sequence[Check], target: SmokeTarget, *, timeout_s: float,
                     attempt_timeout_s: float, expect_version: str = "") -> list[CheckResult]:
    """Run every check concurrently; all retries fit inside `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    limits = httpx.Limits(max_connections=max(10, len(checks)))
    # Loading the CA bundle costs ~0.1 s of start-up; a plain-http target never needs it.
    verify = target.base_url.startswith("https://")
    async with httpx.AsyncClient(base_url=target.base_url, auth=target.auth,
                                 headers=target.headers or {}, limits=limits, verify=verify,
                                 follow_redirects=False) as client:
        return list(await asyncio.gather(*(
            _run_one(client, check, deadline, attempt_timeout_s, expect_version)
            for check in checks)))


async def _run_one(client: httpx.AsyncClient, check: Check, deadline: float,
                   attempt_timeout_s: float, expect_version: str) -> CheckResult:
    attempts = 0
    backoff = _BACKOFF_START_S
    url = str(client.base_url.join(check.path))
    while True:
        attempts += 1
        remaining = deadline - time.monotonic()
        started = time.perf_counter()
        status: int | None = None
        version = ""
        try:
            response = await client.request(
                check.method, check.path, json=check.json or None, headers=check.headers,
                follow_redirects=check.follow_redirects,
                timeout=max(0.05, min(attempt_timeout_s, remaining)))
            latency = (time.perf_counter() - started) * 1000
            status = response.status_code
            reason, version = _judge_response(check, response, latency, expect_version)
        except httpx.ConnectError as exc:
            latency = (time.perf_counter() - started) * 1000
            reason = describe_connect_error(exc)
        except httpx.TimeoutException:
            latency = (time.perf_counter() - started) * 1000
            reason = f"timed out after {latency:.0f} ms"
        except httpx.HTTPError as exc:
            latency = (time.perf_counter() - started) * 1000
            reason = f"{type(exc).__name__}: {exc}"
        if not reason:
            return CheckResult(check.name, url, True, status, latency, "ok", attempts, version)
        if time.monotonic() + backoff >= deadline:
            return CheckResult(check.name, url, False, status, latency, reason, attempts, version)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _BACKOFF_MAX_S)


def _judge_response(check: Check, response: httpx.Response, latency_ms: float,
                    expect_version: str) -> tuple[str, str]:
    """Why the response does not satisfy the check ('' when it does), and any version seen."""
    version = ""
    if response.status_code != check.expect_status:
        return f"expected HTTP {check.expect_status}, got {response.status_code}", version
    if check.expect_content_type:
        kind = response.headers.get("content-type", "")
        if not kind.lower().startswith(check.expect_content_type.lower()):
            return (f"Content-Type is {kind or 'missing'!r}, expected "
                    f"{check.expect_content_type!r}"), version
    if check.expect_text and check.expect_text not in response.text:
        return f"body does not contain {check.expect_text!r}", version
    if check.expect_json or check.version_field:
        try:
            body = response.json()
        except (ValueError, jsonlib.JSONDecodeError):
            return "body is not JSON", version
        for path, expected in check.expect_json.items():
            found, value = _lookup(body, path)
            if not found:
                return f"JSON field {path} is missing", version
            if expected == "*":
                if value in (None, "", [], {}):
                    return f"JSON field {path} is empty", version
            elif value != expected:
                return f"JSON field {path} is {value!r}, expected {expected!r}", version
        if check.version_field:
            _, value = _lookup(body, check.version_field)
            version = "" if value is None else str(value)
            if expect_version and version != expect_version:
                return f"version is {version!r}, expected {expect_version!r}", version
    if latency_ms > check.budget_ms:
        return f"latency {latency_ms:.0f} ms over budget {check.budget_ms:.0f} ms", version
    return "", version


def _lookup(body: Any, path: str) -> tuple[bool, Any]:
    value = body
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def suite_result(results: Sequence[CheckResult], *, duration_s: float, started_at: str,
                 suite: str = "smoke") -> SuiteResult:
    """Fold check results into the smoke SuiteResult (evidence only; no judgement)."""
    tests = tuple(
        TestCase(id=f"smoke::{r.name}", name=r.name, outcome="passed" if r.ok else "failed",
                 duration_s=round(r.latency_ms / 1000, 4), attempts=r.attempts,
                 message="" if r.ok else f"{r.reason} ({r.url}, {r.attempts} attempt"
                 f"{'s' if r.attempts != 1 else ''})", details=check_details(r))
        for r in results)
    metrics = outcome_counts(suite, tests)
    for r in results:
        metrics[f"smoke.{slug(r.name)}.latency_ms"] = round(r.latency_ms, 1)
    if results:
        metrics["smoke.latency_max_ms"] = round(max(r.latency_ms for r in results), 1)
    return SuiteResult(suite=suite, status=status_from_tests(tests),
                       duration_s=round(duration_s, 3), engine="httpx (async)",
                       started_at=started_at, metrics=metrics, tests=tests)


def check_details(r: CheckResult) -> dict[str, Any]:
    """What writers show of one check: HTTP status, latency, the reason, attempts."""
    return {"status": r.status, "latency_ms": round(r.latency_ms, 1), "url": r.url,
            "reason": r.reason, "attempts": r.attempts, "version": r.body_version}


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def deployed_version(results: Sequence[CheckResult]) -> str:
    """The version the target reported, if a version check saw one."""
    return next((r.body_version for r in results if r.body_version), "")
