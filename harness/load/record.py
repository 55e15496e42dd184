"""`qgate load record`: a locustfile written from the e2e journeys' recording.

The journeys' HARs and the run's request graph (`harness.apigraph`) say which requests a
storefront sends, with which bodies, and which value of one answer the next request carries.
This module writes that as a plain, readable locustfile: one task per recorded journey (the
viewports' duplicates and journeys that end in a refusal by design left out), correlation
done in code (each id and token read from this run's own answers), the request names the
graph's template keys, the think time measured in the recording, and task weights from a
shopping funnel (browse, search, cart, checkout). A team reviews it, commits it and names it
in `[load] locustfile`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import keyword
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from harness.apigraph import ApiGraph, Correlation, read_graph
from harness.errors import ConfigError, HarnessError
from harness.har import har_files
from harness.redaction import MASK
from harness.replay import (
    Step,
    fresh_name,
    fresh_phone,
    obtained_sources,
    phone_keep,
    read_journey,
    unique_fields,
)

#: the default mix: most shoppers browse, fewer search, fewer fill a cart, fewest buy
DEFAULT_MIX: dict[str, int] = {"browse": 50, "search": 25, "cart": 15, "checkout": 10}
STAGES = tuple(DEFAULT_MIX)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_STOP_WORDS = {"is", "the", "your", "a", "an", "of", "no", "to", "for", "and", "our", "has",
               "been", "was", "with", "strong", "b", "span", "em"}
_GENERIC_KEYS = {"id", "uuid", "key", "token", "number", "code", "pk", "ref"}
# recorded request headers a load test sends too (the rest describe the recording browser)
_KEPT_HEADER = re.compile(r"(?i)^x-|^idempotency-key$|^authorization$")
#: where a task's own phone numbers and user names are kept among its variables
_UNIQUE = "unique"


class RecordError(HarnessError):
    """Nothing to write a locustfile from (no recording, no journey to replay)."""


@dataclass
class Journey:
    """One recorded journey to replay as a locust task."""

    name: str
    steps: list[Step]
    stage: str
    weight: int = 1
    #: seconds between the journey's requests in the recording
    gaps: list[float] = field(default_factory=list)


def parse_mix(text: str) -> dict[str, int]:
    """`browse=50,search=25,cart=15,checkout=10` → weights; unknown stages are an error."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        stage, _, weight = part.partition("=")
        if stage not in STAGES or not weight.strip().isdigit():
            raise ConfigError("--mix", part, "expected STAGE=WEIGHT",
                              hint=f"stages: {', '.join(STAGES)}; e.g. browse=50,checkout=10")
        mix[stage] = int(weight)
    return {**{s: 0 for s in STAGES}, **mix} if mix else dict(DEFAULT_MIX)


def find_recording(run_dir: Path) -> tuple[ApiGraph, Path]:
    """The request graph and HAR folder of a run (`artifacts/**/api-graph.json`)."""
    graphs = sorted(run_dir.glob("artifacts/**/api-graph.json"))
    if not graphs:
        raise RecordError(f"{run_dir} has no request graph: run the e2e suite with "
                          "[e2e] har_dir set (e.g. `qgate run --env NAME --suites e2e`)")
    graph_file = graphs[0]
    har_dir = next((p for p in (graph_file.parent / "har", graph_file.parent)
                    if har_files(p)), graph_file.parent)
    try:
        return read_graph(graph_file), har_dir
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def journeys_of(graph: ApiGraph, har_dir: Path, mix: Mapping[str, int]) -> list[Journey]:
    """The journeys worth replaying under load, each with its funnel stage and weight."""
    seen: set[tuple[str, ...]] = set()
    found: list[Journey] = []
    for har in har_files(har_dir):
        steps = read_journey(har, graph)
        shape = tuple(s.template for s in steps)
        # a journey the shop refused on purpose (a wrong password, a declined card) is a
        # functional check, not a shopper's path
        if not steps or shape in seen or any(s.status >= 400 for s in steps):
            continue
        seen.add(shape)
        found.append(Journey(_task_name(har.name), steps, stage_of(graph, steps),
                             gaps=_gaps(har)))
    by_stage: dict[str, list[Journey]] = {}
    for journey in found:
        by_stage.setdefault(journey.stage, []).append(journey)
    for stage, members in by_stage.items():
        share = mix.get(stage, 0)
        for journey in members:  # a stage's weight is shared by its journeys (at least 1)
            journey.weight = max(1, round(share * 10 / len(members))) if share else 0
    kept = [j for j in found if j.weight]
    divisor = math.gcd(*(j.weight for j in kept)) if kept else 1
    for journey in kept:
        journey.weight //= divisor
    return kept


