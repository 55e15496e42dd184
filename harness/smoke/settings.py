"""The `[smoke]` table of an environment file: the declared checks and their budgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Check:
    """One HTTP check: request, expected status/text/JSON fields and a latency budget."""

    name: str
    path: str
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE"] = "GET"
    expect_status: int = 200
    #: text the body must contain
    expect_text: str = ""
    #: dotted JSON paths and the value each must have; "*" means present and not empty
    expect_json: dict[str, Any] = field(default_factory=dict)
    #: JSON field that must equal the expected version (--expect-version), when one is given
    version_field: str = ""
    json: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    budget_ms: float = 1000.0
    #: the check changes data (places an order); refused unless the environment allows writes
    writes: bool = False
    #: a POST/PUT/DELETE that changes nothing (a price quote): declared so, it may run on
    #: production; an undeclared one is a config error, so nothing is sent by accident
    safe: bool = False
    #: the Content-Type the response must start with, e.g. "text/html"
    expect_content_type: str = ""
    #: follow redirects (a home page that redirects to /en/ or to https)
    follow_redirects: bool = False


@dataclass(frozen=True)
class BrowserCheck:
    """An optional single browser pass (home → search → product) for JS-only pages.

    The shop's search URL, search word and result link are its own facts: they have no
    defaults, and the check refuses to run (naming the key) until they are declared.
    """

    enabled: bool = False
    #: the shop's search page, `{term}` replaced by the (URL-encoded) search term,
    #: e.g. "/search?q={term}" or "/catalogue/search/?query={term}"
    search_path: str = ""
    search_term: str = ""
    #: a CSS selector matching a link to a product in the search results
    result_selector: str = ""
    #: time allowed for each step (page load, click); a step that takes longer fails
    budget_ms: float = 8000.0

    def require(self, file: str) -> None:
        """Refuse to run without the shop's search facts (ConfigError naming the key)."""
        from harness.errors import ConfigError

        for key in ("search_path", "search_term", "result_selector"):
            if not getattr(self, key):
                raise ConfigError(file, f"smoke.browser.{key}",
                                  "not declared; the browser check needs the shop's search "
                                  "page, a search word and a selector for a result link",
                                  hint='e.g. search_path = "/search?q={term}"')
        if "{term}" not in self.search_path:
            raise ConfigError(file, "smoke.browser.search_path",
                              f"{self.search_path!r} has no {{term}} placeholder")


@dataclass(frozen=True)
class SmokeSettings:
    """Smoke settings: checks, the total time budget (retries included) and write policy."""

    #: the declared checks; none declared is a config error (`qgate init` writes a generic set)
    checks: list[Check] = field(default_factory=list)
    #: total wall-clock budget for all checks, retries with backoff included
    timeout_s: float = 10.0
    #: cap on one attempt, so a hung request leaves room to retry
    attempt_timeout_s: float = 3.0
    expect_version: str = ""
    #: allow checks marked `writes = true` (never on production without the override)
    allow_writes: bool = False
    browser: BrowserCheck = field(default_factory=BrowserCheck)

    def require(self, file: str) -> None:
        """Refuse checks that cannot run safely (ConfigError naming the key): none declared,
        or a request that is not GET/HEAD without `safe = true` or `writes = true`."""
        from harness.errors import ConfigError

        if not self.checks:
            raise ConfigError(file, "smoke.checks",
                              "no smoke checks declared; qgate has no checks of its own for "
                              "your shop",
                              hint='declare at least [[smoke.checks]] name = "home page" '
                                   'path = "/" expect_content_type = "text/html" '
                                   '(`qgate init` writes a generic set)')
        for i, check in enumerate(self.checks):
            if check.method not in ("GET", "HEAD") and not (check.safe or check.writes):
                raise ConfigError(file, f"smoke.checks[{i}]",
                                  f"'{check.name}' sends {check.method}; declare "
                                  "`safe = true` if it changes nothing (a quote) or "
                                  "`writes = true` if it does (never run on production)")
            if check.safe and check.writes:
                raise ConfigError(file, f"smoke.checks[{i}]",
                                  f"'{check.name}' is declared both safe and writes")

    def preflight(self, env: Any) -> None:
        """`qgate run` refuses the same setups as `qgate smoke` before anything runs."""
        self.require(env.file)
