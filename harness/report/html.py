"""report.html: one self-contained page (inline CSS and SVG, no network) rendered from run.json."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from harness.report.text import headline, left_out, shorten, tidy
from harness.results import SuiteResult, TestCase
from harness.runrecord import RunRecord
from harness.verdict import CriterionResult

COLOURS = {"GO": "#1a7f37", "NO-GO": "#cf222e", "INCONCLUSIVE": "#9a6700",
           "pass": "#1a7f37", "passed": "#1a7f37", "fail": "#cf222e", "failed": "#cf222e",
           "warn": "#9a6700", "flaky": "#9a6700", "waived": "#6e7781", "skipped": "#6e7781",
           "error": "#8250df", "n/a": "#6e7781", "not_applicable": "#6e7781"}

CSS = "".join((
    'body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;'
    'color:#1f2328;background:#f6f8fa}',
    'header{padding:20px 28px;color:#fff}',
    'header h1{margin:0 0 4px;font-size:28px}',
    'main{padding:8px 28px 40px;max-width:1200px}',
    'section{background:#fff;border:1px solid #d0d7de;border-radius:8px;'
    'padding:14px 18px;margin:16px 0}',
    'h2{font-size:18px;margin:4px 0 10px}',
    'table{border-collapse:collapse;width:100%}',
    'th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}',
    'th{font-size:12px;text-transform:uppercase;color:#57606a}',
    '.pill{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;'
    'font-size:12px;font-weight:600}',
    '.meta{opacity:.9}',
    'code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}',
    'pre{white-space:pre-wrap;background:#f6f8fa;padding:8px;border-radius:6px;'
    'max-height:260px;overflow:auto;margin:4px 0}',
    'details summary{cursor:pointer}',
    '.num{text-align:right;font-variant-numeric:tabular-nums}',
    '.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}',
    '.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;background:#fff}',
    '.card h3{margin:0 0 6px;font-size:16px}',
    'header ul{margin:8px 0 4px;padding-left:20px}',
    'dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}',
    'dt{color:#57606a}',
))


def render_html(record: RunRecord) -> str:
    """The full HTML page for `record`."""
    v = record.verdict
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>qgate {escape(v.decision)} — {escape(record.environment)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header style='background:{COLOURS[v.decision]}'>",
        f"<h1 data-testid='decision'>{escape(v.decision)}</h1>",
        f"<div>{escape(headline(v, 600))}</div>",
        _blocking(record),
        f"<div class='meta'>environment <b>{escape(record.environment)}</b> · target "
        f"<code>{escape(record.base_url)}</code> · version "
        f"<b>{escape(record.version or 'unknown')}</b> · run <code>{escape(record.run_id)}</code>"
        f" · {escape(record.started_at)} → {escape(record.finished_at)}</div></header><main>",
    ]
    if record.production_override:
        parts.append("<section><b>Production protection was overridden for this run.</b></section>")
    for note in record.notes:
        parts.append(f"<section>{escape(note)}</section>")
    for a in record.approvals:
        parts.append("<section data-testid='approval'><b>Approved for release</b> by "
                     f"{escape(str(a.get('by', '')))} at {escape(str(a.get('at', '')))}"
                     + (f" — {escape(str(a['note']))}" if a.get("note") else "")
                     + "</section>")
    parts.append(_overview(record))
    parts.append(_trend(record))
    parts.append(_criteria(record))
    parts.append(_waivers(record))
    status_order = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}
    for name, suite in sorted(record.suites.items(),  # failing suites first
                              key=lambda item: status_order.get(item[1].status, 4)):
        parts.append(_suite(name, suite, [c for c in v.criteria if c.suite == name]))
    parts.append(_provenance(record))
    parts.append("</main></body></html>\n")
    return "".join(parts)


def _blocking(record: RunRecord) -> str:
    """What decided a NO-GO or INCONCLUSIVE, first thing on the page (failures before missing
    evidence; the suites left out of the run on one line)."""
    rows = [c for c in record.verdict.criteria if c.outcome in ("fail", "error") and c.blocking]
    if not rows:
        return ""
    left = sorted(c.suite for c in rows if c.outcome == "error" and left_out(c.reason))
    rows = sorted((c for c in rows if not (c.outcome == "error" and left_out(c.reason))),
                  key=lambda c: c.outcome != "fail")
    items = "".join(f"<li><b>{escape(c.suite)}</b>: {escape(c.name)} — "
                    f"{escape(shorten(c.reason, 300))}</li>" for c in rows[:8])
    more = f"<li>… and {len(rows) - 8} more</li>" if len(rows) > 8 else ""
    if left:
        more += (f"<li data-testid='left-out'>left out of this run: <b>{escape(', '.join(left))}"
                 "</b> (the gate requires them, so this run cannot be GO)</li>")
    return f"<ul data-testid='blocking'>{items}{more}</ul>"


def _trend(record: RunRecord) -> str:
    """The environment's last runs and this one, oldest first: is this a new failure?"""
    runs = [*record.trend, {"run_id": record.run_id, "decision": record.verdict.decision,
                            "finished_at": record.finished_at, "profile": record.profile}]
    if len(runs) < 2:
        return ""
    cells = "".join(
        f"<td title='{escape(r.get('run_id', ''))} · {escape(r.get('finished_at', ''))}'>"
        f"<span class='pill' style='background:{COLOURS.get(r.get('decision', ''), '#57606a')}'>"
        f"{escape(r.get('decision', '?'))}</span><br><small>"
        f"{escape(r.get('finished_at', '')[:16].replace('T', ' '))}"
        f"{' (this run)' if r.get('run_id') == record.run_id else ''}</small></td>"
        for r in runs)
    return (f"<section data-testid='trend'><h2>Last runs of {escape(record.environment)}</h2>"
            f"<table><tr>{cells}</tr></table></section>")


