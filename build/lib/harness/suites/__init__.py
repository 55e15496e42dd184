"""qgate's built-in suites (shipped in the wheel as `harness.suites`)."""
