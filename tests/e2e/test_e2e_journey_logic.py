"""The account journeys' own logic, against scripted storefronts that misbehave on purpose.

A wrong-password journey must not pass on a broken login page, and a sign-up journey must see
the shopper it created. The storefronts here are scripted adapters (no shop behind them): what
is under test is the journeys' judgement, run by the real suite in a real browser session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import demo_e2e_env, run_suite

pytestmark = pytest.mark.integration

SCRIPTED = '''
from harness.e2e.adapter import BaseStorefront, LoginResult


class Scripted(BaseStorefront):
    """Accounts that behave as adapter_options.mode says."""

    shown = ""

    def sign_up(self, shopper):
        Scripted.shown = shopper.email if self.settings.adapter_options["mode"] != "ghost" else ""

    def log_out(self):
        Scripted.shown = ""

    def log_in(self, shopper):
        mode = self.settings.adapter_options["mode"]
        if mode == "error_page":  # every login answers with a server error page
            return LoginResult(False, "500 Internal Server Error", "other")
        if mode == "refuses_all":  # the login page refuses even the right password
            return LoginResult(False, "Wrong email or password.", "wrong_credentials")
        Scripted.shown = shopper.email
        return LoginResult(True)

    def signed_in_as(self):
        return Scripted.shown
'''


@pytest.mark.parametrize(("mode", "test", "why"), [
    ("error_page", "test_wrong_password_is_refused",
     "should be refused for wrong credentials; the shop said '500 Internal Server Error'"),
    ("refuses_all", "test_wrong_password_is_refused", "the right password was refused"),
    ("ghost", "test_sign_up_log_out_and_log_in", "after signing up the shop shows nobody"),
])
def test_account_journeys_fail_on_a_broken_login(tmp_path: Path, mode: str, test: str,
                                                  why: str) -> None:
    (tmp_path / "scripted.py").write_text(SCRIPTED)
    env = demo_e2e_env(adapter=f"{tmp_path / 'scripted.py'}:Scripted",
                       adapter_options={"mode": mode})
    run = run_suite(tmp_path, env, "http://127.0.0.1:9", "-k", test)
    outcome = run.test(test)
    assert outcome["outcome"] == "failed", outcome
    assert why in outcome["message"], outcome["message"]
