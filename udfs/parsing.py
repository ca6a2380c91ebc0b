"""Parsing every input: raw text records -> typed, event-timed rows, and ``errors`` with a reason.

Every source yields raw strings; parsing happens in :class:`ParseEvents` so that a bad record goes
to ``errors`` with a reason instead of failing the job.
"""

from __future__ import annotations

import json

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.datastream.functions import ProcessFunction, RuntimeContext
from pyflink.metrics import Counter
from pyflink.table import StreamTableEnvironment

from udfs.events import EventSchema, InvalidRecord
from udfs.eventtime import with_event_time
from udfs.metrics import GROUP

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
        self.records_in: Counter
        self.invalid: Counter

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


def readers(stream: DataStream) -> int:
    """The parallelism of a stream's operator (for a source: its readers)."""
    return stream._j_data_stream.getParallelism()


def parse_events(
    raw: DataStream, job: str, schema: EventSchema, label: str | None = None, split: int = 0
) -> tuple[DataStream, DataStream]:
    """Raw records -> (typed rows, error records), at the parallelism of ``raw``'s readers;
    ``label`` names the input in reasons, ``split`` numbers the sources of one input (the files of
    a folder)."""
    name = (label or schema.name) + (f"-{split}" if split else "")
    parsed = (
        raw.process(ParseEvents(job, schema, label), schema.row_type)
        .name(f"parse-{name}")
        .uid(f"parse-{name}")
        .set_parallelism(readers(raw))
    )
    return parsed, parsed.get_side_output(ERRORS)


def read_events(
    t_env: StreamTableEnvironment,
    raw: DataStream,
    job: str,
    schema: EventSchema,
    out_of_orderness_ms: int,
    label: str | None = None,
    split: int = 0,
) -> tuple[DataStream, DataStream]:
    """Raw records -> (event-timed typed rows, error records); see :mod:`udfs.eventtime`.

    Parsing and watermarks run at the parallelism of the source's readers, each on what its own
    reader reads (forward, no redistribution): the keyed exchange after them is the first place
    records of different readers meet, so the watermarks are those of each reader's input."""
    parsed, errors = parse_events(raw, job, schema, label, split)
    return with_event_time(t_env, parsed, schema, out_of_orderness_ms, readers(raw)), errors
