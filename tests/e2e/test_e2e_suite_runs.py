"""The real e2e suite, run in a subprocess: skips, faults, evidence and secret scrubbing.

Each run uses its own environment file (QGATE_ROOT) and, where it needs one, its own demo store
started with the fault under test. Runs are kept cheap: a few journeys, desktop only.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import ROOT, SUITE, demo_e2e_env, run_suite

# Orders must stay cancellable for a few seconds of browser work.
TICK_SECONDS = 2.0

pytestmark = pytest.mark.integration


@pytest.fixture
def store_with(request: pytest.FixtureRequest) -> Iterator[str]:
    """A demo store started with the faults named by the test's parameter."""
    from demostore.process import start_store

    faults = tuple(getattr(request, "param", ()))
    with start_store(faults=faults, tick_seconds=TICK_SECONDS) as store:
        yield store.base_url


ENV = demo_e2e_env()


def test_unsupported_steps_are_skipped_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "bare.py").write_text(
        "from harness.e2e.adapter import BaseStorefront\n"
        "class Bare(BaseStorefront):\n    name = 'bare'\n"
    )
    env = demo_e2e_env(adapter=f"{tmp_path / 'bare.py'}:Bare")
    run = run_suite(tmp_path, env, "http://127.0.0.1:9", "-k", "location or search_and_open")
    assert run.exit_code == 0, run.output[-3000:]
    tests = run.result["tests"]
    assert len(tests) == 5, tests  # type: ignore[arg-type]
    for test in tests:  # type: ignore[union-attr]
        assert test["outcome"] == "skipped", test
        assert "unsupported by the storefront adapter" in test["message"], test
        assert "bare adapter does not support 'set location'" in test["message"], test
        # Evidence up to the unsupported step is kept: the step reached, trace and screenshot.
        assert test["step"] == "set location" and test["steps"] == ["set location"], test
        kept = {(a["kind"], a["label"]) for a in run.result["artifacts"]  # type: ignore[union-attr]
                if a["test_id"] == test["id"]}
        assert ("trace", "playwright show-trace") in kept, kept
        assert ("screenshot", "page at the unsupported step") in kept, kept


VIEWPORT_PROBE = """
import json

def test_probe(storefront, page, e2e_viewport, shopper):
    page.set_content('<meta name="viewport" content="width=device-width"><p>probe</p>')
    seen = page.evaluate("[innerWidth, navigator.maxTouchPoints, navigator.userAgent]")
    print("PROBE " + json.dumps([e2e_viewport, *seen, shopper.email, shopper.phone]))
"""


def test_viewports_use_desktop_size_and_mobile_device_profile(tmp_path: Path) -> None:
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "test_probe.py").write_text(VIEWPORT_PROBE)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.toml").write_text(
        demo_e2e_env(desktop_width=1366, viewports=["desktop", "mobile"]))
    # `qgate run` writes pytest.log into the artifact folder before pytest starts.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pytest.log").write_text("runner log\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "probe"), "--env", "t", "-s", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(ROOT), "--qgate-run-dir",
         str(tmp_path / "run"), "--output", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "QGATE_ROOT": str(tmp_path)},
    )
    probes = {p[0]: p for p in (json.loads(line.split("PROBE ", 1)[1])
                                for line in proc.stdout.splitlines() if "PROBE " in line)}
    assert set(probes) == {"desktop", "mobile"}, proc.stdout[-3000:]
    assert (tmp_path / "out" / "pytest.log").read_text() == "runner log\n"
    assert probes["desktop"][1:3] == [1366, 0]
    assert probes["mobile"][1] == 412 and probes["mobile"][2] >= 1  # Pixel 7, touch
    assert "Pixel 7" in probes["mobile"][3]
    # A fresh synthetic shopper per test.
    assert probes["desktop"][4] != probes["mobile"][4]
    for probe in probes.values():
        assert probe[4].startswith("e2e+") and probe[4].endswith("@example.com")
        assert probe[5].startswith("+91") and len(probe[5]) == 13 and probe[5][3] in "6789"


SATURATED_PROBE = """
import multiprocessing, os, time

def burn(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass

def test_probe(step):
    with step("quiet step"):
        time.sleep(0.2)
    with step("busy step"):  # twice as many CPU burners as cores, and one more
        burners = [multiprocessing.Process(target=burn, args=(2.0,))
                   for _ in range(2 * (os.cpu_count() or 1) + 1)]
        for burner in burners:
            burner.start()
        for burner in burners:
            burner.join()
"""


