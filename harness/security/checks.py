"""The checks no scanner does, against any storefront, through declared requests only.

Each check returns the `Problem`s it found (the product misbehaved). It raises `NotDeclared`
when the environment declares nothing to check with (no evidence, not a pass), and
`CheckError` when a control step fails (the owner cannot read their own order, a genuine
form post is refused): then the check proves nothing and must not pass either.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from harness.errors import HarnessError
from harness.results import Finding, Severity
from harness.security.requests import Filled, Identity, captured, json_path, prepare, send
from harness.security.scan import ScanTarget
from harness.security.settings import (
    AuthEndpoint,
    CsrfForm,
    OwnedObject,
    RequestSpec,
    SecuritySettings,
)

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


def accepted(response: Any) -> bool:
    """The server did what was asked: 2xx, or a redirect that is not to a login page."""
    if 200 <= response.status_code < 300:
        return True
    if 300 <= response.status_code < 400:
        return not _LOGIN_URL.search(response.headers.get("location", ""))
    return False


def step(client: Any, spec: RequestSpec, base: str, values: dict[str, str], what: str) -> Any:
    """Send one control step (refused: CheckError); its captures go into `values`."""
    request = prepare(spec, base, values)
    try:
        response = send(client, request)
    except Exception as exc:  # httpx errors: the control step could not even be sent
        raise CheckError(f"{what}: {request.method} {request.url} failed ({exc})") from None
    if not accepted(response):
        raise CheckError(f"{what}: {request.method} {request.url} answered "
                         f"{response.status_code}: {response.text[:200]}",
                         hint="check the declared request in the environment's [security]")
    try:
        values.update(captured(spec, response))  # for the requests after this one
    except ValueError as exc:
        raise CheckError(f"{what}: {request.method} {request.url}: {exc}",
                         hint="check the request's capture paths") from None
    return response


def chain(client: Any, specs: list[RequestSpec], base: str, values: dict[str, str],
           what: str) -> Any:
    """Send `specs` in order as one visitor, each answer's captures filling the next; the
    last answer (None for no requests)."""
    response = None
    for i, spec in enumerate(specs):
        response = step(client, spec, base, values, f"{what}[{i}]")
    return response


# --- authorisation -------------------------------------------------------------------


def check_authorisation(target: ScanTarget, settings: SecuritySettings,
                        clients: ClientFactory) -> list[Problem]:
    """Shopper B (and an anonymous visitor) can neither read nor change shopper A's order,
    nor any other declared object of A's (cart, address, payment)."""
    a = settings.authorisation
    orders = a.sign_up is not None and a.place_order and (a.read_order or a.cancel_order)
    if not orders and not a.objects:
        raise NotDeclared("declare security.authorisation.sign_up, place_order and "
                          "read_order / cancel_order, and/or security.authorisation.objects")
    problems = _check_orders(target, settings, clients) if orders else []
    for i, owned in enumerate(a.objects):
        problems += _check_object(target, settings, clients, owned, i)
    return problems


def _check_object(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                  owned: OwnedObject, index: int) -> list[Problem]:
    where = f"security.authorisation.objects[{index}] ({owned.name})"
    sign_up = settings.authorisation.sign_up
    if owned.signed_in and sign_up is None:
        raise NotDeclared(f"{where}.signed_in needs security.authorisation.sign_up")
    base = target.base_url
    with ExitStack() as stack:
        owner, values = new_shopper(stack, clients, base, "security-a",
                                    sign_up if owned.signed_in else None,
                                    f"{where}: sign-up of shopper A", owned.create,
                                    f"{where}.create")
        others = _others(stack, clients, base, sign_up, f"{where}: sign-up of shopper B")
        return _try_owned(owner, others, base, values, _Owned(
            owned.name, owned.read, owned.write, "change", "changed", f"{where}: ",
            "check its create (captures) and read requests", "check its write requests"))


