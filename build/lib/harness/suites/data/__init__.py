"""The data suite: PII audit of the target database, its logs and the run's artifacts; parity."""
