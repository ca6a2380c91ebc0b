"""A run's configuration in typed pieces; each part of the runner takes only the piece it needs.

:func:`runner.cli.parse` builds a :class:`RunConfig` from the command line, and validates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

Options = TypeVar("Options")  # the job's own options dataclass


@dataclass(frozen=True)
class SourceConfig:
    """Where the inputs come from: ``paths`` (file source) or ``topics`` (Kafka), by input name."""

    kind: Literal["file", "kafka"]
    paths: dict[str, Path]
    topics: dict[str, str]
    bootstrap_servers: str
    group_id: str
    bounded: bool  # Kafka: stop at the offsets that were latest at start


@dataclass(frozen=True)
class SinkConfig:
    """Where the outputs go: printed, ``output/<name>/`` files, or Kafka topics ``<prefix>.<name>``."""

    kind: Literal["print", "file", "kafka"]
    output: Path | None
    bootstrap_servers: str
    topic_prefix: str
    delivery_guarantee: Literal["none", "at-least-once", "exactly-once"]
    transaction_timeout_ms: int

    def output_topic(self, output: str) -> str:
        return f"{self.topic_prefix}.{output}"


@dataclass(frozen=True)
class EventTimeConfig:
    out_of_orderness_ms: int
    idleness_ms: int | None  # an input (a Kafka partition) without records this long is idle (None: never)
    max_drift_ms: int | None = None  # Kafka: pause partitions whose watermark runs this far ahead (None: never)


@dataclass(frozen=True)
class ExecutionConfig:
    parallelism: int
    mode: Literal["thread", "process"] | None  # None: the cluster's python.execution-mode, else thread
    process_bundle_size: int
    checkpoint_interval_ms: int | None
    metrics_port: int | None = None  # a local run's Prometheus endpoint, 127.0.0.1:<port> (None: none)
    #: Where keyed state lives: the JVM heap or RocksDB on local disk (None: the cluster's
    #: state.backend.type when submitted with flink run, else hashmap).
    state_backend: Literal["hashmap", "rocksdb"] | None = None


@dataclass(frozen=True)
class TimelineConfig:
    """``--timeline FILE.html``: draw the run's event time (runner/timeline.py) into ``path``."""

    path: Path
    keys: tuple[str, ...] | None = None  # --timeline-keys: only these keys (None: chosen by the drawing)


@dataclass(frozen=True)
class RunConfig(Generic[Options]):
    """Everything one run of a job needs; ``options`` is the job's own options dataclass."""

    job: str
    source: SourceConfig
    sink: SinkConfig
    event_time: EventTimeConfig
    execution: ExecutionConfig
    options: Options
    timeline: TimelineConfig | None = None  # None: no trace is taken, the job runs as ever
    build: str = "python"  # --build: the job's teaching build, or one of its fast_builds

    @property
    def uses_kafka(self) -> bool:
        return "kafka" in (self.source.kind, self.sink.kind)
