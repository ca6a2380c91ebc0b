"""Kafka source and sink of every job (``--source kafka`` / ``--sink kafka``).

- Source: each input topic is read as raw UTF-8 strings (value only) from the earliest offset;
  with ``--bounded`` the job stops at the offsets that were latest when it started. The source
  reads each record's event time and keeps a watermark per partition (:func:`kafka_records`);
  parsing happens downstream, as for files (:mod:`udfs.parsing`), so a bad record reaches
  ``errors`` and the job keeps running.
- Sink: output ``<out>`` goes to topic ``<prefix>.<out>`` as JSON strings, with
  ``--delivery-guarantee``. Exactly-once writes in Kafka transactions committed on checkpoints:
  the transactional id prefix is derived from the topic, so it is stable across restarts
  (Flink aborts the lingering transactions of a failed attempt by that prefix), and the
  transaction timeout must not exceed the broker's ``transaction.max.timeout.ms``, which
  :func:`check_kafka` verifies before the job is submitted.

The runner calls :func:`check_options` once before the job is built: it fails fast with one line
(:class:`runner.cli.OptionError`) when the broker does not answer or a source topic does not
exist. With ``--sink kafka`` it also asks for each output topic's retention
(:func:`output_retention`): a record whose timestamp (its event time) is older than the topic's
``retention.ms`` is deleted by the broker at its next retention check, after the job committed it,
so each output passes :func:`udfs.metrics.watch_retention`, which counts such records, and
:class:`RetentionWarnings` says so on one line while the job runs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from pyflink.common import SimpleStringSchema, WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)

from runner.config import EventTimeConfig, RunConfig, SinkConfig, SourceConfig
from runner.errors import OptionError
from udfs.events import EventSchema
from udfs.jvm import functions
from udfs.metrics import count_records, ledger_counts, watch_retention
from udfs.parsing import jvm_parser
from udfs.timeutil import format_duration

# kafka-python (the fail-fast checks) logs every connection at INFO; the run's log is about the job.
logging.getLogger("kafka").setLevel(logging.WARNING)

GUARANTEES = {
    "none": DeliveryGuarantee.NONE,
    "at-least-once": DeliveryGuarantee.AT_LEAST_ONCE,
    "exactly-once": DeliveryGuarantee.EXACTLY_ONCE,
}
#: Kafka's default ``transaction.max.timeout.ms`` (15 min), assumed when the broker cannot say.
BROKER_DEFAULT_MAX_TRANSACTION_TIMEOUT_MS = 900_000


def transactional_id_prefix(sink: SinkConfig, output: str) -> str:
    """Stable across restarts and unique per output topic: after a failure, Flink finds and aborts
    the open transactions of the previous attempt by this prefix."""
    return sink.output_topic(output)


#: How often a reader reports its watermark for alignment (Flink's usual 1 s).
ALIGNMENT_UPDATE_MS = 1000


def kafka_records(
    env: StreamExecutionEnvironment,
    source: SourceConfig,
    topic: str,
    name: str,
    schema: EventSchema,
    event_time: EventTimeConfig,
) -> DataStream:
    """The raw string records of one topic, earliest first; bounded by the latest offsets at start
    with ``--bounded``. Event time and watermarks come from the source itself, per partition
    (``SourceEventTime.java``): each partition has its own bounded-out-of-orderness watermark, a
    reader emits the minimum over its partitions, ``--idleness`` applies per partition and
    ``--max-watermark-drift`` pauses partitions that run ahead (docs/event-time.md)."""
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(source.bootstrap_servers)
        .set_topics(topic)
        .set_group_id(source.group_id)
        .set_client_id_prefix(f"{source.group_id}-{name}")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_value_only_deserializer(SimpleStringSchema())
        # Only committed records of transactional producers (e.g. another job's exactly-once sink).
        .set_property("isolation.level", "read_committed")
    )
    if source.bounded:
        builder.set_bounded(KafkaOffsetsInitializer.latest())
    strategy = functions().parsing.SourceEventTime(jvm_parser(schema), event_time.out_of_orderness_ms)
    j_strategy = strategy.configured(
        event_time.idleness_ms or 0, event_time.max_drift_ms or 0, f"watermarks-{name}", ALIGNMENT_UPDATE_MS
    )
    return env.from_source(builder.build(), WatermarkStrategy(j_strategy), f"kafka-{name}").uid(f"source-{name}")


def kafka_sink(
    stream: DataStream,
    sink: SinkConfig,
    output: str,
    count: bool = True,
    ledger: str | None = None,
    retention_ms: int | None = None,
) -> None:
    """Write one output (JSON strings) to ``<prefix>.<output>`` with the chosen guarantee;
    ``retention_ms``: the topic deletes records by their timestamp after this long, so the
    records older than that are counted (:func:`udfs.metrics.watch_retention`; ``ledger``: the
    counts' folder of a local run)."""
    guarantee = sink.delivery_guarantee
    topic = sink.output_topic(output)
    serializer = (
        KafkaRecordSerializationSchema.builder()
        .set_topic(topic)
        .set_value_serialization_schema(SimpleStringSchema())
        .build()
    )
    builder = (
        KafkaSink.builder()
        .set_bootstrap_servers(sink.bootstrap_servers)
        .set_record_serializer(serializer)
        .set_delivery_guarantee(GUARANTEES[guarantee])
    )
    if guarantee == "exactly-once":
        builder.set_transactional_id_prefix(transactional_id_prefix(sink, output))
        # The connector's own default (1 h) exceeds a default broker's 15 min maximum.
        builder.set_property("transaction.timeout.ms", str(sink.transaction_timeout_ms))
    counted = count_records(stream, output, ledger=ledger) if count else stream
    if retention_ms is not None:
        counted = watch_retention(counted, output, topic, retention_ms, retention_ledger(ledger) if ledger else None)
    counted.sink_to(builder.build()).name(f"kafka-{output}").uid(f"sink-{output}")


def check_options(config: RunConfig) -> dict[str, int]:
    """What a job's Kafka source and sinks need from the broker, asked once before the job is
    built: the number of partitions of each source topic."""
    source, sink = config.source, config.sink
    topics = list(source.topics.values()) if source.kind == "kafka" else []
    exactly_once = sink.kind == "kafka" and sink.delivery_guarantee == "exactly-once"
    servers = source.bootstrap_servers if source.kind == "kafka" else sink.bootstrap_servers
    return check_kafka(
        servers, source_topics=topics, transaction_timeout_ms=sink.transaction_timeout_ms if exactly_once else None
    )


def check_kafka(bootstrap_servers: str, source_topics=(), transaction_timeout_ms: int | None = None) -> dict[str, int]:
    """Fail before submission, with one line, if the broker does not answer, a source topic is
    missing, or the transaction timeout is more than the broker accepts. Returns the number of
    partitions of each source topic."""
    with _quiet_kafka_python():
        info = _broker_info(bootstrap_servers, list(source_topics))
    if isinstance(info, str):
        raise OptionError(f"cannot reach Kafka at {bootstrap_servers}: {info}")
    partitions, max_timeout = info
    for topic in source_topics:
        if topic not in partitions:
            raise OptionError(f"Kafka topic {topic!r} does not exist at {bootstrap_servers}")
    if transaction_timeout_ms is not None and transaction_timeout_ms > max_timeout:
        raise OptionError(
            f"--transaction-timeout {transaction_timeout_ms} ms exceeds the broker's transaction.max.timeout.ms "
            f"({max_timeout} ms) at {bootstrap_servers}: lower it (or raise the broker's limit)"
        )
    return partitions


@contextmanager
def _quiet_kafka_python() -> Iterator[None]:
    """kafka-python logs every failed connection attempt (about 17 ERROR and WARNING lines for a
    broker that does not answer); the check reports the outcome itself, in one line."""
    logger = logging.getLogger("kafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(error: Exception) -> str:
    """``KafkaTimeoutError: Unable to ...``: kafka-python's messages sometimes name their class already."""
    name, text = type(error).__name__, str(error)
    return text if text.startswith(name) else f"{name}: {text}"


def _broker_info(bootstrap_servers: str, source_topics: list[str]):
    """``({source topic: partitions}, transaction.max.timeout.ms)`` of a broker (a missing topic
    is left out), or why it could not be asked."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=10_000,
            bootstrap_timeout_ms=5_000,
            client_id="pyflink-jobs-check",
        )
    except (KafkaError, OSError, ValueError) as error:
        return _reason(error)
    try:
        existing = [topic for topic in source_topics if topic in set(admin.list_topics())]
        partitions = {d["name"]: len(d["partitions"]) for d in admin.describe_topics(existing)} if existing else {}
        max_timeout = BROKER_DEFAULT_MAX_TRANSACTION_TIMEOUT_MS
        try:
            broker = str(admin.describe_cluster()["brokers"][0]["broker_id"])
            configs = admin.describe_configs(
                [ConfigResource(ConfigResourceType.BROKER, broker, ["transaction.max.timeout.ms"])], config_filter="all"
            )
            max_timeout = int(configs["broker"][broker]["transaction.max.timeout.ms"]["value"])
        except (KafkaError, KeyError, IndexError, TypeError, ValueError):
            pass  # a broker that hides its config: assume Kafka's default
        return partitions, max_timeout
    except (KafkaError, OSError) as error:
        return _reason(error)
    finally:
        admin.close()


# --- record timestamps against retention ------------------------------------------------------


def retention_ledger(ledger: str) -> str:
    """The folder, inside a local run's count ledger, of the counts of records past retention."""
    folder = os.path.join(ledger, "past-retention")
    os.makedirs(folder, exist_ok=True)
    return folder


def output_retention(sink: SinkConfig, outputs: Iterable[str]) -> dict[str, int]:
    """``{output: retention.ms}`` of each output topic that deletes records by their own timestamp
    (time-based retention and ``message.timestamp.type=CreateTime``, the sinks' event time); an
    output missing here keeps its records for as long as they are not older than that, or forever.

    A topic that does not exist yet takes the broker's defaults when the sink creates it. The
    broker is asked once; one that hides its configuration is assumed to keep records forever
    (nothing to warn of rather than a false alarm).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType
    from kafka.errors import KafkaError

    topics = {output: sink.output_topic(output) for output in outputs}
    with _quiet_kafka_python():
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=sink.bootstrap_servers, request_timeout_ms=10_000, client_id="pyflink-jobs-check"
            )
        except (KafkaError, OSError, ValueError):
            return {}
        try:
            existing = set(admin.list_topics())
            broker = str(admin.describe_cluster()["brokers"][0]["broker_id"])
            resources = [ConfigResource(ConfigResourceType.BROKER, broker)]
            resources += [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics.values() if t in existing]
            described = admin.describe_configs(resources, config_filter="all")
        except (KafkaError, OSError, KeyError, IndexError, TypeError):
            return {}
        finally:
            admin.close()
    default = _deletes_after(_values(described.get("broker", {}).get(broker, {})), broker_level=True)
    retention = {}
    for output, topic in topics.items():
        configs = described.get("topic", {}).get(topic)
        ms = _deletes_after(_values(configs), broker_level=False) if configs is not None else default
        if ms is not None:
            retention[output] = ms
    return retention


def _values(configs: Mapping) -> dict[str, str | None]:
    return {key: (entry or {}).get("value") for key, entry in (configs or {}).items()}


def _deletes_after(config: Mapping[str, str | None], broker_level: bool) -> int | None:
    """The ``retention.ms`` after which records are deleted by their own timestamp, or None:
    kept forever (``-1``), compacted only, or stamped with the broker's append time."""
    prefix = "log." if broker_level else ""
    if config.get(f"{prefix}message.timestamp.type") == "LogAppendTime":
        return None
    policy = config.get("log.cleanup.policy" if broker_level else "cleanup.policy") or "delete"
    if "delete" not in policy:
        return None
    if broker_level:  # log.retention.ms, else .minutes, else .hours (Kafka's precedence)
        ms = config.get("log.retention.ms")
        if ms is None and config.get("log.retention.minutes") is not None:
            ms = str(int(config["log.retention.minutes"] or 0) * 60_000)
        if ms is None and config.get("log.retention.hours") is not None:
            ms = str(int(config["log.retention.hours"] or 0) * 3_600_000)
    else:
        ms = config.get("retention.ms")
    if ms is None or int(ms) < 0:
        return None
    return int(ms)


class RetentionWarnings:
    """Says once per output topic, on one line, that the run writes records the topic deletes at
    its next retention check: called while a local run goes on, it looks at the folder
    :class:`udfs.metrics.watch_retention` writes to at a topic's first such record."""

    def __init__(self, job: str, sink: SinkConfig, retention: Mapping[str, int], ledger: str):
        self.job = job
        self.sink = sink
        self.retention = dict(retention)
        self.folder = retention_ledger(ledger)
        self.warned: set[str] = set()

    def poll(self) -> None:
        for name in os.listdir(self.folder):
            output = name.rsplit(".", 1)[0]
            if output in self.retention and output not in self.warned:
                self.warned.add(output)
                print(
                    retention_warning(self.job, self.sink, output, self.retention[output]), file=sys.stderr, flush=True
                )

    def counts(self) -> dict[str, int]:
        """``{output: records written past the topic's retention}``, once the job has ended."""
        self.poll()  # a short run may end between two polls
        return {output: n for output, n in ledger_counts(self.folder, self.retention).items() if n}


def retention_warning(job: str, sink: SinkConfig, output: str, retention_ms: int) -> str:
    topic = sink.output_topic(output)
    return (
        f"python -m jobs.{job}: warning: output {output!r} writes records whose event time is older than topic "
        f"{topic!r} keeps them (retention.ms={retention_ms}, {format_duration(retention_ms)}): Kafka deletes them "
        f"at its next retention check. To keep them: kafka-configs.sh --bootstrap-server {sink.bootstrap_servers} "
        f"--alter --entity-type topics --entity-name {topic} --add-config retention.ms=-1 "
        "(or message.timestamp.type=LogAppendTime); docs/kafka-and-cluster.md"
    )