def stage_of(graph: ApiGraph, steps: Sequence[Step]) -> str:
    """Where a journey ends in the funnel: `checkout` when a write's answer gave an id a later
    request used (an order was placed), `cart` for other writes beyond signing in, `search`
    for a read with a query, else `browse`."""
    keys = {s.template for s in steps}
    writes = [s for s in steps if _changes_state(graph, s) and not s.identity]
    mine = obtained_sources(graph, steps)
    placed = any(c.source in mine and c.target in keys and c.kind in ("id", "uuid", "hex")
                 for c in graph.correlations)
    if writes and placed:
        return "checkout"
    if any(not _is_session_only(graph, s) for s in writes):
        return "cart"
    typed = re.compile(r"^[^\W\d_][\w\s'-]*$")  # words, not a path, a URL or an id
    if any(typed.match(v) for s in steps if s.method == "GET"
           for _, v in parse_qsl(urlsplit(s.url).query)):
        return "search"
    return "browse"


def _changes_state(graph: ApiGraph, step: Step) -> bool:
    return _changes_state_key(graph, step.template)


def _changes_state_key(graph: ApiGraph, key: str) -> bool:
    template = graph.template(key)
    return bool(template and template.changes_state)


def _is_session_only(graph: ApiGraph, step: Step) -> bool:
    """A write that only sets the session up (a location, a log-out) with no object."""
    body = dict(parse_qsl(step.body)) if "=" in step.body and "{" not in step.body else {}
    return bool(body) and set(body) <= {"csrf_token", "csrfmiddlewaretoken", "_token", "next",
                                        "pincode", "postcode", "zip"}


def _gaps(har: Path) -> list[float]:
    data = json.loads(har.read_text(encoding="utf-8"))
    times = []
    for entry in data.get("log", {}).get("entries", []):
        mime = str(entry.get("response", {}).get("content", {}).get("mimeType", ""))
        if "html" in mime or "json" in mime:
            try:
                times.append(dt.datetime.fromisoformat(
                    str(entry["startedDateTime"]).replace("Z", "+00:00")).timestamp())
            except (KeyError, ValueError):
                continue
    times.sort()
    return [b - a for a, b in zip(times, times[1:], strict=False) if b > a]


def _task_name(har_name: str) -> str:
    name = har_name.removesuffix(".har")
    name = re.sub(r"^suites_e2e_test_\w+?_py_test_", "", name)
    name = re.sub(r"_chromium$", "", name)
    name = re.sub(r"_(desktop|mobile)(?=_|$)", "", name)
    name = re.sub(r"\W", "_", name).strip("_").lower() or "journey"
    return f"journey_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


# --- writing the locustfile -------------------------------------------------------------


