"""report.html panel of the load suite: RPS, p95 and errors over time, and a per-request table.

Rendered from the SuiteResult alone (its metrics and series, as stored in run.json); the
stress suite uses the same panel with its breaking point marked.
"""

from __future__ import annotations

from html import escape
from typing import Any

from harness.results import SuiteResult

PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83",
           "#6e7781", "#953800", "#0550ae")
_COLUMNS = ("requests", "failures", "error_ratio", "rps", "p50_ms", "p95_ms", "p99_ms")


def render(result: SuiteResult) -> str:
    """The charts and the per-request table of a load (or stress) SuiteResult."""
    prefix = result.suite
    series = result.series
    if not series and not result.metrics:
        return ""
    marker = result.metrics.get(f"{prefix}.breaking_point.at_s")
    parts = ["<h3>Load over time</h3><div style='display:flex;flex-wrap:wrap;gap:16px'>"]
    parts.append(line_chart("Requests per second", {"rps": series.get(f"{prefix}.rps", [])},
                            "rps", marker, secondary=("users", series.get(f"{prefix}.users",
                                                                           []))))
    latency = {"all requests": series.get(f"{prefix}.p95_ms", [])}
    per_name = sorted(k for k in series if k.endswith(".p95_ms") and k != f"{prefix}.p95_ms")
    for key in per_name[:len(PALETTE) - 1]:
        latency[key[len(prefix) + 1:-len(".p95_ms")]] = series[key]
    parts.append(line_chart("p95 response time (10 s window)", latency, "ms", marker))
    parts.append(line_chart("Failed requests per second",
                            {"errors": series.get(f"{prefix}.errors_per_s", [])}, "/s", marker))
    parts.append("</div>")
    parts.append(endpoint_table(result))
    parts.append(failures_table(result))
    return "".join(parts)


def failures_table(result: SuiteResult) -> str:
    """What failed, per request name: status mix, top messages with counts, a body excerpt
    (the run's test details, so it shows even when locust's failures CSV stayed empty)."""
    failures: dict[str, dict[str, Any]] = {}
    for test in result.tests:
        found = test.details.get("failures")
        if isinstance(found, dict):
            failures.update(found)
    if not failures:
        return ""
    rows = []
    for name, info in failures.items():
        status = ", ".join(f"{'no answer' if k == '0' else escape(str(k))} ×{v}" for k, v in
                           sorted((info.get("status") or {}).items(), key=lambda kv: -kv[1]))
        errors = "".join(
            f"<li><code>{escape(str(e.get('message', '')))}</code> ×{e.get('count', 0)}"
            + (f"<br><small>body: <code>{escape(str(e['excerpt']))}</code></small>"
               if e.get("excerpt") else "") + "</li>"
            for e in info.get("errors", []))
        rows.append(f"<tr><td><code>{escape(name)}</code></td>"
                    f"<td class='num'>{info.get('failures', 0)} of {info.get('requests', 0)}"
                    f"</td><td>{status}</td><td><ul>{errors}</ul></td></tr>")
    return ("<h3>What failed</h3><table><tr><th>request</th><th class='num'>failed</th>"
            f"<th>answers</th><th>top errors</th></tr>{''.join(rows)}</table>")


