"""Rate limits met during a journey: the shop's limiter answered, not the product.

Staging shops limit auth endpoints per IP (a handful of sign-ups or logins per 15 minutes)
and pages per minute. A journey that meets the limiter has no evidence about the product, so
its test is an *error* (INCONCLUSIVE), never a failure. What counts as a limiter's answer is
read from HTTP alone, shop-neutrally: status 429, or 503 with a `Retry-After` header (see RFC
6585 and RFC 9110). An adapter that sees the limit another way (a refusal its page words as
"too many attempts") raises `harness.e2e.adapter.RateLimited` or returns the `rate_limited`
reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

#: what the tester can do about it (kept short: it ends the verdict's one-line reason)
ADVICE = "not a product failure: use test accounts ([e2e.accounts]) or allow-list this client"


@dataclass(frozen=True)
class RateLimitHit:
    """One answer of a limiter seen by the browser during a journey."""

    method: str
    url: str
    status: int
    retry_after: str = ""
    #: the `RateLimit-*` / `X-RateLimit-*` headers, when the shop sends them
    limit_headers: tuple[tuple[str, str], ...] = ()
    #: the journey step in progress when it came ("" between steps)
    step: str = ""

    def where(self, base_url: str = "") -> str:
        """`POST /api/customers` (the full URL when it is on another origin than base_url)."""
        parts = urlsplit(self.url)
        base = urlsplit(base_url) if base_url else None
        same = base is None or (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        target = (parts.path or "/") if same else f"{parts.scheme}://{parts.netloc}{parts.path}"
        return f"{self.method} {target}"

    def describe(self, base_url: str = "") -> str:
        """`rate-limited at POST /signup (HTTP 429, Retry-After 900) in step 'sign up'`."""
        detail = [f"HTTP {self.status}"]
        if self.retry_after:
            detail.append(f"Retry-After {self.retry_after}")
        detail += [f"{name} {value}" for name, value in self.limit_headers]
        step = f" in step '{self.step}'" if self.step else ""
        return f"rate-limited at {self.where(base_url)} ({', '.join(detail)}){step}"


def limiter_answer(status: int, method: str, url: str, headers: Mapping[str, str],
                   step: str = "") -> RateLimitHit | None:
    """The hit when (status, headers) is a limiter's answer: 429, or 503 with Retry-After."""
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "").strip()
    if status != 429 and not (status == 503 and retry_after):
        return None
    limits = tuple(sorted((k, v) for k, v in lowered.items()
                          if k.startswith(("ratelimit", "x-ratelimit"))))
    return RateLimitHit(method.upper(), url, status, retry_after, limits, step)


def rate_limit_message(hits: Sequence[RateLimitHit], base_url: str = "",
                       failure: str = "") -> str:
    """The error of a test stopped by a limiter: the first hit and what to do on the first
    line (the verdict quotes it), then how the journey stopped."""
    first = hits[0]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    then = f"\nthe journey then stopped: {failure}" if failure else ""
    return f"{first.describe(base_url)}{more} — {ADVICE}{then}"
