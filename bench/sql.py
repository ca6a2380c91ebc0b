"""The benchmark's Flink SQL equivalents: each job's computation as window TVFs and joins, on the
same input files (filesystem connector, ``json`` format), per-record watermarks as the jobs have
(``pipeline.auto-watermark-interval: 0``, ``WATERMARK FOR timestamp AS timestamp - bound``).

Each query's sink is either ``blackhole`` (the engine's ceiling) or JSON files, which the harness
compares with the job's outputs. Times leave SQL as strings in UTC (``2026-11-24 10:00:00.000``).
"""

from __future__ import annotations

from udfs.eventtime import interval_literal

#: columns of each input as the json format reads them; ``timestamp`` is the rowtime.
COLUMNS = {
    "activity": "user_id STRING, action STRING, `value` DOUBLE, tenant STRING, page STRING",
    "clicks": "user_id STRING, page STRING",
    "purchases": "user_id STRING, product_id BIGINT, amount DOUBLE",
    "profiles": "user_id STRING, tier STRING, country STRING",
}


def source(table: str, kind: str, path: str, bound_ms: int, primary_key: str | None = None) -> str:
    columns = (
        COLUMNS[kind].replace(f"{primary_key} STRING", f"{primary_key} STRING NOT NULL")
        if primary_key
        else COLUMNS[kind]
    )
    key = f",\n  PRIMARY KEY ({primary_key}) NOT ENFORCED" if primary_key else ""
    return f"""CREATE TEMPORARY TABLE {table} (
  {columns},
  `timestamp` TIMESTAMP_LTZ(3),
  WATERMARK FOR `timestamp` AS `timestamp` - {interval_literal(bound_ms)}{key}
) WITH ('connector' = 'filesystem', 'path' = 'file://{path}', 'format' = 'json',
        'json.timestamp-format.standard' = 'ISO-8601', 'json.fail-on-missing-field' = 'false')"""


def sink(columns: str, path: str | None) -> str:
    if path is None:
        return f"CREATE TEMPORARY TABLE results ({columns}) WITH ('connector' = 'blackhole')"
    return (
        f"CREATE TEMPORARY TABLE results ({columns}) WITH ('connector' = 'filesystem', "
        f"'path' = 'file://{path}', 'format' = 'json')"
    )


def ts(column: str) -> str:
    """A TIMESTAMP / TIMESTAMP_LTZ column as a UTC string (the session time zone is UTC)."""
    return f"CAST({column} AS STRING)"


def sessions(paths, out, bound_ms, gap_ms):
    return [
        source("events", "activity", paths["events"], bound_ms),
        sink("user_id STRING, session_start STRING, session_end STRING, window_end STRING, event_count BIGINT", out),
        f"""INSERT INTO results
SELECT user_id, {ts("MIN(`timestamp`)")}, {ts("MAX(`timestamp`)")}, {ts("window_end")}, COUNT(*)
FROM TABLE(SESSION(TABLE events PARTITION BY user_id, DESCRIPTOR(`timestamp`), {interval_literal(gap_ms)}))
GROUP BY user_id, window_start, window_end""",
    ]


def moving_average(paths, out, bound_ms, size_ms, slide_ms, key_field):
    key = f"`{key_field}`" if key_field else "CAST(NULL AS STRING)"
    return [
        source("events", "activity", paths["events"], bound_ms),
        sink("`key` STRING, window_start STRING, window_end STRING, `count` BIGINT, `sum` DOUBLE", out),
        f"""INSERT INTO results
SELECT {key}, {ts("window_start")}, {ts("window_end")}, COUNT(*), SUM(COALESCE(`value`, 0))
FROM TABLE(HOP(TABLE events, DESCRIPTOR(`timestamp`), {interval_literal(slide_ms)}, {interval_literal(size_ms)}))
GROUP BY {key + ", " if key_field else ""}window_start, window_end""",
    ]


def late_data(paths, out, bound_ms, window_ms):
    return [
        source("events", "activity", paths["events"], bound_ms),
        sink("user_id STRING, window_start STRING, window_end STRING, `count` BIGINT, `sum` DOUBLE", out),
        f"""INSERT INTO results
SELECT user_id, {ts("window_start")}, {ts("window_end")}, COUNT(*), SUM(COALESCE(`value`, 0))
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(`timestamp`), {interval_literal(window_ms)}))
GROUP BY user_id, window_start, window_end""",
    ]


def window_join(paths, out, bound_ms, window_ms):
    window = interval_literal(window_ms)
    return [
        source("clicks", "clicks", paths["clicks"], bound_ms),
        source("purchases", "purchases", paths["purchases"], bound_ms),
        sink(
            "user_id STRING, window_start STRING, click_time STRING, page STRING, purchase_time STRING, "
            "product_id BIGINT, amount DOUBLE",
            out,
        ),
        f"""INSERT INTO results
SELECT c.user_id, {ts("c.window_start")}, {ts("c.`timestamp`")}, c.page, {ts("p.`timestamp`")}, p.product_id, p.amount
FROM (SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(`timestamp`), {window}))) c
JOIN (SELECT * FROM TABLE(TUMBLE(TABLE purchases, DESCRIPTOR(`timestamp`), {window}))) p
ON c.user_id = p.user_id AND c.window_start = p.window_start AND c.window_end = p.window_end""",
    ]


def interval_join(paths, out, bound_ms, lower_ms, upper_ms):
    return [
        source("clicks", "clicks", paths["clicks"], bound_ms),
        source("purchases", "purchases", paths["purchases"], bound_ms),
        sink(
            "user_id STRING, click_time STRING, page STRING, purchase_time STRING, product_id BIGINT, amount DOUBLE",
            out,
        ),
        f"""INSERT INTO results
SELECT c.user_id, {ts("c.`timestamp`")}, c.page, {ts("p.`timestamp`")}, p.product_id, p.amount
FROM clicks c JOIN purchases p ON c.user_id = p.user_id
AND p.`timestamp` BETWEEN c.`timestamp` + {interval_literal(lower_ms)}
                      AND c.`timestamp` + {interval_literal(upper_ms)}""",
    ]


def temporal_join(paths, out, bound_ms):
    return [
        source("purchases", "purchases", paths["purchases"], bound_ms),
        # The primary key makes the insert-only profile stream a versioned table in which every
        # version counts (a deduplicating view would drop a version arriving after a later one).
        source("versions", "profiles", paths["profiles"], bound_ms, primary_key="user_id"),
        sink(
            "user_id STRING, purchase_time STRING, product_id BIGINT, amount DOUBLE, tier STRING, country STRING", out
        ),
        f"""INSERT INTO results
SELECT p.user_id, {ts("p.`timestamp`")}, p.product_id, p.amount, v.tier, v.country
FROM purchases AS p LEFT JOIN versions FOR SYSTEM_TIME AS OF p.`timestamp` AS v ON p.user_id = v.user_id""",
    ]


def event_router(paths, out, bound_ms, tenants):
    named = ", ".join(f"'{t}'" for t in tenants) or "''"
    return [
        source("events", "activity", paths["events"], bound_ms),
        sink("output STRING, user_id STRING, event_time STRING", out),
        # CURRENT_WATERMARK is the watermark before this record, as in udfs/eventtime.py.
        f"""INSERT INTO results
SELECT CASE WHEN `value` IS NULL OR `value` < 0 THEN 'errors'
            WHEN `timestamp` < CURRENT_WATERMARK(`timestamp`) THEN 'late'
            WHEN tenant IN ({named}) THEN 'tenant-' || tenant
            ELSE 'valid' END,
       user_id, {ts("`timestamp`")}
FROM events""",
    ]
