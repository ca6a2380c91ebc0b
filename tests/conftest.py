"""Shared fixtures: one PyFlink gateway JVM serves every test in the session (each job still gets
its own MiniCluster), so start-up is paid once."""

# --- Kafka -----------------------------------------------------------------------------------
import os
import shutil
import signal
import subprocess
import time

import pytest

import runner.environment  # noqa: F401  (sets PYTHONPATH for thread mode before the gateway starts)
import tools.processes  # noqa: F401  (snapshots the environment for child processes before any job runs)

# A suite started in the background by a non-interactive shell (CI) inherits SIGINT ignored, and so
# would every process it starts: the tests that press Ctrl-C on a run need the signal delivered.
# Restored here, once, so each child starts with the default action. (Not with ``preexec_fn`` in
# each child: Python code between fork and exec can deadlock once the suite runs threads.)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:  # a Docker CLI whose daemon is unreachable can wait a long time before it says so
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    """Bootstrap servers of a Kafka broker for the whole session: ``KAFKA_BOOTSTRAP_SERVERS`` if
    set; else testcontainers' Kafka when a Docker engine answers; else a local KRaft broker from
    jars/kafka (tools/kafka_broker.py), stopped by its PID at the end."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    started = time.monotonic()
    if os.environ.get("KAFKA_USE_DOCKER", "1") != "0" and _docker_answers():
        from testcontainers.community.kafka import KafkaContainer

        from tools.kafka_broker import BROKER_SETTINGS

        # testcontainers drives Confluent's image (its start script needs it); one node, so the
        # transaction log (exactly-once sinks) needs replication factor 1 like the local broker.
        container = (
            KafkaContainer("confluentinc/cp-kafka:7.9.0")
            .with_kraft()
            .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        )
        # Retention and timestamp limits as the local broker's: not Kafka's date-dependent defaults.
        for key, value in BROKER_SETTINGS.items():
            container.with_env("KAFKA_" + key.upper().replace(".", "_"), value)
        with container:
            print(f"\nKafka (testcontainers) ready in {time.monotonic() - started:.1f}s")
            yield container.get_bootstrap_server()
        return
    from tools.kafka_broker import KafkaBroker

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"), port=None)
    try:
        servers = broker.start()
        print(
            f"\nKafka broker (local KRaft, pid {broker.pid()}) ready in {time.monotonic() - started:.1f}s at {servers}"
        )
        yield servers
    finally:
        broker.stop()


# --- ZooKeeper -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def zookeeper_quorum(tmp_path_factory):
    """Connect string of a standalone ZooKeeper server (tools/zookeeper.py, jars/zookeeper, 127.0.0.1
    only) for the whole session, for JobManager high availability; its process group is stopped
    at the end."""
    from tools.zookeeper import ZooKeeperServer

    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    started = time.monotonic()
    try:
        connect = server.start()
        print(f"\nZooKeeper (pid {server.pid()}) ready in {time.monotonic() - started:.1f}s at {connect}")
        yield connect
    finally:
        server.stop()


# --- Flink standalone cluster ----------------------------------------------------------------
@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory):
    """A standalone cluster (JobManager + TaskManager from PyFlink's bin/, flink-conf/config.yaml
    with free ports on 127.0.0.1) for the whole session; stopped by its PIDs at the end."""
    from tools.flink_cluster import FlinkCluster

    cluster = FlinkCluster(tmp_path_factory.mktemp("flink-cluster"))
    started = time.monotonic()
    try:
        cluster.start()
        print(f"\nFlink standalone cluster ready in {time.monotonic() - started:.1f}s at {cluster.rest_url}")
        yield cluster
    finally:
        cluster.stop()


# --- layers ----------------------------------------------------------------------------------
INTEGRATION_FIXTURES = {"kafka_bootstrap", "flink_cluster", "zookeeper_quorum"}


def pytest_collection_modifyitems(config, items):
    """Marks every test with its layer (``pytest -m unit`` etc.; see README, Tests): ``unit``
    (tests/unit: no JVM), ``integration`` (a Kafka broker, ZooKeeper or a standalone cluster), ``ops``
    (operations scenarios, marked in their files), else ``pipeline`` (jobs in a MiniCluster). A test
    marked ``integration`` in its file (one that starts its own server) keeps that layer alone."""
    for item in items:
        if item.get_closest_marker("ops") or item.get_closest_marker("integration"):
            continue
        if "tests/unit/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.unit)
        elif INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.pipeline)
