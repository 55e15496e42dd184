"""Helpers for the e2e suite's own tests: an environment with the demo's facts, a suite run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "e2e"


@dataclass(frozen=True)
class SuiteRun:
    """The outcome of one subprocess run of the e2e suite."""

    exit_code: int
    output: str
    result: dict[str, object]
    work: Path

    def test(self, fragment: str) -> dict[str, object]:
        """The recorded test whose id contains `fragment`."""
        tests = [t for t in self.result["tests"] if fragment in t["id"]]  # type: ignore[union-attr,index]
        assert len(tests) == 1, (fragment, [t["id"] for t in self.result["tests"]])  # type: ignore[union-attr,index]
        return tests[0]  # type: ignore[no-any-return]


def run_suite(
    work: Path, env_toml: str, base_url: str, *args: str, env: dict[str, str] | None = None
) -> SuiteRun:
    """Run `pytest suites/e2e --env t` against `base_url` with the given environment file."""
    (work / "environments").mkdir(parents=True, exist_ok=True)
    (work / "environments" / "t.toml").write_text(env_toml)
    run_dir = work / "run"
    command = [
        sys.executable, "-m", "pytest", str(SUITE), "--env", "t", "--base-url", base_url,
        "--qgate-run-dir", str(run_dir), "--qgate-suite", "e2e", "--output",
        str(work / "artifacts"), "-p", "no:cacheprovider", "-q",
        f"--junitxml={run_dir / 'junit.xml'}", *args,
    ]
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "QGATE_ROOT": str(work), **(env or {})},
    )
    output = proc.stdout + proc.stderr
    result_file = run_dir / "suites" / "e2e.json"
    assert result_file.exists(), output[-4000:]
    return SuiteRun(proc.returncode, output, json.loads(result_file.read_text()), work)


def demo_e2e_env(top: dict[str, object] | None = None, **e2e: object) -> str:
    """An environment file "t" with the demo store's [e2e] facts, desktop only, no retries."""
    import tomllib

    import tomli_w

    demo = tomllib.loads((ROOT / "environments" / "demo.toml").read_text())
    table = {**demo["e2e"], "retries": 0, "viewports": ["desktop"], **e2e}
    return tomli_w.dumps({"base_url": "http://127.0.0.1:1", "suites": ["e2e"], **(top or {}),
                          "e2e": table})


# A shop with none of the quick-commerce extras: one warehouse, no slots, no MRP, no max per
# order, a no-payment checkout, orders that never move, no customer cancel.
BARE_SHOP = """\
base_url = "http://127.0.0.1:9"
suites = ["e2e"]
[e2e]
adapter = "suites.e2e.adapters.demostore:DemoStorefront"
currency = "GBP"
[e2e.catalog]
search_term = "milk"
sku = "milk"
categories = true
mrp = false
stock_levels = false
max_per_order_sku = ""
out_of_stock_sku = ""
[e2e.location]
pincode = ""
[e2e.checkout]
address = "1 Test Street"
slots = false
fees = []
[e2e.payment]
methods = ["none"]
[e2e.orders]
progress = "none"
customer_cancel = false
[e2e.login]
method = "password"
sign_up = true
[[e2e.coupons]]
code = "TENOFF"
kind = "flat"
value = 2
min_order = 10
"""


def write_env(root: Path, text: str, name: str = "t") -> None:
    """Write environments/NAME.toml under `root`."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "environments" / f"{name}.toml").write_text(text)
