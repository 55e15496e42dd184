"""peak: a New Year's Eve ramp with narrow party baskets (ice, chips, soda, cups).

Most shoppers buy the same few SKUs in the same dark store, so a few inventory rows get
very hot: where oversell races and lock waits show up. Default 30 users over 90 s:
build-up, the countdown spike, the after-midnight tail.

    locust -f loadprofiles/peak.py --host http://127.0.0.1:8000 [--headless -u 30 -t 90s]
"""

from __future__ import annotations

from _demoshop import PartyShopper, Shopper
from _shapes import StagesShape


class NewYearsEveShopper(PartyShopper):
    """Straight for the party basket, in the hot dark store."""

    weight = 4


class EverydayShopper(Shopper):
    """Someone still buying milk and bread that night."""

    weight = 1


class NewYearsEveShape(StagesShape):
    """20 % of the peak, 50 %, the 100 % countdown spike, then a 40 % tail."""

    default_users = 30
    default_run_time_s = 90
    stages = ((0.2, 0.2), (0.45, 0.5), (0.75, 1.0), (1.0, 0.4))
