"""Report writers. Each renders from the run record alone (run.json), never from live state."""

from __future__ import annotations

from pathlib import Path

from harness.runrecord import RunRecord, load_run


def render_reports(run_dir: Path, record: RunRecord | None = None) -> dict[str, Path]:
    """Write junit.xml, summary.md, report.html and allure-results/ next to run.json."""
    from harness.report.allure import render_allure
    from harness.report.html import render_html
    from harness.report.junit import render_junit
    from harness.report.markdown import render_markdown

    record = record or load_run(run_dir)
    outputs = {
        "junit": (run_dir / "junit.xml", render_junit(record)),
        "summary": (run_dir / "summary.md", render_markdown(record)),
        "html": (run_dir / "report.html", render_html(record)),
    }
    for path, text in outputs.values():
        path.write_text(text, encoding="utf-8")
    paths = {name: path for name, (path, _) in outputs.items()}
    paths["allure"] = render_allure(record, run_dir)
    return paths