def _waivers(record: RunRecord) -> str:
    """Every waiver that waived something, and every expired one, with owner and expiry."""
    rows = [c for c in record.verdict.criteria if c.outcome == "waived"
            or c.name.startswith("waiver ")]
    if not rows:
        return ""
    body = "".join(f"<tr><td>{_pill(c.outcome)}</td><td>{escape(c.waiver or c.name)}</td>"
                   f"<td>{escape(c.suite)}: {escape(c.name)}</td><td>{escape(c.reason)}</td>"
                   "</tr>" for c in rows)
    return ("<section><h2>Waivers</h2><table><tr><th>outcome</th><th>waiver</th><th>waives"
            f"</th><th>owner, reason, expiry</th></tr>{body}</table></section>")


def _provenance(record: RunRecord) -> str:
    """Where the evidence came from: target, environment, code, tools, data seeds."""
    prov = record.provenance
    tools = ", ".join(f"{k} {v}" for k, v in sorted(dict(prov.get("tools", {})).items()))
    seeds = ", ".join(f"{n} {s.seed}" for n, s in record.suites.items() if s.seed is not None)
    facts = [("environment", record.environment), ("target", record.base_url),
             ("target version", record.version or "unknown"),
             ("expected version", record.expected_version),
             ("profile", record.profile), ("compared with", record.baseline),
             ("shard", record.shard), ("git commit", str(prov.get("git_commit", ""))),
             ("qgate", record.qgate_version), ("tools", tools), ("data seeds", seeds),
             ("python", str(prov.get("python", ""))), ("host", str(prov.get("host", "")))]
    items = "".join(f"<dt>{escape(k)}</dt><dd><code>{escape(v)}</code></dd>"
                    for k, v in facts if v)
    return f"<section data-testid='provenance'><h2>Provenance</h2><dl>{items}</dl></section>"


def _pill(outcome: str) -> str:
    return (f"<span class='pill' style='background:{COLOURS.get(outcome, '#57606a')}'>"
            f"{escape(outcome)}</span>")


