"""The scanner: wapiti (embedded) or a ZAP daemon, bounded, its findings normalised."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.results import SEVERITY_ORDER


@pytest.mark.production_safe
def test_scanner_ready(engine, evidence) -> None:
    """The scanner is installed / the daemon answers (checked before any long work)."""
    version = getattr(engine, "version", "")
    evidence.note(f"scanner: {engine.name} {version}".strip())
    assert version, f"{engine.name} reported no version"


@pytest.mark.production_safe
def test_scan(engine, security, evidence, progress) -> None:
    """Crawl, passive checks and (opted in, never on production) attacks; findings recorded.

    The scan's findings and its coverage (pages that answered 2xx, modules that finished) are
    judged by the verdict (rules-file levels, gate.toml's findings_at_least, the coverage
    minimum), not here: this test fails only if the scanner gave no evidence.
    """
    from harness.security.session import collect_seeds

    seeds, notes = collect_seeds(security.settings, security.run_dir, security.target,
                                 security.root)
    workdir = security.run_dir / "artifacts" / "security" / "scan"
    outcome = engine.scan(seeds, workdir, progress)
    findings = security.record(evidence, list(outcome.findings))
    for note in (*notes, *outcome.notes):
        evidence.note(note)
    for name, value in outcome.metrics.items():
        evidence.metric(name, value)
    counted = Counter(f.severity for f in findings if f.level != "ignore")
    for severity in SEVERITY_ORDER:
        evidence.metric(f"security.scan.findings.{severity}", counted.get(severity, 0))
    for level in ("fail", "warn", "info", "ignore"):
        evidence.metric(f"security.scan.rules.{level}",
                        sum(1 for f in findings if f.level == level))
    for path, kind, label in outcome.artifacts:
        evidence.artifact(path, kind, label)
    # how much the scan reached: below the policy's minimum the verdict leaves it unjudged
    for cov in outcome.coverage:
        evidence.coverage(cov.key, cov.observed, cov.minimum, what=cov.what, detail=cov.detail,
                          hint=cov.hint, covers=cov.covers)
