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
    _record(evidence, [f for f in db_audit.findings if f.rule_id.startswith("pii.")
                       or f.rule_id == "integrity.unfinished_copy"], db_audit.metrics())
    evidence.coverage("data.db.rows_scanned", db_audit.rows, 1, what="database rows scanned",
                      detail=f"{len(db_audit.tables)} tables",
                      hint="the database has no rows: point [data] database at the seeded or "
                           "masked copy", covers=("data.db", "data.pii.db", "data.integrity"))
    evidence.coverage("data.db.values_scanned", db_audit.values, 1,
                      what="database text and JSON values scanned",
                      detail=f"{db_audit.rows:,} rows",
                      hint="no text, JSON or array value to read: check [data] database and "
                           "ignore_tables", covers=("data.db", "data.pii.db"))
    evidence.note(f"database audit: {len(db_audit.tables)} tables, {db_audit.rows:,} rows, "
                  f"{db_audit.values:,} text values scanned (read-only)")


def test_no_source_value_survives(db_audit: Any, data_settings: Any, evidence: Any) -> None:
    """No personal value of the source database is left in the copy (keyed-hash comparison)."""
    if not data_settings.source:
        not_applicable("no [data] source declared: the database is not a masked copy")
    _record(evidence, [f for f in db_audit.findings if f.rule_id.startswith("survivor.")],
            {"data.source.values_compared": float(db_audit.source_hashes)})
    evidence.coverage("data.source.values_compared", db_audit.source_hashes, 1,
                      what="source values compared", hint="the source has no personal value "
                      "to compare: check [data] source and masking_rules",
                      covers=("data.source", "data.pii.survivors"))


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
    evidence.coverage("data.logs.lines", log_scan.lines, 1, what="log lines read",
                      detail=f"{log_scan.files} file(s)",
                      hint="the files [data] target_logs names are empty or unreadable (rotated "
                           ".gz logs are read): check the glob and the log level",
                      covers=("data.logs",))


def test_schema_matches_reference(parity_diff: Any, evidence: Any) -> None:
    """The database's schema mirrors the reference's (tables, columns, keys, indexes)."""
    _record(evidence, parity_diff.findings, parity_diff.metrics())
    evidence.coverage("data.parity.tables_compared", parity_diff.tables, 1,
                      what="tables compared with the reference",
                      hint="neither database has a table: check [data] reference and database",
                      covers=("data.parity",))
