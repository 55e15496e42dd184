"""`qgate doctor --env NAME`: what the portable security checks will send to NAME (its auth
endpoints, request chains with their captures, races), and which checks are not declared."""

from __future__ import annotations

from harness.security.settings import RequestSpec, SecuritySettings


def request_line(spec: RequestSpec) -> str:
    """`POST /api/carts [uuid = data.uuid]`: one declared request, with what it captures."""
    taken = ", ".join(f"{name} = {where}" for name, where in spec.capture.items())
    return f"{spec.method} {spec.path}" + (f" [{taken}]" if taken else "")


def chain_line(specs: list[RequestSpec], between: str = " → ") -> str:
    """Requests sent in order, each answer's captures filling the next."""
    return between.join(request_line(s) for s in specs) or "(none)"


def declaration_rows(settings: SecuritySettings) -> list[tuple[str, str]]:
    """(check, what it sends) for every declared portable check; undeclared ones say so."""
    rows: list[tuple[str, str]] = []
    login = settings.login
    bypass = ", ".join(login.bypass_headers) or "none"
    if login.request is not None:
        rows.append(("auth endpoint", f"login: {request_line(login.request)} (refused within "
                                      f"{login.attempts}; bypass headers: {bypass})"))
    for e in login.endpoints:
        fresh = ", a new shopper each" if e.fresh_identity else ""
        rows.append(("auth endpoint", f"{e.name}: {request_line(e.request)} (refused within "
                                      f"{e.attempts}{fresh}; bypass headers: {bypass})"))
    a = settings.authorisation
    if a.sign_up is not None:
        rows.append(("sign-up", request_line(a.sign_up)))
    if a.place_order and (a.read_order or a.cancel_order):
        rows.append(("object", f"order: {chain_line(a.place_order)} [order_id = {a.order_id}]; "
                               f"read {chain_line(a.read_order, ', ')}; write "
                               f"{chain_line(a.cancel_order, ', ')}"))
    for o in a.objects:
        owner = "" if o.signed_in else " (guest owner)"
        rows.append(("object", f"{o.name}{owner}: {chain_line(o.create)}; read "
                               f"{chain_line(o.read, ', ')}; write {chain_line(o.write, ', ')}"))
    c = settings.csrf
    if c.forms or c.cross_site_api:
        rows.append(("csrf", f"{len(c.forms)} form(s); cross-site API writes: "
                             f"{', '.join(request_line(s) for s in c.cross_site_api) or 'none'}"))
    for mistake in settings.hygiene.client_errors:
        before = f" after {chain_line(mistake.before)}" if mistake.before else ""
        rows.append(("client error", f"{mistake.name}: {request_line(mistake.request)}"
                                     f"{before} (must answer 4xx)"))
    for race in settings.races:
        who = "one shopper" if race.shoppers == "one" else "a shopper each"
        bounds = [f"at most {race.max_accepted} accepted"] if race.max_accepted else []
        if race.distinct:
            bounds.append(f"at most {race.max_distinct} distinct {race.distinct}")
        bounds += [i.name for i in race.invariants]
        setup = f" after {chain_line(race.setup)}" if race.setup else ""
        rows.append(("race", f"{race.name}: {race.parallel} × {request_line(race.request)} at "
                             f"once ({who}){setup}; {'; '.join(bounds) or 'no bound declared'}"))
    missing = [key for key, declared in (
        ("security.login", login.request is not None or bool(login.endpoints)),
        ("security.authorisation", any(label == "object" for label, _ in rows)),
        ("security.csrf", bool(c.forms or c.cross_site_api)),
        ("security.races", bool(settings.races)),
        ("security.hygiene.client_errors", bool(settings.hygiene.client_errors))) if not declared]
    if missing:
        rows.append(("not declared", ", ".join(missing) + " (those checks do not run)"))
    return rows


def print_declarations(env_name: str) -> int:
    """Print the security declarations of `env_name` (0: printed; nothing here is fatal)."""
    from harness.config import load_environment

    env = load_environment(env_name)
    if "security" not in env.suites:
        return 0
    settings: SecuritySettings = env.suite_settings("security")
    from harness.terminal import print_wrapped

    print()
    print_wrapped(f"security checks for {env.name} ({env.file}), engine {settings.engine}",
                  rest="  ")
    rows = declaration_rows(settings)
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print_wrapped(text, f"  {label:<{width}}  ")
    return 0
