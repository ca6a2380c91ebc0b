"""Job designs measured by the benchmark as suggestions to the jobs' owners (``--variants``), not
used by any job: the same outputs, with the per-record work moved from Python to the JVM.

``moving_average_jvm_window``: jobs/moving_average.py's outputs with the sliding window computed by
Flink's own HOP window aggregate (through the same Table bridge the join jobs use, udfs/joins.py);
Python only formats one record per window. The late/on-time split is decided in the bridge by the
window operator's own test (an event's last window has fired: ``last_window_end - 1 <=
watermark``), so the late records are those the DataStream job sends to ``late``.
"""

from __future__ import annotations

import json

from pyflink.common import Types

from udfs.events import ACTIVITY
from udfs.eventtime import ROWTIME, interval_literal
from udfs.joins import Side, timed_table
from udfs.windows import late_record


def _window_record(row) -> str:
    return json.dumps(
        {
            "key": row.k,
            "window_start": row.ws.replace(" ", "T") + "Z",
            "window_end": row.we.replace(" ", "T") + "Z",
            "count": row.c,
            "sum": round(row.s, 9),
            "avg": round(row.s / row.c, 9),
            "leaving": row.leaving,
        },
        ensure_ascii=False,
    )


def moving_average_jvm_window(t_env, streams, opts):
    """A ``build`` of jobs/moving_average.py (see the module docstring)."""
    if opts.key_field not in [f.name for f in ACTIVITY.fields]:
        raise ValueError("the prototype keys by a schema field only")
    t_env.get_config().set_local_timezone("UTC")
    t_env.create_temporary_view("ma_in", timed_table(t_env, Side("events", streams["events"], ACTIVITY), None))
    size, slide = opts.size_ms, opts.slide_ms
    late = f"COALESCE(TO_TIMESTAMP_LTZ(ts - MOD(ts, {slide}) + {size} - 1, 3) <= CURRENT_WATERMARK({ROWTIME}), FALSE)"
    t_env.create_temporary_view("ma_on_time", t_env.sql_query(f"SELECT * FROM ma_in WHERE NOT {late}"))
    windows = t_env.sql_query(f"""
        SELECT `{opts.key_field}` AS k, CAST(window_start AS STRING) AS ws, CAST(window_end AS STRING) AS we,
               COUNT(*) AS c, SUM(COALESCE(`value`, 0)) AS s,
               SUM(CASE WHEN {ROWTIME} <= window_time - {interval_literal(size - slide)} THEN 1 ELSE 0 END) AS leaving
        FROM TABLE(HOP(TABLE ma_on_time, DESCRIPTOR({ROWTIME}), {interval_literal(slide)}, {interval_literal(size)}))
        GROUP BY `{opts.key_field}`, window_start, window_end""")
    late_rows = t_env.sql_query(f"SELECT `raw` FROM ma_in WHERE {late}")
    return {
        "windows": t_env.to_data_stream(windows).map(_window_record, Types.STRING()).name("format-windows"),
        "late": t_env.to_data_stream(late_rows).map(late_record, Types.STRING()).name("format-late"),
    }
