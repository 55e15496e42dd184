"""The authorisation matrix: every object a shopper obtained, tried by another shopper and by
an anonymous visitor, with nothing declared: the e2e journeys are the declaration.

Shopper A replays a recorded journey (`harness.replay`): the graph says which answer gave A
an object id (a cart UUID, an order number) and which later request carries it. Before A
sends such a request, shopper B (signed up by replaying the same journey's first steps) and a
visitor without a session send it with A's ids and their own session-bound values (their own
CSRF token), and the same request with a made-up id of the same shape (the negative control).
A read whose answer carries content of A's own answer that the made-up id's answer does not
(A's JSON values, the text, hidden inputs or links of A's page) read A's object; a write
confirmed the same way, or after which A's own request fails, changed it. Either is broken
object-level authorisation: a high finding with the replay as a curl line. An answer like the
made-up id's (a soft 404: 200, the id echoed, "not found") is a refusal.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.apigraph import ApiGraph, HiddenFields, generic_path, json_leaves, read_graph
from harness.har import har_files
from harness.replay import (
    OBJECT_KINDS,
    Prepared,
    Replay,
    ReplayError,
    Step,
    obtained_sources,
    read_journey,
)
from harness.security.checks import CheckError, ClientFactory, NotDeclared, Problem, problem
from harness.security.requests import Identity
from harness.security.scan import ScanTarget
from harness.security.settings import SecuritySettings

#: how many recorded journeys the matrix replays at most (each signs up two shoppers)
MAX_JOURNEYS = 6
_LOGIN_URL = ("login", "signin", "sign-in", "log-in", "/auth")


@dataclass
class MatrixRow:
    """One object request tried as another shopper or anonymously."""

    template: str
    who: str
    status: int
    #: "refused", "read A's object", "answered, unconfirmed", "changed A's object",
    #: "accepted, unconfirmed"
    outcome: str
    #: what the outcome rests on (what the answer showed, or why it counts as a refusal)
    why: str = ""


@dataclass
class MatrixOutcome:
    """What the matrix tried and found."""

    problems: list[Problem] = field(default_factory=list)
    rows: list[MatrixRow] = field(default_factory=list)
    journeys: list[str] = field(default_factory=list)
    #: templates carrying an object id, tried by somebody else
    tried: set[str] = field(default_factory=set)
    #: journeys the replay could not follow, with why
    diverged: list[str] = field(default_factory=list)


def load_recording(run_dir: Path, settings: SecuritySettings) -> tuple[ApiGraph, Path]:
    """The run's request graph and the HAR folder it was read from (`security.seed_har`)."""
    if not settings.seed_har:
        raise NotDeclared("set security.seed_har to the e2e suite's HAR folder (e2e.har_dir)")
    folder = Path(settings.seed_har)
    folder = folder if folder.is_absolute() else run_dir / folder
    graph_file = folder.parent / "api-graph.json"
    if not graph_file.is_file():
        raise NotDeclared(f"no request graph at {graph_file}: run the e2e suite first, with "
                          "e2e.har_dir set, in the same run")
    try:
        return read_graph(graph_file), folder
    except ValueError as exc:
        raise CheckError(str(exc)) from None


def object_steps(graph: ApiGraph, steps: list[Step]) -> set[int]:
    """The indexes of the steps that carry an object id the shopper obtained (an answer to
    their own write gave it, not a public catalogue page)."""
    mine = obtained_sources(graph, steps)
    out = set()
    for i, step in enumerate(steps):
        if any(c.kind in OBJECT_KINDS and c.source in mine
               for c in graph.feeding(step.template)):
            out.add(i)
    return out


def candidate_journeys(graph: ApiGraph, folder: Path) -> Iterator[tuple[str, list[Step]]]:
    """Journeys worth replaying: a shopper signs up or logs in, then sends an object id an
    answer gave them. One per distinct sequence of requests (the viewports repeat)."""
    seen: set[tuple[str, ...]] = set()
    for har in har_files(folder):
        steps = read_journey(har, graph)
        shape = tuple(s.template for s in steps)
        if shape in seen:
            continue
        seen.add(shape)
        first_identity = next((i for i, s in enumerate(steps) if s.identity), None)
        if first_identity is None:
            continue
        if any(i > first_identity for i in object_steps(graph, steps)):
            yield har.name.removesuffix(".har"), steps