def _check_orders(target: ScanTarget, settings: SecuritySettings,
                  clients: ClientFactory) -> list[Problem]:
    a = settings.authorisation
    assert a.sign_up is not None
    base = target.base_url
    with ExitStack() as stack:
        alice, values = new_shopper(stack, clients, base, "security-a", a.sign_up,
                                    "sign-up of shopper A")
        response = None
        for i, spec in enumerate(a.place_order):
            response = step(alice, spec, base, values, f"place_order[{i}] for shopper A")
        try:
            order_id = json_path(response.json() if response is not None else None, a.order_id)
        except ValueError:
            order_id = None
        if order_id in (None, ""):
            raise CheckError(f"the last place_order response has no order id at "
                             f"'{a.order_id}' (security.authorisation.order_id)")
        others = _others(stack, clients, base, a.sign_up, "sign-up of shopper B")
        return _try_owned(alice, others, base, {**values, "order_id": str(order_id)}, _Owned(
            "order", a.read_order, a.cancel_order, "cancel", "cancelled", "",
            "check security.authorisation.read_order",
            "check security.authorisation.cancel_order"))


def new_shopper(stack: ExitStack, clients: ClientFactory, base: str, label: str,
                sign_up: RequestSpec | None = None, signing_up: str = "",
                setup: Sequence[RequestSpec] = (), setting_up: str = "",
                ) -> tuple[Any, dict[str, str]]:
    """One simulated shopper: a client of their own (cookies) entered on `stack`, fresh
    identity values (`Identity.fresh(label)`), signed up with `sign_up` when given, then
    `setup` sent in order (`signing_up`, `setting_up`: what a failed step is called). Returns
    the client and the values, with every capture."""
    client = stack.enter_context(clients())
    values = Identity.fresh(label).values
    if sign_up is not None:
        step(client, sign_up, base, values, signing_up)
    chain(client, list(setup), base, values, setting_up)
    return client, values


def sign_up_for(settings: SecuritySettings, signed_in: bool, where: str
                ) -> RequestSpec | None:
    """The declared sign-up when the check at `where` needs a signed-in shopper (None when it
    does not); NotDeclared when it does and no sign-up is declared."""
    if not signed_in:
        return None
    if settings.authorisation.sign_up is None:
        raise NotDeclared(f"{where}.signed_in needs security.authorisation.sign_up")
    return settings.authorisation.sign_up


def _others(stack: ExitStack, clients: ClientFactory, base: str, sign_up: RequestSpec | None,
            signing_up: str) -> list[tuple[str, Any]]:
    """Who tries shopper A's object: shopper B (when a sign-up is declared) and an anonymous
    visitor."""
    anon = stack.enter_context(clients())
    if sign_up is None:
        return [("an anonymous visitor", anon)]
    bob, _ = new_shopper(stack, clients, base, "security-b", sign_up, signing_up)
    return [("shopper B", bob), ("an anonymous visitor", anon)]


@dataclass(frozen=True)
class _Owned:
    """One object of shopper A's, as the owner / shopper B / anonymous loop tries it."""

    name: str
    read: list[RequestSpec]
    write: list[RequestSpec]
    verb: str  # what a write does to it ("change"), and as told ("changed")
    done: str
    where: str  # what a failed control step is prefixed with
    read_hint: str
    write_hint: str


