"""Child processes that start PyFlink (a CLI run, ``flink run``, a cluster's daemons)."""

from __future__ import annotations

import os

#: The environment before any job ran in this process: PyFlink's process mode (loopback worker)
#: later sets variables here, among them PYFLINK_GATEWAY_DISABLED, that stop a child job starting.
#: The test suite imports this module before any job runs, so the snapshot is taken then.
_ENV_AT_START = dict(os.environ)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess that starts PyFlink."""
    return {**_ENV_AT_START, **overrides}
