"""Sources: raw text records from files or Kafka, parsed into typed, event-timed streams.

Every source yields raw strings; parsing happens in :class:`ParseEvents` so that a bad record
goes to ``errors`` with a reason instead of failing the job.
"""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path
from typing import Mapping

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import DataStream, OutputTag, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat
from pyflink.datastream.functions import ProcessFunction, RuntimeContext
from pyflink.table import StreamTableEnvironment

from udfs.events import EventSchema, InvalidRecord
from udfs.eventtime import with_event_time
from udfs.metrics import GROUP
from udfs.options import Input

#: Side output of every parser: invalid records as ``{"job", "error", "raw"}`` JSON.
ERRORS = OutputTag("errors", Types.STRING())


def error_record(job: str, reason: str, raw: str) -> str:
    return json.dumps({"job": job, "error": reason, "raw": raw}, ensure_ascii=False)


class ParseEvents(ProcessFunction):
    """Raw text -> typed event rows; invalid records -> :data:`ERRORS` with the reason."""

    def __init__(self, job: str, schema: EventSchema, label: str | None = None):
        self.job = job
        self.schema = schema
        self.label = label  # names the input in reasons when a job has several
        self.records_in = self.invalid = None

    def open(self, runtime_context: RuntimeContext):
        group = runtime_context.get_metrics_group().add_group(GROUP)
        self.records_in = group.counter("in")
        self.invalid = group.counter("invalid")

    def process_element(self, text, ctx):
        self.records_in.inc()
        try:
            yield self.schema.parse(text)
        except InvalidRecord as error:
            yield ERRORS, self._error(str(error), text)
        except Exception as error:  # a parser bug must not kill the job either
            yield ERRORS, self._error(f"unexpected {type(error).__name__}: {error}", text)

    def _error(self, reason: str, text: str) -> str:
        self.invalid.inc()
        return error_record(self.job, f"{self.label}: {reason}" if self.label else reason, text)


def parse_events(raw: DataStream, job: str, schema: EventSchema, label: str | None = None,
                 split: int = 0) -> tuple[DataStream, DataStream]:
    """Raw records -> (typed rows, error records), at the parallelism of ``raw``'s readers;
    ``split`` numbers the sources of one input (the files of a folder)."""
    name = (label or schema.name) + (f"-{split}" if split else "")
    parsed = (raw.process(ParseEvents(job, schema, label), schema.row_type)
              .name(f"parse-{name}").uid(f"parse-{name}").set_parallelism(readers(raw)))
    return parsed, parsed.get_side_output(ERRORS)


def read_events(t_env: StreamTableEnvironment, raw: DataStream, job: str, spec: Input,
                out_of_orderness_ms: int, label: str | None = None, split: int = 0) -> tuple[DataStream, DataStream]:
    """Raw records -> (event-timed typed rows, error records); see :mod:`udfs.eventtime`.

    Parsing and watermarks run at the parallelism of the source's readers, each on what its own
    reader reads (forward, no redistribution): the keyed exchange after them is the first place
    records of different readers meet, so the watermarks are those of each reader's input."""
    parsed, errors = parse_events(raw, job, spec.schema, label, split)
    return with_event_time(t_env, parsed, spec.schema, out_of_orderness_ms, readers(raw)), errors


def readers(stream: DataStream) -> int:
    """The parallelism of a stream's operator (for a source: its readers)."""
    return stream._j_data_stream.getParallelism()


#: A folder of up to this many files gets one reader per file; a larger one is read by
#: ``--parallelism`` readers that take files as they ask for them (docs/event-time.md).
MAX_FILE_READERS = 32


def files_of(path: str | Path) -> list[Path]:
    """The files a FileSource reads under ``path`` (it skips names starting with ``.`` or ``_``)."""
    root = Path(path)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def file_records(env: StreamExecutionEnvironment, path: str, name: str, parallelism: int) -> list[DataStream]:
    """The lines of a JSONL file, or of every file under a folder (bounded), one stream per reader.

    A line file is one split (it is not split). Each file of a folder gets a source of its own, so
    its events get watermarks of their own (a reader's watermark would otherwise carry over from
    one file to the next, in whatever order the readers ask for files); a single file has one
    reader whatever the parallelism: a reader without a file would hold the watermark of every
    operator downstream back until it ends, which it does at a moment no input decides."""
    files = files_of(path)
    if len(files) == 1 or len(files) > MAX_FILE_READERS:
        sources = [(path, name, max(1, min(parallelism, len(files))))]
    else:
        sources = [(str(f), f"{name}-{i}" if i else name, 1) for i, f in enumerate(files)]
    streams = []
    for source_path, source_name, readers_ in sources:
        source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), source_path).build()
        streams.append(env.from_source(source, WatermarkStrategy.no_watermarks(), f"file-{source_name}")
                       .uid(f"source-{source_name}").set_parallelism(readers_))
    return streams


def raw_records(env: StreamExecutionEnvironment, options: Namespace, spec: Input,
                partitions: Mapping[str, int] | None = None) -> list[DataStream]:
    """The raw records of one job input, from the source the options name: one stream per file
    (:func:`file_records`), or one Kafka source with one reader per partition, up to
    ``--parallelism`` (``partitions``: of each source topic), so that no reader is without one."""
    if options.source == "file":
        return file_records(env, getattr(options, spec.dest), spec.name, options.parallelism)
    from udfs.kafka import kafka_records  # the connector jar is only needed here

    topic = getattr(options, spec.topic_dest)
    count = (partitions or {}).get(topic, options.parallelism)
    return [kafka_records(env, options, topic, spec.name).set_parallelism(max(1, min(options.parallelism, count)))]
