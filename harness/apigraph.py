"""The request graph: a shop's API as its own storefront uses it, read from the journeys' HARs.

The e2e journeys drive a real browser through every shopper path; each journey's HAR holds
the requests the storefront sent and the answers it got. From them this module builds:

- **templates**: one per request shape (method, path with ids abstracted, query keys, body
  shape; a GraphQL operation is its own template), with whether it needs the session and
  whether it changes state;
- **correlations**: which value of an answer (a cart UUID, an order number, a CSRF token)
  a later request carried, and where (path, query, body, header). Found by value: a value is
  a correlation when an answer carried it before any request did (a value the client made up
  itself, like an idempotency key, is not).

Nothing personal or secret is kept: the graph holds shapes, names and JSON paths, never the
values themselves. A journey's observations are written next to its HAR as a *flow*
(`<journey>.flow.json`) before the HAR's answers are dropped (`harness.har.scrub_har`);
`merge_flows` joins them into the run's `api-graph.json`, and `drift` compares two graphs so
a team knows when its locustfile and declared requests went stale.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

GRAPH_VERSION = 1
GRAPH_FILE = "api-graph.json"
FLOW_SUFFIX = ".flow.json"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_INT = re.compile(r"^\d+$")
_HEX = re.compile(r"^[0-9a-f]{16,}$", re.I)
# a long opaque token: letters and digits mixed (base64/url-safe), no spaces
_TOKEN = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.~+/=]{20,}$")
# a slug of words (`organic-whole-milk-1-l_1`) is a name, not a token: a token mixes cases,
# or runs 24+ letters and digits with no separator
_MIXED_CASE = re.compile(r"(?=.*[a-z])(?=.*[A-Z])")
_PLAIN_RUN = re.compile(r"^[A-Za-z0-9]{24,}$")
# JSON keys and form fields whose number values are ids of objects, not quantities or prices
_ID_KEY = re.compile(r"(^|_|-)(id|uuid|pk|key|number|no|token|ref|code)$|Id$|Uuid$|Number$", re.I)
# `mutation PlaceOrder($cart: ID!) { placeOrder …`: the operation's name, else its first field
_GRAPHQL_NAME = re.compile(
    r"^(?:query|mutation|subscription)?\s*(\w+)?\s*(?:\([^)]*\))?\s*\{\s*(\w+)")
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# headers a browser adds by itself or that carry the session: never a correlation target
_PLAIN_HEADERS = frozenset({
    "accept", "accept-encoding", "accept-language", "cache-control", "connection",
    "content-length", "content-type", "cookie", "host", "origin", "pragma", "referer",
    "user-agent", "upgrade-insecure-requests",
})
_STATIC_SUFFIXES = (".js", ".mjs", ".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico",
                    ".woff", ".woff2", ".ttf", ".map", ".webp", ".avif")


@dataclass(frozen=True)
class Template:
    """One request shape of the shop's API (or one page), as the journeys sent it."""

    method: str
    path: str
    query: tuple[str, ...] = ()
    #: "json:{…}" (keys and value types), "graphql:<operation>", "form:<fields>", "multipart",
    #: "text", or "" for no body
    body: str = ""
    #: "json", "html", "other": what the shop answered with
    answers: str = ""
    needs_session: bool = False
    changes_state: bool = False
    count: int = 0
    statuses: tuple[int, ...] = ()
    journeys: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """How the template is named everywhere (graph edges, locust request names)."""
        graphql = f" {self.body}" if self.body.startswith("graphql:") else ""
        return f"{self.method} {self.path}{graphql}"


@dataclass(frozen=True)
class Correlation:
    """A value one answer carried that a later request sent back."""

    source: str
    #: where in the answer: a JSON path ("data.cart.uuid"), "form:<hidden field>",
    #: "header:location"
    source_path: str
    target: str
    #: where in the request: "path:{id}" (the path segment's placeholder), "query:<key>",
    #: "body:<json path or form field>", "header:<name>"; a path placeholder carries the
    #: segment's index ("path:{uuid}@3"), since one path may hold two ids
    target_where: str
    kind: str  # "uuid", "id", "hex", "token"
    count: int = 1


