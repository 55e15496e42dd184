"""The `[data]` table of an environment file: what the data suite audits.

```toml
[data]
database = "${STAGING_DB_URL}"          # the environment's database (SQLAlchemy URL)
source = "${PROD_REPLICA_URL}"          # optional: it was masked from here; no value may survive
reference = "${PROD_SCHEMA_URL}"        # optional: its schema must match this one (parity)
target_logs = ["/var/log/shop/*.log"]   # optional: the target's own logs, scanned for PII
```

`$VAR` (no braces) is read when the data suite runs, so an environment can name a value that
only exists during a run (`qgate demo` exports the demo store's database and log folder);
`${VAR}` is resolved, and required, when the environment loads.

The suite only reads. It is still refused on an environment marked production (config's
INTRUSIVE_SUITES): it scans every row of every table (a heavy read on a live database), and
scanning production for PII finds production's customers by design and would put their row
keys in a report. Production is read from a staging run instead, as `source` or `reference`
(read-only sessions; point them at a replica).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ParityLevel = Literal["info", "low", "medium", "none"]


@dataclass(frozen=True)
class DataSettings:
    """Data suite settings: the database to audit, its source and reference, target logs."""

    #: SQLAlchemy URL of the environment's database; empty: database checks do not apply
    database: str = ""
    #: the database it was masked from (read-only); no PII value of it may survive
    source: str = ""
    #: the database whose schema it must mirror (read-only), e.g. production
    reference: str = ""
    #: files or globs of the target's own logs; customer identifiers must not appear there
    target_logs: list[str] = field(default_factory=list)
    #: scan this run's artifacts (logs, traces and their zip members, HARs) for PII
    scan_artifacts: bool = True
    #: masking rules whose transformed columns count as PII in the survival check
    masking_rules: str = ""
    #: a schema difference at or above this severity blocks the release ("none": only warns)
    parity_blocking_at: ParityLevel = "medium"
    #: tables parity and the audit leave out (fnmatch patterns)
    ignore_tables: list[str] = field(default_factory=lambda: ["qgate_*", "alembic_version"])
    #: rows read per batch
    batch_size: int = 5000
    #: values that are synthetic although they look real: the test identities the gate's own
    #: tools send (wapiti's login probe uses this address); never a customer's
    synthetic_values: list[str] = field(default_factory=lambda: ["wapiti2021@mailinator.com"])

    def gate_criteria(self, suite: str) -> list[Any]:
        """Built-in: a PII leak, orphaned key or duplicate (a high finding) blocks, personal
        data in free text or artifacts (medium) warns; and parity, when a reference is named.
        gate.toml may change one by declaring a criterion of the same name."""
        from harness.policy import Criterion

        built_in = [
            Criterion(suite, "no PII leak, orphaned key or duplicate (high findings)",
                      findings_at_least="high"),
            Criterion(suite, "no personal data in free text or artifacts (medium findings)",
                      findings_at_least="medium", severity="warning")]
        if not self.reference:
            return built_in
        level = "low" if self.parity_blocking_at == "none" else self.parity_blocking_at
        return [*built_in, Criterion(
            suite=suite, name=f"schema matches the reference (differences at or above {level})",
            metric=f"data.parity.at_least_{level}", op="<=", threshold=0,
            severity="warning" if self.parity_blocking_at == "none" else "blocking")]