def render_locustfile(graph: ApiGraph, journeys: Sequence[Journey], *, source: str,
                      environment: str) -> str:
    """The locustfile's text."""
    gaps = sorted(g for j in journeys for g in j.gaps)
    low = round(min(max(statistics.median(gaps) if gaps else 0.5, 0.1), 5.0), 2)
    high = round(min(max(gaps[int(len(gaps) * 0.9)] if gaps else 2.0, low + 0.1), 10.0), 2)
    tasks = "\n".join(_render_task(graph, j) for j in journeys)
    kinds = {kind for j in journeys for kind in unique_fields(j.steps).values()}
    # the generators of `harness.replay`, as the file's own code (it imports nothing of ours)
    helpers = "\n\n".join(inspect.getsource(f) for kind, f in
                          (("phone", fresh_phone), ("name", fresh_name)) if kind in kinds)
    helpers = f"\n{helpers}\n" if helpers else "\n"
    unique_doc = "".join(f", a {what} of its own" for kind, what in
                         (("phone", "phone number"), ("name", "user name")) if kind in kinds)
    stages = ", ".join(f"{j.name} ({j.stage}, weight {j.weight})" for j in journeys)
    return f'''"""Shopper journeys recorded by qgate from {source} (environment {environment}).

Review it, edit it, commit it, then name it in the environment:

    [load]
    locustfile = "<this file>"

Tasks: {stages}.
Every request is named after its template in the request graph (api-graph.json), so
[load.slo] objectives and the graph's drift speak of the same requests. Ids and tokens are
read from this run's own answers (never replayed); each task signs up its own shopper
(a fresh address{unique_doc}).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

from locust import HttpUser, between, task

PASSWORD = "Load-" + uuid.uuid4().hex[:10] + "-pw1"  # every load shopper signs up with it


def fresh_email() -> str:
    """A new shopper's address: nothing here reaches a real person."""
    return f"load+{{uuid.uuid4().hex[:12]}}@example.com"

{helpers}
class _Hidden(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {{}}
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "input" and (a.get("type") or "").lower() == "hidden" and a.get("name"):
            self.fields.setdefault(a["name"], a.get("value") or "")
        elif tag == "meta" and "csrf" in (a.get("name") or "").lower():
            self.fields.setdefault(a["name"], a.get("content") or "")
        elif tag in ("a", "form") and a.get("href" if tag == "a" else "action"):
            self.links.append(urlsplit(a.get("href" if tag == "a" else "action")).path)


def hidden(response, name: str) -> str:
    """A hidden form field (or CSRF meta tag) of a page."""
    parser = _Hidden()
    parser.feed(response.text)
    return parser.fields.get(name, "")


def json_at(response, path: str) -> str:
    """The value at a JSON path of an answer (`data.cart.uuid`, `items[].id`: the first)."""
    try:
        node = response.json()
    except ValueError:
        return ""
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            node = node[0] if isinstance(node, list) and node else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return ""
    return "" if node is None else str(node)


def link_id(response, pattern: str, index: int) -> str:
    """The id at segment `index` of the page's first link shaped like `pattern`
    (`/accounts/orders/{{id}}/`): a server-rendered shop hands its ids over as links."""
    parser = _Hidden()
    parser.feed(response.text)
    want = pattern.split("/")
    for link in parser.links:
        got = link.split("/")
        if len(got) == len(want) and all(
                w == g or (w.startswith("{{") and g) for w, g in zip(want, got)):
            return got[index]
    return ""


def text_after(response, anchor: str) -> str:
    """The id a page shows right after `anchor` (an order number on a thank-you page)."""
    match = re.search(re.escape(anchor) + r"\\s*([A-Za-z0-9][A-Za-z0-9_-]*)", response.text)
    return match.group(1) if match else ""


def location_id(response) -> str:
    """The first id in a redirect's Location (`/orders/42` → `42`)."""
    path = urlsplit(response.headers.get("location", "")).path
    return next((s for s in path.split("/") if s.isdigit() or len(s) >= 16), "")


class RecordedShopper(HttpUser):
    """A shopper running the recorded journeys, weighted by the funnel mix."""

    # think time between requests, as measured in the recording (median to 90th percentile)
    wait_time = between({low}, {high})
{tasks}'''


def _render_task(graph: ApiGraph, journey: Journey) -> str:
    lines = [f"    @task({journey.weight})", f"    def {journey.name}(self) -> None:",
             f'        """Recorded journey ({journey.stage}): {len(journey.steps)} requests."""',
             "        self.client.cookies.clear()  # each run of a journey is a new visitor"]
    if any(_EMAIL.search(unquote_plus(s.body + s.url)) for s in journey.steps):
        lines.append("        email = fresh_email()")
    names: dict[tuple[str, str], str] = {}
    # what a shop may require unique per shopper (a phone number, a user name): each task's own
    for recorded, kind in unique_fields(journey.steps).items():
        var = _unique("phone" if kind == "phone" else "user_name", names)
        names[(_UNIQUE, recorded)] = var
        make = (f"fresh_phone({recorded!r}, {phone_keep(recorded)})" if kind == "phone"
                else f"fresh_name({recorded!r})")
        lines.append(f"        {var} = {make}")
    needed = _needed_sources(graph, journey.steps)
    for step in journey.steps:
        lines.extend(_render_step(graph, step, names, needed))
    return "\n".join(lines) + "\n"


def _needed_sources(graph: ApiGraph, steps: Sequence[Step]) -> set[tuple[str, str]]:
    keys = {s.template for s in steps}
    return {(c.source, c.source_path) for c in graph.correlations
            if c.source in keys and c.target in keys}


def _slot(source: str, source_path: str) -> tuple[str, str]:
    """Where a value is kept in the generated code: a hidden field (a CSRF token) is one
    value whichever page it was read from; anything else is its source's own."""
    return ("", source_path) if source_path.startswith("form:") else (source, source_path)


