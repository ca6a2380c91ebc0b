"""The bridge from a DataStream job to Flink's native join operators (window, interval and
event-time temporal joins), which PyFlink's DataStream API does not expose.

Each input's event-timed stream (from :mod:`udfs.eventtime`) becomes a table whose rowtime ``rt``
is the stream record's timestamp (metadata key ``rowtime``) and whose watermark is the stream's
own (``SOURCE_WATERMARK()``); the SQL join runs in the JVM; its result comes back as a DataStream
of plain rows for the job to format. The bridge adds no Python operator: only the join's results
and the late records cross into Python.

**Late records.** A two-input join operator decides with the *smaller* of its two inputs'
watermarks, and which records arrive before which of the other input's watermarks depends on
thread scheduling. Fed everything, the operators would drop (window join) or partly mis-join
(interval join: a partner already evicted from state; temporal join: an evicted version, or a
version applied after the purchase it should have enriched) a varying subset of the records
behind the watermark. So each input first splits off, by its *own* watermark, the records that
could be affected, and only the rest reach the join:

- window join: the record's window had ended (``window_end - 1 <= watermark``), Flink's
  "window fired" test;
- interval and temporal joins: the record's event time is not after the watermark
  (``ts <= watermark``: a watermark ``W`` promises no more records with time ``<= W``).

For the records that remain, the join's result is exact and a function of the input alone: every
pair of them that satisfies the join condition is emitted, once (see docs/joins.md for the argument,
and tests/test_*_join.py for the brute-force check). The records split off go to :attr:`Joined.late`.

**Accounting.** A join emits pairs, not input records: a click may be in many matches or in none.
So the bridge also counts the records that reached the join, per input and event-time bucket, in
:attr:`Joined.consumed` (a window aggregate in the JVM). Every valid input record is in exactly one
of ``consumed`` (counted) and ``late``; invalid ones are in ``errors``.

**Record timestamps.** Each result query ends with a ``rowtime`` column that becomes the stream
record's timestamp (as in :mod:`udfs.eventtime`), by the rule of docs/kafka-and-cluster.md: a
window result carries the window's max timestamp (``window_end - 1``), a late record its event
time, a conversion the later of its two times, an enriched purchase the purchase's time. Without
it the results would carry no timestamp, and a Kafka sink would write wall-clock time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream
from pyflink.table import Schema, StreamTableEnvironment, Table

from udfs.events import EventSchema
from udfs.eventtime import BEHIND_WATERMARK, ROWTIME, interval_literal
from udfs.job import LATE_AND_ERRORS, Count, FastBuild, Input
from udfs.jvm import functions, java_map, json_records
from udfs.timeutil import format_time
from udfs.windows import late_record

#: Bucket of the ``consumed`` counts for joins without a window of their own.
COUNT_BUCKET_MS = 60_000
#: The last column of every result query: the record timestamp (metadata key ``rowtime``).
RECORD_TIME = "rowtime"


@dataclass(frozen=True)
class Side:
    """One input of a join: its name (``clicks``), its event-timed stream and its schema."""

    name: str
    stream: DataStream
    schema: EventSchema


@dataclass(frozen=True)
class Joined:
    """What a join returns, all DataStreams of ``Row``s with JSON-friendly fields only.

    ``pairs``: ``key, left_ts, left_raw, right_ts, right_raw`` (+ ``window_start``,
    ``window_end`` for the window join; the right side is null where a left join found no
    partner). ``late``: ``input, ts, raw, window_end`` (null but for the window join).
    ``consumed``: ``input, bucket_start, bucket_end, records``.
    """

    pairs: DataStream
    late: DataStream
    consumed: DataStream


def sides(streams: Mapping[str, DataStream], *inputs: Input) -> list[Side]:
    """The join sides of a job's inputs, in the order given."""
    return [Side(spec.name, streams[spec.name], spec.schema) for spec in inputs]


def window_join(t_env: StreamTableEnvironment, left: Side, right: Side, key: str, size_ms: int) -> Joined:
    """Inner join of the two inputs' rows with equal ``key`` in the same tumbling event-time window
    of ``size_ms`` (epoch-aligned, UTC): every pair, emitted when the watermark passes the window."""
    size = interval_literal(size_ms)
    window_end_ms = f"(ts - MOD(ts, {size_ms}) + {size_ms})"
    # Flink's WindowJoinOperator drops a record whose window has fired (window_end - 1 <= watermark).
    late = f"TO_TIMESTAMP_LTZ({window_end_ms} - 1, 3) <= CURRENT_WATERMARK({ROWTIME})"
    l_view, r_view, consumed, late_rows = _prepare(t_env, [left, right], late, size_ms, f"{window_end_ms}")

    def windowed(view):
        return f"TABLE(TUMBLE(TABLE {view}, DESCRIPTOR({ROWTIME}), {size}))"

    pairs = t_env.sql_query(f"""
        SELECT l.`{key}` AS `key`, l.ts AS left_ts, l.`raw` AS left_raw, r.ts AS right_ts, r.`raw` AS right_raw,
               l.ts - MOD(l.ts, {size_ms}) AS window_start, l.ts - MOD(l.ts, {size_ms}) + {size_ms} AS window_end,
               l.window_time AS {RECORD_TIME}
        FROM {windowed(l_view)} AS l JOIN {windowed(r_view)} AS r
          ON l.`{key}` = r.`{key}` AND l.window_start = r.window_start AND l.window_end = r.window_end
    """)
    return Joined(timed_stream(t_env, pairs), late_rows, consumed)


