"""Benchmark harness: each job against the same computation in Flink SQL and the seed's
pure-Python simulation, on one deterministic input. ``python -m bench --help``."""
