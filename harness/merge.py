"""Merge shard runs (one suite split across CI machines) into one run, then judge it once.

Each shard runs part of a suite (`qgate run --shard 2/3` or `pytest … --qgate-shard 2/3`)
into its own run folder. `qgate merge --env NAME SHARD_DIR…` combines the shards' suite
results — tests and findings concatenated, counters recomputed, other metrics the max —
copies their artifacts, and writes one judged run like any other.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from harness.errors import UsageError
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
    return replace(first, status=status, tests=tests, metrics=metrics, error=errors,
                   duration_s=max(p.duration_s for p in parts),
                   started_at=min((p.started_at for p in parts if p.started_at), default=""),
                   findings=tuple(f for p in parts for f in p.findings),
                   artifacts=tuple(a for p in parts for a in p.artifacts))


def merge_runs(shard_dirs: Sequence[Path], out_dir: Path) -> tuple[list[str], str, str]:
    """Write merged suite results (and copied artifacts) into `out_dir`.

    Returns the suites merged, and the target base URL and version the shards reported.
    """
    by_suite: dict[str, list[SuiteResult]] = {}
    version = base_url = ""
    for i, shard in enumerate(shard_dirs, 1):
        if not (shard / "run.json").is_file() and not (shard / "suites").is_dir():
            raise UsageError(f"{shard}: not a qgate run folder (no run.json or suites/)")
        if (shard / "run.json").is_file():
            record = load_run(shard)
            version, base_url = version or record.version, base_url or record.base_url
        prefix = f"shards/{i}-{shard.name}"
        for path in sorted((shard / "suites").glob("*.json")):
            result = read_suite_result(shard, path.stem)
            if result is None:
                continue
            if (shard / "artifacts").is_dir():
                shutil.copytree(shard / "artifacts", out_dir / prefix / "artifacts",
                                dirs_exist_ok=True)
            moved = tuple(replace(a, path=f"{prefix}/{a.path}") for a in result.artifacts)
            by_suite.setdefault(result.suite, []).append(replace(result, artifacts=moved))
    if not by_suite:
        raise UsageError("no suite results found in the shard folders")
    for parts in by_suite.values():
        write_suite_result(out_dir, merge_suite_results(parts))
    return sorted(by_suite), base_url, version


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
