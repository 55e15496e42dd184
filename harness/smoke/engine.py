"""Run smoke checks in parallel within one total time budget (async httpx).

A fresh deploy may need a few seconds to warm up, so every failing check is retried with
exponential backoff until it passes or the shared deadline arrives. The engine collects
evidence only: each check becomes a TestCase; the verdict judges.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from harness.net import describe_connect_error
from harness.results import SuiteResult, TestCase, outcome_counts, status_from_tests
from harness.smoke.settings import Check

_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 1.6



#: statuses a deploy answers while it warms up (proxy up, app not yet): retried in the budget
WARMUP_STATUSES = frozenset({502, 503, 504})
#: how much of a failed check's body is kept (first lines, for the on-call screen)
_BODY_LINES, _BODY_CHARS = 5, 600


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
    #: the first lines of the body of a failed answer
    body: str = ""
    #: the request, as a curl command line that reproduces it (no secrets)
    curl: str = ""
    #: retrying stopped early: the answer was definite (e.g. 404), not a warm-up
    definite: bool = False


@dataclass(frozen=True)
class SmokeTarget:
    """Where and how to send the checks."""

    base_url: str
    auth: tuple[str, str] | None = None
    headers: dict[str, str] | None = None


#: called with each check's final result as soon as it is known (streaming output)
OnResult = Callable[[CheckResult], None]
#: called once per check on its first retry: (check name, why it is retried)
OnRetry = Callable[[str, str], None]


async def run_checks(checks: Sequence[Check], target: SmokeTarget, *, timeout_s: float,
                     attempt_timeout_s: float, expect_version: str = "",
                     on_result: OnResult | None = None,
                     on_retry: OnRetry | None = None) -> list[CheckResult]:
    """Run every check concurrently; all retries fit inside `timeout_s`.

    A warming-up deploy (no connection, a timeout, 502/503/504, a version not yet switched,
    a slow answer) is retried with backoff until the deadline; a definite answer (404, a
    body without the expected content) ends the check at once.
    """
    deadline = time.monotonic() + timeout_s
    limits = httpx.Limits(max_connections=max(10, len(checks)))
    # Loading the CA bundle costs ~0.1 s of start-up; a plain-http target never needs it.
    verify = target.base_url.startswith("https://")
    async with httpx.AsyncClient(base_url=target.base_url, auth=target.auth,
                                 headers=target.headers or {}, limits=limits, verify=verify,
                                 follow_redirects=False) as client:

        async def one(check: Check) -> CheckResult:
            result = await _run_one(client, check, deadline, attempt_timeout_s,
                                    expect_version, on_retry,
                                    curl_line(check, str(client.base_url.join(check.path)),
                                              target))
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(check) for check in checks)))


def curl_line(check: Check, url: str, target: SmokeTarget) -> str:
    """A curl command that sends what the check sends (auth shown as a placeholder)."""
    words = ["curl", "-i"]
    if check.method != "GET":
        words += ["-X", check.method]
    if check.follow_redirects:
        words.append("-L")
    if target.auth:
        words += ["-u", "USER:PASSWORD"]
    for name, value in {**(target.headers or {}), **check.headers}.items():
        words += ["-H", f"{name}: {value}"]
    if check.json:
        words += ["-H", "Content-Type: application/json", "--data",
                  jsonlib.dumps(check.json, separators=(",", ":"))]
    words.append(url)
    return shlex.join(words)


async def _run_one(client: httpx.AsyncClient, check: Check, deadline: float,
                   attempt_timeout_s: float, expect_version: str, on_retry: OnRetry | None,
                   curl: str) -> CheckResult:
    attempts = 0
    backoff = _BACKOFF_START_S
    url = str(client.base_url.join(check.path))
    while True:
        attempts += 1
        remaining = deadline - time.monotonic()
        started = time.perf_counter()
        status: int | None = None
        version = body = ""
        definite = False
        try:
            response = await client.request(
                check.method, check.path, json=check.json or None, headers=check.headers,
                follow_redirects=check.follow_redirects,
                timeout=max(0.05, min(attempt_timeout_s, remaining)))
            latency = (time.perf_counter() - started) * 1000
            status = response.status_code
            reason, version, definite = _judge_response(check, response, latency,
                                                        expect_version)
            if reason:
                body = first_lines(response.text)
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
            return CheckResult(check.name, url, True, status, latency, "ok", attempts, version,
                               curl=curl)
        if definite or time.monotonic() + backoff >= deadline:
            return CheckResult(check.name, url, False, status, latency, reason, attempts,
                               version, body, curl, definite)
        if attempts == 1 and on_retry is not None:
            on_retry(check.name, reason)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _BACKOFF_MAX_S)


def first_lines(text: str) -> str:
    """The first lines of a body, bounded, for the on-call screen."""
    lines = [line.rstrip() for line in text.strip().splitlines()[:_BODY_LINES]]
    out = "\n".join(lines)
    return out if len(out) <= _BODY_CHARS else out[:_BODY_CHARS].rsplit(" ", 1)[0] + " …"


def _judge_response(check: Check, response: httpx.Response, latency_ms: float,
                    expect_version: str) -> tuple[str, str, bool]:
    """Why the response does not satisfy the check ('' when it does), any version seen, and
    whether the answer is definite (not worth retrying: the deploy is up and says no)."""
    version = ""
    if response.status_code != check.expect_status:
        definite = response.status_code not in WARMUP_STATUSES
        return (f"expected HTTP {check.expect_status}, got {response.status_code}", version,
                definite)
    if check.expect_content_type:
        kind = response.headers.get("content-type", "")
        if not kind.lower().startswith(check.expect_content_type.lower()):
            return (f"Content-Type is {kind or 'missing'!r}, expected "
                    f"{check.expect_content_type!r}"), version, True
    if check.expect_text and check.expect_text not in response.text:
        return f"body does not contain {check.expect_text!r}", version, True
    if check.expect_json or check.version_field:
        try:
            body = response.json()
        except (ValueError, jsonlib.JSONDecodeError):
            return "body is not JSON", version, True
        for path, expected in check.expect_json.items():
            found, value = _lookup(body, path)
            if not found:
                return f"JSON field {path} is missing", version, True
            if expected == "*":
                if value in (None, "", [], {}):
                    return f"JSON field {path} is empty", version, True
            elif value != expected:
                # a readiness flag that is not yet true is a warm-up: retried
                return f"JSON field {path} is {value!r}, expected {expected!r}", version, False
        if check.version_field:
            _, value = _lookup(body, check.version_field)
            version = "" if value is None else str(value)
            if expect_version and version != expect_version:
                # the switch to the new version may still be rolling out: retried
                return (f"version is {version!r}, expected {expect_version!r}", version,
                        False)
    if latency_ms > check.budget_ms:
        return (f"latency {latency_ms:.0f} ms over budget {check.budget_ms:.0f} ms", version,
                False)
    return "", version, False


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
                 suite: str = "smoke", target: str = "") -> SuiteResult:
    """Fold check results into the smoke SuiteResult (evidence only; no judgement).

    A target that never answered any check (refused, DNS, timeouts) gave no evidence: its
    checks are errors and the suite is `error`, as `qgate run`'s probe treats it, so an
    unreachable target is INCONCLUSIVE in both, never a NO-GO that rolls back a deploy.
    """
    unreachable = bool(results) and all(r.status is None and not r.ok for r in results)
    tests = tuple(
        TestCase(id=f"smoke::{r.name}", name=r.name,
                 outcome="passed" if r.ok else "error" if unreachable else "failed",
                 duration_s=round(r.latency_ms / 1000, 4), attempts=r.attempts,
                 message="" if r.ok else f"{r.reason} ({r.url}, {r.attempts} attempt"
                 f"{'s' if r.attempts != 1 else ''})", details=check_details(r))
        for r in results)
    metrics = outcome_counts(suite, tests)
    for r in results:
        metrics[f"smoke.{slug(r.name)}.latency_ms"] = round(r.latency_ms, 1)
    if results:
        metrics["smoke.latency_max_ms"] = round(max(r.latency_ms for r in results), 1)
    error = (f"target {target or results[0].url} is unreachable: {results[0].reason}"
             if unreachable else "")
    return SuiteResult(suite=suite, status="error" if unreachable else status_from_tests(tests),
                       duration_s=round(duration_s, 3), engine="httpx (async)",
                       started_at=started_at, metrics=metrics, tests=tests, error=error)


def check_details(r: CheckResult) -> dict[str, Any]:
    """What writers show of one check: HTTP status, latency, the reason, attempts, and for a
    failure the first lines of the body and the curl line that reproduces it."""
    details: dict[str, Any] = {"status": r.status, "latency_ms": round(r.latency_ms, 1),
                               "url": r.url, "reason": r.reason, "attempts": r.attempts,
                               "version": r.body_version, "curl": r.curl}
    if not r.ok:
        details |= {"body": r.body, "definite": r.definite}
    return details


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def deployed_version(results: Sequence[CheckResult]) -> str:
    """The version the target reported, if a version check saw one."""
    return next((r.body_version for r in results if r.body_version), "")