def _criteria(record: RunRecord) -> str:
    order = {"fail": 0, "error": 1, "warn": 2, "waived": 3, "n/a": 4, "pass": 5}
    left = [c for c in record.verdict.criteria if c.outcome == "error" and left_out(c.reason)]
    rows = sorted((c for c in record.verdict.criteria if c not in left),
                  key=lambda c: order[c.outcome])
    compared = bool(record.baseline)
    grouped = ""
    if left:
        names = ", ".join(sorted(c.suite for c in left))
        grouped = (f"<tr><td>{_pill('error')}</td><td>{escape(names)}</td>"
                   f"<td>evidence collected</td><td class='num'>not run</td><td>a result</td>"
                   + ("<td></td>" if compared else "") +
                   f"<td>blocking</td><td>{escape(tidy(left[0].reason))}</td></tr>")
    body = grouped + "".join(
        f"<tr><td>{_pill(c.outcome)}</td><td>{escape(c.suite)}</td><td>{escape(c.name)}</td>"
        f"<td class='num'>{escape(_with_unit(c.observed, c.unit))}</td>"
        f"<td>{escape(_with_unit(c.threshold, c.unit))}</td>"
        + (f"<td class='num'>{_delta(c.observed, c.baseline)}</td>" if compared else "")
        + f"<td>{'blocking' if c.blocking else 'warning'}</td><td>{escape(tidy(c.reason))}"
        f"{' — waiver ' + escape(c.waiver) if c.waiver else ''}</td></tr>" for c in rows)
    head = (f"<p>Compared with {escape(record.baseline)}.</p>" if compared else "")
    return ("<section><h2>Criteria</h2>" + head + "<table><tr><th>outcome</th><th>suite</th>"
            "<th>criterion</th><th>observed</th><th>threshold</th>"
            + ("<th>baseline</th>" if compared else "") +
            "<th>kind</th><th>reason</th></tr>"
            f"{body}</table></section>")


def _with_unit(value: object, unit: str) -> str:
    text = _fmt(value)
    return f"{text} {unit}" if unit and unit != "ratio" and value is not None else text


def _delta(observed: object, baseline: object) -> str:
    if not isinstance(baseline, (int, float)):
        return "—"
    if isinstance(observed, (int, float)) and baseline:
        change = (observed - baseline) / baseline * 100
        colour = "#cf222e" if change > 0 else "#1a7f37"
        return (f"{baseline:g} <span style='color:{colour}'>({change:+.1f}%)</span>")
    return escape(f"{baseline:g}")


def _overview(record: RunRecord) -> str:
    """One card per suite (and per suite required but not run)."""
    cards = []
    for name, s in record.suites.items():
        numbers = [f"{len(s.tests)} tests", f"{s.count('failed')} failed"]
        if s.count("skipped"):
            numbers.append(f"{s.count('skipped')} skipped")
        if s.findings:
            numbers.append(f"{len(s.findings)} findings")
        cards.append(f"<div class='card'><h3><a href='#suite-{escape(name)}'>{escape(name)}</a> "
                     f"{_pill(s.status)}</h3><div>{escape(s.engine)} · {s.duration_s:.1f}s · "
                     f"{escape(', '.join(numbers))}</div>{_outcome_bar(s, 230)}</div>")
    grouped: dict[str, list[str]] = {}
    for name, why in record.not_run.items():  # one card per reason, naming every suite
        grouped.setdefault(why, []).append(name)
    for why, names in grouped.items():
        cards.append(f"<div class='card'><h3>{escape(', '.join(names))} {_pill('not run')}</h3>"
                     f"<div>{escape(why)}</div></div>")
    return f"<section><h2>Suites</h2><div class='cards'>{''.join(cards)}</div></section>"


def _outcome_bar(s: SuiteResult, width: int = 360) -> str:
    """A stacked SVG bar of test outcomes."""
    total = len(s.tests)
    if not total:
        return "<i>no tests</i>"
    x = 0.0
    rects, legend = [], []
    for outcome in ("passed", "flaky", "failed", "error", "skipped", "not_applicable"):
        n = s.count(outcome)  # type: ignore[arg-type]
        if not n:
            continue
        w = width * n / total
        rects.append(f"<rect x='{x:.1f}' y='0' width='{w:.1f}' height='14' "
                     f"fill='{COLOURS[outcome]}'><title>{n} {outcome}</title></rect>")
        legend.append(f"{n} {outcome}")
        x += w
    return (f"<svg width='{width}' height='14' role='img' aria-label='{', '.join(legend)}'>"
            f"{''.join(rects)}</svg> {escape(', '.join(legend))}")


