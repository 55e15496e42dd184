"""soak: long and steady (default 20 users for 30 minutes): leaks, pool exhaustion, drift.

    locust -f loadprofiles/soak.py --host http://127.0.0.1:8000 [--headless -u 20 -t 30m]
"""

from __future__ import annotations

from _demoshop import Shopper
from _shapes import SteadyShape


class EverydayShopper(Shopper):
    """The everyday mix, for a long time."""


class SoakShape(SteadyShape):
    """Ramp slowly, then hold the users for the run time (default 30 min)."""

    default_users = 20
    default_spawn_rate = 1.0
    default_run_time_s = 30 * 60
