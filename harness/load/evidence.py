"""From locust's statistics to the gate's evidence: metrics, unmeasured metrics, notes, series.

Pure functions of what locust wrote and what the environment declared; nothing here judges.
A figure that cannot mean anything (too few samples, a run dominated by rate limiting) is
reported as *unmeasured* with the reason, never as a number a criterion could pass on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.load.engine import Progress, StopRule
from harness.load.settings import LoadSettings, StressSettings, metric_slug
from harness.load.stats import (
    AGGREGATED,
    BreakingPoint,
    HistoryRow,
    LocustStats,
    RequestStats,
    Sample,
    find_breaking_point,
    history_samples,
)
from harness.results import Coverage

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


#: the least share (%) of a run's answers that must come from the target itself (not a
#: redirect to a login page or another origin, not a 401/403): below it, the figures
#: describe a login wall or a gateway rather than the shop
MIN_ON_TARGET_PERCENT = 80.0
#: the least share of the planned duration a load run must reach for its figures to stand
#: for the plan (a 30-minute soak stopped after 8 s is not a soak), less PLAN_SLACK_S: locust
#: starts its run-time clock before the users are up, and progress comes once a second
MIN_PLAN_SHARE = 0.9
PLAN_SLACK_S = 2.0
#: how many failing request names, and error messages per name, the notes and reasons quote
TOP_FAILURES = 3


@dataclass
class LoadEvidence:
    """What one load run gives the SuiteResult."""

    metrics: dict[str, float] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    breaking_point: BreakingPoint | None = None
    #: how many samples stand behind a metric (requests behind a percentile or a ratio)
    samples: dict[str, int] = field(default_factory=dict)
    #: how much of the target (and of the plan) the run exercised
    coverage: list[Coverage] = field(default_factory=list)
    #: why the measuring machine was saturated ('' = it was not)
    saturated: str = ""
    #: what failed behind a metric, for the criterion's reason
    explain: dict[str, str] = field(default_factory=dict)
    #: per failing request name: failures, status mix, top error messages with a body excerpt
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: planned and achieved duration, users and requests
    plan: dict[str, float] = field(default_factory=dict)

    def measure(self, name: str, value: float, why_not: str = "",
                samples: int | None = None) -> None:
        """Record `value` as `name` (from `samples` observations), or say why it is not a
        measurement."""
        if samples is not None:
            self.samples[name] = int(samples)
        if why_not:
            self.unmeasured[name] = why_not
            self.metrics.pop(name, None)
        else:
            self.metrics[name] = round(float(value), 3)


def per_name(extras: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The plugin's counts per request name ({} when it wrote none)."""
    names = extras.get("names")
    return {str(k): v for k, v in names.items()} if isinstance(names, dict) else {}


def limited_share(stats: LocustStats, extras: Mapping[str, Any]) -> tuple[int, float]:
    """Rate-limited answers (429, or 503 with Retry-After) and their share of all requests."""
    limited = int(extras.get("limited") or 0)
    return limited, (limited / stats.requests if stats.requests else 0.0)


def _limiter(names: list[str], share: float, requests: int, label: str) -> str:
    """Why a figure measured the target's rate limiter (which one, and what to do)."""
    headers = (f", with {', '.join(sorted(set(names)))}" if names else "")
    return (f"{share:.0%} of {requests} {label} were rate limited (429, or 503 with "
            f"Retry-After){headers}: the run measured the target's rate limiter, not the "
            "shop. Allow-list the load generator's address on staging (or raise its limit "
            "for it), or spread locust workers over more source addresses")


def shop_answers(entry: RequestStats, counts: Iterable[Mapping[str, Any]]) -> RequestStats:
    """`entry` with the answers that were not the shop's (a rate limiter's, a redirect to
    elsewhere that qgate refused) taken out of its response-time histogram: a fast 429 is
    the limiter's time, not the shop's, and would make its percentiles look better than they
    are (the plugin keeps their times in locust's buckets per name)."""
    histogram = dict(entry.histogram)
    for mine in counts:
        for bucket, n in (mine.get("excused_times") or {}).items():
            key = float(bucket)
            left = histogram.get(key, 0) - int(n)
            if left > 0:
                histogram[key] = left
            else:
                histogram.pop(key, None)
    return entry if histogram == entry.histogram else replace(entry, histogram=histogram)