def _duration_chart(tests: tuple[TestCase, ...], width: int = 420) -> str:
    """Horizontal SVG bars of the slowest tests."""
    slow = sorted(tests, key=lambda t: t.duration_s, reverse=True)[:12]
    top = max((t.duration_s for t in slow), default=0) or 1
    bars = []
    for i, t in enumerate(slow):
        w = max(1.0, width * t.duration_s / top)
        y = i * 18
        bars.append(f"<rect x='0' y='{y}' width='{w:.1f}' height='13' "
                    f"fill='{COLOURS.get(t.outcome, '#57606a')}'/>"
                    f"<text x='{w + 6:.1f}' y='{y + 11}' font-size='11'>{t.duration_s:.2f}s "
                    f"{escape(shorten(t.name, 70))}</text>")
    return (f"<svg width='{width + 420}' height='{len(slow) * 18}' role='img' "
            f"aria-label='slowest tests'>{''.join(bars)}</svg>")


def _suite(name: str, s: SuiteResult, criteria: list[CriterionResult] | None = None) -> str:
    parts = [f"<section id='suite-{escape(name)}'><h2>{escape(name)} {_pill(s.status)}</h2>"]
    if s.error:
        parts.append(f"<pre>{escape(s.error)}</pre>")
    for note in s.notes:
        parts.append(f"<p class='note'>{escape(note)}</p>")
    if s.unmeasured:
        parts.append("<h3>Not measured</h3><ul>" + "".join(
            f"<li><code>{escape(k)}</code>: {escape(v)}</li>"
            for k, v in sorted(s.unmeasured.items())) + "</ul>")
    parts.append(_suite_section(name, s, criteria or []))
    by_test: dict[str, list[str]] = {}
    loose: list[str] = []
    retried = {t.id for t in s.tests if t.attempts > 1}
    for a in s.artifacts:
        label = a.label or a.kind
        if a.test_id in retried:
            label = f"attempt {a.attempt}: {label}"
        link = f"<a href='{escape(quote(a.path))}'>{escape(label)}</a>"
        (by_test.setdefault(a.test_id, []) if a.test_id else loose).append(link)
    if s.tests:
        parts.append("<h3>Slowest tests</h3>" + _duration_chart(s.tests))
        rows = []
        order = {"failed": 0, "error": 1, "flaky": 2, "passed": 3, "skipped": 4,
                 "not_applicable": 5}
        for t in sorted(s.tests, key=lambda t: order.get(t.outcome, 5)):
            detail = ""
            if t.message:
                detail = (f"<details{' open' if t.outcome in ('failed', 'error') else ''}>"
                          f"<summary>{escape(shorten(t.message.splitlines()[0], 160))}</summary>"
                          f"<pre>{escape(tidy(t.message))}</pre></details>")
            links = " · ".join(by_test.get(t.id, []))
            step = f"<br><small>step: {escape(t.step)}</small>" if t.step else ""
            rows.append(f"<tr><td>{_pill(t.outcome)}</td><td>{escape(t.name)}{step}</td>"
                        f"<td class='num'>{t.duration_s:.2f}s</td><td class='num'>{t.attempts}"
                        f"</td><td>{detail}{links}</td></tr>")
        parts.append("<h3>Tests</h3><table><tr><th>outcome</th><th>test</th><th>time</th>"
                     f"<th>attempts</th><th>detail / evidence</th></tr>{''.join(rows)}</table>")
    if s.metrics:
        metric_rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td class='num'>{v:g}"
                              "</td></tr>" for k, v in sorted(s.metrics.items()))
        parts.append("<h3>Metrics</h3><table><tr><th>metric</th><th>value</th></tr>"
                     f"{metric_rows}</table>")
    steps = _step_chart(name, s)
    if steps:
        parts.append("<h3>Journey step durations (slowest sample)</h3>" + steps)
    if s.findings:
        parts.append("<h3>Findings by risk</h3>" + _risk_chart(s))
    if s.findings and not _has_own_findings_panel(name):
        finding_rows = "".join(
            f"<tr><td>{escape(f.severity)}</td><td>{escape(f.rule_id)}</td>"
            f"<td>{escape(f.title)}</td><td>{escape(f.location)}</td>"
            f"<td><pre>{escape(f.evidence)}</pre></td></tr>" for f in s.findings)
        parts.append("<h3>Findings</h3><table><tr><th>severity</th><th>rule</th><th>title</th>"
                     f"<th>location</th><th>evidence</th></tr>{finding_rows}</table>")
    if loose:
        parts.append("<h3>Artifacts</h3>" + " · ".join(loose))
    parts.append("</section>")
    return "".join(parts)


