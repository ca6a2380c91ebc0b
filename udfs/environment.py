"""The execution environment every job runs in: parallelism, Python execution mode, config, jars."""

from __future__ import annotations

import os
import site
import sys
from argparse import Namespace
from typing import Mapping

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from udfs.jars import connector_jars, jar_urls
from udfs.options import PROJECT_ROOT

#: Python-operator settings measured in bench/ (see README, Performance).
PYTHON_TUNING = {
    "python.fn-execution.bundle.size": "1000",
    "python.fn-execution.bundle.time": "1000",
}


def _expose_project_to_embedded_python() -> None:
    """Thread mode runs Python inside the JVM (pemja), which sees PYTHONPATH but not this
    interpreter's virtualenv: hand it the project and the site-packages. The variable must be set
    before PyFlink starts its gateway JVM, hence at import time."""
    paths = [str(PROJECT_ROOT), *site.getsitepackages()]
    current = os.environ.get("PYTHONPATH", "")
    missing = [p for p in paths if p not in current.split(os.pathsep)]
    if missing:
        os.environ["PYTHONPATH"] = os.pathsep.join(missing + ([current] if current else []))


_expose_project_to_embedded_python()


def create_environment(
    options: Namespace, overrides: Mapping[str, str] | None = None
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """The job's environment; ``overrides`` (Flink configuration keys) are applied last, e.g. a
    checkpoint folder in tests or benchmark settings."""
    conf = Configuration()
    conf.set_string("pipeline.name", options.job)
    conf.set_string("python.execution-mode", options.execution_mode)
    conf.set_string("python.executable", sys.executable)
    # Event time comes from the table bridge (udfs/eventtime.py): with interval 0 it emits a
    # watermark after every record instead of every 200 ms of processing time, which makes
    # lateness a function of the input alone.
    conf.set_string("pipeline.auto-watermark-interval", "0")
    if options.idleness:
        conf.set_string("table.exec.source.idle-timeout", f"{options.idleness} ms")
    for key, value in PYTHON_TUNING.items():
        conf.set_string(key, value)
    if options.execution_mode == "process":
        # Process mode holds a watermark back until the current bundle finishes, so elements of a
        # bundle see an older watermark than in thread mode. One-element bundles keep lateness a
        # function of the input alone (at a cost: see README, Performance).
        conf.set_string("python.fn-execution.bundle.size", "1")
    if (options.source == "kafka" or options.sink == "kafka") and (PROJECT_ROOT / "pom.xml").exists():
        # Outside a project checkout (code shipped by `flink run --pyFiles`), the cluster provides
        # the connector: `flink run --jarfile` or its lib/ (docs/kafka-and-cluster.md).
        conf.set_string("pipeline.jars", jar_urls(connector_jars()))
    for key, value in (overrides or {}).items():
        conf.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(options.parallelism)
    if options.checkpoint_interval:
        env.enable_checkpointing(options.checkpoint_interval)
    return env, StreamTableEnvironment.create(env)
