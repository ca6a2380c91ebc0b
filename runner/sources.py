"""Sources: every job input as raw text records, from files or Kafka (parsed in :mod:`udfs.parsing`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pyflink.common import WatermarkStrategy
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat

from runner.config import EventTimeConfig, SourceConfig
from udfs.job import Input

#: A folder of up to this many files gets one reader per file; a larger one is read by
#: ``--parallelism`` readers that take files as they ask for them (docs/event-time.md).
MAX_FILE_READERS = 32


def files_of(path: str | Path) -> list[Path]:
    """The files a FileSource reads under ``path`` (it skips names starting with ``.`` or ``_``)."""
    root = Path(path)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def file_records(env: StreamExecutionEnvironment, path: str | Path, name: str, parallelism: int) -> list[DataStream]:
    """The lines of a JSONL file, or of every file under a folder (bounded), one stream per reader.

    A line file is one split (it is not split). Each file of a folder gets a source of its own, so
    its events get watermarks of their own (a reader's watermark would otherwise carry over from
    one file to the next, in whatever order the readers ask for files); a single file has one
    reader whatever the parallelism: a reader without a file would hold the watermark of every
    operator downstream back until it ends, which it does at a moment no input decides."""
    files = files_of(path)
    if len(files) == 1 or len(files) > MAX_FILE_READERS:
        sources = [(str(path), name, max(1, min(parallelism, len(files))))]
    else:
        sources = [(str(f), f"{name}-{i}" if i else name, 1) for i, f in enumerate(files)]
    streams = []
    for source_path, source_name, readers in sources:
        source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), source_path).build()
        streams.append(
            env.from_source(source, WatermarkStrategy.no_watermarks(), f"file-{source_name}")
            .uid(f"source-{source_name}")
            .set_parallelism(readers)
        )
    return streams


def raw_records(
    env: StreamExecutionEnvironment,
    source: SourceConfig,
    inputs: Sequence[Input],
    parallelism: int,
    partitions: Mapping[str, int] | None = None,
    event_time: EventTimeConfig | None = None,
) -> dict[str, list[DataStream]]:
    """The raw records of every job input, by input name: one stream per file
    (:func:`file_records`), or one Kafka source with one reader per partition, up to
    ``parallelism`` (``partitions``: of each source topic), so that no reader is without one;
    a Kafka source carries ``event_time``'s watermarks, one per partition."""
    if source.kind == "file":
        return {spec.name: file_records(env, source.paths[spec.name], spec.name, parallelism) for spec in inputs}
    from runner.kafka import kafka_records  # the connector jar is only needed here

    streams = {}
    for spec in inputs:
        topic = source.topics[spec.name]
        readers = max(1, min(parallelism, (partitions or {}).get(topic, parallelism)))
        timing = event_time or EventTimeConfig(out_of_orderness_ms=0, idleness_ms=None)
        streams[spec.name] = [
            kafka_records(env, source, topic, spec.name, spec.schema, timing).set_parallelism(readers)
        ]
    return streams


def count_input_records(source: SourceConfig) -> int | None:
    """How many records the file source reads (None for Kafka): the lines of its files."""
    if source.kind != "file":
        return None
    return sum(sum(1 for _ in f.open("rb")) for path in source.paths.values() for f in files_of(path))
