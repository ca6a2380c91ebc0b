"""One benchmark case per job: how to run it (a) as users do, (b) in Flink SQL, (c) as the seed's
simulation, and how to reduce (a)'s and (b)'s outputs to the same comparable records."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from bench import seed_baselines as seed
from bench import sql
from udfs.timeutil import parse_duration

BOUND_MS = parse_duration("1s")


def t(text) -> str:
    """A job's time (``2026-11-24T10:00:02.000Z``) or SQL's (``2026-11-24 10:00:02.000``) -> one form."""
    return str(text).replace("T", " ").rstrip("Z")


def money(x) -> float | None:
    return None if x is None else round(float(x), 4)


@dataclass(frozen=True)
class Case:
    job: str
    dataset: str  # bench.data.DATASETS
    argv: tuple[str, ...]  # the job's own options (inputs, sink and --out-of-orderness are added)
    inputs: dict[str, str]  # job input option -> file of the dataset
    sql: Callable | None = None  # (paths by input name, out dir | None) -> statements
    sql_inputs: dict[str, str] = field(default_factory=dict)  # sql table -> file of the dataset
    job_rows: Callable | None = None  # job outputs -> comparable tuples
    sql_rows: Callable | None = None  # SQL result rows -> comparable tuples
    seed: Callable | None = None  # parsed inputs -> result count
    seed_inputs: dict[str, str] = field(default_factory=dict)
    seed_max_events: int | None = None  # the seed's simulation is superlinear beyond this
    note: str = ""


CASES = {
    "sessions": Case(
        "sessions",
        "activity",
        ("--gap", "5min"),
        {"--input": "activity"},
        sql=lambda p, out: sql.sessions(p, out, BOUND_MS, parse_duration("5min")),
        sql_inputs={"events": "activity"},
        job_rows=lambda o: [
            (s["user_id"], t(s["session_start"]), t(s["session_end"]), t(s["window_end"]), s["event_count"])
            for s in o["sessions"]
        ],
        sql_rows=lambda rows: [
            (r["user_id"], t(r["session_start"]), t(r["session_end"]), t(r["window_end"]), r["event_count"])
            for r in rows
        ],
        seed=lambda i: seed.run_sessions(i, gap_seconds=300),
        seed_inputs={"events": "activity"},
    ),
    "moving_average": Case(
        "moving_average",
        "activity",
        ("--size", "10s", "--slide", "5s", "--key-field", "user_id"),
        {"--input": "activity"},
        sql=lambda p, out: sql.moving_average(p, out, BOUND_MS, 10_000, 5_000, "user_id"),
        sql_inputs={"events": "activity"},
        job_rows=lambda o: [
            (w["key"], t(w["window_start"]), t(w["window_end"]), w["count"], money(w["sum"])) for w in o["windows"]
        ],
        sql_rows=lambda rows: [
            (r["key"], t(r["window_start"]), t(r["window_end"]), r["count"], money(r["sum"])) for r in rows
        ],
        seed=lambda i: seed.run_sliding(i, 10, 5, "user_id"),
        seed_inputs={"events": "activity"},
        seed_max_events=100_000,
        note="seed: one SlidingWindowProcessor per key; it rescans the key's events for every window",
    ),
    "late_data": Case(
        "late_data",
        "activity",
        ("--window", "10s"),
        {"--input": "activity"},
        sql=lambda p, out: sql.late_data(p, out, BOUND_MS, 10_000),
        sql_inputs={"events": "activity"},
        job_rows=lambda o: [
            (w["user_id"], t(w["window_start"]), t(w["window_end"]), w["count"], money(w["sum"])) for w in o["windows"]
        ],
        sql_rows=lambda rows: [
            (r["user_id"], t(r["window_start"]), t(r["window_end"]), r["count"], money(r["sum"])) for r in rows
        ],
        seed=lambda i: seed.run_late_data(i, 1),
        seed_inputs={"events": "activity"},
        note="seed: WatermarkGenerator classifying each event (the seed has no window code for this section)",
    ),
    "window_join": Case(
        "window_join",
        "clicks_purchases",
        ("--window", "5s"),
        {"--clicks": "clicks", "--purchases": "purchases"},
        sql=lambda p, out: sql.window_join(p, out, BOUND_MS, 5_000),
        sql_inputs={"clicks": "clicks", "purchases": "purchases"},
        job_rows=lambda o: [
            (
                m["user_id"],
                t(m["window_start"]),
                t(m["click"]["timestamp"]),
                m["click"].get("page"),
                t(m["purchase"]["timestamp"]),
                m["purchase"].get("product_id"),
                money(m["purchase"]["amount"]),
            )
            for m in o["matches"]
        ],
        sql_rows=lambda rows: [
            (
                r["user_id"],
                t(r["window_start"]),
                t(r["click_time"]),
                r["page"],
                t(r["purchase_time"]),
                r["product_id"],
                money(r["amount"]),
            )
            for r in rows
        ],
        seed=lambda i: seed.run_window_join(i, 5),
        seed_inputs={"clicks": "clicks", "purchases": "purchases"},
    ),
    "interval_join": Case(
        "interval_join",
        "clicks_purchases",
        ("--lower", "0s", "--upper", "1min"),
        {"--clicks": "clicks", "--purchases": "purchases"},
        sql=lambda p, out: sql.interval_join(p, out, BOUND_MS, 0, 60_000),
        sql_inputs={"clicks": "clicks", "purchases": "purchases"},
        job_rows=lambda o: [
            (
                c["user_id"],
                t(c["click_time"]),
                c.get("page"),
                t(c["purchase_time"]),
                c.get("product_id"),
                money(c["amount"]),
            )
            for c in o["conversions"]
        ],
        sql_rows=lambda rows: [
            (r["user_id"], t(r["click_time"]), r["page"], t(r["purchase_time"]), r["product_id"], money(r["amount"]))
            for r in rows
        ],
        note="upper bound 1min instead of the default 1h: 1h gives ~30 matches per purchase at 10 k keys",
    ),
    "temporal_join": Case(
        "temporal_join",
        "purchases_profiles",
        (),
        {"--purchases": "purchases", "--profiles": "profiles"},
        sql=lambda p, out: sql.temporal_join(p, out, BOUND_MS),
        sql_inputs={"purchases": "purchases", "profiles": "profiles"},
        job_rows=lambda o: [
            (
                e["user_id"],
                t(e["timestamp"]),
                e.get("product_id"),
                money(e["amount"]),
                (e.get("profile") or {}).get("tier"),
                (e.get("profile") or {}).get("country"),
            )
            for e in o["enriched"]
        ],
        sql_rows=lambda rows: [
            (r["user_id"], t(r["purchase_time"]), r["product_id"], money(r["amount"]), r["tier"], r["country"])
            for r in rows
        ],
    ),
    "inactivity_timeouts": Case(
        "inactivity_timeouts",
        "activity",
        ("--timeout", "3s"),
        {"--input": "activity"},
        seed=lambda i: seed.run_timeouts(i, 3),
        seed_inputs={"events": "activity"},
        seed_max_events=100_000,
        note="no SQL equivalent (MATCH_RECOGNIZE could express it; not benchmarked)",
    ),
    "global_triggers": Case(
        "global_triggers",
        "activity",
        ("--trigger", "count:100"),
        {"--input": "activity"},
        note="no SQL equivalent (custom triggers), no seed code (the seed only describes global windows)",
    ),
    "event_router": Case(
        "event_router",
        "activity",
        ("--tenants", "acme,globex"),
        {"--input": "activity"},
        sql=lambda p, out: sql.event_router(p, out, BOUND_MS, ["acme", "globex"]),
        sql_inputs={"events": "activity"},
        job_rows=lambda o: [
            (name, r["user_id"], t(r["timestamp"]))
            for name, records in o.items()
            for r in (records if name != "errors" else [json.loads(e["raw"]) for e in records])
        ],
        sql_rows=lambda rows: [(r["output"], r["user_id"], t(r["event_time"])) for r in rows],
        seed=lambda i: seed.run_router(i, 1),
        seed_inputs={"events": "activity"},
    ),
}
