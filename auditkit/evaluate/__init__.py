"""Evaluate: run the checks (YAML + SQL) against the store and record a run."""
