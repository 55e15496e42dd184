"""qgate's pytest plugin (placeholder until the skeleton lands)."""