@dataclass(frozen=True)
class ApiGraph:
    """The request templates and the correlations between them."""

    origin: str = ""
    templates: tuple[Template, ...] = ()
    correlations: tuple[Correlation, ...] = ()
    journeys: tuple[str, ...] = ()
    version: int = GRAPH_VERSION

    def template(self, key: str) -> Template | None:
        """The template named `key`, if any."""
        return next((t for t in self.templates if t.key == key), None)

    def feeding(self, key: str) -> list[Correlation]:
        """The correlations whose value request `key` sends."""
        return [c for c in self.correlations if c.target == key]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (keys sorted for readable diffs)."""
        return {"version": self.version, "origin": self.origin, "journeys": list(self.journeys),
                "templates": [asdict(t) | {"key": t.key} for t in self.templates],
                "correlations": [asdict(c) for c in self.correlations]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiGraph:
        """Inverse of `to_dict`; a graph of another version is refused (ValueError)."""
        if data.get("version") != GRAPH_VERSION:
            raise ValueError(f"api graph version {data.get('version')!r}, expected "
                             f"{GRAPH_VERSION}")
        templates = tuple(
            Template(**{k: v for k, v in t.items() if k != "key"}
                     | {"query": tuple(t.get("query", ())),
                        "statuses": tuple(t.get("statuses", ())),
                        "journeys": tuple(t.get("journeys", ()))})
            for t in data.get("templates", []))
        return cls(origin=str(data.get("origin", "")), templates=templates,
                   correlations=tuple(Correlation(**c) for c in data.get("correlations", [])),
                   journeys=tuple(data.get("journeys", ())))


# --- reading one HAR ------------------------------------------------------------------------


def abstract_path(path: str) -> tuple[str, dict[str, str]]:
    """`/api/orders/42/items` → (`/api/orders/{id}/items`, {"42": "{id}@3"}).

    Ids are what varies between shoppers: integers, UUIDs, long hex and opaque tokens. The
    mapping says which segment value became which placeholder (for correlations).
    """
    parts, seen = [], {}
    for index, segment in enumerate(path.split("/")):
        kind = id_kind(segment)
        if kind:
            placeholder = "{" + kind + "}"
            seen[segment] = f"{placeholder}@{index}"
            parts.append(placeholder)
        else:
            parts.append(segment)
    return "/".join(parts) or "/", seen


def id_kind(value: str) -> str:
    """"uuid", "id", "hex" or "token" when `value` looks like an id of that kind, else ""."""
    if _UUID.match(value):
        return "uuid"
    if _INT.match(value):
        return "id"
    if _HEX.match(value):
        return "hex"
    if _TOKEN.match(value) and (_MIXED_CASE.match(value) or _PLAIN_RUN.match(value)):
        return "token"
    return ""


def body_shape(body: str, mime: str) -> tuple[str, bool | None]:
    """The shape of a request body, and for GraphQL whether it is a mutation (else None)."""
    if not body:
        return "", None
    mime = mime.split(";", 1)[0].strip().lower()
    if "json" in mime or body.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(body)
        except ValueError:
            return "text", None
        graphql = _graphql(data)
        if graphql:
            return graphql
        return "json:" + json.dumps(_shape(data), sort_keys=True, separators=(",", ":")), None
    if mime == "application/x-www-form-urlencoded" or (not mime and "=" in body):
        fields = sorted({k for k, _ in parse_qsl(body, keep_blank_values=True)})
        return "form:" + ",".join(fields), None
    if mime.startswith("multipart/"):
        return "multipart", None
    return "text", None


def _graphql(data: Any) -> tuple[str, bool] | None:
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    query = data["query"].strip()
    mutation = query.startswith("mutation")
    name = data.get("operationName")
    if not name:
        match = _GRAPHQL_NAME.match(query)
        name = (match.group(1) or match.group(2)) if match else "anonymous"
    return f"graphql:{name}", mutation


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "num"
    if value is None:
        return "null"
    return "str"


@dataclass
class _Seen:
    """A value an answer carried first: where it came from."""

    source: str
    source_path: str
    kind: str


def json_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any, str]]:
    """(json path, value, the key it sits under) for every scalar leaf of a JSON value (the
    first 50 elements of a list: a long list repeats its shape)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:50]):
            yield from json_leaves(v, f"{path}[{i}]")
    else:
        yield path, value, path.rsplit(".", 1)[-1].split("[", 1)[0]