def excused_answers(counts: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(answers, of them failed) that were not the shop's: a rate limiter's, or a redirect
    to another origin that qgate refused to follow (counted by the plugin per name)."""
    items = list(counts)
    return (sum(int(c.get("excused") or 0) for c in items),
            sum(int(c.get("excused_failed") or 0) for c in items))


def derive_evidence(prefix: str, stats: LocustStats, history: list[HistoryRow],
                    extras: Mapping[str, Any], settings: LoadSettings) -> LoadEvidence:
    """Metrics per request name and over the run, with their time series and sample counts.

    Rate-limited answers are their own category: counted per name, left out of the error
    ratios, and a name (or a run) mostly limited is not measured.
    """
    ev = LoadEvidence()
    counts = per_name(extras)
    limited, share = limited_share(stats, extras)
    ev.metrics[f"{prefix}.limited"] = float(limited)
    ev.metrics[f"{prefix}.limited_ratio"] = round(share, 4)
    headers = [h for c in counts.values() for h in c.get("limiter_headers", [])]
    dominated = ""
    if stats.requests and share > settings.max_limited_ratio:
        dominated = _limiter(headers, share, stats.requests, "requests")
        ev.notes.append(f"Not measured: {dominated}.")
    total = stats.total()
    ev.metrics[f"{prefix}.requests"] = float(stats.requests)
    ev.metrics[f"{prefix}.failures"] = float(stats.failures)
    ev.metrics[f"{prefix}.duration_s"] = round(stats.duration_s, 1)
    few = (f"only {stats.requests} requests were made (at least {settings.min_samples} needed)"
           if stats.requests < settings.min_samples else "")
    excused, excused_failed = excused_answers(counts.values())
    answered = stats.requests - excused  # the answers the shop itself gave
    ev.measure(f"{prefix}.error_ratio",
               (stats.failures - excused_failed) / answered if answered > 0 else 0.0,
               dominated or few, samples=max(answered, 0))
    ev.measure(f"{prefix}.rps", stats.requests / stats.duration_s if stats.requests else 0.0,
               dominated or few, samples=stats.requests)
    _percentiles(ev, f"{prefix}", shop_answers(total, counts.values()), settings, dominated,
                 "all requests", ("p50", "p95", "p99"))
    for name, entry in sorted(stats.entries.items()):
        slug = f"{prefix}.{metric_slug(name)}"
        mine = counts.get(name, {})
        name_limited = int(mine.get("limited") or 0)
        ev.metrics[f"{slug}.requests"] = float(entry.requests)
        ev.metrics[f"{slug}.failures"] = float(entry.failures)
        if name_limited:
            ev.metrics[f"{slug}.limited"] = float(name_limited)
        why = dominated
        name_share = name_limited / entry.requests if entry.requests else 0.0
        if not why and name_share > settings.max_limited_ratio:
            why = _limiter(list(mine.get("limiter_headers", [])), name_share,
                           entry.requests, f"'{name}' answers")
            ev.notes.append(f"Not measured: {why}.")
        name_excused, name_excused_failed = excused_answers([mine])
        shop = entry.requests - name_excused
        ev.measure(f"{slug}.error_ratio",
                   (entry.failures - name_excused_failed) / shop
                   if shop > 0 else 0.0, why, samples=max(shop, 0))
        ev.measure(f"{slug}.rps", entry.requests / stats.duration_s, why,
                   samples=entry.requests)
        slo = settings.slo.get(name)
        declared = tuple(p for p, limit in (("p95", slo.p95_ms), ("p99", slo.p99_ms))
                         if limit > 0) if slo else ()
        _percentiles(ev, slug, shop_answers(entry, [mine]), settings, why, f"'{name}'",
                     declared)
    for name, slo in settings.slo.items():
        if name not in stats.entries:
            for pct, limit in (("p95", slo.p95_ms), ("p99", slo.p99_ms)):
                if limit <= 0:
                    continue
                ev.measure(f"{prefix}.{metric_slug(name)}.{pct}_ms", 0, (
                    f"no requests named '{name}' were made; check the name in the SLO table "
                    "against the locustfile's request names"), samples=0)
    _business(ev, prefix, stats, settings, dominated)
    unnamed = sorted(n for n in stats.entries if n not in settings.slo)
    if settings.slo and unnamed:
        ev.notes.append("No objective declared for: " + ", ".join(unnamed) + ".")
    if extras.get("off_target"):
        ev.notes.append(f"Refused {extras['off_target']} requests to other hosts than the target "
                        f"(first: {extras.get('off_target_example', '?')}).")
    _reached(ev, prefix, stats, counts, settings)
    _failures(ev, prefix, stats, counts, settings)
    ev.series = _series(prefix, stats, history, settings)
    samples = history_samples(history)
    if samples:
        ev.metrics[f"{prefix}.users_max"] = float(max(s.users for s in samples))
    return ev


def _reached(ev: LoadEvidence, prefix: str, stats: LocustStats,
             counts: Mapping[str, Mapping[str, Any]], settings: LoadSettings) -> None:
    """Coverage: the answers that came from the target itself, not from a login page,
    another origin (a redirect followed there) or an auth wall (401/403)."""
    off = sum(int(c.get("off_origin") or 0) for c in counts.values())
    login = sum(int(c.get("login") or 0) for c in counts.values())
    denied = sum(int(c.get("denied") or 0) for c in counts.values())
    away = min(stats.requests, off + login + denied)
    reached = stats.requests - away
    parts = []
    if off:
        example = next((str(c["off_origin_example"]) for c in counts.values()
                        if c.get("off_origin_example")), "")
        parts.append(f"{off} redirected to another origin ({example})")
    if login:
        parts.append(f"{login} redirected to a login page")
    if denied:
        parts.append(f"{denied} answered 401/403")
    redirected = {n: c["redirects"] for n, c in counts.items() if c.get("redirects")}
    for name, mix in sorted(redirected.items())[:TOP_FAILURES]:
        shown = ", ".join(f"{k} ×{v}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))
        ev.notes.append(f"Redirected answers of '{name}': {shown}.")
    hint = ("declare the staging's [auth] in the environment file (basic credentials, headers) "
            "or log in in the locustfile's on_start, and check base_url")
    if stats.requests == 0:
        hint = "locust made no requests: check the locustfile's tasks and its log (artifacts)"
    ev.coverage.append(Coverage(
        f"{prefix}.requests_on_target", reached, settings.min_samples,
        what="requests that reached the target", detail="; ".join(parts), hint=hint))
    if stats.requests:
        ev.coverage.append(Coverage(
            f"{prefix}.on_target_percent", round(100 * reached / stats.requests, 1),
            MIN_ON_TARGET_PERCENT, what="% of requests answered by the target itself",
            detail="; ".join(parts), hint=hint))


def _failures(ev: LoadEvidence, prefix: str, stats: LocustStats,
              counts: Mapping[str, Mapping[str, Any]], settings: LoadSettings) -> None:
    """What failed, per request name: how many, the status mix, the top messages with a
    body excerpt (from the plugin's counts: they survive a stop that leaves locust's
    failures CSV empty)."""
    for name, entry in sorted(stats.entries.items(), key=lambda kv: -kv[1].failures):
        mine = counts.get(name, {})
        errors = mine.get("errors") or {}
        failed = entry.failures - excused_answers([mine])[1]
        if failed <= 0 and not errors:
            continue
        top = sorted(errors.items(), key=lambda kv: -int(kv[1].get("count") or 0))
        ev.failures[name] = {
            "requests": entry.requests, "failures": entry.failures,
            "status": dict(mine.get("status") or {}),
            "errors": [{"message": m, "count": int(e.get("count") or 0),
                        "status": dict(e.get("status") or {}),
                        "excerpt": str(e.get("excerpt") or "")} for m, e in top[:5]]}
    lines = []
    for name, info in list(ev.failures.items())[:TOP_FAILURES]:
        line = describe_failures(name, info)
        lines.append(line)
        ev.explain[f"{prefix}.{metric_slug(name)}.error_ratio"] = line
        if name == settings.order_request:
            ev.explain[f"{prefix}.orders_per_min"] = line
        if name in settings.payment_requests:
            ev.explain[f"{prefix}.payment_success_ratio"] = line
    if lines:
        ev.explain[f"{prefix}.error_ratio"] = "; ".join(lines)
        ev.notes.append("What failed: " + "; ".join(lines) + ".")


def describe_failures(name: str, info: Mapping[str, Any]) -> str:
    """One line: the name, how many failed, the status mix, the top messages and a body."""
    status = ", ".join(f"{'no answer' if k == '0' else k} ×{v}" for k, v in sorted(
        (info.get("status") or {}).items(), key=lambda kv: -kv[1]))
    out = f"'{name}' {info['failures']} of {info['requests']} failed ({status})"
    shown = []
    for error in info.get("errors", [])[:TOP_FAILURES]:
        text = f"\"{error['message'][:120]}\" ×{error['count']}"
        if error.get("excerpt"):
            text += f" (body: {error['excerpt'][:160]})"
        shown.append(text)
    return out + (": " + ", ".join(shown) if shown else "")


def plan_coverage(ev: LoadEvidence, prefix: str, settings: LoadSettings, *, achieved_s: float,
                  peak_users: int, requests: int, stopped: str, aborted_metric: str = "",
                  stress: bool = False) -> None:
    """Achieved vs planned (duration, peak users, requests) as coverage.

    A load run short of its plan (stopped by the request bound, the time bound, a crash) did
    not measure what the plan asked: every figure but the business invariants is left
    unjudged. A run the harness stopped because an objective was clearly broken keeps its
    figures judged (the stop is evidence of failure; each figure still needs its samples),
    and the coverage row keeps it from ever being GO. A stress run's plan is "ramp until it
    breaks, or to the ceiling": reaching either is the plan done.
    """
    ev.plan = {"planned_duration_s": settings.duration_s, "achieved_duration_s": achieved_s,
               "planned_users": float(settings.users), "peak_users": float(peak_users),
               "requests": float(requests), "max_requests": float(settings.max_requests)}
    ev.notes.append(f"Plan: {settings.duration_s:g} s at up to {settings.users} users (request "
                    f"bound {settings.max_requests}); achieved {achieved_s:.0f} s, peak "
                    f"{peak_users} users, {requests} requests.")
    judged = [m for m in sorted({*ev.metrics, *ev.unmeasured}) if ".invariants." not in m]
    if aborted_metric:
        # the harness stopped the run because `aborted_metric` was clearly broken: what it
        # measured until then is judged (with its samples); the coverage row still keeps a
        # waived objective from turning a cut run into GO
        judged = [f"{prefix}.duration_s"]
    why = f"; {stopped}" if stopped else ""
    plan_hint = ("the harness stopped the run: an objective was clearly broken; what was "
                 "measured until then is judged" if aborted_metric else
                 "the run ended before its plan: raise max_requests or find why locust "
                 "stopped (its log is in the artifacts)")
    if stress:
        point = ev.breaking_point
        broke = point is not None and point.users is not None
        ev.coverage.append(Coverage(
            f"{prefix}.users_reached", peak_users,
            point.users if broke and point and point.users else settings.users,
            what="users reached (the breaking point, else the planned ceiling)",
            detail=f"planned up to {settings.users} users in {settings.duration_s:g} s"
            f"{why}", hint="give the ramp more time (duration_s) or set users to the "
            "ceiling the locustfile's shape really reaches",
            covers=tuple(m for m in judged if ".breaking_point." in m or m.endswith(
                ".users_held"))))
        return
    ev.coverage.append(Coverage(
        f"{prefix}.duration_s", round(achieved_s, 1),
        round(max(0.0, MIN_PLAN_SHARE * settings.duration_s - PLAN_SLACK_S), 1),
        what=f"seconds run of the planned {settings.duration_s:g} s",
        detail=f"{requests} requests, peak {peak_users} users{why}",
        hint=plan_hint, covers=tuple(judged)))
    ev.coverage.append(Coverage(
        f"{prefix}.peak_users", peak_users, settings.users,
        what=f"users reached of the planned {settings.users}",
        detail=f"{achieved_s:.0f} s run{why}",
        hint=plan_hint if aborted_metric else "raise spawn_rate or duration_s so the ramp "
        "reaches its users, or set users to what the locustfile's shape runs",
        covers=tuple(judged)))


def _percentiles(ev: LoadEvidence, base: str, entry: RequestStats, settings: LoadSettings,
                 dominated: str, label: str, declared: tuple[str, ...] = ("p95",)) -> None:
    """p50/p95/p99; too few samples: unmeasured if an objective needs it, else left out."""
    for pct, fraction in PERCENTILES:
        needed = settings.min_samples_p99 if pct == "p99" else settings.min_samples
        few = (f"only {entry.timed} timed requests for {label} (at least {needed} needed for "
               f"a {pct})" if entry.timed < needed else "")
        if few and pct not in declared:
            continue  # a figure nothing judges, and that would not mean anything
        ev.measure(f"{base}.{pct}_ms", entry.percentile(fraction), dominated or few,
                   samples=entry.timed)


def _business(ev: LoadEvidence, prefix: str, stats: LocustStats, settings: LoadSettings,
              dominated: str) -> None:
    """Orders per minute and payment success, from the request names declared for them."""
    minutes = stats.duration_s / 60
    if settings.order_request:
        order = stats.entries.get(settings.order_request)
        placed = order.requests - order.failures if order else 0
        ev.metrics[f"{prefix}.orders"] = float(placed)
        ev.measure(f"{prefix}.orders_per_min", placed / minutes if minutes else 0.0,
                   dominated or ("" if order else
                                 f"no requests named '{settings.order_request}' (order_request)"
                                 " were made"), samples=placed)
    if settings.payment_requests:
        found = [stats.entries[n] for n in settings.payment_requests if n in stats.entries]
        attempts = sum(e.requests for e in found)
        ok = sum(e.requests - e.failures for e in found)
        ev.metrics[f"{prefix}.payments"] = float(attempts)
        few = ""
        if attempts < settings.min_samples:
            few = (f"only {attempts} payment requests ({', '.join(settings.payment_requests)}); "
                   f"at least {settings.min_samples} needed")
        ev.measure(f"{prefix}.payment_success_ratio", ok / attempts if attempts else 0.0,
                   dominated or few, samples=attempts)


def _series(prefix: str, stats: LocustStats, history: list[HistoryRow],
            settings: LoadSettings) -> dict[str, list[tuple[float, float]]]:
    """Charts over time: users, RPS, errors per second, p95 overall and per objective."""
    total = stats.total()
    seconds = sorted(set(total.per_second) | set(total.failures_per_second))
    start = min([*(r.timestamp for r in history), *seconds], default=0)
    out: dict[str, list[tuple[float, float]]] = {}
    if seconds:
        out[f"{prefix}.rps"] = [(float(s - start), float(total.per_second.get(s, 0)))
                                for s in range(seconds[0], seconds[-1] + 1)]
        out[f"{prefix}.errors_per_s"] = [(float(s - start),
                                          float(total.failures_per_second.get(s, 0)))
                                         for s in range(seconds[0], seconds[-1] + 1)]
    rows = [r for r in history if r.name == AGGREGATED]
    if rows:
        out[f"{prefix}.users"] = [(float(r.timestamp - start), float(r.users)) for r in rows]
        out[f"{prefix}.p95_ms"] = [(float(r.timestamp - start), r.p95) for r in rows
                                   if r.p95 is not None]
    for name in settings.slo:
        points = [(float(r.timestamp - start), r.p95) for r in history
                  if r.name == name and r.p95 is not None]
        if points:
            out[f"{prefix}.{metric_slug(name)}.p95_ms"] = points  # type: ignore[misc]
    return out  # type: ignore[return-value]


def p95_limits(settings: LoadSettings) -> dict[str, float]:
    """Request name -> p95 objective (ms), for the blocking objectives that have one."""
    return {name: slo.p95_ms for name, slo in settings.slo.items()
            if slo.p95_ms > 0 and slo.severity == "blocking"}


def breaking_point(prefix: str, history: list[HistoryRow], settings: StressSettings,
                   ev: LoadEvidence) -> None:
    """Add a stress run's breaking point (users, RPS, when) from the stats history."""
    samples = history_samples(history)
    point = find_breaking_point(samples, p95_limits(settings), settings.max_error_ratio,
                                settings.breaking_streak, settings.abort_after_s,
                                settings.min_samples)
    ev.breaking_point = point
    ev.measure(f"{prefix}.users_held", point.users_held, samples=point.held_requests)
    if point.users is None:
        why = (f"the target held every objective up to {point.max_users} users, the profile's "
               "ceiling; raise users in [stress] to find where it breaks")
        for key in ("users", "rps", "at_s"):
            ev.measure(f"{prefix}.breaking_point.{key}", 0, why)
        ev.notes.append(f"No breaking point: {why}.")
        return
    for key, value in (("users", point.users), ("rps", point.rps or 0),
                       ("at_s", point.at_s or 0)):
        ev.measure(f"{prefix}.breaking_point.{key}", float(value), samples=point.requests)
    ev.notes.append(f"Breaking point: {point.users} users at {point.rps:g} RPS, {point.at_s:g} s "
                    f"into the run ({point.reason}, over {point.requests} requests); objectives "
                    f"held up to {point.users_held} users ({point.held_requests} requests at "
                    "that step).")


def unanswered_on_a_saturated_machine(ev: LoadEvidence, prefix: str, stats: LocustStats,
                                      extras: Mapping[str, Any],
                                      settings: LoadSettings) -> None:
    """On a saturated machine a request that got no answer in time (status 0: a timeout, a
    connection dropped) may be the machine's, as a missed latency is: an error ratio or a
    payment success that misses its objective only because of such requests is not
    measured. Errors the shop answered with (a 500, a decline) are judged as usual."""
    if not ev.saturated:
        return
    counts = per_name(extras)

    def unanswered(names: Any) -> int:
        return sum(int((counts.get(n, {}).get("status") or {}).get("0") or 0) for n in names)

    why = ("{n} requests got no answer while the measuring machine was saturated "
           f"({ev.saturated}); without them {{what}} is {{value}}: run again on a quieter "
           "machine")
    metric, none = f"{prefix}.error_ratio", unanswered(stats.entries)
    ratio, answered = ev.metrics.get(metric), ev.samples.get(metric, 0)
    if (none and ratio is not None and 0 <= settings.max_error_ratio < ratio
            and answered > none):
        failed = stats.failures - excused_answers(counts.values())[1]
        without = (failed - none) / (answered - none)
        if without <= settings.max_error_ratio:
            ev.measure(metric, ratio, why.format(n=none, what="the error ratio",
                                                 value=f"{without:.2%}"), samples=answered)
    metric = f"{prefix}.payment_success_ratio"
    paid, attempts = ev.metrics.get(metric), ev.samples.get(metric, 0)
    none = unanswered(settings.payment_requests)
    if (none and paid is not None and paid < settings.min_payment_success_ratio
            and attempts > none):
        ok = sum(e.requests - e.failures for n, e in stats.entries.items()
                 if n in settings.payment_requests)
        without = ok / (attempts - none)
        if without >= settings.min_payment_success_ratio:
            ev.measure(metric, paid, why.format(n=none, what="payment success",
                                                value=f"{without:.2%}"), samples=attempts)


def held_on_a_saturated_machine(ev: LoadEvidence, prefix: str,
                                settings: StressSettings) -> None:
    """A stress run's users held end where a latency objective broke: on a saturated
    machine that may be the machine's limit, not the shop's. Held fewer than required then
    is not measured (as the verdict treats any latency missed on a saturated machine)."""
    point = ev.breaking_point
    if (not ev.saturated or point is None or point.users is None
            or " p95 " not in point.reason or point.users_held >= settings.min_users_held):
        return
    ev.measure(f"{prefix}.users_held", point.users_held, (
        f"the target broke at {point.users} users on a latency objective ({point.reason}) "
        f"while the measuring machine was saturated ({ev.saturated}); run again on a "
        "quieter machine"), samples=point.held_requests)


class EarlyAbort:
    """Stop a load run once a blocking objective is clearly broken (abort_factor × limit,
    over the run so far and over the last ten seconds, after `abort_after_s`); `metric` is
    the figure that broke (it stays judged however short the run)."""

    def __init__(self, settings: LoadSettings, suite: str = "load") -> None:
        self.settings = settings
        self.suite = suite
        self.metric = ""

    def __call__(self, p: Progress) -> str:
        settings, factor = self.settings, self.settings.abort_factor
        if p.t < settings.abort_after_s:  # start-up (sign-ups, cold caches) is not a verdict
            return ""
        for name, slo in settings.slo.items():
            if slo.severity != "blocking" or slo.p95_ms <= 0 or name not in p.names:
                continue
            count, _, p95, p95_now = p.names[name]
            limit = factor * slo.p95_ms
            if count >= settings.min_samples and p95 > limit and p95_now > limit:
                self.metric = f"{self.suite}.{metric_slug(name)}.p95_ms"
                return (f"stopped early at {p.t:.0f} s: '{name}' p95 {p95:g} ms is more than "
                        f"{factor:g}× its objective ({slo.p95_ms:g} ms) over {count} requests")
        error_floor = max(100, 5 * settings.min_samples)
        if settings.max_error_ratio >= 0 and p.requests >= error_floor:
            shop = p.requests - p.excused  # rate-limited, refused: not the shop's errors
            ratio = max(0, p.failures - p.excused) / shop if shop > 0 else 0.0
            if ratio > factor * settings.max_error_ratio and p.failures >= 10:
                self.metric = f"{self.suite}.error_ratio"
                return (f"stopped early at {p.t:.0f} s: error ratio {ratio:.1%} is more than "
                        f"{factor:g}× the objective ({settings.max_error_ratio:.1%}) over "
                        f"{p.requests} requests")
        return ""


def early_abort_rule(settings: LoadSettings, suite: str = "load") -> EarlyAbort:
    """The early-abort stop rule of a load run (see EarlyAbort)."""
    return EarlyAbort(settings, suite)


def breaking_point_rule(settings: StressSettings) -> StopRule:
    """Stop a stress run once its breaking point has held for `breaking_streak` samples."""
    samples: list[Sample] = []
    limits = p95_limits(settings)

    def rule(p: Progress) -> str:
        samples.append(Sample(p.t, p.users, p.rps, p.failures_per_s,
                              {n: v[3] for n, v in p.names.items() if v[3] > 0}, p.requests))
        point = find_breaking_point(samples, limits, settings.max_error_ratio,
                                    settings.breaking_streak, settings.abort_after_s,
                                    settings.min_samples)
        if point.users is None:
            return ""
        return (f"stopped at the breaking point: {point.reason} at {point.users} users "
                f"({p.t:.0f} s)")

    return rule