def endpoint_table(result: SuiteResult) -> str:
    """One row per request name: count, failures, error ratio, RPS and percentiles."""
    prefix = result.suite + "."
    names = sorted(k[len(prefix):-len(".requests")] for k in result.metrics
                   if k.startswith(prefix) and k.endswith(".requests")
                   and k.count(".") == 2)
    if not names:
        return ""
    rows = []
    for name in names:
        cells = []
        for column in _COLUMNS:
            key = f"{prefix}{name}.{column}"
            if key in result.unmeasured:
                cells.append(f"<td class='num' title='{escape(result.unmeasured[key])}'>"
                             "n/m</td>")
            elif key in result.metrics:
                value = result.metrics[key]
                shown = f"{value:.2%}" if column == "error_ratio" else (
                    f"{value:,.1f}" if column == "rps" else f"{value:,.0f}")
                cells.append(f"<td class='num'>{shown}</td>")
            else:
                cells.append("<td class='num'>—</td>")
        rows.append(f"<tr><td><code>{escape(name)}</code></td>{''.join(cells)}</tr>")
    head = "".join(f"<th class='num'>{c.replace('_ms', ' ms').replace('_', ' ')}</th>"
                   for c in _COLUMNS)
    return ("<h3>Per request name</h3><p><small>n/m: not measured (hover for why: too few "
            "samples, or a run dominated by rate limiting).</small></p>"
            f"<table><tr><th>request</th>{head}</tr>{''.join(rows)}</table>")


def line_chart(title: str, lines: dict[str, list[tuple[float, float]]], unit: str,
               marker: float | None = None, *,
               secondary: tuple[str, list[tuple[float, float]]] | None = None,
               width: int = 520, height: int = 170) -> str:
    """An inline SVG line chart of (t seconds, value) series; `marker` draws a vertical line."""
    lines = {k: v for k, v in lines.items() if v}
    if not lines:
        return (f"<figure><figcaption>{escape(title)}</figcaption><p><i>no data</i></p>"
                "</figure>")
    left, right, top, bottom = 48, 40, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    t_max = max(max(t for t, _ in pts) for pts in lines.values()) or 1.0
    if secondary and secondary[1]:
        t_max = max(t_max, max(t for t, _ in secondary[1]))
    v_max = max(max(v for _, v in pts) for pts in lines.values()) or 1.0

    def xy(t: float, v: float, top_value: float) -> str:
        x = left + plot_w * t / t_max
        y = top + plot_h * (1 - v / top_value)
        return f"{x:.1f},{y:.1f}"

    out = [f"<figure><figcaption>{escape(title)}</figcaption>"
           f"<svg width='{width}' height='{height}' role='img' aria-label='{escape(title)}'>",
           f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' "
           "stroke='#8c959f'/>",
           f"<line x1='{left}' y1='{top}' x2='{left}' y2='{top + plot_h}' stroke='#8c959f'/>",
           f"<text x='{left - 4}' y='{top + 8}' font-size='10' text-anchor='end'>"
           f"{v_max:,.0f} {escape(unit)}</text>",
           f"<text x='{left - 4}' y='{top + plot_h}' font-size='10' text-anchor='end'>0</text>",
           f"<text x='{left + plot_w}' y='{height - 6}' font-size='10' text-anchor='end'>"
           f"{t_max:,.0f} s</text>"]
    if marker is not None:
        x = left + plot_w * marker / t_max
        out.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + plot_h}' "
                   "stroke='#cf222e' stroke-dasharray='4 3'><title>breaking point</title>"
                   "</line>")
    legend = []
    for i, (label, points) in enumerate(lines.items()):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(xy(t, v, v_max) for t, v in points)
        out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{path}'>"
                   f"<title>{escape(label)}</title></polyline>")
        legend.append(f"<span style='color:{colour}'>■</span> {escape(label)}")
    if secondary and secondary[1]:
        label, points = secondary
        s_max = max(v for _, v in points) or 1.0
        path = " ".join(xy(t, v, s_max) for t, v in points)
        out.append(f"<polyline fill='none' stroke='#6e7781' stroke-dasharray='3 2' "
                   f"points='{path}'><title>{escape(label)}</title></polyline>"
                   f"<text x='{left + plot_w + 4}' y='{top + 8}' font-size='10'>"
                   f"{s_max:,.0f} {escape(label)}</text>")
        legend.append(f"<span style='color:#6e7781'>┅</span> {escape(label)}")
    out.append("</svg>")
    out.append(f"<figcaption><small>{' · '.join(legend)}</small></figcaption></figure>")
    return "".join(out)
