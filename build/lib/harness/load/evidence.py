"""From locust's statistics to the gate's evidence: metrics, unmeasured metrics, notes, series.

Pure functions of what locust wrote and what the environment declared; nothing here judges.
A figure that cannot mean anything (too few samples, a run dominated by rate limiting) is
reported as *unmeasured* with the reason, never as a number a criterion could pass on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass
class LoadEvidence:
    """What one load run gives the SuiteResult."""

    metrics: dict[str, float] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    breaking_point: BreakingPoint | None = None

    def measure(self, name: str, value: float, why_not: str = "") -> None:
        """Record `value` as `name`, or say why it is not a measurement."""
        if why_not:
            self.unmeasured[name] = why_not
            self.metrics.pop(name, None)
        else:
            self.metrics[name] = round(float(value), 3)


def limited_share(stats: LocustStats, extras: Mapping[str, Any]) -> tuple[int, float]:
    """Rate-limited answers (429, or 503 with Retry-After) and their share of all requests."""
    limited = int(extras.get("limited") or 0)
    return limited, (limited / stats.requests if stats.requests else 0.0)


def derive_evidence(prefix: str, stats: LocustStats, history: list[HistoryRow],
                    extras: Mapping[str, Any], settings: LoadSettings) -> LoadEvidence:
    """Metrics per request name and over the run, with their time series."""
    ev = LoadEvidence()
    limited, share = limited_share(stats, extras)
    ev.metrics[f"{prefix}.limited"] = float(limited)
    ev.metrics[f"{prefix}.limited_ratio"] = round(share, 4)
    dominated = ""
    if stats.requests and share > settings.max_limited_ratio:
        dominated = (f"{share:.0%} of {stats.requests} requests were rate limited (429, or 503 "
                     "with Retry-After): the run measured the target's rate limiter, not the "
                     "shop. Allow-list the load generator's address on staging, or spread "
                     "locust workers over more source addresses")
        ev.notes.append(f"Not measured: {dominated}.")
    total = stats.total()
    ev.metrics[f"{prefix}.requests"] = float(stats.requests)
    ev.metrics[f"{prefix}.failures"] = float(stats.failures)
    ev.metrics[f"{prefix}.duration_s"] = round(stats.duration_s, 1)
    few = (f"only {stats.requests} requests were made (at least {settings.min_samples} needed)"
           if stats.requests < settings.min_samples else "")
    ev.measure(f"{prefix}.error_ratio", total.error_ratio, dominated or few)
    ev.measure(f"{prefix}.rps", stats.requests / stats.duration_s if stats.requests else 0.0,
               dominated or few)
    _percentiles(ev, f"{prefix}", total, settings, dominated, "all requests",
                 ("p50", "p95", "p99"))
    for name, entry in sorted(stats.entries.items()):
        slug = f"{prefix}.{metric_slug(name)}"
        ev.metrics[f"{slug}.requests"] = float(entry.requests)
        ev.metrics[f"{slug}.failures"] = float(entry.failures)
        ev.measure(f"{slug}.error_ratio", entry.error_ratio, dominated)
        ev.measure(f"{slug}.rps", entry.requests / stats.duration_s, dominated)
        slo = settings.slo.get(name)
        declared = tuple(p for p, limit in (("p95", slo.p95_ms), ("p99", slo.p99_ms))
                         if limit > 0) if slo else ()
        _percentiles(ev, slug, entry, settings, dominated, f"'{name}'", declared)
    for name, slo in settings.slo.items():
        if name not in stats.entries:
            for pct, limit in (("p95", slo.p95_ms), ("p99", slo.p99_ms)):
                if limit <= 0:
                    continue
                ev.measure(f"{prefix}.{metric_slug(name)}.{pct}_ms", 0, (
                    f"no requests named '{name}' were made; check the name in the SLO table "
                    "against the locustfile's request names"))
    _business(ev, prefix, stats, settings, dominated)
    unnamed = sorted(n for n in stats.entries if n not in settings.slo)
    if settings.slo and unnamed:
        ev.notes.append("No objective declared for: " + ", ".join(unnamed) + ".")
    if extras.get("off_target"):
        ev.notes.append(f"Refused {extras['off_target']} requests to other hosts than the target "
                        f"(first: {extras.get('off_target_example', '?')}).")
    ev.series = _series(prefix, stats, history, settings)
    samples = history_samples(history)
    if samples:
        ev.metrics[f"{prefix}.users_max"] = float(max(s.users for s in samples))
    return ev


def _percentiles(ev: LoadEvidence, base: str, entry: RequestStats, settings: LoadSettings,
                 dominated: str, label: str, declared: tuple[str, ...] = ("p95",)) -> None:
    """p50/p95/p99; too few samples: unmeasured if an objective needs it, else left out."""
    for pct, fraction in PERCENTILES:
        needed = settings.min_samples_p99 if pct == "p99" else settings.min_samples
        few = (f"only {entry.timed} timed requests for {label} (at least {needed} needed for "
               f"a {pct})" if entry.timed < needed else "")
        if few and pct not in declared:
            continue  # a figure nothing judges, and that would not mean anything
        ev.measure(f"{base}.{pct}_ms", entry.percentile(fraction), dominated or few)


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
                                 " were made"))
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
                   dominated or few)


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
                                settings.breaking_streak, settings.abort_after_s)
    ev.breaking_point = point
    ev.metrics[f"{prefix}.users_held"] = float(point.users_held)
    if point.users is None:
        why = (f"the target held every objective up to {point.max_users} users, the profile's "
               "ceiling; raise users in [stress] to find where it breaks")
        for key in ("users", "rps", "at_s"):
            ev.measure(f"{prefix}.breaking_point.{key}", 0, why)
        ev.notes.append(f"No breaking point: {why}.")
        return
    ev.metrics[f"{prefix}.breaking_point.users"] = float(point.users)
    ev.metrics[f"{prefix}.breaking_point.rps"] = float(point.rps or 0)
    ev.metrics[f"{prefix}.breaking_point.at_s"] = float(point.at_s or 0)
    ev.notes.append(f"Breaking point: {point.users} users at {point.rps:g} RPS, {point.at_s:g} s "
                    f"into the run ({point.reason}); objectives held up to {point.users_held} "
                    "users.")


def early_abort_rule(settings: LoadSettings) -> StopRule:
    """Stop a load run once a blocking objective is clearly broken (abort_factor × limit, over
    the run so far and over the last ten seconds, after `abort_after_s`)."""
    factor = settings.abort_factor
    error_floor = max(100, 5 * settings.min_samples)

    def rule(p: Progress) -> str:
        if p.t < settings.abort_after_s:  # start-up (sign-ups, cold caches) is not a verdict
            return ""
        for name, slo in settings.slo.items():
            if slo.severity != "blocking" or slo.p95_ms <= 0 or name not in p.names:
                continue
            count, _, p95, p95_now = p.names[name]
            limit = factor * slo.p95_ms
            if count >= settings.min_samples and p95 > limit and p95_now > limit:
                return (f"stopped early at {p.t:.0f} s: '{name}' p95 {p95:g} ms is more than "
                        f"{factor:g}× its objective ({slo.p95_ms:g} ms) over {count} requests")
        if settings.max_error_ratio >= 0 and p.requests >= error_floor:
            ratio = p.failures / p.requests
            if ratio > factor * settings.max_error_ratio and p.failures >= 10:
                return (f"stopped early at {p.t:.0f} s: error ratio {ratio:.1%} is more than "
                        f"{factor:g}× the objective ({settings.max_error_ratio:.1%}) over "
                        f"{p.requests} requests")
        return ""

    return rule


def breaking_point_rule(settings: StressSettings) -> StopRule:
    """Stop a stress run once its breaking point has held for `breaking_streak` samples."""
    samples: list[Sample] = []
    limits = p95_limits(settings)

    def rule(p: Progress) -> str:
        samples.append(Sample(p.t, p.users, p.rps, p.failures_per_s,
                              {n: v[3] for n, v in p.names.items() if v[3] > 0}))
        point = find_breaking_point(samples, limits, settings.max_error_ratio,
                                    settings.breaking_streak, settings.abort_after_s)
        if point.users is None:
            return ""
        return (f"stopped at the breaking point: {point.reason} at {point.users} users "
                f"({p.t:.0f} s)")

    return rule
