"""The `[security]` table of an environment file: scanner, rules and the portable checks.

Everything target-specific (paths, request bodies, cookie names) is declared here by the
environment; the checks themselves know no shop's routes or words. Request templates take
placeholders filled per run: `{email}`, `{password}`, `{name}`, `{digits10}`, `{uuid}` and,
after an order is placed, `{order_id}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

#: wapiti modules that only read responses (no attack payloads): allowed on production.
WAPITI_PASSIVE_MODULES = frozenset({"http_headers", "cookieflags", "csp", "https_redirect"})


@dataclass(frozen=True)
class RequestSpec:
    """One declared HTTP request (path relative to base_url, or an absolute URL)."""

    path: str
    method: Method = "GET"
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    #: a raw body (e.g. deliberately malformed JSON); sent as is
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: values taken from the answer for the requests after it: placeholder name -> dotted
    #: JSON path (`data.uuid`, `items.0.id`) or `header:Name` (e.g. `header:Location`)
    capture: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OwnedObject:
    """`[[security.authorisation.objects]]`: something a shopper owns (a cart, an address, a
    payment method): created by a request chain, then read and changed by others."""

    name: str
    #: requests that create it as its owner; their `capture`s name it ({uuid}, {address_id})
    create: list[RequestSpec]
    #: requests that show it (the owner's must work; everyone else's must be refused)
    read: list[RequestSpec] = field(default_factory=list)
    #: requests that change it (refused to everyone else; then the owner's first must work)
    write: list[RequestSpec] = field(default_factory=list)
    #: the owner signs up first (authorisation.sign_up); false = a guest owner (a guest cart)
    signed_in: bool = True


@dataclass(frozen=True)
class AuthorisationChecks:
    """`[security.authorisation]`: how two fresh shoppers get accounts and one an order."""

    #: creates an account and leaves the client logged in (cookies are kept per shopper)
    sign_up: RequestSpec | None = None
    #: requests that leave the signed-up shopper with one order
    place_order: list[RequestSpec] = field(default_factory=list)
    #: dotted JSON path of the order id in the last place_order response
    order_id: str = "id"
    #: requests that show one order (each must be refused to another shopper)
    read_order: list[RequestSpec] = field(default_factory=list)
    #: requests that cancel one order (refused to another shopper; the owner's must work)
    cancel_order: list[RequestSpec] = field(default_factory=list)
    #: other things a shopper owns, each checked the same way (carts, addresses, payments)
    objects: list[OwnedObject] = field(default_factory=list)


@dataclass(frozen=True)
class CsrfForm:
    """A state-changing HTML form: the page serving it, where it posts, its other fields."""

    page: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    #: the hidden token field; empty = the hidden input whose name looks like a CSRF token
    token_field: str = ""
    #: log in first (with authorisation.sign_up) because the form needs an account
    signed_in: bool = False
    #: requests that make the form appear (e.g. put an item in the cart), sent first
    before: list[RequestSpec] = field(default_factory=list)


@dataclass(frozen=True)
class CsrfChecks:
    """`[security.csrf]`: forms whose post must need a valid token; API writes from afar."""

    forms: list[CsrfForm] = field(default_factory=list)
    #: JSON API writes that must be refused when a foreign Origin sends them
    cross_site_api: list[RequestSpec] = field(default_factory=list)


@dataclass(frozen=True)
class CookieChecks:
    """`[security.cookies]`: which cookies hold a session (flags are checked on them)."""

    #: cookie names; empty = every cookie the target sets on the pages and at sign-up
    session_cookies: list[str] = field(default_factory=list)


#: headers a proxy sets for the client's address; a limiter that trusts them can be reset
BYPASS_HEADERS = ["X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP"]


@dataclass(frozen=True)
class AuthEndpoint:
    """`[[security.login.endpoints]]`: another auth endpoint whose attempts must be limited
    (a token endpoint, the admin login, password reset, sign-up)."""

    name: str
    request: RequestSpec
    #: attempts sent; the limit must answer within them
    attempts: int = 10
    refused_status: list[int] = field(default_factory=lambda: [429])
    #: each attempt as a new synthetic shopper (sign-up, password reset of new emails);
    #: default: one shopper's email with wrong passwords
    fresh_identity: bool = False


@dataclass(frozen=True)
class LoginChecks:
    """`[security.login]`: the login request and how many wrong passwords end in refusal;
    the other auth endpoints; the headers that must not reset the limit."""

    request: RequestSpec | None = None
    attempts: int = 10
    #: statuses meaning "refused for too many attempts" (a Retry-After header also counts)
    refused_status: list[int] = field(default_factory=lambda: [429])
    endpoints: list[AuthEndpoint] = field(default_factory=list)
    #: once refused, each is retried with a new client address; one let through is a bypass
    bypass_headers: list[str] = field(default_factory=lambda: list(BYPASS_HEADERS))


@dataclass(frozen=True)
class ErrorPageChecks:
    """`[security.error_pages]`: malformed requests whose error pages must not leak."""

    requests: list[RequestSpec] = field(default_factory=list)


@dataclass(frozen=True)
class ClientError:
    """`[[security.hygiene.client_errors]]`: a mistake a shopper can make (malformed JSON, an
    unknown coupon, an out-of-stock item); it must be answered 4xx, never 5xx."""

    name: str
    request: RequestSpec
    #: requests sent first by the same visitor (e.g. create a cart); captures carry over
    before: list[RequestSpec] = field(default_factory=list)
    #: sign up first (with security.authorisation.sign_up)
    signed_in: bool = False


@dataclass(frozen=True)
class HygieneChecks:
    """`[security.hygiene]`: what answers give away (technology headers), HEAD on pages,
    shoppers' mistakes answered as server errors."""

    #: pages read for disclosure headers and asked with HEAD; empty = security.pages
    pages: list[str] = field(default_factory=list)
    #: response headers that name the technology (any value); `Server` counts when versioned
    disclosure_headers: list[str] = field(default_factory=lambda: [
        "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Generator", "X-Runtime"])
    #: HEAD on each page must answer like GET does
    head: bool = True
    client_errors: list[ClientError] = field(default_factory=list)


