"""Load shapes of the demo profiles. Each reads locust's own --users / --spawn-rate /
--run-time (`use_common_options`), so the same profile scales from a CI smoke of load to a
long run, from the command line, the web UI or qgate's `[load]` table."""

from __future__ import annotations

from locust import LoadTestShape


class ProfileShape(LoadTestShape):
    """Common options with defaults: peak users, spawn rate, run time in seconds."""

    abstract = True
    use_common_options = True
    default_users = 10
    default_spawn_rate = 5.0
    default_run_time_s = 45

    def options(self) -> tuple[int, float, int]:
        """(peak users, spawn rate, run time s) from locust's options, else the defaults."""
        opts = getattr(getattr(self.runner, "environment", None), "parsed_options", None)
        users = getattr(opts, "num_users", None) or self.default_users
        rate = getattr(opts, "spawn_rate", None) or self.default_spawn_rate
        run_time = getattr(opts, "run_time", None) or self.default_run_time_s
        return int(users), float(rate), int(run_time)


class SteadyShape(ProfileShape):
    """Ramp up at the spawn rate, then hold the users until the run time is over."""

    abstract = True

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate now; None ends the run."""
        users, rate, run_time = self.options()
        return (users, rate) if self.get_run_time() < run_time else None


class StagesShape(ProfileShape):
    """Stages as (share of the run time, share of the peak users), in order."""

    abstract = True
    stages: tuple[tuple[float, float], ...] = ((1.0, 1.0),)

    def tick(self) -> tuple[int, float] | None:
        """The stage the run is in."""
        users, rate, run_time = self.options()
        elapsed = self.get_run_time() / run_time
        for end, share in self.stages:
            if elapsed < end:
                return max(1, round(users * share)), rate
        return None


class StepShape(ProfileShape):
    """Add `users / steps` users every `step_s` seconds up to the peak, then hold."""

    abstract = True
    steps = 10
    step_s = 10.0

    def tick(self) -> tuple[int, float] | None:
        """The step the run is on."""
        users, rate, run_time = self.options()
        elapsed = self.get_run_time()
        if elapsed >= run_time:
            return None
        size = max(1, users // self.steps)
        return min(users, size * (int(elapsed // self.step_s) + 1)), rate
