"""The checks no scanner does, against any storefront, through declared requests only.

Each check returns the `Problem`s it found (the product misbehaved). It raises `NotDeclared`
when the environment declares nothing to check with (no evidence, not a pass), and
`CheckError` when a control step fails (the owner cannot read their own order, a genuine
form post is refused): then the check proves nothing and must not pass either.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from harness.errors import HarnessError
from harness.results import Finding, Severity
from harness.security.requests import Filled, Identity, json_path, prepare, send
from harness.security.scan import ScanTarget
from harness.security.settings import CsrfForm, RequestSpec, SecuritySettings

ClientFactory = Callable[..., AbstractContextManager[Any]]
_TOKEN_NAME = re.compile(r"(?i)csrf|xsrf|authenticity_token|^_token$|requestverificationtoken")
_LOGIN_URL = re.compile(r"(?i)log-?in|sign-?in|/auth")
FOREIGN_ORIGIN = "https://attacker.example"

#: what an error page must never show (name -> pattern)
LEAKS: dict[str, re.Pattern[str]] = {
    "stack trace": re.compile(
        r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
        r"\bat [\w$.]+\([\w$]+\.java:\d+\)|\bat \S+ \(/[^)\s]+:\d+:\d+\)|Stack trace:|"
        r"#\d+ /\S+\.php\(\d+\)|\.rb:\d+:in `|System\.[A-Za-z.]*Exception: "),
    "SQL error": re.compile(
        r"SQLSTATE\[|(?i:syntax error at or near)|You have an error in your SQL syntax|"
        r"\bORA-\d{5}\b|sqlite3\.\w*Error|psycopg2?\.\w+|pymysql\.err|sqlalchemy\.exc\.|"
        r"(?i:unclosed quotation mark)|\bSQLException\b|PG::\w+Error"),
    "framework debug page": re.compile(
        r"Werkzeug Debugger|DEBUG = True|Whitelabel Error Page|Illuminate\\[A-Z]|"
        r"Whoops, looks like something went wrong|Action Controller: Exception caught|"
        r"Server Error in '/' Application|django\.core\.|ActionController::"),
}


class NotDeclared(Exception):
    """The environment declares nothing this check can use (the test is skipped, with why)."""


class CheckError(HarnessError):
    """A control step failed, so the check proves nothing (the test errors)."""


@dataclass(frozen=True)
class Problem:
    """One way the target misbehaved, with the finding that records it."""

    message: str
    finding: Finding


def problem(rule: str, title: str, severity: Severity, cwe: str, location: str, message: str,
            reproduce: str = "", wstg: str = "", parameter: str = "") -> Problem:
    """A Problem with its Finding (source: qgate's portable checks)."""
    return Problem(message, Finding(rule_id=rule, title=title, severity=severity,
                                    location=location, evidence=message, cwe=cwe, wstg=wstg,
                                    parameter=parameter, reproduce=reproduce,
                                    source="qgate check"))


def make_clients(target: ScanTarget, settings: SecuritySettings) -> ClientFactory:
    """`clients(auth=True)`: a fresh httpx client (own cookies) for one simulated visitor."""

    @contextmanager
    def factory(auth: bool = True) -> Iterator[Any]:
        import ssl

        import httpx

        verify: Any = (ssl.create_default_context(cafile=settings.transport.ca_bundle)
                       if settings.transport.ca_bundle else True)
        with httpx.Client(base_url=target.base_url, timeout=settings.request_timeout_s,
                          auth=target.basic_auth if auth else None,
                          headers=dict(target.headers) if auth else {}, verify=verify,
                          follow_redirects=False) as client:
            yield client

    return factory


def _accepted(response: Any) -> bool:
    """The server did what was asked: 2xx, or a redirect that is not to a login page."""
    if 200 <= response.status_code < 300:
        return True
    if 300 <= response.status_code < 400:
        return not _LOGIN_URL.search(response.headers.get("location", ""))
    return False


def _step(client: Any, spec: RequestSpec, base: str, values: dict[str, str], what: str) -> Any:
    request = prepare(spec, base, values)
    try:
        response = send(client, request)
    except Exception as exc:  # httpx errors: the control step could not even be sent
        raise CheckError(f"{what}: {request.method} {request.url} failed ({exc})") from None
    if not _accepted(response):
        raise CheckError(f"{what}: {request.method} {request.url} answered "
                         f"{response.status_code}: {response.text[:200]}",
                         hint="check the declared request in the environment's [security]")
    return response


# --- authorisation -------------------------------------------------------------------


def check_authorisation(target: ScanTarget, settings: SecuritySettings,
                        clients: ClientFactory) -> list[Problem]:
    """Shopper B (and an anonymous visitor) can neither read nor cancel shopper A's order."""
    a = settings.authorisation
    if a.sign_up is None or not a.place_order or not (a.read_order or a.cancel_order):
        raise NotDeclared("declare security.authorisation.sign_up, place_order and "
                          "read_order / cancel_order")
    base = target.base_url
    problems: list[Problem] = []
    with ExitStack() as stack:
        alice, bob, anon = (stack.enter_context(clients()) for _ in range(3))
        ida, idb = Identity.fresh("security-a"), Identity.fresh("security-b")
        _step(alice, a.sign_up, base, ida.values, "sign-up of shopper A")
        response = None
        for i, spec in enumerate(a.place_order):
            response = _step(alice, spec, base, ida.values, f"place_order[{i}] for shopper A")
        try:
            order_id = json_path(response.json() if response is not None else None, a.order_id)
        except ValueError:
            order_id = None
        if order_id in (None, ""):
            raise CheckError(f"the last place_order response has no order id at "
                             f"'{a.order_id}' (security.authorisation.order_id)")
        _step(bob, a.sign_up, base, idb.values, "sign-up of shopper B")
        values = {**ida.values, "order_id": str(order_id)}
        for spec in a.read_order:
            request = prepare(spec, base, values)
            own = send(alice, request)
            if not 200 <= own.status_code < 300:
                raise CheckError(f"shopper A cannot read their own order: {request.method} "
                                 f"{request.url} answered {own.status_code}",
                                 hint="check security.authorisation.read_order")
            for who, client in (("shopper B", bob), ("an anonymous visitor", anon)):
                seen = send(client, request)
                if 200 <= seen.status_code < 300:
                    problems.append(_authz(f"{who} read shopper A's order: {request.method} "
                                           f"{request.url} answered {seen.status_code}",
                                           request, who))
        for spec in a.cancel_order:
            request = prepare(spec, base, values)
            for who, client in (("shopper B", bob), ("an anonymous visitor", anon)):
                done = send(client, request)
                if _accepted(done):
                    problems.append(_authz(f"{who} cancelled shopper A's order: "
                                           f"{request.method} {request.url} answered "
                                           f"{done.status_code}", request, who))
        if a.cancel_order and not problems:
            request = prepare(a.cancel_order[0], base, values)
            own = send(alice, request)
            if not _accepted(own):  # the refusals above prove nothing if nobody may cancel
                raise CheckError(f"shopper A cannot cancel their own order: {request.method} "
                                 f"{request.url} answered {own.status_code}",
                                 hint="check security.authorisation.cancel_order")
    return problems


def _authz(message: str, request: Filled, who: str) -> Problem:
    how = "without any session" if "anonymous" in who else f"with {who}'s session cookie"
    return problem("qgate.authorisation", "Broken object-level authorisation (IDOR)", "high",
                   "CWE-639", request.url, message,
                   reproduce=f"{request.curl()}   # {how}", wstg="WSTG-ATHZ-04")


# --- CSRF ----------------------------------------------------------------------------


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "input" and values.get("type", "").lower() == "hidden" and values.get("name"):
            self.found.setdefault(values["name"], values.get("value", ""))


def hidden_inputs(html: str) -> dict[str, str]:
    """Every hidden input of a page (name -> value; the first of a name wins)."""
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.found


def find_token(html: str, field_name: str = "") -> tuple[str, str] | None:
    """The CSRF token field (name, value) among a page's hidden inputs."""
    for name, value in hidden_inputs(html).items():
        if (name == field_name) if field_name else bool(_TOKEN_NAME.search(name)):
            return name, value
    return None


def check_csrf(target: ScanTarget, settings: SecuritySettings,
               clients: ClientFactory) -> list[Problem]:
    """State-changing form posts need the visitor's valid token; API writes refuse foreign
    origins."""
    c = settings.csrf
    if not c.forms and not c.cross_site_api:
        raise NotDeclared("declare security.csrf.forms and/or security.csrf.cross_site_api")
    problems: list[Problem] = []
    for i, form in enumerate(c.forms):
        problems += _check_form(target, settings, clients, form, i)
    for i, spec in enumerate(c.cross_site_api):
        with clients() as client:
            values = Identity.fresh().values
            if settings.authorisation.sign_up is not None:
                _step(client, settings.authorisation.sign_up, target.base_url, values,
                      "sign-up before the cross-site write")
            request = prepare(spec, target.base_url, values)
            foreign = send(client, request, Origin=FOREIGN_ORIGIN)
            if _accepted(foreign) or foreign.status_code >= 500:
                problems.append(_csrf(f"{request.method} {request.url} sent from the foreign "
                                      f"origin {FOREIGN_ORIGIN} answered {foreign.status_code}",
                                      request, f"-H 'Origin: {FOREIGN_ORIGIN}'"))
            elif not _accepted(send(client, request)):
                raise CheckError(f"security.csrf.cross_site_api[{i}]: the same-site request "
                                 f"{request.method} {request.url} is refused too, so the "
                                 "refusal proves nothing")
    return problems


def _check_form(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                form: CsrfForm, index: int) -> list[Problem]:
    where = f"security.csrf.forms[{index}]"
    base = target.base_url
    problems = []
    with clients() as client:
        values = Identity.fresh().values
        if form.signed_in:
            if settings.authorisation.sign_up is None:
                raise NotDeclared(f"{where}.signed_in needs security.authorisation.sign_up")
            _step(client, settings.authorisation.sign_up, base, values, "sign-up for the form")

        for i, spec in enumerate(form.before):
            _step(client, spec, base, values, f"{where}.before[{i}]")

        def page() -> tuple[str, dict[str, str]]:
            """The token field's name, and the page's hidden inputs (a browser sends them)."""
            shown = client.get(prepare(RequestSpec(form.page), base, values).url)
            found = find_token(shown.text, form.token_field) if shown.status_code == 200 else None
            if found is None:
                raise CheckError(f"{where}: no CSRF token field on {form.page} "
                                 f"(answered {shown.status_code})",
                                 hint="set token_field, or check page / before")
            return found[0], hidden_inputs(shown.text)

        name, hidden = page()
        fields = prepare(RequestSpec(form.action, "POST", form=form.fields), base, values)
        others = {k: v for k, v in hidden.items() if k != name}
        for label, data in (("without a CSRF token", {**others, **fields.form}),
                            ("with a forged CSRF token", {**others, **fields.form,
                                                          name: secrets.token_urlsafe(32)})):
            response = client.post(fields.url, data=data)
            if _accepted(response) or response.status_code >= 500:
                request = Filled("POST", fields.url, form=data)
                problems.append(_csrf(f"POST {form.action} {label} answered "
                                      f"{response.status_code} (not refused)", request))
        if problems:  # accepted without a valid token: no control needed (and the post may
            return problems  # have used up the state the form needs, e.g. the cart)
        name, hidden = page()
        genuine = client.post(fields.url, data={**hidden, **fields.form})
        if not _accepted(genuine):
            raise CheckError(f"{where}: the genuine post (with its valid token) answered "
                             f"{genuine.status_code}, so the refusals prove nothing",
                             hint="check fields / signed_in / before")
    return problems


def _csrf(message: str, request: Filled, extra: str = "") -> Problem:
    curl = request.curl() + (f" {extra}" if extra else "")
    return problem("qgate.csrf", "Cross-site request forgery", "high", "CWE-352", request.url,
                   message, reproduce=curl, wstg="WSTG-SESS-05")


# --- cookies -------------------------------------------------------------------------


@dataclass(frozen=True)
class SetCookie:
    """One Set-Cookie header, parsed: name and flags."""

    name: str
    value: str
    attributes: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        """Parse `name=value; Attr; Attr=x`."""
        first, *rest = header.split(";")
        name, _, value = first.partition("=")
        attributes = {}
        for part in rest:
            key, _, val = part.strip().partition("=")
            attributes[key.strip().lower()] = val.strip()
        return cls(name.strip(), value.strip().strip('"'), attributes)

    @property
    def deleting(self) -> bool:
        """An expiring cookie (logout): its flags protect nothing."""
        return not self.value or self.attributes.get("max-age") == "0"


def check_cookies(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                  ) -> list[Problem]:
    """Session cookies carry HttpOnly, SameSite (Lax/Strict), and Secure on HTTPS."""
    seen: dict[str, tuple[SetCookie, Filled]] = {}

    def collect(response: Any, request: Filled) -> None:
        for header in response.headers.get_list("set-cookie"):
            cookie = SetCookie.parse(header)
            if not cookie.deleting:
                seen.setdefault(cookie.name, (cookie, request))

    with clients() as client:
        for page in settings.pages:
            request = prepare(RequestSpec(page), target.base_url, {})
            collect(send(client, request), request)
        if settings.authorisation.sign_up is not None and not target.production:
            values = Identity.fresh("security-c").values
            request = prepare(settings.authorisation.sign_up, target.base_url, values)
            collect(_step(client, settings.authorisation.sign_up, target.base_url, values,
                          "sign-up (cookies)"), request)
    wanted = settings.cookies.session_cookies or sorted(seen)
    if not wanted:
        raise NotDeclared("no cookie was set by security.pages or the sign-up; nothing to check")
    missing = [name for name in wanted if name not in seen]
    if missing == wanted and target.production:  # flags never seen were never checked
        raise NotDeclared(f"production: session cookie(s) {', '.join(missing)} were never "
                          "set by security.pages (no sign-up there); nothing was checked")
    if missing and not target.production:
        raise CheckError(f"session cookie(s) {', '.join(missing)} were never set by "
                         "security.pages or the sign-up", hint="check security.cookies")
    https = target.base_url.startswith("https://")
    problems = []
    for name in wanted:
        if name not in seen:
            continue
        cookie, request = seen[name]
        where = f"{request.method} {request.url}"
        flags = cookie.attributes
        lacks = []
        if "httponly" not in flags:
            lacks.append(("HttpOnly", "CWE-1004"))
        if flags.get("samesite", "").lower() not in ("lax", "strict"):
            lacks.append(("SameSite=Lax/Strict", "CWE-1275"))
        if https and "secure" not in flags:
            lacks.append(("Secure", "CWE-614"))
        for flag, cwe in lacks:
            problems.append(problem(
                "qgate.cookie-flags", f"Session cookie without {flag.split('=')[0]}", "medium",
                cwe, target.base_url, f"cookie {name} (set by {where}) lacks {flag}",
                reproduce=f"{request.curl()} | grep -i set-cookie",
                wstg="WSTG-SESS-02", parameter=name))
    return problems


# --- login rate limit ----------------------------------------------------------------


def check_login_rate_limit(target: ScanTarget, settings: SecuritySettings,
                           clients: ClientFactory) -> list[Problem]:
    """A run of wrong passwords ends in refusal, and then even the right one is refused."""
    login = settings.login
    if login.request is None:
        raise NotDeclared("declare security.login.request")
    base = target.base_url
    identity = Identity.fresh("security-rl")
    has_account = settings.authorisation.sign_up is not None
    if has_account:
        with clients() as signup_client:
            assert settings.authorisation.sign_up is not None
            _step(signup_client, settings.authorisation.sign_up, base, identity.values,
                  "sign-up (login rate limit)")
    wrong = {**identity.values, "password": "Wrong-" + secrets.token_urlsafe(10)}
    request = prepare(login.request, base, wrong)
    statuses: list[int] = []
    with clients() as client:
        for _ in range(login.attempts):
            response = send(client, request)
            statuses.append(response.status_code)
            if 200 <= response.status_code < 300:
                return [_rate(f"a wrong password logged in ({request.method} {request.url} "
                              f"answered {response.status_code})", request)]
            if response.status_code in login.refused_status or "retry-after" in response.headers:
                break
        else:
            return [_rate(f"{login.attempts} wrong passwords in a row were never refused for "
                          f"too many attempts (answers: {sorted(set(statuses))})", request)]
        if has_account:
            right = prepare(login.request, base, identity.values)
            response = send(client, right)
            if 200 <= response.status_code < 300:
                return [_rate(f"refused after {len(statuses)} wrong passwords, but the right "
                              "one still logs in at once (guessing goes on unhindered)", right)]
    return []


def _rate(message: str, request: Filled) -> Problem:
    return problem("qgate.login-rate-limit", "Login not rate-limited", "medium", "CWE-307",
                   request.url, message, reproduce=f"for i in $(seq 20); do {request.curl()}; done",
                   wstg="WSTG-ATHN-03")


# --- error pages ---------------------------------------------------------------------


def check_error_pages(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                      ) -> tuple[list[Problem], list[Finding]]:
    """Error pages (unknown URL, declared malformed input) leak no trace, SQL error or debug
    page; a 5xx among them is returned as a finding (an error an attacker can provoke)."""
    missing = f"/qgate-no-such-page-{secrets.token_hex(4)}"
    requests = [RequestSpec(missing, headers={"Accept": "text/html"}),
                RequestSpec(missing, headers={"Accept": "application/json"}),
                *settings.error_pages.requests]
    problems: list[Problem] = []
    errors: list[Finding] = []
    with clients() as client:
        for spec in requests:
            request = prepare(spec, target.base_url, Identity.fresh().values)
            response = send(client, request)
            body = response.text[:500_000]
            for name, pattern in LEAKS.items():
                match = pattern.search(body)
                if match:
                    excerpt = body[max(0, match.start() - 40):match.end() + 60].strip()
                    problems.append(problem(
                        "qgate.error-page-leak", f"Error page leaks a {name}", "medium",
                        "CWE-209", request.url,
                        f"{request.method} {request.url} answered {response.status_code} "
                        f"with a {name}: …{excerpt}…", reproduce=request.curl(),
                        wstg="WSTG-ERRH-01"))
            if response.status_code >= 500:
                errors.append(problem(
                    "qgate.error-page-5xx", "Malformed input provokes a server error", "medium",
                    "CWE-755", request.url, f"{request.method} {request.url} answered "
                    f"{response.status_code}", reproduce=request.curl(),
                    wstg="WSTG-ERRH-01").finding)
    return problems, errors


# --- staging access control ----------------------------------------------------------


def check_access_control(target: ScanTarget, settings: SecuritySettings,
                         clients: ClientFactory) -> list[Problem]:
    """With declared auth, every declared page and API path refuses a request without it."""
    access = settings.access
    wall = re.compile(access.login_wall) if access.login_wall else None
    problems = []
    with clients(auth=True) as with_auth, clients(auth=False) as without:
        for path in access.paths:
            url = prepare(RequestSpec(path), target.base_url, {}).url
            allowed = with_auth.get(url)
            if allowed.status_code in (401, 403, 407):
                raise CheckError(f"GET {url} is refused ({allowed.status_code}) even with the "
                                 "declared auth", hint="check [auth] and security.access.paths")
            response = without.get(url)
            refused = (response.status_code in (401, 403, 407)
                       or (300 <= response.status_code < 400
                           and bool(_LOGIN_URL.search(response.headers.get("location", ""))))
                       or bool(wall and wall.search(response.text)))
            if not refused:
                problems.append(problem(
                    "qgate.staging-access", "Staging reachable without its auth", "high",
                    "CWE-284", url, f"GET {url} without the declared auth answered "
                    f"{response.status_code} (expected 401/403 or a login wall)",
                    reproduce=f"curl -i {url}", wstg="WSTG-ATHZ-02"))
    return problems
