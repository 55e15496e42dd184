"""Locust's own statistics, read back: per-request histograms and the per-second history.

Percentiles come from the histograms locust writes with `--json-file` (bucketed response
times per request name), computed the way locust computes them; nothing is re-measured.
The time series come from `--csv-full-history` (`*_stats_history.csv`, one row per second
and request name, with the *current* ten-second-window percentiles) and from the exact
per-second request and failure counts in the JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

AGGREGATED = "Aggregated"


class StatsError(ValueError):
    """Locust's output could not be read (missing, truncated or not locust's format)."""


def percentile(histogram: Mapping[float, int], count: int, fraction: float) -> float:
    """`fraction` percentile of a {bucketed ms: count} histogram, as locust computes it."""
    if count <= 0 or not histogram:
        return 0.0
    wanted = int(count * fraction)
    processed = 0
    for bucket in sorted(histogram, reverse=True):
        processed += histogram[bucket]
        if count - processed <= wanted:
            return float(bucket)
    return 0.0


@dataclass(frozen=True)
class RequestStats:
    """Everything locust recorded for one request name (all HTTP methods merged)."""

    name: str
    requests: int
    failures: int
    histogram: dict[float, int]
    total_response_ms: float
    max_ms: float
    start_time: float
    last_request_at: float
    per_second: dict[int, int] = field(default_factory=dict)
    failures_per_second: dict[int, int] = field(default_factory=dict)

    @property
    def timed(self) -> int:
        """Requests with a response time (locust counts async `None` ones apart)."""
        return sum(self.histogram.values())

    def percentile(self, fraction: float) -> float:
        """Response time in ms below which `fraction` of the timed requests fell."""
        return percentile(self.histogram, self.timed, fraction)

    @property
    def error_ratio(self) -> float:
        """Failures over requests (0 when there were none)."""
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class LocustStats:
    """One run's statistics: per request name, and over all of them."""

    entries: dict[str, RequestStats]

    @property
    def requests(self) -> int:
        """Requests over every name."""
        return sum(e.requests for e in self.entries.values())

    @property
    def failures(self) -> int:
        """Failed requests over every name."""
        return sum(e.failures for e in self.entries.values())

    @property
    def started(self) -> float:
        """Unix time of the first request's stats entry (0 when there were none)."""
        return min((e.start_time for e in self.entries.values()), default=0.0)

    @property
    def duration_s(self) -> float:
        """From the first stats entry to the last request, at least one second."""
        last = max((e.last_request_at for e in self.entries.values()), default=0.0)
        return max(1.0, last - self.started) if self.entries else 0.0

    def total(self) -> RequestStats:
        """Every name merged into one entry (locust's "Aggregated" row)."""
        return merge_entries(AGGREGATED, self.entries.values())


def merge_entries(name: str, entries: Iterable[RequestStats]) -> RequestStats:
    """Add up histograms and counters (the same name with several methods, or everything)."""
    items = list(entries)
    histogram: dict[float, int] = {}
    per_second: dict[int, int] = {}
    failures_per_second: dict[int, int] = {}
    for e in items:
        for bucket, n in e.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + n
        for t, n in e.per_second.items():
            per_second[t] = per_second.get(t, 0) + n
        for t, n in e.failures_per_second.items():
            failures_per_second[t] = failures_per_second.get(t, 0) + n
    return RequestStats(
        name=name, requests=sum(e.requests for e in items),
        failures=sum(e.failures for e in items), histogram=histogram,
        total_response_ms=sum(e.total_response_ms for e in items),
        max_ms=max((e.max_ms for e in items), default=0.0),
        start_time=min((e.start_time for e in items), default=0.0),
        last_request_at=max((e.last_request_at for e in items), default=0.0),
        per_second=per_second, failures_per_second=failures_per_second)


def read_stats_json(path: Path) -> LocustStats:
    """Parse the file `locust --json-file` wrote (a list of serialised StatsEntry)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatsError(f"locust wrote no statistics ({path.name} is missing)") from None
    except (OSError, ValueError) as exc:
        raise StatsError(f"{path.name} is not readable JSON: {exc}") from None
    if not isinstance(data, list):
        raise StatsError(f"{path.name}: expected a list of request statistics")
    by_name: dict[str, list[RequestStats]] = {}
    for raw in data:
        try:
            entry = _entry(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise StatsError(f"{path.name}: unexpected entry ({exc!r})") from None
        by_name.setdefault(entry.name, []).append(entry)
    return LocustStats({name: merge_entries(name, group) if len(group) > 1 else group[0]
                        for name, group in by_name.items()})


def _entry(raw: Mapping[str, object]) -> RequestStats:
    def counts(key: str) -> dict[int, int]:
        value = raw.get(key) or {}
        assert isinstance(value, dict)
        return {int(float(k)): int(v) for k, v in value.items()}

    histogram_raw = raw["response_times"]
    assert isinstance(histogram_raw, dict)
    return RequestStats(
        name=str(raw["name"]), requests=int(raw["num_requests"]),  # type: ignore[call-overload]
        failures=int(raw["num_failures"]),  # type: ignore[call-overload]
        histogram={float(k): int(v) for k, v in histogram_raw.items()},
        total_response_ms=float(raw.get("total_response_time") or 0),  # type: ignore[arg-type]
        max_ms=float(raw.get("max_response_time") or 0),  # type: ignore[arg-type]
        start_time=float(raw.get("start_time") or 0),  # type: ignore[arg-type]
        last_request_at=float(raw.get("last_request_timestamp") or 0),  # type: ignore[arg-type]
        per_second=counts("num_reqs_per_sec"), failures_per_second=counts("num_fail_per_sec"))


@dataclass(frozen=True)
class HistoryRow:
    """One row of `*_stats_history.csv`: a request name (or Aggregated) at one second."""

    timestamp: int
    users: int
    name: str
    rps: float
    failures_per_s: float
    #: current (ten-second window) percentiles in ms; None where locust wrote N/A
    p50: float | None
    p95: float | None
    p99: float | None
    requests: int
    failures: int


def read_history_csv(path: Path) -> list[HistoryRow]:
    """Parse locust's `--csv-full-history` stats history (missing file: no rows)."""
    if not path.is_file():
        return []
    rows: list[HistoryRow] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            try:
                rows.append(HistoryRow(
                    timestamp=int(raw["Timestamp"]), users=int(raw["User Count"]),
                    name=raw["Name"], rps=float(raw["Requests/s"]),
                    failures_per_s=float(raw["Failures/s"]), p50=_ms(raw.get("50%")),
                    p95=_ms(raw.get("95%")), p99=_ms(raw.get("99%")),
                    requests=int(raw["Total Request Count"]),
                    failures=int(raw["Total Failure Count"])))
            except (KeyError, TypeError, ValueError):
                continue  # a row cut short by a stop mid-write: the rest still counts
    return rows


