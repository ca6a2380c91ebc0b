"""Shared fixtures: one PyFlink gateway JVM serves every test in the session (each job still gets
its own MiniCluster), so start-up is paid once."""

import udfs.environment  # noqa: F401  (sets PYTHONPATH for thread mode before the gateway starts)