def _candidate(value: Any, key: str) -> str:
    """The kind of id `value` is, or "" when it is no id (a quantity, a price, a word)."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return "id" if _ID_KEY.search(key) and value > 0 else ""
    if not isinstance(value, str):
        return ""
    kind = id_kind(value)
    if kind == "id":
        return "id" if _ID_KEY.search(key) else ""
    return kind


def generic_path(path: str) -> str:
    """`items[3].sku` → `items[].sku`: the same place in any list element."""
    return re.sub(r"\[\d+\]", "[]", path)


class HiddenFields(HTMLParser):
    """What a page hands the next request: hidden form fields and CSRF meta tags
    (`fields`), and the paths its links and forms point to (`links`), after `feed`."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and (a.get("type") or "").lower() == "hidden" and a.get("name"):
            self.fields.append((a["name"] or "", a.get("value") or ""))
        elif tag == "meta" and "csrf" in (a.get("name") or "").lower() and a.get("content"):
            self.fields.append((a["name"] or "", a.get("content") or ""))
        elif tag in ("a", "form") and a.get("href" if tag == "a" else "action"):
            self.links.append(urlsplit(a.get("href" if tag == "a" else "action") or "").path)


def link_values(links: Iterator[str] | list[str]) -> Iterator[tuple[str, str, str]]:
    """("link:<path with ids abstracted>@<segment>", value, kind) for every id in a page's
    links: a server-rendered shop hands its order numbers over as links, not as JSON."""
    for path in links:
        if not path.startswith("/"):
            continue
        abstract, seen = abstract_path(path)
        for value, placeholder in seen.items():
            if id_kind(value) in ("id", "uuid", "hex"):
                yield f"link:{abstract}@{placeholder.rsplit('@', 1)[1]}", value, id_kind(value)


