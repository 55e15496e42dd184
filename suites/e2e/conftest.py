"""Loads qgate's e2e fixtures until qgate's pytest plugin registers them itself."""

pytest_plugins = ["harness.e2e.fixtures"]
