"""Flink SQL window TVFs as ground truth: the same records, parsed and event-timed the way the
jobs' inputs are, queried with HOP / TUMBLE. SQL window aggregation drops late rows (and says
nothing about them), so compare on input without late records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pyflink.common import Types

from runner.cli import parse
from runner.environment import create_environment
from udfs.events import ACTIVITY
from udfs.eventtime import event_table, interval_literal
from udfs.parsing import parse_events


def window_totals(
    job,
    argv: Sequence[str],
    lines: Sequence[str],
    tvf: str,
    size_ms: int,
    slide_ms: int | None = None,
    key: str | None = None,
) -> list[dict]:
    """``{"key", "window_start", "window_end" (epoch ms), "count", "sum"}`` per window (and key) from
    ``HOP`` (``slide_ms`` given) or ``TUMBLE`` over the records, with the job's options for event time."""
    config = parse(job, list(argv))
    env, t_env = create_environment(config.job, config.execution, config.event_time)
    t_env.get_config().set("table.local-time-zone", "UTC")
    parsed, _ = parse_events(env.from_collection(list(lines), Types.STRING()), config.job, ACTIVITY)
    t_env.create_temporary_view("events", event_table(t_env, parsed, ACTIVITY, config.event_time.out_of_orderness_ms))
    if tvf == "HOP":
        assert slide_ms is not None, "HOP needs a slide"
        window = f"HOP(TABLE events, DESCRIPTOR(rt), {interval_literal(slide_ms)}, {interval_literal(size_ms)})"
    else:
        window = f"TUMBLE(TABLE events, DESCRIPTOR(rt), {interval_literal(size_ms)})"
    key_column = f"`{key}`" if key else "CAST(NULL AS STRING)"
    group_key = f", `{key}`" if key else ""
    query = (
        f"SELECT {key_column} AS k, CAST(window_start AS STRING) AS ws, CAST(window_end AS STRING) AS we, "
        f"COUNT(*) AS c, SUM(COALESCE(`value`, 0.0)) AS s FROM TABLE({window}) "
        f"GROUP BY window_start, window_end{group_key}"
    )
    with t_env.sql_query(query).execute().collect() as rows:
        return [
            {"key": r[0], "window_start": _ms(r[1]), "window_end": _ms(r[2]), "count": r[3], "sum": r[4]} for r in rows
        ]


def _ms(text: str) -> int:
    t = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)
