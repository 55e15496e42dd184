"""The security suite run the pytest way: on production only its passive checks run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_production_runs_passive_checks_only(tmp_path: Path, clean_demo: str,
                                             reports_in_tmp: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "suites").symlink_to(PROJECT / "suites")
    demo = (PROJECT / "environments" / "demo.toml").read_text()
    security = demo[demo.index("[security]"):]
    (tmp_path / "environments" / "prod.toml").write_text(
        f'base_url = "{clean_demo}"\nproduction = true\nsuites = ["smoke", "security"]\n'
        + security.replace("max_scan_time_s = 30", "max_scan_time_s = 8")
        .replace('rules = "environments/security-rules.tsv"', ""))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/security", "--env", "prod", "-p",
         "no:cacheprovider", "-q", "-o", "addopts=", "--rootdir", str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "QGATE_ROOT": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=False)
    assert "refusing" not in proc.stderr, proc.stderr  # not refused: it goes passive
    result = json.loads(next(reports_in_tmp.glob("*/suites/security.json")).read_text())
    outcomes = {t["name"]: t["outcome"] for t in result["tests"]}
    for active in ("test_shopper_cannot_read_or_cancel_another_shoppers_order",
                   "test_state_changing_posts_need_a_valid_csrf_token",
                   "test_login_is_rate_limited"):
        assert outcomes[active] == "not_applicable", outcomes
    assert outcomes["test_scan"] == "passed" and outcomes["test_error_pages_leak_no_internals"] \
        == "passed"
    assert result["metrics"]["security.scan.passive_only"] == 1
    assert "production: passive checks only" in result["notes"]
