"""Deterministic event time: the bridge between parsed events and Flink's watermarks.

PyFlink has no custom WatermarkGenerator, and its built-in bounded-out-of-orderness strategy is
periodic (every ``pipeline.auto-watermark-interval`` of processing time), so which records are late
would depend on machine speed. Instead, the parsed stream goes through the Table API's watermark
assigner: ``WATERMARK FOR rt AS rt - <bound>`` with ``pipeline.auto-watermark-interval: 0`` emits a
watermark after every record, and ``to_data_stream`` carries record timestamps and watermarks back
into the DataStream job. The same input therefore gives the same watermarks, and the same late
records, on every run and in every execution mode.

The assigner runs in the JVM and costs no extra Python round trip.

Every output leaves with a record timestamp by one rule (docs/kafka-and-cluster.md, "Record
timestamps"); :func:`stamped` sets it where a Python function knows the time but Flink would carry
another one, or none.
"""

from __future__ import annotations

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.typeinfo import TypeInformation
from pyflink.datastream import DataStream
from pyflink.java_gateway import get_gateway
from pyflink.table import Schema, StreamTableEnvironment, Table

from udfs.events import EventSchema

ROWTIME = "rt"
TABLE_PARALLELISM = "table.exec.resource.default-parallelism"
#: The column the bridge adds to every event row.
BEHIND_WATERMARK = "behind_watermark"


def interval_literal(ms: int) -> str:
    """A SQL interval of ``ms`` milliseconds (up to 99 days).

    ``SECOND(3)`` allows at most 999 seconds (its leading precision is 3 digits) and Flink rejects a
    larger one, so longer intervals are written ``DAY TO SECOND``.
    """
    seconds, millis = divmod(ms, 1000)
    if seconds < 1000:
        return f"INTERVAL '{seconds}.{millis:03d}' SECOND(3)"
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND(3)"


def event_table(
    t_env: StreamTableEnvironment,
    parsed: DataStream,
    schema: EventSchema,
    out_of_orderness_ms: int,
    source_watermarks: bool = False,
) -> Table:
    """Parsed rows -> a table with rowtime ``rt`` and a bounded-out-of-orderness watermark, or,
    with ``source_watermarks``, the watermarks the stream already carries (a Kafka source's, one
    per partition: runner/kafka.py)."""
    builder = Schema.new_builder()
    for name, sql_type in schema.sql_columns:
        builder.column(name, sql_type)
    builder.column_by_expression(ROWTIME, "TO_TIMESTAMP_LTZ(ts, 3)")
    if source_watermarks:
        builder.watermark(ROWTIME, "SOURCE_WATERMARK()")
    else:
        builder.watermark(ROWTIME, f"{ROWTIME} - {interval_literal(out_of_orderness_ms)}")
    return t_env.from_data_stream(parsed, builder.build())


def with_event_time(
    t_env: StreamTableEnvironment,
    parsed: DataStream,
    schema: EventSchema,
    out_of_orderness_ms: int,
    parallelism: int | None = None,
    source_watermarks: bool = False,
) -> DataStream:
    """Parsed rows -> the same rows with timestamps and per-record watermarks, plus one column,
    ``behind_watermark``: the record's event time was already behind the watermark when it arrived
    (it is late for any event-time operator downstream). ``source_watermarks``: see
    :func:`event_table`."""
    table = event_table(t_env, parsed, schema, out_of_orderness_ms, source_watermarks)
    flagged = table.add_columns(
        # CURRENT_WATERMARK is the watermark before this record (null before the first one).
        _expr(f"COALESCE({ROWTIME} < CURRENT_WATERMARK({ROWTIME}), FALSE)").alias(BEHIND_WATERMARK)
    )
    # The rowtime travels as the stream record's timestamp (metadata), not as a column: a
    # TIMESTAMP_LTZ column would reach Python as a Java object on every record.
    target = Schema.new_builder()
    for name, sql_type in schema.sql_columns:
        target.column(name, sql_type)
    target.column(BEHIND_WATERMARK, "BOOLEAN")
    target.column_by_metadata("rowtime", "TIMESTAMP_LTZ(3)")
    columns = [name for name, _ in schema.sql_columns] + [BEHIND_WATERMARK]
    projected = flagged.select(*[_expr(f"`{name}`") for name in columns], _expr(ROWTIME).alias("rowtime"))
    # The planner translates the conversion right here, so the default parallelism set for it
    # applies to the bridge's operators alone: they stay with ``parsed``'s readers (forward). The
    # planner also copies it into the execution environment, which gets its own back.
    config, env = t_env.get_config(), parsed.get_execution_environment()
    previous, env_parallelism = config.get(TABLE_PARALLELISM, "-1"), env.get_parallelism()
    config.set(TABLE_PARALLELISM, str(parallelism or -1))
    try:
        return t_env.to_changelog_stream(projected, target.build())
    finally:
        config.set(TABLE_PARALLELISM, previous)
        env.set_parallelism(env_parallelism)


def timed_row_type(schema: EventSchema):
    """The row type of :func:`with_event_time`'s stream."""
    return Types.ROW_NAMED(
        [*schema.names, BEHIND_WATERMARK], [*list(schema.row_type.get_field_types()), Types.BOOLEAN()]
    )


def stamped_type() -> TypeInformation:
    """The type of :func:`stamped`'s input, ``(json, epoch ms)``. A new object on every call: a
    type once converted for the JVM no longer pickles, and side-output tags travel pickled."""
    return Types.TUPLE([Types.STRING(), Types.LONG()])


def stamped(pairs: DataStream, name: str) -> DataStream:
    """``(json, epoch ms)`` pairs -> the JSON strings, each with the ms as its record timestamp.

    A Python function can compute a record's time but not set it: PyFlink's thread mode emits side
    outputs without a timestamp (the Kafka sink then writes wall-clock time), and its window
    operator stamps a result with the element or timer that fired it (a late firing gets the late
    event's time, not the window's). This runs in the JVM, with the pieces PyFlink's own Python
    timestamp assigners end in. It forwards no watermark but the final one: only sinks follow.
    """
    functions = get_gateway().jvm.org.apache.flink.streaming.api.functions.python.eventtime
    strategy = WatermarkStrategy.no_watermarks()._j_watermark_strategy.withTimestampAssigner(
        functions.CustomTimestampAssigner()
    )  # the tuple's second field
    j_timed = (
        pairs._j_data_stream.assignTimestampsAndWatermarks(strategy).name(f"timestamp-{name}").uid(f"timestamp-{name}")
    )
    j_json = j_timed.map(functions.RemoveTimestampMapFunction(), Types.STRING().get_java_type_info())
    return DataStream(j_json.name(f"drop-timestamp-{name}").uid(f"drop-timestamp-{name}"))


def _expr(sql: str):
    from pyflink.table.expressions import call_sql

    return call_sql(sql)