def _try_owned(owner: Any, others: list[tuple[str, Any]], base: str, values: dict[str, str],
               owned: _Owned) -> list[Problem]:
    """Each read and write of A's object sent by the others: one answered 2xx, or accepted, is
    a problem. A's own read is the reads' control; A's own first write is the writes' when
    nothing was found (a control that fails proves the refusals nothing: CheckError)."""
    problems: list[Problem] = []
    for spec in owned.read:
        request = prepare(spec, base, values)
        own = send(owner, request)
        if not 200 <= own.status_code < 300:
            raise CheckError(f"{owned.where}shopper A cannot read their own {owned.name}: "
                             f"{request.method} {request.url} answered {own.status_code}",
                             hint=owned.read_hint)
        for who, client in others:
            seen = send(client, request)
            if 200 <= seen.status_code < 300:
                problems.append(_authz(f"{who} read shopper A's {owned.name}: "
                                       f"{request.method} {request.url} answered "
                                       f"{seen.status_code}", request, who, owned.name))
    for spec in owned.write:
        request = prepare(spec, base, values)
        for who, client in others:
            done = send(client, request)
            if accepted(done):
                problems.append(_authz(f"{who} {owned.done} shopper A's {owned.name}: "
                                       f"{request.method} {request.url} answered "
                                       f"{done.status_code}", request, who, owned.name))
    # a control that fails proves the refusals nothing, but must not hide a finding
    if owned.write and not problems:
        request = prepare(owned.write[0], base, values)
        own = send(owner, request)
        if not accepted(own):
            raise CheckError(f"{owned.where}shopper A cannot {owned.verb} their own "
                             f"{owned.name}: {request.method} {request.url} answered "
                             f"{own.status_code}", hint=owned.write_hint)
    return problems


def _authz(message: str, request: Filled, who: str, what: str = "order") -> Problem:
    how = "without any session" if "anonymous" in who else f"with {who}'s session cookie"
    return problem("qgate.authorisation", "Broken object-level authorisation (IDOR)", "high",
                   "CWE-639", request.url, message,
                   reproduce=f"{request.curl()}   # {how}", wstg="WSTG-ATHZ-04",
                   parameter=what)


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
        with ExitStack() as stack:
            client, values = new_shopper(stack, clients, target.base_url, "security",
                                         settings.authorisation.sign_up,
                                         "sign-up before the cross-site write")
            request = prepare(spec, target.base_url, values)
            foreign = send(client, request, Origin=FOREIGN_ORIGIN)
            if accepted(foreign) or foreign.status_code >= 500:
                problems.append(_judge_cross_site(client, request, foreign))
            elif not accepted(send(client, request)):
                raise CheckError(f"security.csrf.cross_site_api[{i}]: the same-site request "
                                 f"{request.method} {request.url} is refused too, so the "
                                 "refusal proves nothing")
    return problems


_SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def _judge_cross_site(client: Any, request: Filled, foreign: Any) -> Problem:
    """A cross-origin write was accepted: high only if a browser could send it (a simple
    request, or CORS allowing the origin with credentials); JSON-only is hardening (low)."""
    said = (f"{request.method} {request.url} sent from the foreign origin {FOREIGN_ORIGIN} "
            f"answered {foreign.status_code}")
    origin = f"-H 'Origin: {FOREIGN_ORIGIN}'"
    declared_type = {k.lower(): v for k, v in request.headers.items()}.get("content-type", "")
    if request.json is None and (request.form or declared_type.split(";")[0].strip().lower()
                                 in _SIMPLE_TYPES):
        return _csrf(f"{said} (a form or plain-text post: any page can send it)", request,
                     origin)
    credentialed = _cors_with_credentials(client, request, foreign)
    if credentialed:
        return _csrf(f"{said}, and CORS allows that origin with credentials ({credentialed}): "
                     "any page can send it with the visitor's cookies and read the answer",
                     request, origin)
    tried = []
    for kind, simple in _simple_variants(request):
        response = send(client, simple, Origin=FOREIGN_ORIGIN)
        if accepted(response):
            return _csrf(f"{said}; sent as a simple request ({kind}, no preflight) it "
                         f"answered {response.status_code} too: any page can forge it",
                         simple, origin)
        tried.append(f"{kind} {response.status_code}")
    return _csrf(f"{said}, but only as JSON: as a simple request it was refused "
                 f"({', '.join(tried) or 'not tried'}) and the CORS preflight allows no "
                 "foreign origin with credentials, so a browser cannot forge it (hardening: "
                 "refuse foreign Origins)", request, origin, severity="low")