def _ms(value: str | None) -> float | None:
    if value in (None, "", "N/A"):
        return None
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Sample:
    """The target at one moment: users, throughput, failures and current p95 per name."""

    t: float
    users: int
    rps: float
    failures_per_s: float
    p95_now: dict[str, float]
    #: requests completed since the run began (cumulative); -1 when unknown
    requests: int = -1


def history_samples(rows: Iterable[HistoryRow]) -> list[Sample]:
    """Group history rows by second into Samples (Aggregated gives users and throughput)."""
    by_second: dict[int, list[HistoryRow]] = {}
    for row in rows:
        by_second.setdefault(row.timestamp, []).append(row)
    if not by_second:
        return []
    start = min(by_second)
    samples = []
    for second in sorted(by_second):
        group = by_second[second]
        total = next((r for r in group if r.name == AGGREGATED), None)
        if total is None:
            continue
        samples.append(Sample(
            t=float(second - start), users=total.users, rps=total.rps,
            failures_per_s=total.failures_per_s,
            p95_now={r.name: r.p95 for r in group if r.name != AGGREGATED and r.p95 is not None},
            requests=total.requests))
    return samples


@dataclass(frozen=True)
class BreakingPoint:
    """Where the target stopped meeting its objectives (None fields: it never did)."""

    at_s: float | None
    users: int | None
    rps: float | None
    reason: str
    #: the most users held within every objective: the step below the breaking point, or
    #: the most users seen when the target never broke
    users_held: int
    max_users: int
    #: requests completed during the broken streak (the evidence behind the breaking point)
    requests: int = 0
    #: requests completed in the seconds that held at `users_held` users
    held_requests: int = 0


def find_breaking_point(samples: list[Sample], p95_limits: Mapping[str, float],
                        max_error_ratio: float, streak: int = 3,
                        warmup_s: float = 0.0, min_requests: int = 0) -> BreakingPoint:
    """The first moment objectives stayed broken for `streak` consecutive samples and at
    least `min_requests` completed requests.

    A second counts as held only when requests completed in it and every objective was met:
    a second with users but no completed request is no evidence either way, and a start-up
    second (before `warmup_s`) that misses an objective neither holds nor breaks.
    """
    run: list[tuple[Sample, str, int]] = []
    fine: list[tuple[int, int]] = []  # (users, requests completed in that second)
    previous = 0
    for sample in samples:
        done = sample.requests - previous if sample.requests >= 0 else -1
        previous = max(previous, sample.requests)
        why = broken_because(sample, p95_limits, max_error_ratio)
        if why and sample.t >= warmup_s:
            run.append((sample, why, max(done, 0)))
            behind = sum(n for _, _, n in run)
            if len(run) >= streak and behind >= min_requests:
                first, reason, _ = run[0]
                held = max((u for u, _ in fine if u < (first.users or 0)), default=0)
                return BreakingPoint(first.t, first.users, round(first.rps, 2), reason, held,
                                     max(s.users for s in samples), behind,
                                     sum(n for u, n in fine if u == held))
            continue
        run = []
        if why or done == 0 or (done < 0 and sample.rps <= 0):
            continue  # start-up that missed an objective, or nothing completed: not held
        fine.append((sample.users, max(done, 0)))
    held = max((u for u, _ in fine), default=0)
    return BreakingPoint(None, None, None, "", held,
                         max((s.users for s in samples), default=0), 0,
                         sum(n for u, n in fine if u == held))


def broken_because(sample: Sample, p95_limits: Mapping[str, float],
                   max_error_ratio: float) -> str:
    """Why `sample` breaks an objective ('' when it meets all of them)."""
    for name, limit in p95_limits.items():
        now = sample.p95_now.get(name)
        if limit > 0 and now is not None and now > limit:
            return f"{name} p95 {now:g} ms > {limit:g} ms"
    if max_error_ratio >= 0 and sample.rps > 0:
        ratio = sample.failures_per_s / sample.rps
        if ratio > max_error_ratio:
            return f"error ratio {ratio:.1%} > {max_error_ratio:.1%}"
    return ""
