"""The execution environment every job runs in: parallelism, Python execution mode, config, jars."""

from __future__ import annotations

import atexit
import os
import shutil
import site
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment
from pyflink.util.java_utils import add_jars_to_context_class_loader, get_j_env_configuration

from runner.config import EventTimeConfig, ExecutionConfig
from runner.jars import PROJECT_ROOT, connector_jars, functions_jar, prometheus_reporter_jars

#: Python-operator settings measured in bench/ (see README, Performance); ``overrides`` replace them.
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


#: Flink's Prometheus reporter bound to one address (jvm/, a plugin in jars/plugins): Flink 2.2's
#: own reporter serves on every interface of the machine.
PROMETHEUS_REPORTER = "dev.pyflink.reporter.BoundPrometheusReporterFactory"


def prometheus_reporter(port: int | str, host: str = "127.0.0.1") -> dict[str, str]:
    """Flink configuration that serves every metric of the process at http://host:port/metrics."""
    return {
        "metrics.reporters": "prom",
        "metrics.reporter.prom.factory.class": PROMETHEUS_REPORTER,
        "metrics.reporter.prom.host": host,
        "metrics.reporter.prom.port": str(port),
    }


#: Every endpoint a local run's MiniCluster opens, on the loopback address: left alone it binds its
#: REST endpoint (which accepts job submissions: code execution) to every interface, on a random
#: port, for as long as the run lasts.
LOCAL_ADDRESSES = {
    "rest.address": "127.0.0.1",
    "rest.bind-address": "127.0.0.1",
    "jobmanager.bind-host": "127.0.0.1",
    "taskmanager.bind-host": "127.0.0.1",
    "taskmanager.host": "127.0.0.1",
}


def _serve_python_workers_on_loopback() -> None:
    """PyFlink starts, in a local run's Python process, a Beam worker-pool service that starts
    Python workers for the MiniCluster on request, listening on every interface (``[::]:0``) and
    again for each environment it creates. This one serves on 127.0.0.1, once per process (the
    service object is PyFlink's singleton either way)."""
    import grpc
    from pyflink.fn_execution.beam import beam_worker_pool_service as pool

    service = pool.BeamFnLoopbackWorkerPoolServicer
    if getattr(service, "loopback_address", None):
        return

    def start(self) -> str:
        if not service.loopback_address:
            server = grpc.server(pool.thread_pool_executor.shared_unbounded_instance())
            port = server.add_insecure_port("127.0.0.1:0")
            pool.beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(self, server)
            server.start()
            atexit.register(server.stop, 1)
            service.loopback_address = f"127.0.0.1:{port}"
        self._worker_address = service.loopback_address
        return service.loopback_address

    service.loopback_address = None
    service.start = start


#: A local run's restart strategy: 5 attempts, 1 s doubling to 8 s apart (about 15 s of waiting),
#: enough for a broker that blinks, short enough that a deterministic failure ends the run.
CHECKPOINT_DIR = "execution.checkpointing.dir"