def check_authorisation_matrix(target: ScanTarget, settings: SecuritySettings,
                               clients: ClientFactory, run_dir: Path) -> MatrixOutcome:
    """Replay the recorded journeys as shopper A; try each object request of A's as shopper B
    and anonymously. Refused on production (it signs up shoppers and places orders)."""
    if target.production:
        raise NotDeclared("the matrix signs up shoppers and replays their journeys: not on "
                          "production")
    graph, folder = load_recording(run_dir, settings)
    outcome = MatrixOutcome()
    for name, steps in candidate_journeys(graph, folder):
        if len(outcome.journeys) >= MAX_JOURNEYS:
            break
        outcome.journeys.append(name)
        try:
            _replay_journey(graph, steps, clients, outcome)
        except ReplayError as exc:
            outcome.diverged.append(f"{name}: {exc}")
    if not outcome.journeys:
        raise NotDeclared("no recorded journey signs a shopper up and then uses an object id "
                          "an answer gave them (nothing to try)")
    if not outcome.tried:
        raise CheckError("the matrix could not replay any journey far enough to try an "
                         "object request: " + "; ".join(outcome.diverged[:3]))
    return outcome


def _replay_journey(graph: ApiGraph, steps: list[Step], clients: ClientFactory,
                    outcome: MatrixOutcome) -> None:
    objects = object_steps(graph, steps)
    first_identity = next(i for i, s in enumerate(steps) if s.identity)
    with ExitStack() as stack:
        a = Replay(stack.enter_context(clients()), graph, Identity.fresh("matrix-a").values)
        b = Replay(stack.enter_context(clients()), graph, Identity.fresh("matrix-b").values)
        anon = Replay(stack.enter_context(clients()), graph, {})
        for step in steps[:first_identity + 1]:  # B signs up (or logs in) the way A did
            _follow(b, step, graph, outcome)
        for i, step in enumerate(steps):
            template = graph.template(step.template)
            if i not in objects or template is None:
                _follow(a, step, graph, outcome)
                continue
            if template.changes_state:
                _try_write(step, a, b, anon, outcome)
            else:
                _try_read(step, a, b, anon, outcome)


def _follow(shopper: Replay, step: Step, graph: ApiGraph, outcome: MatrixOutcome) -> None:
    """Send a step of the journey; a read that goes another way than in the recording is
    noted and passed over (the journey goes on), a write that does ends it."""
    template = graph.template(step.template)
    try:
        shopper.send(step)
    except ReplayError as exc:
        if template is not None and template.changes_state:
            raise
        outcome.diverged.append(str(exc))


def _try_read(step: Step, a: Replay, b: Replay, anon: Replay, outcome: MatrixOutcome) -> None:
    _, own = a.send(step, check=False)
    if not 200 <= own.status_code < 300:
        return  # A's own read did not answer with the object: nothing to compare
    outcome.tried.add(step.template)
    for who, other in (("shopper B", b), ("an anonymous visitor", anon)):
        theirs, seen = other.send(step, ids_from=a, check=False)
        ids, control = _control(other, a, step)
        if not _accepted(seen):
            outcome.rows.append(MatrixRow(step.template, who, seen.status_code, "refused",
                                          _refusal(seen)))
            continue
        shown = _evidence(own, seen, control, ids)
        if shown:
            why = (f"shows {_listed(shown)} of A's own answer, which the same request with a "
                   f"made-up id (answered {control.status_code}) does not")
            outcome.rows.append(MatrixRow(step.template, who, seen.status_code,
                                          "read A's object", why))
            outcome.problems.append(_bola(f"{who} read shopper A's object: {theirs.method} "
                                          f"{_path(theirs)} answered {seen.status_code} and "
                                          f"{why}", step, theirs, who))
        elif _like(seen, control, ids):
            outcome.rows.append(MatrixRow(
                step.template, who, seen.status_code, "refused",
                f"answered {seen.status_code} as it does for a made-up id of the same shape "
                "(a soft 404), with nothing of A's own answer"))
        else:
            outcome.rows.append(MatrixRow(
                step.template, who, seen.status_code, "answered, unconfirmed",
                f"answered {seen.status_code}, unlike a made-up id, but with nothing of A's "
                "own answer beyond the id (no harm shown)"))


