"""stress: a step ramp (a tenth of the peak users every 10 s) until the target breaks.

qgate's stress suite stops the run at the breaking point: the first moment a request's p95
stays over its objective or the error ratio over its limit.

    locust -f loadprofiles/stress.py --host http://127.0.0.1:8000 [--headless -u 60 -t 120s]
"""

from __future__ import annotations

from _demoshop import Shopper
from _shapes import StepShape


class EverydayShopper(Shopper):
    """The everyday mix: each step adds shoppers, not faster shoppers."""


class StressShape(StepShape):
    """+users/10 every 10 s up to the peak (default 60), for at most the run time."""

    default_users = 60
    default_run_time_s = 120
    steps = 10
    step_s = 10.0
