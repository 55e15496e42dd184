"""The optional one-browser smoke check: home → search → product, for JS-only storefronts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from harness.config import Environment
from harness.results import TestCase
from harness.smoke.settings import BrowserCheck


def browser_check(env: Environment, check: BrowserCheck) -> TestCase:
    """Drive one real Chromium through home → search → product within the check's budget.

    The search page, term and result link come from the environment ([smoke.browser]).
    """
    check.require(env.file)
    from playwright.sync_api import Error, sync_playwright

    from harness.e2e.browser import LAUNCH_ARGS, discover_browser, http_credentials

    search = check.search_path.replace("{term}", quote(check.search_term))
    started = time.perf_counter()
    step = "launch browser"
    try:
        with sync_playwright() as pw:
            launch: dict[str, Any] = {"args": list(LAUNCH_ARGS), "headless": True}
            executable = discover_browser(env.suite_settings("e2e").browser_path)
            if executable:
                launch["executable_path"] = executable
            browser = pw.chromium.launch(**launch)
            try:
                context_args: dict[str, Any] = {
                    "base_url": env.base_url,
                    "extra_http_headers": dict(env.auth.headers) or None,
                    "http_credentials": http_credentials(env.auth, env.base_url)}
                context = browser.new_context(**context_args)
                page = context.new_page()
                timeout = check.budget_ms
                step = "open home page"
                page.goto("/", timeout=timeout)
                step = f"search for {check.search_term!r}"
                page.goto(search, timeout=timeout)
                step = "open the first product"
                page.locator(check.result_selector).first.click(timeout=timeout)
                page.wait_for_load_state("domcontentloaded", timeout=timeout)
            finally:
                browser.close()
    except Error as exc:
        return TestCase(id="smoke::browser", name="browser: home → search → product",
                        outcome="failed", duration_s=round(time.perf_counter() - started, 3),
                        message=f"{step}: {str(exc).splitlines()[0]}", step=step)
    # The budget bounds each step (a hung page fails); the total is evidence for the gate's
    # criteria, not a pass/fail here: browser start-up time depends on the machine.
    return TestCase(id="smoke::browser", name="browser: home → search → product",
                    outcome="passed", duration_s=round(time.perf_counter() - started, 3))
