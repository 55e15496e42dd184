"""Replaying a recorded journey against the shop, with correlation done on the fly.

A journey's HAR (as the e2e suite keeps it: requests with secrets masked, answers dropped)
and the run's request graph (`harness.apigraph`) are enough to drive the same journey again
as a new shopper: each request is sent as recorded, except that every value the graph says
came from an earlier answer (a cart UUID, an order id, a CSRF token) is taken from *this*
replay's own answers, and the shopper's identity (email, masked password, and what a shop may
require unique per shopper: a phone number, a user name) is swapped for a fresh one. The
security suite's authorisation matrix replays shopper A's journey and sends A's object ids
with shopper B's session; `qgate load record` writes the same logic as locust code.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from harness.apigraph import (
    ApiGraph,
    Correlation,
    HiddenFields,
    Template,
    abstract_path,
    body_shape,
    generic_path,
    id_kind,
    is_static,
    json_leaves,
    link_values,
    url_origin,
)
from harness.redaction import MASK

#: correlations whose value names an object of the shopper's (not a session-bound token)
OBJECT_KINDS = frozenset({"id", "uuid", "hex"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# request headers not replayed: the client sets them (cookies come from its own jar), or
# they only describe the recording browser
_SKIPPED_HEADERS = frozenset({"cookie", "host", "content-length", "connection",
                              "accept-encoding", "authorization", "user-agent",
                              "upgrade-insecure-requests", "accept-language"})


_PHONE_KEY = re.compile(r"(?i)phone|mobile|msisdn|^tel$|whatsapp|contact_?(no|num)")
_NAME_KEY = re.compile(r"(?i)user_?name|^login$|^handle$|nick_?name|screen_?name")
_PHONE = re.compile(r"\+?[\d\s().-]+")


def unique_field(key: str, value: Any) -> str:
    """"phone" or "name" when a body field (`key`: its name or JSON path) holds what a shop may
    require unique per shopper (a phone number, a user name), else ""."""
    last = ([k for k in re.split(r"[.\[\]]+", key) if k] or [""])[-1]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    text = str(value)
    if (_PHONE_KEY.search(last) and _PHONE.fullmatch(text)
            and 7 <= sum(c.isdigit() for c in text) <= 15):
        return "phone"
    if _NAME_KEY.search(last) and isinstance(value, str) and value.strip() and value != MASK \
            and not _EMAIL.search(value):
        return "name"
    return ""


def unique_fields(steps: Sequence[Step]) -> dict[str, str]:
    """The recorded values of a journey's bodies a shop may require unique per shopper
    (value → "phone" or "name"), in the order they were sent."""
    found: dict[str, str] = {}
    for step in steps:
        for key, value in body_fields(step.body, step.mime):
            kind = unique_field(key, value)
            if kind:
                found.setdefault(str(value), kind)
    return found


def body_fields(body: str, mime: str) -> Iterator[tuple[str, Any]]:
    """(name or JSON path, value) of every field of a request body (JSON leaves, form pairs)."""
    if not body:
        return
    try:
        data = json.loads(body)
    except ValueError:
        if "form-urlencoded" in mime.lower() or ("=" in body and " " not in body):
            yield from parse_qsl(body, keep_blank_values=True)
        return
    for path, value, _ in json_leaves(data):
        yield path, value


def fresh_phone(recorded: str, keep: int, rng: random.Random | None = None) -> str:
    """A new shopper's phone number shaped like `recorded` (its format, length and country
    code): its first `keep` digits kept, the others drawn anew, the first of them 2-9."""
    draw = rng or random.Random()
    out, digits = [], 0
    for ch in recorded:
        if ch.isdigit():
            digits += 1
            if digits > keep:
                ch = draw.choice("23456789" if digits == keep + 1 else "0123456789")
        out.append(ch)
    return "".join(out)


def phone_keep(recorded: str) -> int:
    """How many leading digits of a recorded phone number `fresh_phone` keeps: with
    `phonenumbers` (when installed) and a number written with its +country code, the fewest
    after the country code with which every one drawn is valid, at least 6 left to draw;
    otherwise all but the last 7."""
    digits = sum(c.isdigit() for c in recorded)
    fallback = digits - min(7, digits - 1)
    try:
        import phonenumbers
    except ImportError:
        return fallback
    try:
        number = phonenumbers.parse(recorded, None)
    except phonenumbers.NumberParseException:
        return fallback
    if not phonenumbers.is_valid_number(number):
        return fallback
    rng = random.Random(recorded)  # the same recording writes the same file
    for keep in range(len(str(number.country_code)), digits - 5):
        if all(phonenumbers.is_valid_number(phonenumbers.parse(fresh_phone(recorded, keep, rng),
                                                               None)) for _ in range(40)):
            return keep
    return fallback


def fresh_name(recorded: str) -> str:
    """A new shopper's user name: the recorded one's letters and a random suffix."""
    import uuid

    return (re.sub(r"[^A-Za-z]", "", recorded)[:12] or "shopper") + uuid.uuid4().hex[:8]


def _replayed(name: str) -> bool:
    lowered = name.lower()
    return not (lowered in _SKIPPED_HEADERS or lowered.startswith(("sec-", ":")))


class ReplayError(Exception):
    """The replay went another way than the recording (a step the shopper passed failed)."""


@dataclass(frozen=True)
class Step:
    """One recorded request of a journey, matched to its template in the graph."""

    template: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    mime: str = ""
    #: the status the shopper got in the recording
    status: int = 0

    @property
    def identity(self) -> bool:
        """Whether the request carried the shopper's credentials (a sign-up or a log-in)."""
        text = unquote_plus(self.body)
        return bool(_EMAIL.search(text)) and MASK in text


