"""The authorisation matrix: every object a shopper obtained, tried by another shopper and by
an anonymous visitor, with nothing declared: the e2e journeys are the declaration.

Shopper A replays a recorded journey (`harness.replay`): the graph says which answer gave A
an object id (a cart UUID, an order number) and which later request carries it. Before A
sends such a request, shopper B (signed up by replaying the same journey's first steps) and a
visitor without a session send it with A's ids and their own session-bound values (their own
CSRF token). A read that answers with A's object, or a write that is accepted, is broken
object-level authorisation: a high finding with the replay as a curl line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.apigraph import ApiGraph, read_graph
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
    outcome: str  # "refused", "read A's object", "changed A's object"


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
    prepared, own = a.send(step, check=False)
    if not 200 <= own.status_code < 300:
        return  # A's own read did not answer with the object: nothing to compare
    outcome.tried.add(step.template)
    for who, other in (("shopper B", b), ("an anonymous visitor", anon)):
        theirs, seen = other.send(step, ids_from=a, check=False)
        read = _same_object(own, seen, a, step)
        outcome.rows.append(MatrixRow(step.template, who, seen.status_code,
                                      "read A's object" if read else "refused"))
        if read:
            outcome.problems.append(_bola(f"{who} read shopper A's object: {theirs.method} "
                                          f"{_path(theirs)} answered {seen.status_code} with "
                                          "A's object", step, theirs, who))


def _try_write(step: Step, a: Replay, b: Replay, anon: Replay,
               outcome: MatrixOutcome) -> None:
    outcome.tried.add(step.template)
    accepted: list[tuple[str, Prepared, Any]] = []
    for who, other in (("shopper B", b), ("an anonymous visitor", anon)):
        theirs, done = other.send(step, ids_from=a, check=False)
        if _accepted(done):
            accepted.append((who, theirs, done))
        else:
            outcome.rows.append(MatrixRow(step.template, who, done.status_code, "refused"))
    _, own = a.send(step, check=False)
    # what shows B changed A's object: A's own write, which the recording shows succeeding,
    # now fails (B did it first), or B's answer was a JSON success naming A's object
    a_blocked = step.status < 400 <= own.status_code
    for who, theirs, done in accepted:
        shown = a_blocked or ("json" in done.headers.get("content-type", "")
                              and _object_id(theirs, a, step) in done.text)
        outcome.rows.append(MatrixRow(step.template, who, done.status_code,
                                      "changed A's object" if shown else "accepted, unconfirmed"))
        if shown:
            outcome.problems.append(_bola(
                f"{who} changed shopper A's object: {theirs.method} {_path(theirs)} answered "
                f"{done.status_code}" + (" and A's own request then failed with "
                                          f"{own.status_code}" if a_blocked else ""),
                step, theirs, who))
    if not a_blocked and own.status_code >= 400 and step.status < 400:
        raise ReplayError(f"{step.template}: the recording got {step.status}, the replay "
                          f"{own.status_code}")


def _accepted(response: Any) -> bool:
    if 200 <= response.status_code < 300:
        return not _graphql_refusal(response)
    location = response.headers.get("location", "").lower()
    return 300 <= response.status_code < 400 and not any(w in location for w in _LOGIN_URL)


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


def _object_id(prepared: Prepared, a: Replay, step: Step) -> str:
    """The object id of A's this request carries (the value A's answers gave it)."""
    for corr in a.graph.feeding(step.template):
        value = a.found.get((corr.source, corr.source_path))
        if corr.kind in OBJECT_KINDS and value and value in prepared.url + prepared.body:
            return value
    return "\0"  # matches nothing


def _same_object(own: Any, seen: Any, a: Replay, step: Step) -> bool:
    """Whether `seen` (somebody else's answer) shows what A's own answer showed."""
    if not 200 <= seen.status_code < 300:
        return False
    value = _object_id(a.prepare(step), a, step)
    if value not in seen.text:
        return False
    if "json" in own.headers.get("content-type", ""):
        try:
            mine, theirs = own.json(), seen.json()
        except ValueError:
            return False
        if isinstance(mine, dict) and isinstance(theirs, dict):
            return set(mine) == set(theirs)
        return type(mine) is type(theirs)
    # a page: not a login page, and about as large as A's own
    return 0.5 <= len(seen.text) / max(len(own.text), 1) <= 2 and not any(
        w in str(seen.url).lower() for w in _LOGIN_URL)


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