def test_a_step_timed_on_a_saturated_machine_says_so(tmp_path: Path) -> None:
    """The browser runs on the gate's own machine: a step timed while the host's CPU was
    saturated carries that into the suite result, so the verdict does not take a step-time
    objective it missed for the shop's (before: judged as measured)."""
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "test_probe.py").write_text(SATURATED_PROBE)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "t.toml").write_text(demo_e2e_env())
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "probe"), "--env", "t", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(ROOT), "--qgate-run-dir",
         str(tmp_path / "run"), "--qgate-suite", "e2e", "--output", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "QGATE_ROOT": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "run" / "suites" / "e2e.json").read_text())
    assert result["metrics"]["e2e.busy_step.duration_ms"] >= 1500
    assert "tasks waited for a CPU" in result["saturated"], result.get("saturated")
    assert "of step 'busy step' of 'test_probe'" in result["saturated"]


def test_clean_store_checkout_passes_and_records_step_metrics(
    tmp_path: Path, store_with: str
) -> None:
    run = run_suite(tmp_path, ENV, store_with, "-k", "checkout_places_order or moves_through")
    assert run.exit_code == 0, run.output[-4000:]
    assert run.test("test_checkout_places_order")["outcome"] == "passed"
    assert run.test("test_order_moves_through_states")["outcome"] == "passed"
    metrics = run.result["metrics"]
    for name in ("e2e.checkout.duration_ms", "e2e.payment.duration_ms",
                 "e2e.add_to_cart.duration_ms", "e2e.tracking.duration_ms"):
        assert metrics[name] > 0, metrics  # type: ignore[index]
    # Evidence is kept for failures only.
    assert not list((tmp_path / "artifacts").rglob("trace.zip"))


FAULTS = [
    pytest.param(
        ("broken-add-to-cart",), "add_change_quantity", "test_add_change_quantity_and_remove",
        "add to cart", "showed no outcome", id="broken-add-to-cart",
    ),
    pytest.param(
        ("wrong-total",), "small_cart_totals", "test_small_cart_totals_add_up",
        "check totals", "payable", id="wrong-total",
    ),
    pytest.param(
        ("payment-errors",), "checkout_places_order", "test_checkout_places_order",
        "payment", "paying did not place an order", id="payment-errors",
    ),
]


@pytest.mark.parametrize(("store_with", "keyword", "test_name", "step", "why"), FAULTS,
                         indirect=["store_with"])
def test_fault_fails_the_suite_naming_journey_step_and_evidence(
    tmp_path: Path, store_with: str, keyword: str, test_name: str, step: str, why: str
) -> None:
    run = run_suite(tmp_path, ENV, store_with, "-k", keyword)
    assert run.exit_code == 1, run.output[-4000:]
    assert run.result["status"] == "failed"
    test = run.test(test_name)
    assert test["outcome"] == "failed", test
    assert test["step"] == step, test
    message = str(test["message"])
    assert f"step '{step}'" in message and why in message, message
    kinds = {a["kind"] for a in run.result["artifacts"]}  # type: ignore[union-attr]
    assert {"trace", "screenshot", "log"} <= kinds, run.result["artifacts"]
    for artifact in run.result["artifacts"]:  # type: ignore[union-attr]
        assert (tmp_path / "run" / artifact["path"]).is_file(), artifact
    trace = next((tmp_path / "artifacts").rglob("trace.zip"))
    assert zipfile.ZipFile(trace).testzip() is None
    assert_trace_opens_in_viewer(trace)
    # The summary line names the journey and the step.
    assert f"step '{step}'" in run.output


def assert_trace_opens_in_viewer(trace: Path) -> None:
    """Serve the trace with `playwright show-trace` and check the viewer lists its actions."""
    import re

    from playwright.sync_api import sync_playwright

    from harness.e2e.browser import LAUNCH_ARGS, discover_browser

    viewer = subprocess.Popen(
        [sys.executable, "-m", "playwright", "show-trace", "--host", "127.0.0.1", "--port", "0",
         str(trace)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # the python wrapper runs node: stop the whole group
    )
    try:
        assert viewer.stdout is not None
        url = None
        for line in viewer.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                url = found.group(0)
                break
        assert url, "playwright show-trace did not start"
        with sync_playwright() as pw:
            executable = discover_browser("")
            browser = pw.chromium.launch(
                executable_path=executable, args=list(LAUNCH_ARGS)) if executable else (
                pw.chromium.launch(args=list(LAUNCH_ARGS)))
            page = browser.new_page()
            page.goto(url)
            # The viewer lists the recorded actions, starting with the first navigation.
            page.get_by_text("Navigate").first.wait_for(timeout=15000)
            browser.close()
    finally:
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=10)


CANARY_USER = "canary-user"
CANARY_PASSWORD = "QGATE-CANARY-pw-7f3a9c"
CANARY_TOKEN = "QGATE-CANARY-token-51be0d"
CANARY_ENV = demo_e2e_env({"auth": {
    "basic_user": "canary-user", "basic_password": "${QGATE_E2E_CANARY_PASSWORD}",
    "headers": {"X-Canary-Token": "${QGATE_E2E_CANARY_TOKEN}"}}})