def local_checkpoint_dir(job: str) -> Path:
    """A new folder for a local run's checkpoints, removed when the run's process ends: Flink
    deletes a job's checkpoints when it ends (they are not retained), this removes the folders."""
    folder = Path(tempfile.mkdtemp(prefix=f"pyflink-{job}-checkpoints-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


LOCAL_RESTARTS = {
    "restart-strategy.type": "exponential-delay",
    "restart-strategy.exponential-delay.initial-backoff": "1 s",
    "restart-strategy.exponential-delay.max-backoff": "8 s",
    "restart-strategy.exponential-delay.backoff-multiplier": "2.0",
    "restart-strategy.exponential-delay.attempts-before-reset-backoff": "5",
}

STATE_BACKEND = "state.backend.type"
INCREMENTAL_CHECKPOINTS = "execution.checkpointing.incremental"
#: RocksDB's data block size. Each SST file's index has an entry per block and lives in the
#: high-priority tenth of the block cache (managed memory): with Flink's 4 KB blocks the indexes of
#: a million keys outgrow it, and every read then loads and parses an evicted index of hundreds of
#: KB (docs/state.md: a million sessions in 391 s with 4 KB blocks, 57 s with 32 KB).
ROCKSDB_BLOCK_SIZE = {"state.backend.rocksdb.block.blocksize": "32kb"}


def state_backend(kind: str | None) -> dict[str, str]:
    """Flink's settings for ``--state-backend``: RocksDB checkpoints incrementally (each checkpoint
    uploads the SST files written since the last one, not the whole state), which is what makes
    state larger than memory checkpointable at short intervals, with blocks large enough that its
    indexes stay cached. Nothing when no backend is named: the cluster's config.yaml (or Flink's
    default, hashmap) decides."""
    if kind is None:
        return {}
    if kind == "rocksdb":
        return {STATE_BACKEND: kind, INCREMENTAL_CHECKPOINTS: "true", **ROCKSDB_BLOCK_SIZE}
    return {STATE_BACKEND: kind}


#: PyFlink's Python execution mode when neither ``--execution-mode`` nor the cluster's
#: configuration names one (PyFlink's own default is ``process``).
DEFAULT_EXECUTION_MODE = "thread"
EXECUTION_MODE = "python.execution-mode"


def create_environment(
    job: str,
    execution: ExecutionConfig,
    event_time: EventTimeConfig,
    uses_kafka: bool = False,
    overrides: Mapping[str, str] | None = None,
    local_rest: Mapping[str, str] | None = None,
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """The job's environment; ``overrides`` (Flink configuration keys) are applied after the
    project's own settings, e.g. a checkpoint folder in tests or benchmark settings.

    The Python execution mode is ``execution.mode`` if given; else, submitted with ``flink run``,
    the cluster's own ``python.execution-mode`` (its config.yaml reaches the job's environment);
    else thread. ``uses_kafka``: a local run ships the Kafka connector. ``local_rest``: the REST
    endpoint's configuration for a local run (a submitted job's client needs the cluster's own).
    """
    _serve_python_workers_on_loopback()
    conf = Configuration()
    conf.set_string("pipeline.name", job)
    if execution.mode:
        conf.set_string(EXECUTION_MODE, execution.mode)
    for key, value in state_backend(execution.state_backend).items():
        conf.set_string(key, value)
    conf.set_string("python.executable", sys.executable)
    # Event time comes from the table bridge (udfs/eventtime.py): with interval 0 it emits a
    # watermark after every record instead of every 200 ms of processing time, which makes
    # lateness a function of the input alone.
    conf.set_string("pipeline.auto-watermark-interval", "0")
    if event_time.idleness_ms:
        conf.set_string("table.exec.source.idle-timeout", f"{event_time.idleness_ms} ms")
    for key, value in PYTHON_TUNING.items():
        conf.set_string(key, value)
    for key, value in (overrides or {}).items():
        conf.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    effective = get_j_env_configuration(env._j_stream_execution_environment)
    configured = effective.toMap()
    local = configured.get("execution.target") in (None, "local")
    if local:
        # A local run ships the jobs' JVM functions (udfs/jvm.py), and the connector if it uses
        # Kafka, from the checkout's jars/. A cluster has both in its lib/
        # (docs/kafka-and-cluster.md): loaded once per TaskManager, not once per job, which in
        # thread mode would never be unloaded (the embedded interpreter keeps the job's classes).
        jars = [functions_jar(), *(connector_jars() if uses_kafka else [])]
        env.add_jars(*(jar.resolve().as_uri() for jar in jars))  # also on the client's class path
    for key, value in {**LOCAL_ADDRESSES, **(local_rest or {})}.items() if local else ():
        effective.setString(key, value)
    if local and execution.metrics_port:
        # A MiniCluster finds reporters on the class path only, never in a plugins folder: the
        # gateway JVM gets the reporter's jars, the job does not (they are not pipeline.jars).
        add_jars_to_context_class_loader([jar.resolve().as_uri() for jar in prometheus_reporter_jars()])
        for key, value in prometheus_reporter(execution.metrics_port).items():
            effective.setString(key, value)
    if local and execution.checkpoint_interval_ms and CHECKPOINT_DIR not in configured:
        # Without a folder a MiniCluster keeps checkpoints in the JobManager's memory, which
        # refuses any task state over 5 MB: a job that buffers more (a backlog in its windows)
        # would fail its checkpoints until it gives up.
        effective.setString(CHECKPOINT_DIR, local_checkpoint_dir(job).as_uri())
    if local and "restart-strategy.type" not in configured:
        # With checkpoints, Flink's default restarts a failing job forever; a local run gives up
        # after LOCAL_RESTARTS and reports the root cause (a cluster follows its config.yaml).
        for key, value in LOCAL_RESTARTS.items():
            effective.setString(key, value)
    mode = configured.get(EXECUTION_MODE)
    if mode is None:
        mode = DEFAULT_EXECUTION_MODE
        effective.setString(EXECUTION_MODE, mode)
    if mode == "process":
        # Process mode holds a watermark back until the current bundle finishes, so elements of a
        # bundle see an older watermark than in thread mode. One-element bundles (the default)
        # keep lateness a function of the input alone, at a cost: docs/performance.md.
        effective.setString("python.fn-execution.bundle.size", str(execution.process_bundle_size))
    env.set_parallelism(execution.parallelism)
    if execution.checkpoint_interval_ms:
        env.enable_checkpointing(execution.checkpoint_interval_ms)
    return env, StreamTableEnvironment.create(env)


def submitted_detached(env: StreamExecutionEnvironment) -> bool:
    """Whether ``flink run --detached`` submitted this job: ``execute`` returns at submission and
    the client sees none of its results."""
    return get_j_env_configuration(env._j_stream_execution_environment).toMap().get("execution.attached") == "false"


#: Where ``flink run --fromSavepoint`` (``-s``) puts the savepoint a job starts from (Flink 2's key,
#: then its deprecated name).
STATE_RECOVERY_PATH = ("execution.state-recovery.path", "execution.savepoint.path")


def restored_from(env: StreamExecutionEnvironment) -> str | None:
    """The savepoint (or checkpoint) this job is resumed from, if it is."""
    configured = get_j_env_configuration(env._j_stream_execution_environment).toMap()
    return next((configured.get(key) for key in STATE_RECOVERY_PATH if configured.get(key)), None)


def execution_mode(env: StreamExecutionEnvironment) -> str:
    """The Python execution mode the job runs in (see :func:`create_environment`)."""
    return get_j_env_configuration(env._j_stream_execution_environment).toMap().get(EXECUTION_MODE)


def local_rest_url(env: StreamExecutionEnvironment) -> str | None:
    """The REST endpoint of a local run's MiniCluster, if ``create_environment`` started one."""
    configured = get_j_env_configuration(env._j_stream_execution_environment).toMap()
    if configured.get("execution.target") not in (None, "local") or "rest.port" not in configured:
        return None
    return f"http://{configured.get('rest.address', '127.0.0.1')}:{configured['rest.port']}"