def _cors_with_credentials(client: Any, request: Filled, foreign: Any) -> str:
    """How CORS lets the foreign origin send this request with cookies ("" = it does not)."""
    wanted = sorted({"content-type", *(k.lower() for k in request.headers)})
    preflight = client.request("OPTIONS", request.url, headers={
        "Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": request.method,
        "Access-Control-Request-Headers": ", ".join(wanted)})
    for what, response in (("preflight", preflight), ("answer", foreign)):
        allowed = response.headers.get("access-control-allow-origin", "")
        credentials = response.headers.get("access-control-allow-credentials", "").lower()
        if allowed in (FOREIGN_ORIGIN, "null") and credentials == "true":
            return (f"the {what} answered Access-Control-Allow-Origin: {allowed}, "
                    "Access-Control-Allow-Credentials: true")
    return ""


def _simple_variants(request: Filled) -> Iterator[tuple[str, Filled]]:
    """The JSON request's body as the three simple content types a page can post."""
    import json as _json

    if not isinstance(request.json, dict):
        return
    # a header outside the CORS safelist would need a preflight: a page could not send it
    headers = {k: v for k, v in request.headers.items()
               if k.lower() in ("accept", "accept-language", "content-language")}
    fields = {k: v if isinstance(v, str) else _json.dumps(v) for k, v in request.json.items()}
    yield "form-urlencoded", Filled(request.method, request.url, form=fields, headers=headers)
    yield "multipart", Filled(request.method, request.url, files=fields, headers=headers)
    yield "text/plain", Filled(request.method, request.url, body=_json.dumps(request.json),
                               headers={**headers, "Content-Type": "text/plain"})


def _check_form(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                form: CsrfForm, index: int) -> list[Problem]:
    where = f"security.csrf.forms[{index}]"
    base = target.base_url
    problems = []
    with ExitStack() as stack:
        client, values = new_shopper(stack, clients, base, "security",
                                     sign_up_for(settings, form.signed_in, where),
                                     "sign-up for the form", form.before, f"{where}.before")

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
            if accepted(response) or response.status_code >= 500:
                request = Filled("POST", fields.url, form=data)
                problems.append(_csrf(f"POST {form.action} {label} answered "
                                      f"{response.status_code} (not refused)", request))
        if problems:  # accepted without a valid token: no control needed (and the post may
            return problems  # have used up the state the form needs, e.g. the cart)
        name, hidden = page()
        genuine = client.post(fields.url, data={**hidden, **fields.form})
        if not accepted(genuine):
            raise CheckError(f"{where}: the genuine post (with its valid token) answered "
                             f"{genuine.status_code}, so the refusals prove nothing",
                             hint="check fields / signed_in / before")
    return problems


def _csrf(message: str, request: Filled, extra: str = "", severity: Severity = "high",
          ) -> Problem:
    curl = request.curl() + (f" {extra}" if extra else "")
    title = ("Cross-site request forgery" if severity == "high" else
             "Cross-origin write accepted (JSON only: a browser cannot forge it)")
    return problem("qgate.csrf", title, severity, "CWE-352", request.url, message,
                   reproduce=curl, wstg="WSTG-SESS-05")


