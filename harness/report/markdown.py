"""summary.md: a short Markdown summary for PR comments and `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

from collections.abc import Mapping

from harness.report.text import headline, left_out, shorten
from harness.runrecord import RunRecord

ICONS = {"GO": "✅", "NO-GO": "❌", "INCONCLUSIVE": "⚠️",
         "pass": "✅", "fail": "❌", "warn": "⚠️", "waived": "🔕", "error": "⛔",
         "n/a": "➖"}


ORDER = {"fail": 0, "error": 1, "warn": 2, "waived": 3, "n/a": 4, "pass": 5}


def render_markdown(record: RunRecord) -> str:
    """The Markdown summary of `record`: what failed first, then the suites, how to
    reproduce, and where the report and the traces are."""
    v = record.verdict
    lines = [
        f"## {ICONS[v.decision]} qgate: **{v.decision}** — {record.environment}",
        "",
        headline(v, 600),
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
    lines += _criteria_table(record)
    lines += _failed_tests(record)
    ran = list(record.suites.items())
    if ran:
        lines += ["", "| suite | status | tests | passed | failed | flaky | skipped | n/a | time |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, s in sorted(ran, key=lambda item: _SUITE_ORDER.get(item[1].status, 9)):
            lines.append(f"| {name} | {s.status} | {len(s.tests)} | {s.count('passed')} | "
                         f"{s.count('failed')} | {s.count('flaky')} | {s.count('skipped')} | "
                         f"{s.count('not_applicable')} | {s.duration_s:.1f}s |")
    for why, names in _grouped(record.not_run).items():
        if not left_out(why):  # the suites left out are already said, once, above
            lines += ["", f"**Not run:** {', '.join(names)} — {shorten(why, 300)}"]
    lines += _reproduce(record)
    return "\n".join(lines) + "\n"


_SUITE_ORDER = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}


def _grouped(reasons: Mapping[str, str]) -> dict[str, list[str]]:
    """Suites that share a reason, on one line."""
    out: dict[str, list[str]] = {}
    for name, why in reasons.items():
        out.setdefault(why.replace("|", "/"), []).append(name)
    return out


def _criteria_table(record: RunRecord) -> list[str]:
    v = record.verdict
    compared = bool(record.baseline)
    notable = [c for c in v.criteria if c.outcome != "pass"]
    # "left out of this run" is one fact about the run, not one failure per suite
    left = [c for c in notable if c.outcome == "error" and left_out(c.reason)]
    notable = [c for c in notable if c not in left]
    shown = sorted(notable, key=lambda c: ORDER[c.outcome]) or \
        ([] if left else list(v.criteria))
    if compared:  # the deltas are worth showing even when they passed
        shown += [c for c in v.criteria if c.outcome == "pass"
                  and isinstance(c.baseline, (int, float)) and c not in shown]
    lines: list[str] = []
    if shown:
        lines += ["", "| | suite | criterion | observed | threshold |"
                  + (" baseline |" if compared else "") + " reason |",
                  "|---|---|---|---|---|" + ("---|" if compared else "") + "---|"]
    for c in shown:
        reason = shorten(c.reason, 300).replace("|", "\\|").replace("\n", " ")
        base = f" {_baseline_cell(c.observed, c.baseline)} |" if compared else ""
        lines.append(f"| {ICONS[c.outcome]} {c.outcome} | {c.suite} | {c.name} | "
                     f"{_cell(c.observed)} | {_cell(c.threshold)} |{base} {reason} |")
    if left:
        why = left[0].reason.split("; the gate", 1)[-1].strip()
        lines += ["", f"**Left out of this run** ({'the gate' + ' ' + why if why else 'required'})"
                  f": {', '.join(sorted(c.suite for c in left))} — so this run cannot be GO."]
    passed = sum(1 for c in v.criteria if c.outcome == "pass" and c not in shown)
    if (notable or left) and passed:
        lines += ["", f"{passed} other criteria passed."]
    return lines


def _failed_tests(record: RunRecord) -> list[str]:
    """Each failed test with its message and the traces and screenshots kept for it."""
    lines: list[str] = []
    for name, suite in record.suites.items():
        for test in suite.tests:
            if test.outcome not in ("failed", "error"):
                continue
            kept = [a.path for a in suite.artifacts if a.test_id == test.id]
            first = test.message.strip().splitlines()[0] if test.message.strip() else ""
            line = f"- **{name}** `{test.name}`" + (f": {shorten(first, 240)}" if first else "")
            if kept:
                line += " — " + ", ".join(f"`{path}`" for path in kept[:4])
            lines.append(line)
    if not lines:
        return []
    more = len(lines) - 15
    return (["", "**Failed tests** (traces and screenshots are in the run folder):", "",
             *lines[:15]] + ([f"- … and {more} more in report.html"] if more > 0 else []))


def _reproduce(record: RunRecord) -> list[str]:
    """The command that ran, one that re-runs only what failed, and where the report is."""
    lines = ["", f"**Report:** `reports/{record.run_id}/report.html` (in CI: the uploaded "
                 "run folder)"]
    if record.command:
        lines += ["", f"**Command:** `{record.command}`"]
    failed = [n for n, s in record.suites.items() if s.status in ("failed", "error")]
    if failed and record.command.startswith("qgate smoke"):
        again = f"qgate smoke --env {record.environment} --base-url {record.base_url}"
    elif failed:
        again = (f"qgate run --env {record.environment} --base-url {record.base_url} "
                 f"--suites {','.join(failed)}")
    else:
        again = ""
    if again:
        lines += ["", f"**Reproduce** what failed: `{again}`"]
    return lines


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