@dataclass(frozen=True)
class Invariant:
    """A fact read through the API after a race: the number at `value` (a list counts its
    items) must stay within `at_least` / `at_most`."""

    name: str
    #: sent by the first shopper after the race (captures of the setup and race fill it)
    request: RequestSpec
    #: dotted JSON path of the number or list in the answer ("" = the whole answer)
    value: str = ""
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True)
class Race:
    """`[[security.races]]`: one request a shopper can send several times at once (a double
    click on Pay, a retried checkout, two shoppers and the last unit, one coupon, two carts)."""

    name: str
    #: the raced request; its `capture` reads the first accepted answer (for the invariants)
    request: RequestSpec
    #: how many are sent at once (they wait on a barrier, then all go)
    parallel: int = 5
    #: "one": all from the same shopper (same cookies, same {uuid}: one Idempotency-Key);
    #: "each": each from its own shopper, each prepared by `setup`
    shoppers: Literal["one", "each"] = "one"
    #: sign up each shopper first (authorisation.sign_up)
    signed_in: bool = True
    #: requests each shopper sends before the race (fill a cart); captures fill the race
    setup: list[RequestSpec] = field(default_factory=list)
    #: at most this many may be accepted (1: the last unit, a single-use coupon); 0 = any
    max_accepted: int = 0
    #: dotted JSON path of what an accepted answer created (the order id): accepted answers
    #: must name at most `max_distinct` different ones (a replay names the same order)
    distinct: str = ""
    max_distinct: int = 1
    invariants: list[Invariant] = field(default_factory=list)


