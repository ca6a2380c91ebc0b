"""Parsing every input: raw text records -> typed, event-timed rows, and ``errors`` with a reason.

Every source yields raw strings. The JVM parses them (``EventParser.java``, which decides exactly
as :meth:`udfs.events.EventSchema.parse` does: tests/test_jvm_parser.py compares the two), so a
valid record costs no Python and keeps its place in the stream. A record it rejects goes to
Python, where :class:`RejectedRecords` writes the reason :mod:`udfs.events` gives into ``errors``
instead of failing the job.
"""

from __future__ import annotations

import json

from pyflink.common import Types, WatermarkStrategy
from pyflink.datastream import DataStream
from pyflink.datastream.functions import MapFunction
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment
from pyflink.util.java_utils import to_jarray

from udfs.events import EventSchema, InvalidRecord
from udfs.eventtime import with_event_time
from udfs.jvm import functions, java_process, java_strings

#: What the reason says when the JVM parser rejected a record the Python parser accepts: the two
#: parsers disagree, which is a bug (the record still ends in ``errors``, counted).
PARSERS_DISAGREE = "rejected by the JVM parser but not by the Python one: please report this record as a bug"


def error_record(job: str, reason: str, raw: str) -> str:
    return json.dumps({"job": job, "error": reason, "raw": raw}, ensure_ascii=False)


class RejectedRecords(MapFunction):
    """A record the JVM parser rejected -> its ``errors`` record, with the Python parser's reason."""

    def __init__(self, job: str, schema: EventSchema, label: str | None = None):
        self.job = job
        self.schema = schema
        self.label = label  # names the input in reasons when a job has several

    def map(self, text: str) -> str:
        try:
            self.schema.parse(text)
            reason = PARSERS_DISAGREE
        except InvalidRecord as error:
            reason = str(error)
        except Exception as error:  # a parser bug must not kill the job either
            reason = f"unexpected {type(error).__name__}: {error}"
        return error_record(self.job, f"{self.label}: {reason}" if self.label else reason, text)


def jvm_parser(schema: EventSchema):
    """The JVM twin of ``schema.parse`` (``EventParser.java``)."""
    gateway = get_gateway()
    fields = schema.fields
    return functions().parsing.EventParser(
        java_strings(f.name for f in fields),
        java_strings(f.kind for f in fields),
        to_jarray(gateway.jvm.boolean, [f.required for f in fields]),
    )


def readers(stream: DataStream) -> int:
    """The parallelism of a stream's operator (for a source: its readers)."""
    return stream._j_data_stream.getParallelism()


def parse_events(
    raw: DataStream, job: str, schema: EventSchema, label: str | None = None, split: int = 0
) -> tuple[DataStream, DataStream]:
    """Raw records -> (typed rows, error records), at the parallelism of ``raw``'s readers;
    ``label`` names the input in reasons, ``split`` numbers the sources of one input (the files of
    a folder). The parser (operator ``parse-<input>``) counts ``records.in`` and
    ``records.invalid``."""
    name = (label or schema.name) + (f"-{split}" if split else "")
    parse = functions().parsing.ParseEvents(jvm_parser(schema))
    parsed = java_process(raw, parse, schema.row_type, f"parse-{name}").setParallelism(readers(raw))
    # Rejected records have no event time. A Kafka source's watermarks (one per record that
    # raises one) would each cost the Python function below a call: only the final one passes.
    j_rejected = parsed.getSideOutput(functions().parsing.ParseEvents.REJECTED).assignTimestampsAndWatermarks(
        WatermarkStrategy.no_watermarks()._j_watermark_strategy
    )
    rejected = DataStream(j_rejected.name(f"rejected-{name}").uid(f"rejected-{name}"))
    errors = (
        rejected.map(RejectedRecords(job, schema, label), Types.STRING()).name(f"errors-{name}").uid(f"errors-{name}")
    )
    return DataStream(parsed), errors


def read_events(
    t_env: StreamTableEnvironment,
    raw: DataStream,
    job: str,
    schema: EventSchema,
    out_of_orderness_ms: int,
    label: str | None = None,
    split: int = 0,
    source_watermarks: bool = False,
) -> tuple[DataStream, DataStream]:
    """Raw records -> (event-timed typed rows, error records); see :mod:`udfs.eventtime`
    (``source_watermarks``: ``raw`` carries its own, a Kafka source's).

    Parsing and watermarks run at the parallelism of the source's readers, each on what its own
    reader reads (forward, no redistribution): the keyed exchange after them is the first place
    records of different readers meet, so the watermarks are those of each reader's input."""
    parsed, errors = parse_events(raw, job, schema, label, split)
    timed = with_event_time(t_env, parsed, schema, out_of_orderness_ms, readers(raw), source_watermarks)
    return timed, errors