def _try_write(step: Step, a: Replay, b: Replay, anon: Replay,
               outcome: MatrixOutcome) -> None:
    outcome.tried.add(step.template)
    tries: list[tuple[str, Prepared, Any, list[str], Any]] = []
    for who, other in (("shopper B", b), ("an anonymous visitor", anon)):
        ids, control = _control(other, a, step)  # first: it changes nothing
        theirs, done = other.send(step, ids_from=a, check=False)
        tries.append((who, theirs, done, ids, control))
    _, own = a.send(step, check=False)
    # what shows B changed A's object: A's own write, which the recording shows succeeding,
    # now fails (B did it first), or B's answer carries what A's own answer carried and the
    # same write with a made-up id's answer does not (never the id echoed: a soft refusal
    # echoes it too)
    a_blocked = step.status < 400 <= own.status_code
    for who, theirs, done, ids, control in tries:
        if not _accepted(done):
            outcome.rows.append(MatrixRow(step.template, who, done.status_code, "refused",
                                          _refusal(done)))
            continue
        shown = _evidence(own, done, control, ids) if _accepted(own) else []
        if a_blocked:
            why = f"A's own request then failed with {own.status_code}"
        elif shown:
            why = (f"its answer shows {_listed(shown)} as A's own answer did, and the same "
                   f"write with a made-up id (answered {control.status_code}) does not")
        elif _like(done, control, ids):
            outcome.rows.append(MatrixRow(
                step.template, who, done.status_code, "refused",
                f"answered {done.status_code} as it does for a made-up id of the same shape "
                "(a soft refusal)"))
            continue
        else:
            outcome.rows.append(MatrixRow(
                step.template, who, done.status_code, "accepted, unconfirmed",
                "nothing in its answer or in A's own request afterwards shows A's object "
                "changed"))
            continue
        outcome.rows.append(MatrixRow(step.template, who, done.status_code,
                                      "changed A's object", why))
        outcome.problems.append(_bola(
            f"{who} changed shopper A's object: {theirs.method} {_path(theirs)} answered "
            f"{done.status_code} and {why}", step, theirs, who))
    if not a_blocked and own.status_code >= 400 and step.status < 400:
        raise ReplayError(f"{step.template}: the recording got {step.status}, the replay "
                          f"{own.status_code}")


def _accepted(response: Any) -> bool:
    if 200 <= response.status_code < 300:
        return not _graphql_refusal(response)
    location = response.headers.get("location", "").lower()
    return 300 <= response.status_code < 400 and not any(w in location for w in _LOGIN_URL)


def _refusal(response: Any) -> str:
    """How an answer refused."""
    if _graphql_refusal(response):
        return f"answered {response.status_code} with GraphQL errors"
    if 300 <= response.status_code < 400:
        return f"answered {response.status_code} to a login page"
    return f"answered {response.status_code}"


def _graphql_refusal(response: Any) -> bool:
    """GraphQL refuses with 200 and `errors` (and no data)."""
    if "json" not in response.headers.get("content-type", ""):
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and bool(data.get("errors")) and not any(
        v for v in (data.get("data") or {}).values())


def _object_ids(a: Replay, step: Step) -> list[str]:
    """The object ids of A's this request carries (the values A's answers gave it)."""
    found: list[str] = []
    for corr in a.graph.feeding(step.template):
        value = a.found.get((corr.source, corr.source_path))
        if corr.kind in OBJECT_KINDS and value and value not in found:
            found.append(value)
    return found


def made_up_id(value: str) -> str:
    """An id of the same shape as `value` that names nothing: each digit, hex letter or
    letter drawn anew (the case kept), separators kept."""
    while True:
        out = []
        for i, ch in enumerate(value):
            if ch.isdigit():
                out.append(secrets.choice("123456789" if i == 0 and ch != "0" else
                                          "0123456789"))
            elif ch in "abcdef" and re.fullmatch(r"[0-9a-f-]+", value):
                out.append(secrets.choice("abcdef"))
            elif ch.isalpha():
                letters = "abcdefghijklmnopqrstuvwxyz"
                out.append(secrets.choice(letters.upper() if ch.isupper() else letters))
            else:
                out.append(ch)
        made = "".join(out)
        if made != value:
            return made