@dataclass(frozen=True)
class TransportChecks:
    """`[security.transport]`: HTTPS targets only (redirect, HSTS, TLS >= 1.2, certificate)."""

    #: the plain-HTTP address that must redirect; default: base_url with http:// and no port
    http_url: str = ""
    #: PEM bundle of CAs to trust (an internal CA); default: the system's
    ca_bundle: str = ""
    #: a plain-HTTP target fails the transport checks instead of being not applicable
    require_https: bool = False


@dataclass(frozen=True)
class AccessChecks:
    """`[security.access]`: a staging with declared [auth] refuses requests without it."""

    #: pages and API paths requested without the auth (each must be refused)
    paths: list[str] = field(default_factory=lambda: ["/"])
    #: text (regex) of a login wall page; a redirect to a URL containing `login` also counts
    login_wall: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    """How the security suite runs against one environment: `[security]`."""

    engine: Literal["wapiti", "zap"] = "wapiti"
    #: zap-baseline rules file (tsv), relative to the project root; "" = no levels
    rules: str = ""
    #: opt-in: attack the target (wapiti's attack modules, ZAP's active scan); never on
    #: production, where only the passive parts run
    active_scan: bool = False
    #: on production run only the passive checks (true) or refuse the suite (false)
    passive_on_production: bool = True
    #: bound of the crawl (spider), seconds
    max_scan_time_s: float = 60.0
    #: bound of each attack module (wapiti) / the active scan (ZAP), seconds
    max_attack_time_s: float = 30.0
    #: wapiti modules; the passive ones alone run when active_scan is off or on production
    modules: list[str] = field(default_factory=lambda: [
        "xss", "sql", "exec", "redirect", "http_headers", "cookieflags", "csp"])
    #: path patterns (`*` wildcards) never crawled nor attacked, e.g. "/static/*", "/*?sort=*"
    exclude: list[str] = field(default_factory=list)
    #: query parameters dropped from crawled URLs, so facet/sort variants do not multiply
    remove_params: list[str] = field(default_factory=list)
    #: seed the scan with recorded requests: a HAR file or a folder of them, relative to the
    #: run directory (e.g. the e2e suite's `artifacts/e2e/har`) or absolute
    seed_har: str = ""
    #: an OpenAPI document (path relative to base_url, or a file) the scanner also attacks
    api_spec: str = ""
    #: seconds per request the scanner waits
    request_timeout_s: float = 10.0
    #: ZAP daemon: API URL, API key (from secrets), AJAX spider, shared folder for HAR import
    zap_url: str = "http://127.0.0.1:8080"
    zap_api_key: str = ""
    zap_ajax_spider: bool = False
    #: a folder this machine and the ZAP daemon share (HAR import); empty = replay through ZAP
    zap_shared_dir: str = ""
    #: the same folder as the daemon sees it (e.g. /zap/wrk); default: zap_shared_dir
    zap_shared_dir_in_daemon: str = ""
    #: pages the passive checks read (cookies, headers)
    pages: list[str] = field(default_factory=lambda: ["/"])
    authorisation: AuthorisationChecks = field(default_factory=AuthorisationChecks)
    csrf: CsrfChecks = field(default_factory=CsrfChecks)
    cookies: CookieChecks = field(default_factory=CookieChecks)
    login: LoginChecks = field(default_factory=LoginChecks)
    error_pages: ErrorPageChecks = field(default_factory=ErrorPageChecks)
    hygiene: HygieneChecks = field(default_factory=HygieneChecks)
    #: requests fired at once, and the exactly-once effects they must keep
    races: list[Race] = field(default_factory=list)
    transport: TransportChecks = field(default_factory=TransportChecks)
    access: AccessChecks = field(default_factory=AccessChecks)

    def gate_criteria(self, suite: str) -> list[Any]:
        """Built-in: findings a rules file did not classify are judged by risk (high blocks,
        medium warns); gate.toml may change one by declaring a criterion of the same name."""
        from harness.policy import Criterion

        return [Criterion(suite, "no high-risk security findings", findings_at_least="high"),
                Criterion(suite, "no medium-risk security findings",
                          findings_at_least="medium", severity="warning")]
