"""Kafka source and sink of every job (``--source kafka`` / ``--sink kafka``).

- Source: each input topic is read as raw UTF-8 strings (value only) from the earliest offset;
  with ``--bounded`` the job stops at the offsets that were latest when it started. Parsing and
  watermarks happen downstream, as for files (:mod:`udfs.sources`, :mod:`udfs.eventtime`), so a
  bad record reaches ``errors`` and the job keeps running.
- Sink: output ``<out>`` goes to topic ``<prefix>.<out>`` as JSON strings, with
  ``--delivery-guarantee``. Exactly-once writes in Kafka transactions committed on checkpoints:
  the transactional id prefix is derived from the topic, so it is stable across restarts
  (Flink aborts the lingering transactions of a failed attempt by that prefix), and the
  transaction timeout must not exceed the broker's ``transaction.max.timeout.ms``, which
  :func:`check_kafka` verifies before the job is submitted.

The runner calls :func:`check_options` once before the job is built: it fails fast with one line
(:class:`runner.cli.OptionError`) when the broker does not answer or a source topic does not
exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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

from runner.cli import OptionError
from runner.config import RunConfig, SinkConfig, SourceConfig
from udfs.metrics import count_records

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


def kafka_records(env: StreamExecutionEnvironment, source: SourceConfig, topic: str, name: str) -> DataStream:
    """The raw string records of one topic, earliest first; bounded by the latest offsets at start
    with ``--bounded``. No watermarks here: event time is assigned after parsing."""
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
    return env.from_source(builder.build(), WatermarkStrategy.no_watermarks(), f"kafka-{name}").uid(f"source-{name}")


def kafka_sink(
    stream: DataStream, sink: SinkConfig, output: str, count: bool = True, ledger: str | None = None
) -> None:
    """Write one output (JSON strings) to ``<prefix>.<output>`` with the chosen guarantee."""
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
