"""Run a job's real pipeline (parsing, event time, the job's operators, counting) on in-memory
records and collect every output: the tests' bounded sources and collecting sink."""

from __future__ import annotations

import json
import os
from typing import Sequence

from pyflink.common import Types

from udfs.environment import create_environment
from udfs.runner import assemble
from udfs.sinks import collect

#: The environment before any job ran: PyFlink's process mode (loopback worker) later sets
#: variables in this process, among them PYFLINK_GATEWAY_DISABLED, that stop a child job starting.
#: conftest imports this module first, so the snapshot is taken at collection.
_ENV_AT_START = dict(os.environ)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess that starts PyFlink (a CLI run, `flink run`)."""
    return {**_ENV_AT_START, **overrides}


def run_job(job, argv: Sequence[str] = (), **inputs: Sequence[str]) -> dict[str, list[dict]]:
    """``run_job(jobs.sessions, ["--gap", "3s"], events=[...lines])`` -> ``{output: [records]}``."""
    options = job.options(list(argv))
    env, t_env = create_environment(options)
    sources = {spec.name: env.from_collection(list(inputs[spec.name]), Types.STRING()) for spec in options.inputs}
    outputs = assemble(t_env, options, sources, job.pipeline(options))
    return collect(outputs, options.job)


def lines(records) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


def canonical(records) -> list[str]:
    """Order-free comparison form of a list of output records."""
    return sorted(json.dumps(r, sort_keys=True) for r in records)
