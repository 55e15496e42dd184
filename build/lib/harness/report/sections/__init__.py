"""Suite-specific panels of report.html: `sections/<suite>.py` defines `render(result) -> str`.

Each renders HTML from the SuiteResult alone (run.json), like every writer.
"""
