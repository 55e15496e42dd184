"""Tests of the demo store (real store subprocesses over HTTP, real databases)."""