def _step_chart(name: str, s: SuiteResult, width: int = 420) -> str:
    """Bars of `<suite>.<step>.duration_ms` metrics (e2e journey steps, browser checks)."""
    steps = sorted(((k.removeprefix(f"{name}.").removesuffix(".duration_ms"), v)
                    for k, v in s.metrics.items()
                    if k.endswith(".duration_ms") and k.count(".") == 2), key=lambda kv: -kv[1])
    if not steps:
        return ""
    top = steps[0][1] or 1
    bars = "".join(
        f"<rect x='150' y='{i * 18}' width='{max(1.0, width * v / top):.1f}' height='13' "
        f"fill='#0969da'/><text x='0' y='{i * 18 + 11}' font-size='11'>"
        f"{escape(shorten(step.replace('_', ' '), 24))}</text>"
        f"<text x='{156 + width * v / top:.1f}' "
        f"y='{i * 18 + 11}' font-size='11'>{v:.0f} ms</text>" for i, (step, v) in enumerate(steps))
    return (f"<svg width='{width + 230}' height='{len(steps) * 18}' role='img' "
            f"aria-label='step durations' data-chart='steps'>{bars}</svg>")


_RISK_COLOURS = {"critical": "#82071e", "high": "#cf222e", "medium": "#bc4c00",
                 "low": "#9a6700", "info": "#57606a"}


def _risk_chart(s: SuiteResult, width: int = 300) -> str:
    """Findings counted per risk level (ignored ones left out)."""
    counts = {r: sum(1 for f in s.findings if f.severity == r and f.level != "ignore")
              for r in ("critical", "high", "medium", "low", "info")}
    top = max(counts.values()) or 1
    bars = "".join(
        f"<text x='0' y='{i * 18 + 11}' font-size='11'>{r}</text><rect x='64' y='{i * 18}' "
        f"width='{width * n / top:.1f}' height='13' fill='{_RISK_COLOURS[r]}'/><text "
        f"x='{70 + width * n / top:.1f}' y='{i * 18 + 11}' font-size='11'>{n}</text>"
        for i, (r, n) in enumerate(counts.items()))
    return (f"<svg width='{width + 110}' height='{5 * 18}' role='img' aria-label='findings by "
            f"risk' data-chart='risk'>{bars}</svg>")


def _has_own_findings_panel(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(f"harness.report.sections.{name}") is not None


def _suite_section(name: str, s: SuiteResult, criteria: list[CriterionResult]) -> str:
    """Suite-specific panels (charts, tables) from `harness.report.sections.<suite>`, if any.

    A suite adds its own panel by adding that module with `render(result) -> str` (HTML,
    rendered from the SuiteResult alone); nothing here changes. A `render(result, criteria)`
    also gets the suite's verdict rows (e.g. to mark waived findings).
    """
    import importlib
    import inspect

    try:
        module = importlib.import_module(f"harness.report.sections.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"harness.report.sections.{name}":
            raise
        return ""
    if len(inspect.signature(module.render).parameters) > 1:
        with_criteria: str = module.render(s, criteria)
        return with_criteria
    html: str = module.render(s)
    return html


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
