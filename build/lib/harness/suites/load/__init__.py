"""The load suite: a locust profile against the target; the gate judges its SLOs and invariants."""
