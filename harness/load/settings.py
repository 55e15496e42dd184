"""The `[load]` and `[stress]` tables of an environment file, and the criteria they declare.

Thresholds live here (declared per environment) and are judged by `harness.verdict` through
`gate_criteria`; the engine only uses them to stop a run that is clearly broken and to find
a stress run's breaking point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["blocking", "warning"]
FindingSeverity = Literal["info", "low", "medium", "high", "critical"]

_SLUG = re.compile(r"[^a-z0-9]+")


def metric_slug(request_name: str) -> str:
    """A request name as it appears in metric names: `Product page` -> `product_page`."""
    return _SLUG.sub("_", request_name.lower()).strip("_") or "unnamed"


@dataclass(frozen=True)
class Slo:
    """Latency objectives of one request name (locust's `name`); 0 means not set."""

    p95_ms: float = 0.0
    p99_ms: float = 0.0
    severity: Severity = "blocking"


@dataclass(frozen=True)
class InvariantCheck:
    """A read-only query that must return no rows after the run; each row is a violation."""

    name: str
    sql: str
    #: columns that name an offending row in the finding (default: every column)
    key: list[str] = field(default_factory=list)
    severity: FindingSeverity = "high"


@dataclass(frozen=True)
class InvariantSettings:
    """`[load.invariants]`: the target's database (a SQLAlchemy URL, from secrets) and checks."""

    dsn: str = ""
    checks: list[InvariantCheck] = field(default_factory=list)
    #: how many offending rows a finding quotes
    max_rows: int = 20


@dataclass(frozen=True)
class ProfileSettings:
    """Per-profile sizes, `[load.profiles.<name>]`: used when that profile runs."""

    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    max_requests: int | None = None
    #: e.g. false for a peak profile, whose point is the spike after a slow start
    abort_early: bool | None = None


@dataclass(frozen=True)
class LoadSettings:
    """How the load suite runs against one environment: `[load]`."""

    #: a locustfile (relative to the project root, or absolute); empty means
    #: `loadprofiles/<profile>.py`
    locustfile: str = ""
    #: the profile: picks `loadprofiles/<profile>.py` when no locustfile is named; always
    #: recorded with the run (QGATE_LOAD_PROFILE / --load-profile override it)
    profile: str = "ci"
    #: peak users (shapes in loadprofiles/ read it) and users started per second
    users: int = 10
    spawn_rate: float = 5.0
    #: hard bound on the run in seconds; a locustfile whose shape runs longer is stopped here
    duration_s: float = 45.0
    #: hard bound on the number of requests (checked every second)
    max_requests: int = 200_000
    #: seconds a user may finish its current task when the run stops
    stop_timeout_s: float = 5.0
    #: local locust workers: 0 runs one process; N runs a master plus N workers (not named
    #: `workers`: the runner reads that key as pytest-xdist's -n)
    locust_workers: int = 0
    #: workers started elsewhere (compose, Kubernetes) that connect to this master
    remote_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    #: 0 picks a free port (local workers); remote workers need a fixed one, e.g. 5557
    master_port: int = 0
    #: seconds to wait for the workers to connect
    workers_timeout_s: float = 60.0
    #: locust User classes to run (default: every one in the locustfile)
    user_classes: list[str] = field(default_factory=list)
    #: latency objectives per request name: `[load.slo."checkout"] p95_ms = 800`
    slo: dict[str, Slo] = field(default_factory=dict)
    #: failed requests / all requests (a negative value declares no criterion)
    max_error_ratio: float = 0.01
    #: minimum throughput (0 declares no criterion)
    min_rps: float = 0.0
    #: the request name whose successes are placed orders (orders per minute)
    order_request: str = ""
    min_orders_per_min: float = 0.0
    #: request names that charge a payment instrument, and the share that must succeed
    payment_requests: list[str] = field(default_factory=list)
    min_payment_success_ratio: float = 0.0
    #: fewer requests than this for a name: its p95 is not measured (INCONCLUSIVE)
    min_samples: int = 20
    #: the same for p99 (a p99 over 20 samples is just the maximum)
    min_samples_p99: int = 50
    #: more than this share of rate-limited answers (429, 503 + Retry-After): the run measured
    #: the target's limiter, not the shop, and its figures are not measurements
    max_limited_ratio: float = 0.2
    #: stop once a blocking objective is clearly broken: after `abort_after_s` seconds, with
    #: at least `min_samples` requests, its p95 over the run and over the last ten seconds
    #: both above `abort_factor` times the threshold
    abort_early: bool = True
    abort_factor: float = 2.0
    abort_after_s: float = 15.0
    #: business invariants checked after the run
    invariants: InvariantSettings = field(default_factory=InvariantSettings)
    #: sizes per profile, e.g. `[load.profiles.peak] users = 30`
    profiles: dict[str, ProfileSettings] = field(default_factory=dict)

    def preflight(self, env: Any) -> None:
        """Refuse a locustfile that is missing or does not import (`qgate run` calls this)."""
        from harness.load.suite import check_locustfile
        check_locustfile(env, "stress" if isinstance(self, StressSettings) else "load")

    def for_profile(self) -> LoadSettings:
        """These settings with the current profile's sizes applied."""
        import dataclasses

        sizes = self.profiles.get(self.profile)
        if sizes is None:
            return self
        changes = {k: v for k, v in dataclasses.asdict(sizes).items() if v is not None}
        return dataclasses.replace(self, **changes)

    def locustfile_path(self) -> str:
        """The locustfile to run, as configured (relative paths are from the project root)."""
        return self.locustfile or f"loadprofiles/{self.profile}.py"

    def gate_criteria(self, suite: str) -> list[Any]:
        """The criteria this table declares (judged by the verdict next to gate.toml's)."""
        from harness.policy import Criterion

        # business correctness first: the verdict's summary quotes the first failures
        out: list[Criterion] = invariant_criteria(suite) if self.invariants.checks else []
        out.extend(self._run_criteria(suite))
        # built-in (gate.toml may change it by name): a run that met the target's rate limiter
        # says so, even when its share stayed under `max_limited_ratio`
        out.append(Criterion(suite, "few rate-limited answers (429, 503 + Retry-After)",
                             metric=f"{suite}.limited_ratio", op="<=", threshold=0.05,
                             severity="warning"))
        for name, slo in self.slo.items():
            slug = metric_slug(name)
            for pct, limit in (("p95", slo.p95_ms), ("p99", slo.p99_ms)):
                if limit > 0:
                    out.append(Criterion(suite, f"{name} {pct} under {limit:g} ms",
                                         metric=f"{suite}.{slug}.{pct}_ms", op="<=",
                                         threshold=limit, severity=slo.severity))
        return out

    def _run_criteria(self, suite: str) -> list[Any]:
        from harness.policy import Criterion

        out: list[Criterion] = []
        if self.max_error_ratio >= 0:
            out.append(Criterion(suite, f"error ratio at most {self.max_error_ratio:.2%}",
                                 metric=f"{suite}.error_ratio", op="<=",
                                 threshold=self.max_error_ratio))
        if self.min_rps > 0:
            out.append(Criterion(suite, f"throughput at least {self.min_rps:g} RPS",
                                 metric=f"{suite}.rps", op=">=", threshold=self.min_rps))
        if self.order_request and self.min_orders_per_min > 0:
            out.append(Criterion(suite, f"at least {self.min_orders_per_min:g} orders/min",
                                 metric=f"{suite}.orders_per_min", op=">=",
                                 threshold=self.min_orders_per_min))
        if self.payment_requests and self.min_payment_success_ratio > 0:
            out.append(Criterion(
                suite, f"payment success at least {self.min_payment_success_ratio:.2%}",
                metric=f"{suite}.payment_success_ratio", op=">=",
                threshold=self.min_payment_success_ratio))
        return out


def invariant_criteria(suite: str) -> list[Any]:
    """Declared invariants must be checked (a metric) and hold (no high findings)."""
    from harness.policy import Criterion

    return [
        # a metric, so invariants that could not be checked are missing evidence
        Criterion(suite, "business invariants hold after the run",
                  metric=f"{suite}.invariants.violated", op="<=", threshold=0),
        Criterion(suite, "no high-severity findings (broken invariants)",
                  findings_at_least="high", op="<=", threshold=0),
    ]


@dataclass(frozen=True)
class StressSettings(LoadSettings):
    """`[stress]`: a step ramp to the breaking point (same keys as `[load]`).

    The SLOs (empty here means: `[load]`'s) say where the target breaks: the first moment
    a request's p95 crosses its objective or the error ratio passes `max_error_ratio`. The
    run stops there. The suite is judged on how many users it held (`min_users_held`) and
    on the business invariants, not on the objectives it was pushed past.
    """

    profile: str = "stress"
    users: int = 60
    duration_s: float = 120.0
    #: a breaking point must hold this many consecutive seconds (the stats history's rows);
    #: the first `abort_after_s` seconds (start-up) can hold but not break
    breaking_streak: int = 3
    abort_after_s: float = 10.0
    #: the users the target must hold within its objectives (0 declares no criterion)
    min_users_held: int = 0
    #: check `[load.invariants]` after the stress run too (when [stress] declares none)
    use_load_invariants: bool = False

    def gate_criteria(self, suite: str) -> list[Any]:
        """Held users and invariants; the objectives define the breaking point instead."""
        from harness.policy import Criterion

        out: list[Criterion] = []
        if self.invariants.checks or self.use_load_invariants:
            out.extend(invariant_criteria(suite))
        if self.min_users_held > 0:
            out.append(Criterion(suite, f"held at least {self.min_users_held} users within "
                                 "objectives", metric=f"{suite}.users_held", op=">=",
                                 threshold=self.min_users_held))
        return out
