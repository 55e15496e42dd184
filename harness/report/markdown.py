"""summary.md: a short Markdown summary for PR comments and `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

from harness.runrecord import RunRecord

ICONS = {"GO": "✅", "NO-GO": "❌", "INCONCLUSIVE": "⚠️",
         "pass": "✅", "fail": "❌", "warn": "⚠️", "waived": "🔕", "error": "⛔",
         "n/a": "➖"}


def render_markdown(record: RunRecord) -> str:
    """The Markdown summary of `record`."""
    v = record.verdict
    lines = [
        f"## {ICONS[v.decision]} qgate: **{v.decision}** — {record.environment}",
        "",
        f"{v.summary}",
        "",
        f"Target `{record.base_url}` version `{record.version or 'unknown'}` · run "
        f"`{record.run_id}` · {record.started_at} → {record.finished_at}",
    ]
    if record.production_override:
        lines += ["", "**Production protection was overridden for this run.**"]
    for note in record.notes:
        lines += ["", f"> {note}"]
    if record.baseline:
        lines += ["", f"Compared with {record.baseline}."]
    for a in record.approvals:
        lines += ["", f"**Approved for release** by {a.get('by')} at {a.get('at')}"
                  + (f" — {a['note']}" if a.get("note") else "")]
    lines += ["", "| suite | status | tests | passed | failed | flaky | skipped | n/a | time |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in record.suites.items():
        lines.append(f"| {name} | {s.status} | {len(s.tests)} | {s.count('passed')} | "
                     f"{s.count('failed')} | {s.count('flaky')} | {s.count('skipped')} | "
                     f"{s.count('not_applicable')} | {s.duration_s:.1f}s |")
    for name, why in record.not_run.items():
        lines.append(f"| {name} | not run | | | | | | | {why.replace('|', '/')} |")
    notable = [c for c in v.criteria if c.outcome != "pass"]
    compared = bool(record.baseline)
    shown = notable or list(v.criteria)
    if compared:  # the deltas are worth showing even when they passed
        shown += [c for c in v.criteria if c.outcome == "pass"
                  and isinstance(c.baseline, (int, float)) and c not in shown]
    lines += ["", "| | suite | criterion | observed | threshold |"
              + (" baseline |" if compared else "") + " reason |",
              "|---|---|---|---|---|" + ("---|" if compared else "") + "---|"]
    for c in shown:
        reason = c.reason.replace("|", "\\|").replace("\n", " ")
        reason = reason if len(reason) <= 240 else reason[:239] + "…"
        base = f" {_baseline_cell(c.observed, c.baseline)} |" if compared else ""
        lines.append(f"| {ICONS[c.outcome]} {c.outcome} | {c.suite} | {c.name} | "
                     f"{_cell(c.observed)} | {_cell(c.threshold)} |{base} {reason} |")
    passed = sum(1 for c in v.criteria if c.outcome == "pass" and c not in shown)
    if notable and passed:
        lines += ["", f"{passed} other criteria passed."]
    return "\n".join(lines) + "\n"


def _baseline_cell(observed: object, baseline: object) -> str:
    if not isinstance(baseline, (int, float)):
        return "—"
    if isinstance(observed, (int, float)) and baseline:
        return f"{baseline:g} ({(observed - baseline) / baseline * 100:+.1f}%)"
    return f"{baseline:g}"


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")