def _answer_values(entry: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(where in the answer, value as text, kind) for every id-like value an answer carried."""
    response = entry.get("response", {})
    for header in response.get("headers", []):
        if str(header.get("name", "")).lower() == "location":
            path = urlsplit(str(header.get("value", ""))).path
            for segment in path.split("/"):
                kind = id_kind(segment)
                if kind:
                    yield "header:location", segment, kind
    content = response.get("content") or {}
    text = content.get("text") or ""
    if not text or content.get("encoding") == "base64":
        return
    mime = str(content.get("mimeType", "")).lower()
    if "json" in mime:
        try:
            data = json.loads(text)
        except ValueError:
            return
        for path, value, key in json_leaves(data):
            kind = _candidate(value, key)
            if kind:
                yield generic_path(path), str(value), kind
    elif "html" in mime:
        parser = HiddenFields()
        try:
            parser.feed(text)
        except Exception:  # noqa: BLE001 - a page the parser chokes on carries nothing for us
            return
        for name, value in parser.fields:
            kind = id_kind(value) or ("token" if len(value) >= 16 else "")
            if kind == "id" and not _ID_KEY.search(name):
                continue  # a quantity, a form count: a number, not an id
            if kind:
                yield f"form:{name}", value, kind
        yield from link_values(parser.links)


def _request_values(url: str, request: Mapping[str, Any], seen_path: Mapping[str, str]
                    ) -> Iterator[tuple[str, str]]:
    """(where in the request, value as text) for every value the request sent."""
    parts = urlsplit(url)
    for value, placeholder in seen_path.items():
        yield f"path:{placeholder}", value
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        yield f"query:{key}", value
    for header in request.get("headers", []):
        name = str(header.get("name", "")).lower()
        if name not in _PLAIN_HEADERS and not name.startswith(":") and not name.startswith("sec-"):
            yield f"header:{name}", str(header.get("value", ""))
    post = request.get("postData") or {}
    body = str(post.get("text", "") or "")
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            for key, value in parse_qsl(body, keep_blank_values=False):
                yield f"body:{key}", value
        else:
            if isinstance(data, dict) and isinstance(data.get("variables"), dict):
                data = {"variables": data["variables"]}  # GraphQL: the query text is no value
            for path, value, _ in json_leaves(data):
                if value is not None and not isinstance(value, bool):
                    yield f"body:{generic_path(path)}", str(value)
    for param in post.get("params") or []:
        yield f"body:{param.get('name', '')}", str(param.get("value", ""))


def is_static(url: str, mime: str) -> bool:
    """A script, stylesheet, image or font: no part of the shop's API."""
    path = urlsplit(url).path.lower()
    return path.endswith(_STATIC_SUFFIXES) or mime.startswith(("image/", "font/", "text/css")) \
        or "javascript" in mime


def url_origin(url: str) -> str:
    """`scheme://host:port` of a URL, without any credentials it carries."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def flow_of_har(data: Mapping[str, Any], journey: str, origin: str = "") -> ApiGraph:
    """The graph of one journey's HAR (a parsed HAR document).

    Only requests to `origin` count (default: the first request's origin): third-party
    scripts and analytics are not the shop's API. Static files are left out.
    """
    entries = sorted(data.get("log", {}).get("entries", []),
                     key=lambda e: str(e.get("startedDateTime", "")))
    templates: dict[str, Template] = {}
    correlations: dict[tuple[str, str, str, str], Correlation] = {}
    first_seen: dict[str, _Seen] = {}
    sent_first: set[str] = set()  # values the client sent before any answer carried them
    pages: list[tuple[str, str]] = []  # (template, HTML) of the answers so far
    for entry in entries:
        request = entry.get("request", {})
        url = str(request.get("url", ""))
        parts = urlsplit(url)
        here = url_origin(url)
        if not origin:
            origin = here
        response = entry.get("response", {})
        answer_mime = str((response.get("content") or {}).get("mimeType", "")).lower()
        if here != origin or is_static(url, answer_mime) or not parts.scheme.startswith("http"):
            continue
        method = str(request.get("method", "GET")).upper()
        path, seen_path = abstract_path(parts.path)
        post = request.get("postData") or {}
        shape, mutation = body_shape(str(post.get("text", "") or ""), str(post.get("mimeType", "")))
        if not shape and post.get("params"):
            shape = "form:" + ",".join(sorted({str(p.get("name", "")) for p in post["params"]}))
        headers = {str(h.get("name", "")).lower() for h in request.get("headers", [])}
        changes = mutation if mutation is not None else method in _STATE_CHANGING
        status = int(response.get("status") or 0)
        template = Template(
            method=method, path=path,
            query=tuple(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})),
            body=shape,
            answers="json" if "json" in answer_mime else "html" if "html" in answer_mime
            else "other" if answer_mime else "",
            needs_session=bool({"cookie", "authorization"} & headers),
            changes_state=changes, count=1, statuses=(status,) if status else (),
            journeys=(journey,))
        known = templates.get(template.key)
        templates[template.key] = _merge_template(known, template) if known else template
        for where, value in _request_values(url, request, seen_path):
            if where.startswith(("body:", "query:")) and id_kind(value) == "id" \
                    and not _ID_KEY.search(re.split(r"[.\[\]]+", where.split(":", 1)[1])[-1]
                                           or where):
                continue  # a quantity or a form count: the same digits are no evidence
            origin_of = first_seen.get(value)
            if origin_of is None and value not in sent_first and where.startswith("path:"):
                origin_of = _shown_in_text(value, pages)
                if origin_of is not None:
                    first_seen[value] = origin_of
            if origin_of is None:
                if id_kind(value) or len(value) >= 16:
                    sent_first.add(value)
                continue
            key = (origin_of.source, origin_of.source_path, template.key, where)
            old = correlations.get(key)
            correlations[key] = (replace(old, count=old.count + 1) if old else
                                 Correlation(origin_of.source, origin_of.source_path,
                                             template.key, where, origin_of.kind))
        for where, value, kind in _answer_values(entry):
            if value not in first_seen and value not in sent_first:
                first_seen[value] = _Seen(template.key, where, kind)
        text = str((response.get("content") or {}).get("text") or "")
        if "html" in answer_mime and text:
            pages.append((template.key, text[:_PAGE_LIMIT]))
    return ApiGraph(origin=origin, templates=tuple(templates.values()),
                    correlations=tuple(correlations.values()), journeys=(journey,))


_PAGE_LIMIT = 500_000
# what may stand before an id a page shows in its text: markup and words, no digits
_ANCHOR = re.compile(r"[^\d<>]{0,40}(?:<[^<>\d]{0,60}>[^\d<>]{0,40}){0,2}$")


def text_anchor(html: str, value: str) -> str:
    """The markup and words right before `value` in a page (`order number is <strong>`), by
    which the same page shows a new value; "" when too little stands before it to find it."""
    match = re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", html)
    if match is None:
        return ""
    before = _ANCHOR.search(html[max(0, match.start() - 400):match.start()])
    anchor = before.group(0).lstrip() if before else ""
    # markup and a few words; an address or a long run of text may be somebody's
    return anchor if len(anchor.strip()) >= 8 and "@" not in anchor else ""


def _shown_in_text(value: str, pages: list[tuple[str, str]]) -> _Seen | None:
    """The first page that showed `value` in its text (an order number on a thank-you
    page), as a correlation source anchored by what stands before it."""
    kind = id_kind(value)
    if kind not in ("id", "uuid", "hex") or (kind == "id" and len(value) < 3):
        return None
    for template, html in pages:
        anchor = text_anchor(html, value)
        if anchor:
            return _Seen(template, f"text:{anchor}", kind)
    return None


def _merge_template(a: Template, b: Template) -> Template:
    return replace(a, needs_session=a.needs_session or b.needs_session,
                   changes_state=a.changes_state or b.changes_state, count=a.count + b.count,
                   answers=a.answers or b.answers,
                   statuses=tuple(sorted(set(a.statuses) | set(b.statuses))),
                   journeys=tuple(sorted(set(a.journeys) | set(b.journeys))))


# --- the run's graph --------------------------------------------------------------------------


def merge_flows(flows: Iterable[ApiGraph]) -> ApiGraph:
    """One graph from every journey's flow (both viewports, every journey)."""
    templates: dict[str, Template] = {}
    correlations: dict[tuple[str, str, str, str], Correlation] = {}
    journeys: set[str] = set()
    origin = ""
    for flow in flows:
        origin = origin or flow.origin
        journeys.update(flow.journeys)
        for t in flow.templates:
            templates[t.key] = _merge_template(templates[t.key], t) if t.key in templates else t
        for c in flow.correlations:
            key = (c.source, c.source_path, c.target, c.target_where)
            old = correlations.get(key)
            correlations[key] = replace(old, count=old.count + c.count) if old else c
    templates, renamed = _collapse_slugs(templates)
    for key, c in list(correlations.items()):
        if c.source in renamed or c.target in renamed:
            del correlations[key]
            c = replace(c, source=renamed.get(c.source, c.source),
                        target=renamed.get(c.target, c.target))
            key = (c.source, c.source_path, c.target, c.target_where)
            old = correlations.get(key)
            correlations[key] = replace(old, count=old.count + c.count) if old else c
    return ApiGraph(origin=origin,
                    templates=tuple(sorted(templates.values(), key=lambda t: t.key)),
                    correlations=tuple(sorted(correlations.values(),
                                              key=lambda c: (c.target, c.target_where))),
                    journeys=tuple(sorted(journeys)))


def _collapse_slugs(templates: dict[str, Template]
                    ) -> tuple[dict[str, Template], dict[str, str]]:
    """Pages that differ only in one path segment holding a digit (`/p/AVO-001`,
    `/p/MLK-001`) are one template (`/p/{slug}`): a product or category code is an id too.
    Returns the templates and which old key became which new one."""
    groups: dict[tuple[str, str, str, int], list[str]] = {}
    for key, t in templates.items():
        segments = t.path.split("/")
        for i, segment in enumerate(segments):
            if any(ch.isdigit() for ch in segment) and not segment.startswith("{"):
                pattern = "/".join([*segments[:i], "*", *segments[i + 1:]])
                groups.setdefault((t.method, pattern, t.body, i), []).append(key)
    renamed: dict[str, str] = {}
    for (_, pattern, _, _), keys in groups.items():
        if len(keys) < 2 or any(k in renamed for k in keys):
            continue
        for key in keys:
            renamed[key] = ""  # filled below, once the merged template's key is known
        merged = templates[keys[0]]
        for key in keys[1:]:
            merged = _merge_template(merged, templates[key])
        merged = replace(merged, path=pattern.replace("*", "{slug}"))
        for key in keys:
            renamed[key] = merged.key
            del templates[key]
        templates[merged.key] = merged
    return templates, renamed


def write_flow(har: Path, journey: str) -> Path | None:
    """Write `<har>.flow.json` from the raw HAR (before its answers are dropped); None when
    the HAR holds nothing readable."""
    try:
        data = json.loads(har.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    flow = flow_of_har(data, journey)
    out = har.with_name(har.name.removesuffix(".har") + FLOW_SUFFIX)
    out.write_text(json.dumps(flow.to_dict(), indent=1), encoding="utf-8")
    return out


def read_graph(path: Path) -> ApiGraph:
    """The graph at `path` (api-graph.json or a flow); ValueError when it is not one."""
    try:
        return ApiGraph.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, TypeError, KeyError) as exc:
        raise ValueError(f"{path}: not an api graph ({exc})") from None


def build_graph(folder: Path) -> ApiGraph:
    """The graph of every flow under `folder` (a run's HAR folder)."""
    return merge_flows(read_graph(p) for p in sorted(folder.rglob("*" + FLOW_SUFFIX)))


def write_graph(folder: Path, out: Path) -> ApiGraph | None:
    """Merge the flows under `folder` into `out` (api-graph.json); None when there are none."""
    flows = sorted(folder.rglob("*" + FLOW_SUFFIX)) if folder.is_dir() else []
    if not flows:
        return None
    graph = merge_flows(read_graph(p) for p in flows)
    out.write_text(json.dumps(graph.to_dict(), indent=1), encoding="utf-8")
    return graph


# --- drift ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """How a run's graph differs from a committed one."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    #: (template key, committed body shape, this run's body shape)
    changed: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """One line per difference, for notes and reports."""
        return ([f"new endpoint: {k}" for k in self.added]
                + [f"gone: {k}" for k in self.removed]
                + [f"body changed: {k} ({old or 'no body'} → {new or 'no body'})"
                   for k, old, new in self.changed])


def drift(committed: ApiGraph, current: ApiGraph) -> Drift:
    """What changed from `committed` to `current`: endpoints added, removed, re-shaped."""
    old = {t.key: t for t in committed.templates}
    new = {t.key: t for t in current.templates}
    changed = tuple((k, old[k].body, new[k].body) for k in sorted(old.keys() & new.keys())
                    if old[k].body != new[k].body)
    return Drift(added=tuple(sorted(new.keys() - old.keys())),
                 removed=tuple(sorted(old.keys() - new.keys())), changed=changed)


def state_changing(graph: ApiGraph) -> Sequence[Template]:
    """The templates that change state (writes, GraphQL mutations)."""
    return [t for t in graph.templates if t.changes_state]


def record_flow(har: Path) -> ApiGraph | None:
    """What the e2e suite calls when a journey's HAR is written, before its answers are
    dropped: the journey's flow next to it, and the run's graph (`api-graph.json`, beside the
    HAR folder) brought up to date. Written atomically, so parallel workers never leave a
    half-written graph; the last one to finish has merged every flow."""
    if write_flow(har, har.name.removesuffix(".har")) is None:
        return None
    out = har.parent.parent / GRAPH_FILE
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    graph = write_graph(har.parent, tmp)
    if graph is not None:
        os.replace(tmp, out)
    return graph


GraphEvidence = tuple[str, "tuple[Path, str, str] | None", "tuple[str, float] | None",
                      "dict[str, Any] | None"]


def record_graph(har_dir: Path, committed: str = "") -> Iterator[GraphEvidence]:
    """The e2e suite's evidence about its request graph, as (note, artifact, metric, details)
    items: the merged graph as an artifact and as details for the report's page, and with a
    `committed` graph (a path in the project) the drift from it (`e2e.api_drift`: how many
    requests are new, gone or re-shaped)."""
    out = har_dir.parent / GRAPH_FILE
    graph = write_graph(har_dir, out)
    if graph is None:
        return
    yield (f"request graph: {len(graph.templates)} requests, {len(graph.correlations)} "
           f"correlations, from {len(graph.journeys)} journeys",
           (out, "api-graph", "request graph (api-graph.json)"), None,
           {"api_graph": graph.to_dict()})
    if not committed:
        return
    from harness.config import project_root
    path = Path(committed) if Path(committed).is_absolute() else project_root() / committed
    if not path.is_file():
        yield (f"no committed request graph at {committed}: copy this run's api-graph.json "
               "there to track drift", None, None, None)
        return
    try:
        found = drift(read_graph(path), graph)
    except ValueError as exc:
        yield f"the committed request graph cannot be read: {exc}", None, None, None
        return
    count = len(found.added) + len(found.removed) + len(found.changed)
    lines = found.lines()
    yield ((f"request graph drifted from {committed} ({count}): " + "; ".join(lines[:8])
            + (f"; and {len(lines) - 8} more" if len(lines) > 8 else "")) if found
           else f"request graph unchanged since {committed}", None, ("e2e.api_drift", count),
           {"api_drift": found.lines()})