def interval_join(
    t_env: StreamTableEnvironment, left: Side, right: Side, key: str, lower_ms: int, upper_ms: int
) -> Joined:
    """Inner join of the rows with equal ``key`` and ``left.ts + lower <= right.ts <= left.ts + upper``
    (both bounds inclusive; ``lower`` may be negative), emitted as soon as both rows are there."""
    if lower_ms > upper_ms:
        raise ValueError(f"the interval's lower bound ({lower_ms} ms) is after its upper bound ({upper_ms} ms)")
    late = f"{ROWTIME} <= CURRENT_WATERMARK({ROWTIME})"
    l_view, r_view, consumed, late_rows = _prepare(t_env, [left, right], late, COUNT_BUCKET_MS)
    pairs = t_env.sql_query(f"""
        SELECT l.`{key}` AS `key`, l.ts AS left_ts, l.`raw` AS left_raw, r.ts AS right_ts, r.`raw` AS right_raw,
               GREATEST(l.{ROWTIME}, r.{ROWTIME}) AS {RECORD_TIME}
        FROM {l_view} AS l JOIN {r_view} AS r
          ON l.`{key}` = r.`{key}`
         AND r.{ROWTIME} BETWEEN {_shifted(f"l.{ROWTIME}", lower_ms)} AND {_shifted(f"l.{ROWTIME}", upper_ms)}
    """)
    return Joined(timed_stream(t_env, pairs), late_rows, consumed)


def temporal_join(t_env: StreamTableEnvironment, probe: Side, versions: Side, key: str) -> Joined:
    """Left join of each ``probe`` row with the ``versions`` row of the same ``key`` that was valid
    at the probe row's event time: the latest with ``ts <= probe.ts`` (null if there is none).

    ``versions`` becomes a versioned table by declaring ``key`` its primary key on the insert-only
    stream, so every version reaches the temporal join operator, which orders them by event time.
    (The documented alternative, a deduplicating "versioned view", keeps only rows newer than the
    last one seen per key and so loses a version that arrives after a later one.) Two versions of a
    key with the same event time: the one that arrives last wins.
    """
    late = f"{ROWTIME} <= CURRENT_WATERMARK({ROWTIME})"
    p_view, v_view, consumed, late_rows = _prepare(
        t_env, [probe, versions], late, COUNT_BUCKET_MS, primary_keys={versions.name: key}
    )
    pairs = t_env.sql_query(f"""
        SELECT p.`{key}` AS `key`, p.ts AS left_ts, p.`raw` AS left_raw, v.ts AS right_ts, v.`raw` AS right_raw,
               p.{ROWTIME} AS {RECORD_TIME}
        FROM {p_view} AS p LEFT JOIN {v_view} FOR SYSTEM_TIME AS OF p.{ROWTIME} AS v
          ON p.`{key}` = v.`{key}`
    """)
    return Joined(timed_stream(t_env, pairs), late_rows, consumed)


def _prepare(
    t_env: StreamTableEnvironment,
    sides: list[Side],
    late_sql: str,
    bucket_ms: int,
    window_end_sql: str = "CAST(NULL AS BIGINT)",
    primary_keys: dict[str, str] | None = None,
):
    """Registers each side's on-time rows as a view; returns the view names, the ``consumed``
    counts and the late rows (both inputs unioned)."""
    # Window TVFs on a TIMESTAMP_LTZ rowtime align windows in the session time zone: make that UTC,
    # so windows are epoch-aligned as the late test above and the outputs assume.
    t_env.get_config().set_local_timezone("UTC")
    views, counts, late = [], [], []
    for side in sides:
        source = f"join_{side.name}_in"
        t_env.create_temporary_view(source, timed_table(t_env, side, (primary_keys or {}).get(side.name)))
        columns = ", ".join(f"`{name}`" for name, _ in side.schema.sql_columns)
        flag = f"COALESCE({late_sql}, FALSE)"
        view = f"join_{side.name}"
        t_env.create_temporary_view(
            view, t_env.sql_query(f"SELECT {columns}, {ROWTIME} FROM {source} WHERE NOT {flag}")
        )
        views.append(view)
        late.append(
            f"SELECT '{side.name}' AS input, ts, `raw`, {window_end_sql} AS window_end, {ROWTIME} AS {RECORD_TIME} "
            f"FROM {source} WHERE {flag}"
        )
        counts.append(f"""
            SELECT '{side.name}' AS input, MIN(ts - MOD(ts, {bucket_ms})) AS bucket_start,
                   MIN(ts - MOD(ts, {bucket_ms})) + {bucket_ms} AS bucket_end, COUNT(*) AS records,
                   window_time AS {RECORD_TIME}
            FROM TABLE(TUMBLE(TABLE {view}, DESCRIPTOR({ROWTIME}), {interval_literal(bucket_ms)}))
            GROUP BY window_start, window_end, window_time""")
    consumed = timed_stream(t_env, t_env.sql_query(" UNION ALL ".join(counts)))
    late_rows = timed_stream(t_env, t_env.sql_query(" UNION ALL ".join(late)))
    return (*views, consumed, late_rows)


