"""The data suite: staging holds no real customer's data and mirrors production's schema.

Each test hands its findings and figures to the gate; gate.toml's criteria judge them (a
high-severity finding blocks the release). A test errors, rather than fails, when the
evidence cannot be collected (an unreachable database, a missing log).
"""

from __future__ import annotations

from typing import Any

from harness.plugin import not_applicable


def _record(evidence: Any, findings: Any, metrics: dict[str, float]) -> None:
    for finding in findings:
        evidence.finding(finding)
    for name, value in metrics.items():
        evidence.metric(name, value)


def test_database_holds_no_pii(db_audit: Any, evidence: Any) -> None:
    """No real email, card, PAN, Aadhaar or UPI id in any text column; mobiles only in phone
    columns."""
    _record(evidence, [f for f in db_audit.findings if f.rule_id.startswith("pii.")],
            db_audit.metrics())
    evidence.note(f"database audit: {len(db_audit.tables)} tables, {db_audit.rows:,} rows, "
                  f"{db_audit.values:,} text values scanned (read-only)")


def test_no_source_value_survives(db_audit: Any, data_settings: Any, evidence: Any) -> None:
    """No personal value of the source database is left in the copy (keyed-hash comparison)."""
    if not data_settings.source:
        not_applicable("no [data] source declared: the database is not a masked copy")
    _record(evidence, [f for f in db_audit.findings if f.rule_id.startswith("survivor.")],
            {"data.source.values_compared": float(db_audit.source_hashes)})


def test_foreign_keys_have_parents(db_audit: Any, evidence: Any) -> None:
    """Every foreign key (declared here or, with a source, there) points at a row."""
    _record(evidence, [f for f in db_audit.findings if f.rule_id == "integrity.orphan"], {})


def test_unique_columns_are_unique(db_audit: Any, evidence: Any) -> None:
    """Every unique column set (declared here or in the source) holds no duplicates."""
    _record(evidence, [f for f in db_audit.findings if f.rule_id == "integrity.duplicate"], {})


def test_run_artifacts_hold_no_pii(artifact_scan: Any, evidence: Any) -> None:
    """The traces, HARs and logs this run keeps carry no real customer data."""
    _record(evidence, artifact_scan.findings,
            {"data.artifacts.files": float(artifact_scan.files),
             "data.artifacts.lines": float(artifact_scan.lines),
             "data.artifacts.findings": float(len(artifact_scan.findings))})


def test_target_logs_hold_no_pii(log_scan: Any, evidence: Any) -> None:
    """The target's own logs carry no customer identifier (email, mobile, card, UPI...)."""
    _record(evidence, log_scan.findings,
            {"data.logs.files": float(log_scan.files), "data.logs.lines": float(log_scan.lines),
             "data.logs.findings": float(len(log_scan.findings))})
    if not log_scan.lines:
        evidence.note("the target's logs were empty when scanned")


def test_schema_matches_reference(parity_diff: Any, evidence: Any) -> None:
    """The database's schema mirrors the reference's (tables, columns, keys, indexes)."""
    _record(evidence, parity_diff.findings, parity_diff.metrics())
