"""The engine's bounds and clean-up, with real locust processes against Acme."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from acme_shop import ACME_LOCUSTFILE, ACME_PASSWORD, ACME_TOKEN, ACME_USER, AcmeShop
from harness.errors import ProductionRefused
from harness.load.engine import LocustPlan, run_locust
from harness.load.stats import read_stats_json
from harness.load.suite import refuse_production

pytestmark = pytest.mark.integration

ENDLESS = ACME_LOCUSTFILE + '''

from locust import LoadTestShape


class Forever(LoadTestShape):
    """A team's shape that never ends on its own."""

    def tick(self):
        return (2, 2)
'''


def plan(tmp_path: Path, shop: AcmeShop, source: str, **changes: object) -> LocustPlan:
    (tmp_path / "team_locustfile.py").write_text(source)
    values: dict[str, object] = dict(
        locustfile=tmp_path / "team_locustfile.py", host=shop.base_url, out_dir=tmp_path / "out",
        users=2, spawn_rate=2, duration_s=3, max_requests=100_000, stop_timeout_s=1,
        basic_auth=(ACME_USER, ACME_PASSWORD), headers={"X-Acme-Token": ACME_TOKEN})
    values.update(changes)
    return LocustPlan(**values)  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_shape_that_never_ends_is_stopped_at_the_time_bound(tmp_path: Path,
                                                              acme_shop: AcmeShop) -> None:
    run = run_locust(plan(tmp_path, acme_shop, ENDLESS))
    assert run.stopped == "stopped at the run's time bound"
    assert read_stats_json(run.stats_json).entries["catalog"].requests > 0  # still written


def test_the_request_bound_stops_the_run(tmp_path: Path, acme_shop: AcmeShop) -> None:
    run = run_locust(plan(tmp_path, acme_shop, ENDLESS, duration_s=60, max_requests=40))
    assert run.stopped == "stopped at the request bound (40 requests)"
    assert read_stats_json(run.stats_json).requests >= 40


def test_a_stop_reaches_locust_when_qgate_was_started_with_sigint_ignored(
        tmp_path: Path, acme_shop: AcmeShop) -> None:
    """A shell starts background jobs (`qgate run &` in a CI script) with SIGINT ignored and
    children inherit that: the engine gives locust the default back, so its stop still ends
    the run with statistics instead of a SIGKILL after the grace period and no evidence."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = run_locust(plan(tmp_path, acme_shop, ENDLESS, duration_s=60, max_requests=40))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.stopped == "stopped at the request bound (40 requests)"
    assert run.exit_code != -signal.SIGKILL, run.exit_code
    assert read_stats_json(run.stats_json).requests >= 40


def test_workers_and_master_are_gone_after_the_run(tmp_path: Path, acme_shop: AcmeShop,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = subprocess.Popen

    class Recording(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.pid)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    run = run_locust(plan(tmp_path, acme_shop, ACME_LOCUSTFILE, workers=2))
    monkeypatch.undo()
    assert len(seen) == 3  # master + 2 workers
    assert not [pid for pid in seen if alive(pid)]
    assert read_stats_json(run.stats_json).requests > 0


def test_production_is_refused_without_the_override() -> None:
    from harness.config import AuthSettings, Environment

    env = Environment(name="prod", file="environments/prod.toml", base_url="https://x.example",
                      api_url="https://x.example/api", production=True, suites=("load",),
                      description="", version_path="/version", auth=AuthSettings(), settings={})
    with pytest.raises(ProductionRefused, match="production; refusing load"):
        refuse_production(env, allow_production=False)
    refuse_production(env, allow_production=True)  # recorded by the runner as an override