def _files_and_members(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path), data
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name)


@pytest.mark.parametrize("tracing", ["own", "pytest-playwright"])
@pytest.mark.parametrize("store_with", [("wrong-total",)], indirect=True)
def test_canary_secrets_never_reach_an_artifact(
    tmp_path: Path, store_with: str, tracing: str
) -> None:
    extra = ["--tracing", "retain-on-failure", "--screenshot", "only-on-failure"] if (
        tracing == "pytest-playwright") else []
    run = run_suite(
        tmp_path, CANARY_ENV, store_with, "-k", "small_cart_totals", *extra,
        env={"QGATE_E2E_CANARY_PASSWORD": CANARY_PASSWORD,
             "QGATE_E2E_CANARY_TOKEN": CANARY_TOKEN},
    )
    # A failing journey, so that traces, screenshots and logs are all written.
    assert run.exit_code == 1, run.output[-4000:]
    basic = base64.b64encode(f"{CANARY_USER}:{CANARY_PASSWORD}".encode())
    needles = [CANARY_PASSWORD.encode(), CANARY_TOKEN.encode(), basic]
    scanned, traces, header_seen = 0, 0, False
    for name, data in _files_and_members(tmp_path):
        if "/environments/" in name:
            continue  # the environment file names the variables, not their values
        scanned += 1
        traces += name.endswith("trace.zip")
        header_seen |= b"X-Canary-Token" in data or b"x-canary-token" in data
        for needle in needles:
            assert needle not in data, f"secret found in {name}"
    assert traces >= 1 and scanned > 10, (traces, scanned)
    # The header really was sent and recorded (masked), so the scan above is meaningful.
    assert header_seen
    assert CANARY_PASSWORD not in run.output and CANARY_TOKEN not in run.output


def _run_raw(tmp_path: Path, env_toml: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "environments").mkdir(exist_ok=True)
    (tmp_path / "environments" / "t.toml").write_text(env_toml)
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(SUITE), "--env", "t", "-q", "-p", "no:cacheprovider",
         "--qgate-run-dir", str(tmp_path / "run"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "QGATE_ROOT": str(tmp_path)},
    )


def test_unknown_viewport_is_a_one_line_usage_error(tmp_path: Path) -> None:
    proc = _run_raw(tmp_path, demo_e2e_env(viewports=["tablet"]))
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage-error status
    assert "e2e.viewports: tablet; use 'desktop' and/or 'mobile'" in proc.stderr


def test_bad_browser_path_errors_every_journey_with_one_line(tmp_path: Path) -> None:
    proc = _run_raw(tmp_path, demo_e2e_env(browser_path="/nope/chrome"), "-k", "paused")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "run" / "suites" / "e2e.json").read_text())
    assert result["status"] == "error"  # the harness could not collect evidence: not a NO-GO
    assert [t["outcome"] for t in result["tests"]] == ["error"]
    assert "e2e.browser_path '/nope/chrome' is not an executable file" in proc.stdout
    # one line, not a traceback per layer (pytest's own short summary, which it leaves
    # untruncated when CI is set, repeats it on an "ERROR …" line)
    mentions = [line for line in proc.stdout.splitlines()
                if "is not an executable file" in line and not line.startswith("ERROR ")]
    assert len(mentions) == 1, proc.stdout


def test_storage_state_login_checks_out_as_the_stored_account(tmp_path: Path,
                                                              store_with: str) -> None:
    from playwright.sync_api import sync_playwright

    from harness.e2e.browser import LAUNCH_ARGS, discover_browser

    state = tmp_path / "login-state.json"
    with sync_playwright() as pw:  # what a team does once: log in and keep the state
        executable = discover_browser("")
        browser = pw.chromium.launch(args=list(LAUNCH_ARGS), **(
            {"executable_path": executable} if executable else {}))
        page = browser.new_page()
        page.goto(store_with + "/login")
        page.get_by_test_id("login-email").fill("demo@example.com")
        page.get_by_test_id("login-password").fill("demo-pass-123")
        with page.expect_navigation():
            page.get_by_test_id("login-submit").click()
        page.context.storage_state(path=str(state))
        browser.close()
    env = demo_e2e_env({"auth": {"storage_state": str(state)}},
                       login={"method": "storage_state", "sign_up": False,
                              "email": "demo@example.com"})
    run = run_suite(tmp_path, env, store_with, "-k", "checkout_places_order or sign_up_log_out")
    assert run.exit_code == 0, run.output[-4000:]
    checkout = run.test("test_checkout_places_order")
    assert checkout["outcome"] == "passed", checkout
    assert checkout["steps"][:2] == ["check signed in", "set location"], checkout["steps"]
    signup = run.test("test_sign_up_log_out_and_log_in")
    assert signup["outcome"] == "not_applicable", signup
    assert signup["message"] == "e2e.login.sign_up = false", signup