def _render_step(graph: ApiGraph, step: Step, names: dict[tuple[str, str], str],
                 needed: set[tuple[str, str]]) -> list[str]:
    feeding = [c for c in graph.feeding(step.template) if _slot(c.source, c.source_path) in names]
    path_expr = _path_expr(step, feeding, names)
    args = [path_expr, f"name={step.template!r}"]
    body = _body_expr(step, feeding, names)
    if body:
        args.append(body)
    headers = {k: v for k, v in step.headers if _KEPT_HEADER.match(k)
               or (k.lower() == "accept" and "html" not in v and v != "*/*")}
    for c in feeding:
        kind, _, where = c.target_where.partition(":")
        if kind == "header":
            name = next((k for k in headers if k.lower() == where), where)
            headers[name] = "\0" + names[_slot(c.source, c.source_path)]
    if headers:
        args.append("headers={" + ", ".join(
            f"{k!r}: {v[1:] if v.startswith(chr(0)) else repr(v)}"
            for k, v in headers.items()) + "}")
    args.append("allow_redirects=False")
    # a source seen again (a page visited twice) is read again: the newest value wins
    produces = sorted({_slot(*key) for key in needed if key[0] == step.template})
    call = f"self.client.{step.method.lower()}(" if step.method in (
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") else \
        f"self.client.request({step.method!r}, "
    out = [f"        {'r = ' if produces else ''}{call}{', '.join(args)})"]
    for key in produces:
        again = key in names
        var = names[key] if again else _unique(_var_name(graph, key), names)
        names[key] = var
        source_path = key[1]
        if source_path == "header:location":
            read = "location_id(r)"
        elif source_path.startswith("form:"):
            read = f"hidden(r, {source_path[5:]!r})"
        elif source_path.startswith("text:"):
            read = f"text_after(r, {source_path[5:]!r})"
        elif source_path.startswith("link:"):
            pattern, _, index = source_path[5:].rpartition("@")
            read = f"link_id(r, {pattern!r}, {index})"
        else:
            read = f"json_at(r, {source_path!r})"
        out.append(f"        {var} = {read}" + (f" or {var}" if again else ""))
    return out


def _path_expr(step: Step, feeding: Sequence[Correlation],
               names: Mapping[tuple[str, str], str]) -> str:
    parts = urlsplit(step.url)
    segments = parts.path.split("/")
    replaced = False
    for c in feeding:
        kind, _, where = c.target_where.partition(":")
        if kind == "path":
            index = int(where.rsplit("@", 1)[1])
            if index < len(segments):
                segments[index] = "{" + names[_slot(c.source, c.source_path)] + "}"
                replaced = True
    query_vars = {c.target_where[6:]: names[_slot(c.source, c.source_path)] for c in feeding
                  if c.target_where.startswith("query:")}
    pairs = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k in query_vars:
            pairs.append(f"{_fstr(k)}={{{query_vars[k]}}}")
            replaced = True
        else:
            from urllib.parse import quote
            pairs.append(f"{_fstr(k)}={_fstr(quote(v, safe=''))}")
    path = "/".join(s if s.startswith("{") else _fstr(s) for s in segments) \
        + ("?" + "&".join(pairs) if pairs else "")
    return f'f"{path}"' if replaced or "{" in path else repr(path.replace("{{", "{")
                                                              .replace("}}", "}"))


def _fstr(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}").replace('"', '\\"')


def _body_expr(step: Step, feeding: Sequence[Correlation],
               names: Mapping[tuple[str, str], str]) -> str:
    if not step.body:
        return ""
    values = {c.target_where[5:]: names[_slot(c.source, c.source_path)] for c in feeding
              if c.target_where.startswith("body:")}
    own = {recorded: var for (where, recorded), var in names.items() if where == _UNIQUE}
    try:
        data = json.loads(step.body)
    except ValueError:
        pass
    else:
        return "json=" + _py(data, values, "", own)
    if "form-urlencoded" in step.mime or "=" in step.body:
        items = []
        for k, v in parse_qsl(step.body, keep_blank_values=True):
            items.append(f"{k!r}: {values[k] if k in values else _value(v, own)}")
        return "data={" + ", ".join(items) + "}"
    return f"data={step.body!r}"


def _py(data: Any, values: Mapping[str, str], path: str, own: Mapping[str, str]) -> str:
    """`data` as Python source, with correlated leaves and the task's own identity values as
    variables."""
    generic = re.sub(r"\[\d+\]", "[]", path)
    var = values.get(generic) or (own.get(str(data)) if isinstance(data, (str, int)) else None)
    if var and not isinstance(data, (dict, list)):
        return var if not isinstance(data, int) or isinstance(data, bool) else f"int({var})"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {_py(v, values, f'{path}.{k}' if path else str(k), own)}"
                               for k, v in data.items()) + "}"
    if isinstance(data, list):
        return "[" + ", ".join(_py(v, values, f"{path}[{i}]", own)
                               for i, v in enumerate(data)) + "]"
    if isinstance(data, str):
        return _value(data, own)
    return repr(data)


def _value(text: str, own: Mapping[str, str]) -> str:
    """A recorded string as Python: the shopper's identity as this task's own."""
    if text == MASK:
        return "PASSWORD"
    if _EMAIL.fullmatch(text):
        return "email"
    return own.get(text) or repr(text)


def _var_name(graph: ApiGraph, key: tuple[str, str]) -> str:
    source, path = key
    if path.startswith("form:"):
        name = path[5:]
    elif path.startswith("text:"):
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"<[^>]*>", " ", path[5:]))
                 if w.lower() not in _STOP_WORDS]
        name = "_".join(words[-2:]) or "shown_id"
    elif path.startswith("link:"):
        pattern = path[5:].rpartition("@")[0]
        segments = [x for x in pattern.split("/") if x and not x.startswith("{")]
        name = f"{segments[-1] if segments else 'linked'}_id"
    elif path == "header:location":
        target = next((c.target for c in graph.correlations
                       if (c.source, c.source_path) == key
                       and c.target_where.startswith("path:")), "")
        segments = [s for s in target.split(" ", 1)[-1].split("/") if s and not s.startswith("{")]
        name = f"{segments[-1] if segments else 'new'}_id"
    else:
        keys = [k for k in re.split(r"[.\[\]]+", path) if k]
        last = keys[-1] if keys else "value"
        parent = keys[-2] if len(keys) > 1 and keys[-2] != "data" else ""
        if last.lower() in _GENERIC_KEYS and not parent:
            segments = [s for s in source.split(" ")[1].split("/") if s and not s.startswith("{")]
            parent = segments[-1] if segments else ""
        name = f"{parent}_{last}" if parent and last.lower() in _GENERIC_KEYS else last
    name = re.sub(r"\W|^(?=\d)", "_", re.sub(r"(?<!^)(?=[A-Z])", "_", name)).lower()
    return name + "_" if keyword.iskeyword(name) or name in ("r", "self", "email", "random") \
        else name


