"""The load and stress suites' engine: locust as a subprocess, judged by the gate's criteria.

`settings` (the `[load]` / `[stress]` tables and the criteria they declare), `engine` (runs
locust: master, local workers, bounds, clean-up), `stats` (percentiles and time series from
locust's own JSON histograms and stats history), `evidence` (metrics, unmeasured metrics and
notes for a SuiteResult), `invariants` (read-only SQL after the run), `suite` (the pytest
side shared by `suites/load` and `suites/stress`). `locust_plugin.py` is loaded by locust
itself (never imported by the harness).
"""
