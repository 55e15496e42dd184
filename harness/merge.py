"""Merge shard runs (one suite split across CI machines) into one run, then judge it once.

Each shard runs part of a suite (`qgate run --shard 2/3` or `pytest … --qgate-shard 2/3`)
into its own run folder. `qgate merge --env NAME SHARD_DIR…` combines the shards' suite
results — tests and findings concatenated, counters recomputed, other metrics the max —
copies their artifacts, and writes one judged run like any other.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import IncompleteEvidence, UsageError
from harness.results import (
    SuiteResult,
    outcome_counts,
    read_suite_result,
    status_from_tests,
    write_suite_result,
)
from harness.runrecord import load_run


def merge_suite_results(parts: Sequence[SuiteResult]) -> SuiteResult:
    """One SuiteResult from shards of the same suite (pure)."""
    first = parts[0]
    tests = tuple(t for p in parts for t in p.tests)
    metrics: dict[str, float] = {}
    for p in parts:
        for name, value in p.metrics.items():
            metrics[name] = max(value, metrics.get(name, value))
    metrics |= outcome_counts(first.suite, tests)  # counters add up; they are not maxima
    errors = "\n".join(p.error for p in parts if p.error)
    status = "error" if errors else status_from_tests(tests)
    unmeasured: dict[str, str] = {}
    series: dict[str, list[tuple[float, float]]] = {}
    for p in parts:
        unmeasured |= p.unmeasured
        series = series or dict(p.series)
    return replace(first, status=status, tests=tests, metrics=metrics, error=errors,
                   unmeasured=unmeasured, series=series,
                   notes=tuple(dict.fromkeys(n for p in parts for n in p.notes)),
                   duration_s=max(p.duration_s for p in parts),
                   started_at=min((p.started_at for p in parts if p.started_at), default=""),
                   findings=tuple(f for p in parts for f in p.findings),
                   artifacts=tuple(a for p in parts for a in p.artifacts))


@dataclass(frozen=True)
class MergedRuns:
    """What merging shard runs produced: the suites merged and the shards' shared facts."""

    suites: list[str]
    base_url: str
    version: str
    shards: list[str]
    production_override: bool
    #: the load profile every shard ran (run records compare within one profile)
    profile: str = ""


def check_shards(shards: Sequence[tuple[Path, str]]) -> list[str]:
    """Refuse shard sets that cannot be complete: every shard 1..N exactly once, one N.

    `shards` pairs each run folder with the `I/N` its run.json recorded ('' for none).
    """
    unmarked = [str(path) for path, shard in shards if not shard]
    if unmarked:
        raise IncompleteEvidence(f"{unmarked[0]}: not a shard run (its run.json records no "
                                 "--shard I/N)", hint="run each shard with qgate run --shard I/N")
    parsed = [(path, *parse_shard(shard)) for path, shard in shards]
    counts = {count for _, _, count in parsed}
    if len(counts) > 1:
        raise IncompleteEvidence(f"shards disagree on N: {', '.join(s for _, s in shards)}")
    (count,) = counts
    seen: dict[int, Path] = {}
    for path, index, _ in parsed:
        if index in seen:
            raise IncompleteEvidence(f"shard {index}/{count} is given twice ({seen[index]} and "
                                     f"{path})")
        seen[index] = path
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise IncompleteEvidence(f"shard {', '.join(missing)} missing (got "
                                 f"{', '.join(f'{i}/{count}' for i in sorted(seen))})",
                                 hint="merge the run folders of every shard")
    return [f"{i}/{count}" for i in sorted(seen)]


def merge_runs(shard_dirs: Sequence[Path], out_dir: Path) -> MergedRuns:
    """Write merged suite results (and copied artifacts) into `out_dir`.

    Refuses (IncompleteEvidence, exit 3) unless the folders are shards 1..N of one split.
    """
    records = []
    for shard in shard_dirs:
        if not (shard / "run.json").is_file():
            raise UsageError(f"{shard}: not a qgate run folder (no run.json)")
        try:
            records.append((shard, load_run(shard)))
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise UsageError(f"{shard / 'run.json'}: not a qgate run record ({exc})",
                             hint="pass the run folders `qgate run --shard I/N` wrote") from None
    shards = check_shards([(path, record.shard) for path, record in records])
    targets = {record.base_url for _, record in records}
    if len(targets) > 1:
        raise IncompleteEvidence(f"the shards ran against different targets: "
                                 f"{', '.join(sorted(targets))}")
    profiles = {record.profile for _, record in records}
    if len(profiles) > 1:
        raise IncompleteEvidence(f"the shards ran different load profiles: "
                                 f"{', '.join(sorted(profiles))}",
                                 hint="run every shard with the same --load-profile")
    by_suite: dict[str, list[SuiteResult]] = {}
    for i, (shard, _record) in enumerate(records, 1):
        prefix = f"shards/{i}-{shard.name}"
        if (shard / "artifacts").is_dir():
            shutil.copytree(shard / "artifacts", out_dir / prefix / "artifacts",
                            dirs_exist_ok=True)
        for path in sorted((shard / "suites").glob("*.json")):
            result = read_suite_result(shard, path.stem)
            if result is None:
                continue
            moved = tuple(replace(a, path=f"{prefix}/{a.path}") for a in result.artifacts)
            by_suite.setdefault(result.suite, []).append(replace(result, artifacts=moved))
    if not by_suite:
        raise UsageError("no suite results found in the shard folders")
    for parts in by_suite.values():
        write_suite_result(out_dir, merge_suite_results(parts))
    first = records[0][1]
    return MergedRuns(sorted(by_suite), first.base_url, first.version, shards,
                      all(r.production_override for _, r in records), first.profile)


def shard_of(key: str, count: int) -> int:
    """The 1-based shard a test file belongs to (stable across machines and runs)."""
    import zlib
    return zlib.crc32(key.encode("utf-8")) % count + 1


def parse_shard(text: str) -> tuple[int, int]:
    """Parse `I/N` (1 ≤ I ≤ N)."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard: expected I/N like 2/3, got {text!r}") from None
    if not 1 <= index <= count:
        raise UsageError(f"--shard: {text!r} is out of range; I must be between 1 and N")
    return index, count