def obtained_sources(graph: ApiGraph, steps: Sequence[Step]) -> set[str]:
    """The templates whose answers give the shopper something of their own: a write's
    answer (a new cart, an order's Location), or a page first seen right after a write (an
    order's thank-you page). A catalogue page seen before any write hands out public ids."""
    out: set[str] = set()
    seen: set[str] = set()
    after_write = False
    for step in steps:
        template = graph.template(step.template)
        writes = bool(template and template.changes_state) and not step.identity
        if step.template not in seen and (writes or after_write):
            out.add(step.template)
        seen.add(step.template)
        after_write = writes and 300 <= step.status < 400 or (after_write and step.status in
                                                               (301, 302, 303, 307, 308))
    return out


def match(graph: ApiGraph, method: str, url: str, body: str = "", mime: str = ""
          ) -> Template | None:
    """The graph's template for a request (ids and slugs may take any value)."""
    path, _ = abstract_path(urlsplit(url).path)
    shape, _ = body_shape(body, mime)
    graphql = f" {shape}" if shape.startswith("graphql:") else ""
    exact = graph.template(f"{method} {path}{graphql}")
    if exact is not None:
        return exact
    segments = urlsplit(url).path.split("/")
    for template in graph.templates:
        if template.method != method or (graphql and not template.key.endswith(graphql)):
            continue
        parts = template.path.split("/")
        if len(parts) == len(segments) and all(
                p == s or (p.startswith("{") and p.endswith("}"))
                for p, s in zip(parts, segments, strict=True)):
            return template
    return None


def read_journey(har: Path, graph: ApiGraph) -> list[Step]:
    """The steps of one journey's HAR, in order: requests to the graph's origin that match a
    template (static files and third parties are left out)."""
    data = json.loads(har.read_text(encoding="utf-8"))
    entries = sorted(data.get("log", {}).get("entries", []),
                     key=lambda e: str(e.get("startedDateTime", "")))
    steps: list[Step] = []
    for entry in entries:
        request = entry.get("request", {})
        url = str(request.get("url", ""))
        if graph.origin and url_origin(url) != graph.origin:
            continue
        response = entry.get("response", {})
        if is_static(url, str((response.get("content") or {}).get("mimeType", "")).lower()):
            continue
        post = request.get("postData") or {}
        body = str(post.get("text", "") or "")
        mime = str(post.get("mimeType", "") or "")
        if not body and post.get("params"):
            body = urlencode([(p.get("name", ""), p.get("value", "")) for p in post["params"]])
            mime = mime or "application/x-www-form-urlencoded"
        method = str(request.get("method", "GET")).upper()
        template = match(graph, method, url, body, mime)
        if template is None:
            continue
        headers = tuple((str(h.get("name", "")), str(h.get("value", "")))
                        for h in request.get("headers", [])
                        if _replayed(str(h.get("name", ""))))
        steps.append(Step(template.key, method, url, headers, body, mime,
                          int(response.get("status") or 0)))
    return steps


@dataclass(frozen=True)
class Prepared:
    """A request ready to send: what `Replay.prepare` made of a step."""

    method: str
    url: str
    headers: dict[str, str]
    body: str = ""

    def curl(self) -> str:
        """The request as a curl line (a finding's reproduce)."""
        import shlex
        parts = ["curl", "-i", "-X", self.method, self.url]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.body:
            parts += ["--data-raw", self.body]
        return shlex.join(parts)


