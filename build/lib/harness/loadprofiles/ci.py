"""ci: a short, small run (default 10 users, 45 s) for CI and `qgate demo`.

    locust -f loadprofiles/ci.py --host http://127.0.0.1:8000 [--headless -u 10 -t 45s]
"""

from __future__ import annotations

from _demoshop import Shopper
from _shapes import SteadyShape


class EverydayShopper(Shopper):
    """Browses, buys everyday items, pays by card or UPI, tracks the order."""


class CiShape(SteadyShape):
    """Ramp to the users at the spawn rate, hold until the run time (default 45 s)."""

    default_users = 10
    default_run_time_s = 45