def timed_table(t_env: StreamTableEnvironment, side: Side, primary_key: str | None):
    """The runner's event-timed stream as a table: the record timestamp as rowtime ``rt``, the
    stream's own watermarks (no new watermark strategy: the bridge in udfs/eventtime.py made them)."""
    builder = Schema.new_builder()
    for name, sql_type in side.schema.sql_columns:
        builder.column(name, f"{sql_type} NOT NULL" if name == primary_key else sql_type)
    builder.column(BEHIND_WATERMARK, "BOOLEAN")
    builder.column_by_metadata(ROWTIME, "TIMESTAMP_LTZ(3)", "rowtime")
    builder.watermark(ROWTIME, "SOURCE_WATERMARK()")
    if primary_key:
        builder.primary_key(primary_key)
    return t_env.from_data_stream(side.stream, builder.build())


def timed_stream(t_env: StreamTableEnvironment, table: Table) -> DataStream:
    """A result table whose last column is ``rowtime`` -> a DataStream of the other columns, with
    ``rowtime`` as the record timestamp (not a field: a TIMESTAMP_LTZ reaches Python as a Java
    object)."""
    schema = table.get_schema()
    target = Schema.new_builder()
    for name, data_type in list(zip(schema.get_field_names(), schema.get_field_data_types(), strict=False))[:-1]:
        target.column(name, data_type)
    target.column_by_metadata(RECORD_TIME, "TIMESTAMP_LTZ(3)")
    return t_env.to_changelog_stream(table, target.build())


def _shifted(rowtime: str, ms: int) -> str:
    return f"{rowtime} + {interval_literal(ms)}" if ms >= 0 else f"{rowtime} - {interval_literal(-ms)}"


def outputs(joined: Joined, name: str, format_pair) -> dict[str, DataStream]:
    """A join's named outputs: ``name`` (each pair formatted by ``format_pair(row) -> JSON``),
    ``late`` and ``consumed``."""
    return {
        name: joined.pairs.map(format_pair, Types.STRING()).name(f"format-{name}").uid(f"format-{name}"),
        "late": joined.late.map(_late_json, Types.STRING()).name("format-late").uid("format-late"),
        "consumed": joined.consumed.map(_consumed_json, Types.STRING()).name("format-consumed").uid("format-consumed"),
    }


def jvm_outputs(joined: Joined, name: str, pair_records) -> dict[str, DataStream]:
    """:func:`outputs` in the same bytes, written in the JVM: each pair by the Java map function
    ``pair_records`` (a job's, in ``dev.pyflink.joins``), ``late`` by ``LateRecords.java``,
    ``consumed`` by ``JsonRecords.java``."""
    return {
        name: java_map(joined.pairs, pair_records, Types.STRING(), f"format-{name}"),
        "late": java_map(joined.late, functions().joins.LateRecords(), Types.STRING(), "format-late"),
        "consumed": json_records(joined.consumed, CONSUMED_FIELDS, "format-consumed"),
    }


def fast_build(join: Callable[[StreamTableEnvironment, Any, Any], Joined], name: str, pair_records) -> FastBuild:
    """A join job's ``--build jvm``: its ``join(t_env, streams, options)``, with every output
    written in the JVM (:func:`jvm_outputs`; ``pair_records()`` makes the Java function)."""
    return FastBuild(
        lambda t_env, streams, options: jvm_outputs(join(t_env, streams, options), name, pair_records()),
        help="the same join, its records written in the JVM (no Python per record)",
        reuses_objects=True,
    )


#: Each valid input record is counted in ``consumed`` or is in ``late``; invalid ones are in ``errors``.
ACCOUNTING = (Count("consumed", "records"), *LATE_AND_ERRORS)


def _late_json(row) -> str:
    extra = {"window_end": format_time(row.window_end)} if row.window_end is not None else {}
    return late_record(row, input=row.input, **extra)


#: ``consumed`` records' fields and kinds (:func:`udfs.jvm.json_records`), as :func:`_consumed_json` writes them.
CONSUMED_FIELDS = (("input", "text"), ("window_start", "time"), ("window_end", "time"), ("records", "integer"))


def _consumed_json(row) -> str:
    return json.dumps(
        {
            "input": row.input,
            "window_start": format_time(row.bucket_start),
            "window_end": format_time(row.bucket_end),
            "records": row.records,
        }
    )