@dataclass
class Replay:
    """One shopper replaying recorded journeys: its own client (cookies), its own identity,
    and the values its own answers carried."""

    client: Any
    graph: ApiGraph
    identity: Mapping[str, str]
    #: (source template, source path) → the latest value this replay's answers carried
    found: dict[tuple[str, str], str] = field(default_factory=dict)
    #: a recorded value → this replay's own (emails)
    swapped: dict[str, str] = field(default_factory=dict)
    #: a recorded phone number or user name → this replay's own
    unique: dict[str, str] = field(default_factory=dict)
    #: the latest value of each hidden field, whatever page it came from (a CSRF token)
    fields: dict[str, str] = field(default_factory=dict)

    def prepare(self, step: Step, *, ids_from: Replay | None = None) -> Prepared:
        """The step as this shopper sends it: correlated values from this replay's answers
        (object ids from `ids_from`'s, when given: the authorisation matrix), identity
        swapped."""
        url, body = step.url, step.body
        headers = {name: value for name, value in step.headers}
        if step.mime and body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = step.mime
        for corr in self.graph.feeding(step.template):
            owner = ids_from if ids_from is not None and corr.kind in OBJECT_KINDS else self
            value = owner.found.get((corr.source, corr.source_path))
            if value is None and corr.source_path.startswith("form:"):
                value = owner.fields.get(corr.source_path)
            if value is not None:
                url, body, headers = _place(corr, value, url, body, step.mime, headers)
        base = self._base()
        if base and self.graph.origin:  # Origin and Referer name the recorded address
            headers = {k: (base + v[len(self.graph.origin):] if v.startswith(self.graph.origin)
                           else v) for k, v in headers.items()}
        return Prepared(step.method, self._rebase(self._swap_url(url)), headers,
                        self._swap_body(body, step.mime))

    def _base(self) -> str:
        return str(getattr(self.client, "base_url", "") or "").rstrip("/")

    def _rebase(self, url: str) -> str:
        """The recorded URL on this replay's own target (its client's base URL): a journey
        recorded under one address replays against the shop the client points at."""
        base = self._base()
        if not base:
            return url
        parts = urlsplit(url)
        return base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _swap_url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        query = [(k, self._swap(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _swap_body(self, body: str, mime: str) -> str:
        """The shopper's identity in a body: recorded emails → this replay's, the masked
        password → this replay's password."""
        if not body:
            return body
        try:
            data = json.loads(body)
        except ValueError:
            pass
        else:
            return json.dumps(self._swap_json(data))
        if "form-urlencoded" in mime.lower() or ("=" in body and " " not in body):
            pairs = parse_qsl(body, keep_blank_values=True)
            return urlencode([(k, self._swap_field(k, v)) for k, v in pairs])
        return self._swap(body)

    def _swap_json(self, data: Any, key: str = "") -> Any:
        if isinstance(data, dict):
            return {k: self._swap_json(v, str(k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self._swap_json(v, key) for v in data]
        return self._swap_field(key, data)

    def _swap_field(self, key: str, value: Any) -> Any:
        """A body field's value as this shopper sends it: a phone number or user name of their
        own (one per recorded value), the identity swapped in any other string."""
        kind = unique_field(key, value)
        if kind and str(value) not in self.unique:
            self.unique[str(value)] = (fresh_phone(str(value), phone_keep(str(value)))
                                       if kind == "phone" else fresh_name(str(value)))
        if str(value) in self.unique and not isinstance(value, bool):
            own = self.unique[str(value)]
            return int(own) if isinstance(value, int) else own
        return self._swap(value) if isinstance(value, str) else value

    def send(self, step: Step, *, ids_from: Replay | None = None,
             check: bool = True) -> tuple[Prepared, Any]:
        """Send the step; learn what its answer carried. With `check`, an answer that failed
        where the recording passed is a `ReplayError`."""
        prepared = self.prepare(step, ids_from=ids_from)
        response = self.request(prepared)
        if check and step.status and step.status < 400 <= response.status_code:
            raise ReplayError(f"{step.template}: the recording got {step.status}, the replay "
                              f"{response.status_code}: {response.text[:160]!r}")
        self.learn(step.template, response)
        return prepared, response

    def request(self, prepared: Prepared) -> Any:
        """Send a prepared request as this shopper (no redirect followed, nothing learnt)."""
        return self.client.request(prepared.method, prepared.url, headers=prepared.headers,
                                   content=prepared.body.encode() if prepared.body else None,
                                   follow_redirects=False)

    def learn(self, template: str, response: Any) -> None:
        """Remember the values this answer carried that later requests send back."""
        wanted = {c.source_path for c in self.graph.correlations if c.source == template}
        if not wanted:
            return
        seen: set[str] = set()
        for where, value in answer_values(response, wanted):
            if where not in seen:  # a list of links: the first (a page's newest) is the one
                seen.add(where)
                self.found[(template, where)] = value
                if where.startswith("form:"):
                    self.fields[where] = value

    def _swap(self, text: str) -> str:
        """One value with the identity swapped (an email inside it, the masked password)."""
        if text == MASK:
            return self.identity.get("password", text)
        if text in self.unique:  # a phone number or user name sent again (a log-in)
            return self.unique[text]

        def fresh(m: re.Match[str]) -> str:
            recorded = m.group(0)
            if recorded not in self.swapped:
                email = self.identity.get("email", recorded)
                if self.swapped:  # a second address in one journey: keep them apart
                    local, _, domain = email.partition("@")
                    email = f"{local}.{len(self.swapped)}@{domain}"
                self.swapped[recorded] = email
            return self.swapped[recorded]
        return _EMAIL.sub(fresh, text)


def answer_values(response: Any, wanted: set[str]) -> Iterator[tuple[str, str]]:
    """(source path, value) for the wanted places of an httpx answer."""
    if "header:location" in wanted:
        location = urlsplit(response.headers.get("location", "")).path
        found = next((s for s in location.split("/") if id_kind(s)), None)
        if found:
            yield "header:location", found
    mime = response.headers.get("content-type", "").lower()
    if "json" in mime and any(not w.startswith(("form:", "header:")) for w in wanted):
        try:
            data = response.json()
        except ValueError:
            return
        yield from _json_values(data, wanted)
    elif "html" in mime and any(w.startswith(("form:", "link:", "text:")) for w in wanted):
        parser = HiddenFields()
        try:
            parser.feed(response.text)
        except Exception:  # noqa: BLE001 - an unparsable page carries nothing for us
            return
        for name, value in parser.fields:
            if f"form:{name}" in wanted:
                yield f"form:{name}", value
        for where, value, _ in link_values(parser.links):
            if where in wanted:
                yield where, value
        for where in wanted:
            if where.startswith("text:"):
                found = text_after(response.text, where[5:])
                if found:
                    yield where, found


def text_after(html: str, anchor: str) -> str:
    """The id a page shows right after `anchor` (see `apigraph.text_anchor`)."""
    match = re.search(re.escape(anchor) + r"\s*([A-Za-z0-9][A-Za-z0-9_-]*)", html)
    return match.group(1) if match else ""


def _json_values(data: Any, wanted: set[str]) -> Iterator[tuple[str, str]]:
    for path, value, _ in json_leaves(data):
        if value is not None and not isinstance(value, bool) and generic_path(path) in wanted:
            yield generic_path(path), str(value)


def _place(corr: Correlation, value: str, url: str, body: str, mime: str,
           headers: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """Put `value` where the correlation says the request carries it."""
    kind, _, where = corr.target_where.partition(":")
    if kind == "path":
        index = int(where.rsplit("@", 1)[1])
        parts = urlsplit(url)
        segments = parts.path.split("/")
        if index < len(segments):
            segments[index] = value
        url = urlunsplit(parts._replace(path="/".join(segments)))
    elif kind == "query":
        parts = urlsplit(url)
        query = [(k, value if k == where else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    elif kind == "header":
        name = next((k for k in headers if k.lower() == where), where)
        headers = {**headers, name: value}
    elif kind == "body" and body:
        try:
            data = json.loads(body)
        except ValueError:
            pairs = [(k, value if k == where else v)
                     for k, v in parse_qsl(body, keep_blank_values=True)]
            body = urlencode(pairs)
        else:
            _set_at(data, re.findall(r"[^.\[\]]+|\[\]", where), value)
            body = json.dumps(data)
    return url, body, headers


def _set_at(node: Any, keys: list[str], value: str) -> None:
    """Set every place `keys` (a JSON path split, `[]` = any list element) names to `value`,
    keeping the recorded type (a number stays a number)."""
    if not keys:
        return
    key, rest = keys[0], keys[1:]
    if key == "[]":
        for i, item in enumerate(node if isinstance(node, list) else []):
            if rest:
                _set_at(item, rest, value)
            else:
                node[i] = _typed(item, value)
    elif isinstance(node, dict) and key in node:
        if rest:
            _set_at(node[key], rest, value)
        else:
            node[key] = _typed(node[key], value)


def _typed(recorded: Any, value: str) -> Any:
    if isinstance(recorded, int) and not isinstance(recorded, bool) and value.isdigit():
        return int(value)
    return value