def failing(problems: list[Problem]) -> list[Problem]:
    """The problems that fail a check's test: medium and above (low ones are recorded as
    findings, hardening the verdict shows without blocking)."""
    return [p for p in problems if p.finding.severity not in ("info", "low")]


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
            collect(step(client, settings.authorisation.sign_up, target.base_url, values,
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
    forged = None  # whether a cross-site write was shown (asked once, only when it matters)
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
            severity: Severity = "medium"
            why = ""
            if flag.startswith("SameSite"):
                if forged is None:
                    forged = _cross_site_write_shown(target, settings, clients)
                severity = "medium" if forged else "low"
                why = (f" and a cross-site write was shown ({forged})" if forged else
                       " (low: no cross-site write was shown, so a browser's default "
                       "protects nothing more)")
            problems.append(problem(
                "qgate.cookie-flags", f"Session cookie without {flag.split('=')[0]}", severity,
                cwe, target.base_url, f"cookie {name} (set by {where}) lacks {flag}{why}",
                reproduce=f"{request.curl()} | grep -i set-cookie",
                wstg="WSTG-SESS-02", parameter=name))
    return problems


def _cross_site_write_shown(target: ScanTarget, settings: SecuritySettings,
                            clients: ClientFactory) -> str:
    """The first high CSRF problem the declared writes show ("" = none, or none may be sent:
    production, nothing declared, a control step that failed)."""
    if target.production:
        return ""
    try:
        found = check_csrf(target, settings, clients)
    except (NotDeclared, CheckError):
        return ""
    return next((p.message for p in found if p.finding.severity == "high"), "")


# --- login rate limit ----------------------------------------------------------------


def check_login_rate_limit(target: ScanTarget, settings: SecuritySettings,
                           clients: ClientFactory) -> list[Problem]:
    """Every declared auth endpoint refuses a run of attempts; a client address sent in a
    header does not reset that refusal; after it, even the right password is refused."""
    login = settings.login
    endpoints = ([AuthEndpoint("login", login.request, login.attempts, login.refused_status)]
                 if login.request is not None else []) + list(login.endpoints)
    if not endpoints:
        raise NotDeclared("declare security.login.request and/or security.login.endpoints")
    base = target.base_url
    identity = Identity.fresh("security-rl")
    has_account = settings.authorisation.sign_up is not None
    if has_account:
        with clients() as signup_client:
            assert settings.authorisation.sign_up is not None
            step(signup_client, settings.authorisation.sign_up, base, identity.values,
                  "sign-up (login rate limit)")
    problems: list[Problem] = []
    for endpoint in endpoints:
        problems += _check_limit(target, settings, clients, endpoint, identity,
                                 right_password=has_account and endpoint.request is login.request)
    return problems


def _check_limit(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
                 endpoint: AuthEndpoint, identity: Identity, right_password: bool,
                 ) -> list[Problem]:
    base = target.base_url
    label = "" if endpoint.name == "login" else f"{endpoint.name}: "
    wrong = {**identity.values, "password": "Wrong-" + secrets.token_urlsafe(10)}

    def attempt() -> Filled:
        return prepare(endpoint.request, base,
                       Identity.fresh("security-rl").values if endpoint.fresh_identity else wrong)

    def refused(response: Any) -> bool:
        return response.status_code in endpoint.refused_status or "retry-after" in response.headers

    statuses: list[int] = []
    with clients() as client:
        for _ in range(endpoint.attempts):
            request = attempt()
            response = send(client, request)
            statuses.append(response.status_code)
            if 200 <= response.status_code < 300 and not endpoint.fresh_identity:
                return [_rate(f"{label}a wrong password logged in ({request.method} "
                              f"{request.url} answered {response.status_code})", request)]
            if refused(response):
                break
        else:
            what = "attempts" if endpoint.fresh_identity else "wrong passwords"
            return [_rate(f"{label}{endpoint.attempts} {what} in a row were never refused for "
                          f"too many attempts (answers: {sorted(set(statuses))})", request,
                          endpoint.name)]
        problems = []
        for header in settings.login.bypass_headers:
            address = f"198.51.100.{secrets.randbelow(254) + 1}"
            value = f"for={address}" if header.lower() == "forwarded" else address
            again = attempt()
            response = send(client, again, **{header: value})
            if not refused(response):
                problems.append(problem(
                    "qgate.rate-limit-bypass", "Rate limit bypassed by a client-address header",
                    "high", "CWE-348", again.url,
                    f"{label or 'login: '}refused after {len(statuses)} attempts, but the next "
                    f"one with {header}: {value} got through ({again.method} {again.url} "
                    f"answered {response.status_code}): any client resets the limit",
                    reproduce=f"for i in $(seq 20); do {again.curl()} -H '{header}: "
                              f"198.51.100.'$i; done",
                    wstg="WSTG-ATHN-03", parameter=header))
        if problems:
            return problems
        if right_password:
            right = prepare(endpoint.request, base, identity.values)
            response = send(client, right)
            if 200 <= response.status_code < 300:
                return [_rate(f"refused after {len(statuses)} wrong passwords, but the right "
                              "one still logs in at once (guessing goes on unhindered)", right)]
    return []


def _rate(message: str, request: Filled, name: str = "login") -> Problem:
    title = "Login not rate-limited" if name == "login" else "Auth endpoint not rate-limited"
    return problem("qgate.login-rate-limit", title, "medium", "CWE-307",
                   request.url, message, reproduce=f"for i in $(seq 20); do {request.curl()}; done",
                   wstg="WSTG-ATHN-03", parameter="" if name == "login" else name)


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


# --- response hygiene ----------------------------------------------------------------

_VERSIONED = re.compile(r"\d+\.\d+|/\d")


def check_response_hygiene(target: ScanTarget, settings: SecuritySettings,
                           clients: ClientFactory) -> list[Problem]:
    """Answers name no technology (X-Powered-By, a versioned Server), HEAD works on pages, and
    a shopper's mistake (declared) is answered 4xx, not 5xx. Writes are skipped on production."""
    hygiene = settings.hygiene
    base = target.base_url
    problems: list[Problem] = []
    disclosed: set[str] = set()
    with clients() as client:
        for page in hygiene.pages or settings.pages:
            request = prepare(RequestSpec(page), base, {})
            got = send(client, request)
            for header in [*hygiene.disclosure_headers, "Server"]:
                value = got.headers.get(header)
                if not value or header.lower() in disclosed or (
                        header.lower() == "server" and not _VERSIONED.search(value)):
                    continue
                disclosed.add(header.lower())
                problems.append(problem(
                    "qgate.technology-disclosure", f"Technology disclosed in {header}", "low",
                    "CWE-497", request.url, f"GET {request.url} answers {header}: {value} "
                    "(names the software and its version to anyone looking for its flaws)",
                    reproduce=f"curl -sI {shlex.quote(request.url)} | grep -i '^{header}:'",
                    wstg="WSTG-INFO-02", parameter=header))
            if hygiene.head and 200 <= got.status_code < 300:
                head = client.head(request.url)
                if not 200 <= head.status_code < 300:
                    problems.append(problem(
                        "qgate.head-method", "HEAD not answered like GET",
                        # 501 says "not implemented" on purpose; another 5xx is a crash
                        "medium" if head.status_code >= 500 and head.status_code != 501
                        else "low", "", request.url,
                        f"HEAD {request.url} answered {head.status_code} while GET answered "
                        f"{got.status_code} (monitors, caches and link checkers use HEAD)",
                        reproduce=f"curl -sI {shlex.quote(request.url)}", parameter="HEAD"))
    if target.production:  # the mistakes below are writes
        return problems
    for i, mistake in enumerate(hygiene.client_errors):
        where = f"security.hygiene.client_errors[{i}] ({mistake.name})"
        with ExitStack() as stack:
            client, values = new_shopper(stack, clients, base, "security-h",
                                         sign_up_for(settings, mistake.signed_in, where),
                                         f"{where} sign-up", mistake.before, f"{where}.before")
            request = prepare(mistake.request, base, values)
            response = send(client, request)
            if response.status_code >= 500:
                problems.append(problem(
                    "qgate.client-error-5xx", "A shopper's mistake answered as a server error",
                    "medium", "CWE-755", request.url,
                    f"{mistake.name}: {request.method} {request.url} answered "
                    f"{response.status_code} (a client error must be 4xx: the shopper learns "
                    "nothing, and monitoring counts an outage)", reproduce=request.curl(),
                    wstg="WSTG-ERRH-01", parameter=mistake.name))
    return problems


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
