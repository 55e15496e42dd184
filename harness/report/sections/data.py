"""The data suite's panel in report.html: what was scanned, and the findings by place."""

from __future__ import annotations

from html import escape

from harness.results import SEVERITY_ORDER, SuiteResult

_ROWS = (
    ("database", (("data.db.tables", "tables"), ("data.db.rows_scanned", "rows"),
                  ("data.db.values_scanned", "text values"))),
    ("integrity", (("data.integrity.foreign_keys_checked", "foreign keys checked"),
                   ("data.integrity.unique_sets_checked", "unique sets checked"))),
    ("source", (("data.source.values_compared", "source values compared (keyed hashes)"),)),
    ("artifacts", (("data.artifacts.files", "files"), ("data.artifacts.lines", "lines"))),
    ("target logs", (("data.logs.files", "files"), ("data.logs.lines", "lines"))),
    ("schema parity", (("data.parity.tables_compared", "tables compared"),
                       ("data.parity.differences", "differences"))),
)
_AREAS = (("pii.log.", "target logs"), ("pii.artifact.", "artifacts"), ("pii.", "database"),
          ("survivor.", "surviving source values"), ("integrity.", "integrity"),
          ("parity.", "schema parity"))


def _area(rule_id: str) -> str:
    return next((name for prefix, name in _AREAS if rule_id.startswith(prefix)), "other")


def render(result: SuiteResult) -> str:
    """Coverage (what was read) and a per-area count of findings by severity."""
    metrics = result.metrics
    coverage = []
    for area, items in _ROWS:
        shown = [f"{metrics[key]:,.0f} {label.removesuffix('s') if metrics[key] == 1 else label}"
                 for key, label in items if key in metrics]
        if shown:
            coverage.append(f"<tr><td>{escape(area)}</td><td>{escape(', '.join(shown))}</td></tr>")
    counts: dict[str, dict[str, int]] = {}
    for finding in result.findings:
        by_severity = counts.setdefault(_area(finding.rule_id), {})
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    severities = [s for s in reversed(SEVERITY_ORDER)
                  if any(s in c for c in counts.values())]
    parts = ["<h3>Data audit</h3>"]
    if coverage:
        parts.append("<table><tr><th>scanned</th><th>how much</th></tr>"
                     + "".join(coverage) + "</table>")
    if counts:
        head = "".join(f"<th class='num'>{escape(s)}</th>" for s in severities)
        rows = "".join(
            f"<tr><td>{escape(area)}</td>"
            + "".join(f"<td class='num'>{c.get(s, 0)}</td>" for s in severities) + "</tr>"
            for area, c in sorted(counts.items()))
        parts.append(f"<table><tr><th>findings</th>{head}</tr>{rows}</table>")
    else:
        parts.append("<p>No findings: no PII, orphaned key, duplicate or schema difference "
                     "was found in what was scanned.</p>")
    return "".join(parts)
