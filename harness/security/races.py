"""Races a shopper can trigger: declared requests fired N at once (a barrier makes them
overlap), then exactly-once effects checked through the API: how many were accepted, how
many different things they created, and the declared invariants (one order, one capture,
stock never below zero, coupon uses within their limit)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from harness.security.checks import (
    CheckError,
    ClientFactory,
    NotDeclared,
    Problem,
    accepted,
    new_shopper,
    problem,
)
from harness.security.requests import Filled, captured, json_path, prepare, send
from harness.security.scan import ScanTarget
from harness.security.settings import Invariant, Race, SecuritySettings


def check_races(target: ScanTarget, settings: SecuritySettings,
                clients: ClientFactory) -> list[Problem]:
    """Every declared race keeps its exactly-once effects."""
    if not settings.races:
        raise NotDeclared("declare security.races")
    problems: list[Problem] = []
    for i, race in enumerate(settings.races):
        problems += _run_race(target, settings, clients, race, i)
    return problems


def _run_race(target: ScanTarget, settings: SecuritySettings, clients: ClientFactory,
              race: Race, index: int) -> list[Problem]:
    where = f"security.races[{index}] ({race.name})"
    sign_up = settings.authorisation.sign_up
    if race.signed_in and sign_up is None:
        raise NotDeclared(f"{where}.signed_in needs security.authorisation.sign_up")
    if race.parallel < 2:
        raise CheckError(f"{where}.parallel must be at least 2")
    base = target.base_url
    with ExitStack() as stack:
        shoppers = [new_shopper(stack, clients, base, f"security-race{n}",
                                sign_up if race.signed_in else None,
                                f"{where}: sign-up of shopper {n + 1}", race.setup,
                                f"{where}.setup")
                    for n in range(race.parallel if race.shoppers == "each" else 1)]
        senders: list[tuple[Any, dict[str, str]]] = list(shoppers)
        while len(senders) < race.parallel:  # one shopper: her cookies in a client per request
            twin = stack.enter_context(clients())
            twin.cookies.update(shoppers[0][0].cookies)
            senders.append((twin, shoppers[0][1]))
        requests = [prepare(race.request, base, values) for _, values in senders]
        answers = _at_once([client for client, _ in senders], requests)
        first_client, first_values = shoppers[0]
        return _judge(race, where, requests[0], answers, first_client, first_values, base)


def _at_once(clients: list[Any], requests: list[Filled]) -> list[Any]:
    """Send each request with its client, all released together by a barrier."""
    barrier = threading.Barrier(len(clients))

    def fire(n: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return send(clients[n], requests[n])
        except Exception as exc:  # httpx errors: kept as the answer, judged below
            return exc

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(fire, range(len(clients))))


def _judge(race: Race, where: str, request: Filled, answers: list[Any], client: Any,
           values: dict[str, str], base: str) -> list[Problem]:
    said = f"{race.name}: {len(answers)} × {request.method} {request.url} at once"
    failed = [a for a in answers if isinstance(a, Exception)]
    if failed:
        raise CheckError(f"{where}: {len(failed)} of the raced requests could not be sent "
                         f"({failed[0]})")
    statuses = [a.status_code for a in answers]
    taken = [a for a in answers if accepted(a)]
    problems = []
    errors = [s for s in statuses if s >= 500]
    if errors:
        problems.append(_race(f"{said}: {len(errors)} answered {sorted(set(errors))} "
                              f"(answers: {statuses}): concurrent requests collide",
                              "medium", "CWE-362", request, race.name))
    if not taken:
        if problems:
            return problems
        raise CheckError(f"{where}: none of the raced requests was accepted (answers: "
                         f"{statuses}), so the race proves nothing",
                         hint="check its setup and request")
    if race.max_accepted and len(taken) > race.max_accepted:
        problems.append(_race(f"{said}: {len(taken)} were accepted, at most "
                              f"{race.max_accepted} may be (answers: {statuses})", "high",
                              "CWE-362", request, race.name))
    if race.distinct:
        made = sorted({str(json_path(_json(a), race.distinct)) for a in taken})
        if len(made) > race.max_distinct:
            problems.append(_race(f"{said} created {len(made)} different "
                                  f"'{race.distinct}' ({', '.join(made[:5])}), at most "
                                  f"{race.max_distinct} may be (a check-then-insert race)",
                                  "high", "CWE-367", request, race.name))
    try:
        values.update(captured(race.request, taken[0]))
    except ValueError as exc:
        raise CheckError(f"{where}: the first accepted answer: {exc}") from None
    for invariant in race.invariants:
        broken = _broken(invariant, where, client, values, base)
        if broken:
            problems.append(_race(f"{said}: invariant '{invariant.name}' broken: {broken}",
                                  "high", "CWE-362", request, race.name))
    return problems


def _broken(invariant: Invariant, where: str, client: Any, values: dict[str, str],
            base: str) -> str:
    """How the invariant is broken ("" = it holds)."""
    request = prepare(invariant.request, base, values)
    response = send(client, request)
    if not 200 <= response.status_code < 300:
        raise CheckError(f"{where}: invariant '{invariant.name}': {request.method} "
                         f"{request.url} answered {response.status_code}",
                         hint="check the invariant's request")
    found = json_path(_json(response), invariant.value)
    number = len(found) if isinstance(found, list) else found
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise CheckError(f"{where}: invariant '{invariant.name}': no number or list at "
                         f"'{invariant.value}' in {request.url} ({response.text[:160]})")
    if invariant.at_most is not None and number > invariant.at_most:
        return f"{invariant.value or 'the answer'} = {number}, at most {invariant.at_most:g}"
    if invariant.at_least is not None and number < invariant.at_least:
        return f"{invariant.value or 'the answer'} = {number}, at least {invariant.at_least:g}"
    return ""


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _race(message: str, severity: Any, cwe: str, request: Filled, name: str) -> Problem:
    return problem("qgate.race", "Race a shopper can trigger", severity, cwe, request.url,
                   message, reproduce=f"for i in 1 2 3 4 5; do {request.curl()} & done; wait",
                   wstg="WSTG-BUSL-07", parameter=name)
