"""Sources: raw text records from files or Kafka, parsed into typed, event-timed streams.

Every source yields raw strings; parsing happens in :class:`ParseEvents` so that a bad record
goes to ``errors`` with a reason instead of failing the job.
"""

from __future__ import annotations

import json
from argparse import Namespace

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


def parse_events(raw: DataStream, job: str, schema: EventSchema, label: str | None = None) -> tuple[DataStream, DataStream]:
    """Raw records -> (typed rows, error records)."""
    name = label or schema.name
    parsed = (raw.process(ParseEvents(job, schema, label), schema.row_type)
              .name(f"parse-{name}").uid(f"parse-{name}"))
    return parsed, parsed.get_side_output(ERRORS)


def read_events(t_env: StreamTableEnvironment, raw: DataStream, job: str, spec: Input,
                out_of_orderness_ms: int, label: str | None = None) -> tuple[DataStream, DataStream]:
    """Raw records -> (event-timed typed rows, error records); see :mod:`udfs.eventtime`."""
    parsed, errors = parse_events(raw, job, spec.schema, label)
    return with_event_time(t_env, parsed, spec.schema, out_of_orderness_ms), errors


def file_records(env: StreamExecutionEnvironment, path: str, name: str) -> DataStream:
    """The lines of a JSONL file, or of every file under a folder (bounded)."""
    source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), path).build()
    return env.from_source(source, WatermarkStrategy.no_watermarks(), f"file-{name}").uid(f"source-{name}")


def raw_records(env: StreamExecutionEnvironment, options: Namespace, spec: Input) -> DataStream:
    """The raw records of one job input, from the source the options name."""
    if options.source == "file":
        return file_records(env, getattr(options, spec.dest), spec.name)
    from udfs.kafka import kafka_records  # the connector jar is only needed here

    return kafka_records(env, options, getattr(options, spec.topic_dest), spec.name)
