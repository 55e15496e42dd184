"""Starter files `qgate init` writes into a new project (gate policy, waivers, conftest,
an adapter skeleton and environment files for a team's own shop)."""
