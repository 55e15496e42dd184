"""The e2e suite's panel in report.html: the request graph its journeys recorded."""

from __future__ import annotations

from html import escape
from typing import Any

from harness.results import SuiteResult


def render(result: SuiteResult) -> str:
    """The shop's API as the journeys used it: requests, and the values that chain them."""
    graph: dict[str, Any] = result.details.get("api_graph") or {}
    templates = graph.get("templates") or []
    if not templates:
        return ""
    drift = result.details.get("api_drift") or []
    parts = [f"<h3>Request graph</h3><p>{len(templates)} requests and "
             f"{len(graph.get('correlations') or [])} correlations from "
             f"{len(graph.get('journeys') or [])} recorded journeys (api-graph.json). Values "
             "are never kept: only shapes, names and where a value came from.</p>"]
    if drift:
        parts.append("<p><b>Drift since the committed graph:</b></p><ul>"
                     + "".join(f"<li>{escape(line)}</li>" for line in drift) + "</ul>")
    rows = "".join(
        f"<tr><td><code>{escape(t.get('key', ''))}</code></td>"
        f"<td><code>{escape(_short(t.get('body', '')))}</code></td>"
        f"<td>{'yes' if t.get('needs_session') else ''}</td>"
        f"<td>{'yes' if t.get('changes_state') else ''}</td>"
        f"<td class='num'>{t.get('count', 0)}</td>"
        f"<td>{escape(', '.join(str(s) for s in t.get('statuses', [])))}</td></tr>"
        for t in templates)
    parts.append("<table><tr><th>request</th><th>body</th><th>session</th>"
                 "<th>changes state</th><th class='num'>seen</th><th>statuses</th></tr>"
                 f"{rows}</table>")
    links = "".join(
        f"<tr><td><code>{escape(c.get('source', ''))}</code> → "
        f"<code>{escape(c.get('source_path', ''))}</code></td>"
        f"<td><code>{escape(c.get('target', ''))}</code> → "
        f"<code>{escape(c.get('target_where', ''))}</code></td>"
        f"<td>{escape(c.get('kind', ''))}</td><td class='num'>{c.get('count', 0)}</td></tr>"
        for c in graph.get("correlations") or [])
    if links:
        parts.append("<table><tr><th>value from the answer of</th><th>sent back by</th>"
                     f"<th>kind</th><th class='num'>seen</th></tr>{links}</table>")
    return "".join(parts)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
