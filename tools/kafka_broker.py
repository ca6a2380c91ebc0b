"""A single-node Kafka broker (KRaft, 127.0.0.1 only) from the jars Maven fetched into jars/kafka.

Used by the tests' session fixture and by ``scripts/kafka start|stop|status``: no Docker, no
download at run time. The broker's files (config, data, ``broker.log``, ``broker.pid``) live in
one folder; it is formatted once and stopped by its PID.

    python -m tools.kafka_broker start [--home .kafka] [--port 9092]
    python -m tools.kafka_broker create TOPIC [--partitions N] [--config retention.ms=-1]
    python -m tools.kafka_broker read TOPIC [--timestamps]
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from runner.jars import kafka_broker_classpath

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".kafka"
#: Small heap, fast start-up: the broker shares 2 cores with Flink in CI.
JVM_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]

#: log4j2 properties that write a JVM's log to the file ``{log}``, INFO and up (the local servers:
#: this broker, tools/zookeeper.py).
LOG4J2_TO_FILE = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
"""
LOG4J2 = (
    LOG4J2_TO_FILE
    + """logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
{loggers}"""
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Every broker the project starts (tests, benchmarks, ``scripts/kafka``) states what it keeps and
#: for how long instead of inheriting Kafka's defaults, which depend on the date: the jobs write each
#: record's event time as its Kafka timestamp, and with Kafka's default ``log.retention.hours=168``
#: a replay of events older than 7 days is deleted at the next retention check (every 5 min), after
#: the job has committed it. A local broker holds replays and test runs, so it keeps every record
#: for its whole life; a broker's data folder is removed with it (docs/kafka-and-cluster.md,
#: "Record timestamps and retention").
BROKER_SETTINGS: dict[str, str] = {
    "log.retention.ms": "-1",
    "log.retention.bytes": "-1",
    # Any record timestamp is accepted, however far from the broker's clock (KIP-937): event times
    # may be years old (a replay) or ahead of the clock (the bundled samples' fixed day).
    "log.message.timestamp.before.max.ms": "9223372036854775807",
    "log.message.timestamp.after.max.ms": "9223372036854775807",
    # The sinks' timestamps are the events' own (CreateTime), never the broker's append time.
    "log.message.timestamp.type": "CreateTime",
    # Kafka's default (15 min); runner/kafka.py checks sink transaction timeouts against it.
    "transaction.max.timeout.ms": "900000",
    # Committed consumer offsets (the sources commit theirs on checkpoints) outlive a week of
    # idleness too: a broker kept for weeks still shows a stopped job's position (one year).
    "offsets.retention.minutes": str(365 * 24 * 60),
}


def server_properties(home: Path, port: int, controller_port: int, settings: Mapping[str, str] = {}) -> str:
    """The broker's configuration: one KRaft node on 127.0.0.1, :data:`BROKER_SETTINGS`, then
    ``settings`` (which replace them, e.g. a test's retention check every second)."""
    fixed = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={home / 'data'}",
        "num.partitions=1",
        "auto.create.topics.enable=true",
        # One node: every internal topic has one replica. Transactions (exactly-once sinks)
        # need the transaction state log to be writable with a single in-sync replica.
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
    ]
    stated = {**BROKER_SETTINGS, **settings}
    return "\n".join([*fixed, *(f"{key}={value}" for key, value in stated.items()), ""])