def _unique(name: str, names: Mapping[tuple[str, str], str]) -> str:
    taken = set(names.values())
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def record_locustfile(run_dir: Path, out: Path, *, environment: str,
                      mix: Mapping[str, int] | None = None) -> list[Journey]:
    """Write the locustfile for `run_dir`'s recording to `out`; returns its journeys."""
    graph, har_dir = find_recording(run_dir)
    journeys = journeys_of(graph, har_dir, mix or DEFAULT_MIX)
    if not journeys:
        raise RecordError(f"no recorded journey in {har_dir} can be replayed under load (each "
                          "ended in a refusal, or the mix gives every stage weight 0)")
    text = render_locustfile(graph, journeys, source=f"run {run_dir.name}",
                             environment=environment)
    compile(text, str(out), "exec")  # a generated file that does not parse is our bug
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return journeys


def newest_recorded_run(reports: Path, environment: str) -> Path:
    """The newest run of `environment` under `reports` that has a request graph."""
    runs = sorted((p for p in reports.iterdir() if p.is_dir() and p.name.endswith(
        tuple("0123456789abcdef")) and (p / "run.json").is_file()), reverse=True) \
        if reports.is_dir() else []
    for run in runs:
        try:
            env = json.loads((run / "run.json").read_text(encoding="utf-8")).get("environment")
        except ValueError:
            continue
        if env == environment and any(run.glob("artifacts/**/api-graph.json")):
            return run
    raise RecordError(f"no run of {environment} under {reports} has a request graph: run "
                      f"`qgate run --env {environment} --suites e2e` with [e2e] har_dir set "
                      "first, or name a run with --run")


def command(args: Any) -> int:
    """`qgate load record`: write the locustfile, say what is in it."""
    from harness.config import project_root, reports_dir
    run_dir = Path(args.run) if args.run else newest_recorded_run(reports_dir(), args.env)
    if not run_dir.is_dir():
        raise RecordError(f"{run_dir}: no such run folder")
    out = Path(args.output)
    out = out if out.is_absolute() else project_root() / out
    journeys = record_locustfile(run_dir, out, environment=args.env, mix=parse_mix(args.mix))
    print(f"wrote {out} from {run_dir.name}: {len(journeys)} journeys")
    for j in journeys:
        print(f"  {j.name:<48} {j.stage:<9} weight {j.weight:>3}  {len(j.steps)} requests")
    print(f'next: review it, then set [load] locustfile = "{args.output}" in '
          f"environments/{args.env}.toml")
    return 0