def _control(other: Replay, a: Replay, step: Step) -> tuple[list[str], Any]:
    """The negative control: the step sent by the same visitor with each of A's ids swapped
    for a made-up one of the same shape, placed where A's go. Returns (A's ids and the
    made-up ones, the answer)."""
    ids = _object_ids(a, step)
    made = {value: made_up_id(value) for value in ids}
    nobody = replace(a, found={k: made.get(v, v) for k, v in a.found.items()})
    return ids + list(made.values()), other.request(other.prepare(step, ids_from=nobody))


_ID = "{id}"  # what A's ids and the made-up ones read as when answers are compared


class _Shown(HiddenFields):
    """A page's visible text (besides its hidden fields and links)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(" ".join(data.split()))


def _content(response: Any, ids: list[str]) -> set[str]:
    """What an answer shows, as comparable pieces: JSON leaves (`path=value`), or a page's
    text, hidden inputs and links; the object ids (A's, the made-up ones) read as one
    placeholder, and a piece that is nothing but an id left out."""
    pattern = (re.compile("|".join(rf"(?<![\w-]){re.escape(v)}(?![\w-])" for v in ids))
               if ids else None)

    def plain(text: str) -> str:
        return pattern.sub(_ID, text) if pattern else text

    pieces: set[str] = set()
    location = response.headers.get("location", "")
    if location:
        pieces.add("location:" + plain(location))
    mime = response.headers.get("content-type", "").lower()
    if "json" in mime:
        try:
            leaves = list(json_leaves(response.json()))
        except ValueError:
            leaves = []
        pieces |= {f"json:{generic_path(path)}={plain(str(value))}" for path, value, _ in leaves
                   if value is not None and not isinstance(value, bool)}
    elif "html" in mime:
        page = _Shown()
        try:
            page.feed(response.text)
        except Exception:  # noqa: BLE001 - an unparsable page shows nothing comparable
            return pieces
        pieces |= {plain(t) for t in page.text}
        pieces |= {f"input:{name}={plain(value)}" for name, value in page.fields}
        pieces |= {"link:" + plain(link) for link in page.links}
    else:
        pieces |= {plain(line.strip()) for line in response.text.splitlines()}
    return {p for p in pieces if _more_than_an_id(p)}


def _more_than_an_id(piece: str) -> bool:
    value = piece.partition("=")[2] if piece.startswith(("json:", "input:")) else piece
    return bool(re.sub(r"\W", "", value.replace(_ID, "")))


def _evidence(own: Any, theirs: Any, control: Any, ids: list[str]) -> list[str]:
    """What `theirs` shows of A's own answer that the made-up id's answer does not."""
    return sorted(_content(own, ids) & _content(theirs, ids) - _content(control, ids))


def _like(theirs: Any, control: Any, ids: list[str]) -> bool:
    """Whether an answer is the one a made-up id gets: the same status and content (hidden
    inputs by name: a CSRF token may be new in every answer)."""
    def shown(response: Any) -> set[str]:
        return {p.partition("=")[0] if p.startswith("input:") else p
                for p in _content(response, ids)}
    return theirs.status_code == control.status_code and shown(theirs) == shown(control)


def _listed(pieces: list[str], most: int = 3) -> str:
    shown = ", ".join(json.dumps(p[:60]) for p in pieces[:most])
    return shown + (f" and {len(pieces) - most} more" if len(pieces) > most else "")


def _path(prepared: Prepared) -> str:
    from urllib.parse import urlsplit
    parts = urlsplit(prepared.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _bola(message: str, step: Step, prepared: Prepared, who: str) -> Problem:
    how = "without any session" if "anonymous" in who else f"with {who}'s own session"
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "cookie"}
    reproduce = Prepared(prepared.method, prepared.url, headers, prepared.body).curl()
    return problem("qgate.authorisation-matrix", "Broken object-level authorisation (BOLA)",
                   "high", "CWE-639", step.template,
                   f"{message} — sent {how}, with the id the shop gave shopper A",
                   reproduce=reproduce + f"  # {how}", wstg="WSTG-ATHZ-04")