def random_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes one (Kafka's ``Uuid.randomUuid``): 16
    random bytes, URL-safe base64 without padding, drawn again while it starts with '-', which the
    storage tool would read as an option (1 draw in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaBroker:
    """One broker process whose files live under ``home``."""

    def __init__(
        self,
        home: Path = DEFAULT_HOME,
        port: int | None = None,
        settings: Mapping[str, str] = {},
        log_levels: Mapping[str, str] = {},
    ):
        """``settings`` replace :data:`BROKER_SETTINGS`; ``log_levels`` set loggers' levels in
        ``broker.log`` (e.g. ``{"kafka.log.LogManager": "DEBUG"}`` logs every retention check).
        Both apply when the folder is formatted, i.e. to a new broker."""
        self.home = Path(home).resolve()
        self.settings = dict(settings)
        self.log_levels = dict(log_levels)
        self.config = self.home / "server.properties"
        self.pid_file = self.home / "broker.pid"
        self.log = self.home / "broker.log"
        self._port = port

    # -- state -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        for line in self.config.read_text().splitlines():
            if line.startswith("advertised.listeners="):
                return int(line.rsplit(":", 1)[1])
        raise RuntimeError(f"no advertised.listeners in {self.config}")

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        """The broker's PID if it is running."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        # A zombie (our own child that died) still answers kill(0): reap it.
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return None
        except ChildProcessError:
            pass
        return pid

    # -- lifecycle ---------------------------------------------------------------------------
    def format(self) -> None:
        """Write the config and format the storage (once: a formatted folder keeps its data)."""
        self.home.mkdir(parents=True, exist_ok=True)
        if (self.home / "data" / "meta.properties").exists():
            return
        port = self._port or free_port()
        controller_port = free_port()
        self.config.write_text(server_properties(self.home, port, controller_port, self.settings))
        loggers = "".join(
            f"logger.l{i}.name = {name}\nlogger.l{i}.level = {level}\n"
            for i, (name, level) in enumerate(self.log_levels.items())
        )
        (self.home / "log4j2.properties").write_text(LOG4J2.format(log=self.log, loggers=loggers))
        cluster_id = random_cluster_id()
        subprocess.run(
            [
                "java",
                *JVM_OPTS,
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "-cp",
                kafka_broker_classpath(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start(self, timeout: float = 90) -> str:
        """Start (if not running) and wait until the broker answers. Returns the bootstrap servers."""
        if self.pid() is None:
            self.format()
            out = open(self.home / "broker.out", "ab")  # noqa: SIM115 (the broker's; it outlives this call)
            process = subprocess.Popen(
                [
                    "java",
                    *JVM_OPTS,
                    f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                    f"-Dkafka.logs.dir={self.home}",
                    "-cp",
                    kafka_broker_classpath(),
                    "kafka.Kafka",
                    str(self.config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.pid_file.write_text(str(process.pid))
        self.wait_ready(timeout)
        return self.bootstrap_servers

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.pid() is None:
                raise RuntimeError(
                    f"Kafka broker exited during start-up; see {self.log} and {self.home / 'broker.out'}:\n"
                    + self._tail()
                )
            if answers(self.bootstrap_servers):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka broker did not answer within {timeout:.0f}s; see {self.log}")
            time.sleep(0.5)  # polling a starting process, not a test timing assumption

    def stop(self, timeout: float = 30) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def _tail(self, lines: int = 30) -> str:
        texts = []
        for f in (self.home / "broker.out", self.log):
            if f.exists():
                texts.extend(f.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)


def answers(bootstrap_servers: str) -> bool:
    """Does a broker at ``bootstrap_servers`` answer a metadata request?"""
    import logging

    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    # A starting broker refuses connections: expected here, not worth kafka-python's ERROR lines.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        return _answers(bootstrap_servers, KafkaAdminClient, KafkaError)
    finally:
        logging.getLogger("kafka").setLevel(logging.WARNING)


def _answers(bootstrap_servers, KafkaAdminClient, KafkaError) -> bool:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=3000,
            bootstrap_timeout_ms=3000,
            client_id="readiness",
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.describe_cluster()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def create_topic(bootstrap_servers: str, topic: str, partitions: int = 1) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="tests")
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def produce(bootstrap_servers: str, topic: str, records, partitions: int = 1, partition_of=None) -> None:
    """Create ``topic`` and write ``records`` (strings) in order; ``partition_of(i, record)`` picks
    the partition (default: all in partition 0, so the read order is the write order)."""
    from kafka import KafkaProducer

    create_topic(bootstrap_servers, topic, partitions)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    try:
        for i, record in enumerate(records):
            partition = partition_of(i, record) if partition_of else 0
            producer.send(topic, record.encode("utf-8"), partition=partition)
        producer.flush()
    finally:
        producer.close()


def read_topic(bootstrap_servers: str, topic: str, isolation_level: str = "read_committed") -> list[str]:
    """Every record of ``topic`` visible at ``isolation_level`` (committed transactions only by
    default), read up to the end offsets as they are now."""
    return [value for _, value in read_topic_timestamped(bootstrap_servers, topic, isolation_level)]


def read_topic_timestamped(
    bootstrap_servers: str, topic: str, isolation_level: str = "read_committed"
) -> list[tuple[int, str]]:
    """:func:`read_topic` with each record's Kafka timestamp: ``(epoch ms, value)``."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        isolation_level=isolation_level,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assignment:
            return []
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        # With read_committed, the end offsets are the last stable offsets: nothing uncommitted.
        end = consumer.end_offsets(assignment)
        records: list = []
        while any(consumer.position(tp) < end[tp] for tp in assignment):
            batch = consumer.poll(timeout_ms=1000)
            for tp_records in batch.values():
                records.extend((r.timestamp, r.value.decode("utf-8")) for r in tp_records)
        return records
    finally:
        consumer.close()


def append(bootstrap_servers: str, topic: str, records, partition_of=None) -> None:
    """Write ``records`` (strings) in order to an existing ``topic`` (see :func:`produce`)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    try:
        for i, record in enumerate(records):
            producer.send(topic, record.encode("utf-8"), partition=partition_of(i, record) if partition_of else 0)
        producer.flush()
    finally:
        producer.close()


def end_offsets(bootstrap_servers: str, topic: str) -> dict[int, int]:
    """``{partition: end offset}`` of ``topic`` (its next offset: the records written so far)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        consumer.close()


def committed_offsets(bootstrap_servers: str, group_id: str, topic: str) -> dict[int, int]:
    """``{partition: offset}`` the consumer group ``group_id`` has committed for ``topic`` (a Flink
    Kafka source commits its position when a checkpoint completes); partitions without a commit
    are left out."""
    from kafka import KafkaConsumer, TopicPartition

    # A consumer that never subscribes does not join the group: it only asks the coordinator.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    try:
        committed = {
            p: consumer.committed(TopicPartition(topic, p)) for p in sorted(consumer.partitions_for_topic(topic) or ())
        }
    finally:
        consumer.close()
    return {p: offset for p, offset in committed.items() if offset is not None and offset >= 0}


def _config_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. retention.ms=-1, got {text!r}")
    return key, value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/kafka", description="a local single-node Kafka broker (KRaft)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="start|stop|status|create|read")
    for name, text in (("start", "start the broker"), ("stop", "stop it"), ("status", "is it running?")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--home", type=Path, default=DEFAULT_HOME, help="broker folder (default .kafka/)")
        command.add_argument("--port", type=int, default=9092, help="listener port on 127.0.0.1 for a new folder")
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    create = commands.add_parser("create", help="create a topic (e.g. one that keeps replayed records)")
    create.add_argument("topic")
    create.add_argument("--partitions", type=int, default=1)
    create.add_argument(
        "--config", type=_config_pair, action="append", default=[], metavar="KEY=VALUE", help="e.g. retention.ms=-1"
    )
    create.add_argument("--bootstrap-servers", default=servers)
    read = commands.add_parser("read", help="print a topic's committed records, one per line, and exit")
    read.add_argument("topic")
    read.add_argument("--bootstrap-servers", default=servers)
    read.add_argument("--timestamps", action="store_true", help="prefix each record with its Kafka timestamp")
    read.add_argument(
        "--uncommitted", action="store_true", help="also records of open or aborted transactions (read_uncommitted)"
    )
    args = parser.parse_args(argv)
    if args.command == "create":
        return _create(args.bootstrap_servers, args.topic, args.partitions, dict(args.config))
    if args.command == "read":
        return _read(args.bootstrap_servers, args.topic, args.timestamps, args.uncommitted)
    broker = KafkaBroker(args.home, args.port)
    if args.command == "start":
        started = time.monotonic()
        try:
            servers = broker.start()
        except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
            print(f"kafka: {getattr(error, 'stderr', None) or error}", file=sys.stderr)
            return 1
        print(f"kafka: running at {servers} (pid {broker.pid()}, {time.monotonic() - started:.1f}s); log {broker.log}")
    elif args.command == "stop":
        broker.stop()
        print("kafka: stopped")
    else:
        pid = broker.pid()
        if pid is None:
            print("kafka: not running")
            return 3
        state = "answering" if answers(broker.bootstrap_servers) else "not answering yet"
        print(f"kafka: running at {broker.bootstrap_servers} (pid {pid}), {state}")
    return 0


def _create(bootstrap_servers: str, topic: str, partitions: int, configs: dict[str, str]) -> int:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="scripts-kafka")
        try:
            admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)])
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError) as error:
        print(
            f"kafka: cannot create topic {topic!r} at {bootstrap_servers}: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 1
    settings = ", ".join(f"{k}={v}" for k, v in configs.items()) or "the broker's defaults"
    print(f"kafka: created topic {topic} ({partitions} partition{'s' * (partitions != 1)}, {settings})")
    return 0


def _read(bootstrap_servers: str, topic: str, timestamps: bool, uncommitted: bool) -> int:
    from kafka.errors import KafkaError

    from udfs.timeutil import format_time

    if not answers(bootstrap_servers):
        print(f"kafka: no broker answers at {bootstrap_servers}", file=sys.stderr)
        return 1
    try:
        records = read_topic_timestamped(
            bootstrap_servers, topic, "read_uncommitted" if uncommitted else "read_committed"
        )
    except KafkaError as error:
        print(f"kafka: cannot read topic {topic!r}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    try:
        for timestamp, value in records:
            print(f"{format_time(timestamp)} | {value}" if timestamps else value)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"kafka: {len(records)} records in {topic}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
