"""The jobs' own functions called directly: triggers' decisions, aggregate functions (``merge``
included), window functions, the inactivity fold, the record formatters and the options' types."""

from __future__ import annotations

import argparse
import json

import pytest
from pyflink.common import Row
from pyflink.datastream.window import GlobalWindow, TimeWindow, TriggerResult

from jobs import (
    event_router,
    global_triggers,
    inactivity_timeouts,
    interval_join,
    late_data,
    moving_average,
    sessions,
    temporal_join,
    window_join,
)
from tests.unit.contexts import TriggerContext, WindowContext
from udfs.events import ACTIVITY
from udfs.timeutil import format_time

T = 1_795_514_400_000  # 2026-11-24T10:00:00Z
END_OF_INPUT = global_triggers.END_OF_INPUT


def event(ms: int = 0, behind_watermark: bool = False, **fields) -> Row:
    """An activity event row as the bridge hands it to a job (named fields, event time ``ts``)."""
    record = {"user_id": "a", "action": "view", "timestamp": format_time(T + ms), **fields}
    values = ACTIVITY.parse(json.dumps(record))
    return Row(**dict(zip(ACTIVITY.names, values, strict=False)), behind_watermark=behind_watermark)


# --- global_triggers: parsing and each trigger's decisions ------------------------------------


@pytest.mark.parametrize(
    "text, parsed",
    [("count:3", ("count", 3)), ("time:10s", ("time", 10_000)), ("condition:purchase", ("condition", "purchase"))],
)
def test_parse_trigger(text, parsed):
    assert global_triggers.parse_trigger(text) == parsed


@pytest.mark.parametrize("text", ["count:0", "count:x", "time:0s", "time:soon", "condition:", "every:3", ""])
def test_parse_trigger_rejects_with_the_spellings(text):
    with pytest.raises(argparse.ArgumentTypeError, match=r"count:N|time trigger"):
        global_triggers.parse_trigger(text)


def test_count_trigger_fires_and_purges_every_nth_event_then_at_end_of_input():
    trigger, ctx, window = global_triggers.EveryCount(3), TriggerContext(), GlobalWindow()
    decisions = [trigger.on_element(event(i), T + i, window, ctx) for i in range(7)]
    assert decisions == [TriggerResult.CONTINUE] * 2 + [TriggerResult.FIRE_AND_PURGE] + [TriggerResult.CONTINUE] * 2 + [
        TriggerResult.FIRE_AND_PURGE,
        TriggerResult.CONTINUE,
    ]
    assert ctx.timers == {END_OF_INPUT}
    assert trigger.on_event_time(END_OF_INPUT, window, ctx) == TriggerResult.FIRE_AND_PURGE
    assert ctx.states["firing-note"].value() == {"trigger": "end_of_input", "fired_at": None}


@pytest.mark.parametrize(
    ("trigger", "fire"),
    [
        (global_triggers.EveryCount(2), lambda trigger, window, ctx: trigger.on_element(event(1), T + 1, window, ctx)),
        (
            global_triggers.OnAction("purchase"),
            lambda trigger, window, ctx: trigger.on_element(event(1, action="purchase"), T + 1, window, ctx),
        ),
        (
            global_triggers.EveryEventTime(1_000),
            lambda trigger, window, ctx: trigger.on_event_time(T + 1_000, window, ctx),
        ),
    ],
    ids=["count", "condition", "time"],
)
def test_a_key_that_has_fired_holds_no_timer_and_no_trigger_state(trigger, fire):
    """Global windows are never cleaned up by Flink: a key's state must end with its firing, or
    an endless key space grows the state forever (one end-of-input timer per key ever seen)."""
    ctx, window = TriggerContext(), GlobalWindow()
    trigger.on_element(event(0, action="view"), T, window, ctx)
    assert END_OF_INPUT in ctx.timers
    ctx.watermark = T + 1_000
    assert fire(trigger, window, ctx) == TriggerResult.FIRE_AND_PURGE
    assert ctx.timers == set()
    # The firing note is read, and cleared, by the window function (take_firing_note).
    assert all(state.value() is None for name, state in ctx.states.items() if name != "firing-note")


def test_condition_trigger_fires_with_the_action():
    trigger, ctx, window = global_triggers.OnAction("purchase"), TriggerContext(), GlobalWindow()
    assert trigger.on_element(event(0, action="view"), T, window, ctx) == TriggerResult.CONTINUE
    assert trigger.on_element(event(1, action="purchase"), T + 1, window, ctx) == TriggerResult.FIRE_AND_PURGE
    assert ctx.states["firing-note"].value() == {"trigger": "condition", "fired_at": T + 1}


def test_time_trigger_follows_the_earliest_pending_event():
    trigger, ctx, window = global_triggers.EveryEventTime(10_000), TriggerContext(), GlobalWindow()
    assert trigger.on_element(event(5_000), T + 5_000, window, ctx) == TriggerResult.CONTINUE
    assert ctx.timers == {END_OF_INPUT, T + 15_000}
    # An earlier event moves the deadline earlier; a later one leaves it.
    trigger.on_element(event(2_000), T + 2_000, window, ctx)
    trigger.on_element(event(9_000), T + 9_000, window, ctx)
    assert ctx.timers == {END_OF_INPUT, T + 12_000}
    assert trigger.on_event_time(T + 15_000, window, ctx) == TriggerResult.CONTINUE  # the moved deadline
    ctx.watermark = T + 12_000
    assert trigger.on_event_time(T + 12_000, window, ctx) == TriggerResult.FIRE_AND_PURGE
    assert ctx.states["firing-note"].value() == {"trigger": "time", "fired_at": T + 12_000}
    assert ctx.states["deadline"].value() is None and T + 12_000 not in ctx.timers


def test_time_trigger_fires_at_once_when_the_deadline_is_behind_the_watermark():
    trigger, ctx = global_triggers.EveryEventTime(1_000), TriggerContext(watermark=T + 5_000)
    assert trigger.on_element(event(0), T, GlobalWindow(), ctx) == TriggerResult.FIRE_AND_PURGE


def test_time_trigger_fired_by_the_final_watermark_is_end_of_input():
    trigger, ctx, window = global_triggers.EveryEventTime(10_000), TriggerContext(), GlobalWindow()
    trigger.on_element(event(0), T, window, ctx)
    ctx.watermark = END_OF_INPUT
    assert trigger.on_event_time(T + 10_000, window, ctx) == TriggerResult.FIRE_AND_PURGE
    assert ctx.states["firing-note"].value()["trigger"] == "end_of_input"


def test_totals_merge_with_an_empty_accumulator():
    totals = global_triggers.Totals()
    empty = totals.create_accumulator()
    full = totals.add(event(3_000, value=2.0), totals.add(event(1_000, value=1.5), empty))
    assert full == (2, 3.5, T + 1_000, T + 3_000)
    assert totals.merge(empty, full) == full == totals.merge(full, empty)
    assert totals.merge(empty, empty) == empty


# --- late_data: the noting trigger, the aggregate, numbered firings ---------------------------


def test_noting_trigger_fires_on_time_then_late_updates():
    trigger, window = late_data.NotingEventTimeTrigger(), TimeWindow(T, T + 10_000)
    ctx = TriggerContext(watermark=T)
    assert trigger.on_element(event(1_000), T + 1_000, window, ctx) == TriggerResult.CONTINUE
    assert ctx.timers == {window.max_timestamp()}
    assert trigger.on_event_time(window.max_timestamp() + 5_000, window, ctx) == TriggerResult.CONTINUE  # cleanup
    assert trigger.on_event_time(window.max_timestamp(), window, ctx) == TriggerResult.FIRE
    assert ctx.states["firing-note"].value() == {"late": False}
    ctx.watermark = T + 12_000
    assert trigger.on_element(event(2_000), T + 2_000, window, ctx) == TriggerResult.FIRE
    assert ctx.states["firing-note"].value() == {"late": True}
    trigger.clear(window, ctx)
    assert ctx.timers == set() and ctx.states["firing-note"].value() is None


def test_numbered_firings_of_one_window():
    window = WindowContext(TimeWindow(T, T + 10_000))
    function = late_data.NumberedFiring()
    window.trigger.get_partitioned_state(late_data.FIRING_NOTE).update({"late": False})
    ((first, at),) = function.process("a", window, [(2, 0.30000000000000004)])
    window.trigger.get_partitioned_state(late_data.FIRING_NOTE).update({"late": True})
    ((second, _),) = function.process("a", window, [(3, 1.3)])
    assert at == T + 9_999
    assert json.loads(first) == {
        "user_id": "a",
        "window_start": format_time(T),
        "window_end": format_time(T + 10_000),
        "count": 2,
        "sum": 0.3,
        "firing": 1,
        "late_update": False,
    }
    assert (json.loads(second)["firing"], json.loads(second)["late_update"]) == (2, True)
    function.clear(window)
    assert window.get_state(late_data.NumberedFiring.FIRINGS).value() is None


def test_late_data_count_sum_merge():
    agg = late_data.CountSum()
    a = agg.add(event(value=1.5), agg.create_accumulator())
    b = agg.add(event(), agg.create_accumulator())  # a missing value counts as 0
    assert agg.merge(a, b) == (2, 1.5) and agg.merge(agg.create_accumulator(), a) == a


# --- moving_average -------------------------------------------------------------------------


def test_moving_average_count_sum_keeps_events_per_slide_across_merges():
    agg = moving_average.CountSum(5_000)
    a = agg.add(event(1_000, value=1.0), agg.add(event(6_000, value=2.0), agg.create_accumulator()))
    b = agg.add(event(7_000, value=4.0), agg.create_accumulator())
    assert agg.merge(a, b) == (3, 7.0, {T: 1, T + 5_000: 2})
    assert agg.merge(agg.create_accumulator(), b) == b


def test_moving_average_window_record():
    ((record, at),) = moving_average.WindowResult().process(
        '"acme"', WindowContext(TimeWindow(T, T + 10_000)), [(3, 7.0, {T: 1, T + 5_000: 2})]
    )
    assert at == T + 9_999
    assert json.loads(record) == {
        "key": "acme",
        "window_start": format_time(T),
        "window_end": format_time(T + 10_000),
        "count": 3,
        "sum": 7.0,
        "avg": 2.333333333,
        "leaving": 1,
    }


# --- sessions -------------------------------------------------------------------------------


def test_session_summary_orders_events_by_time_then_action_a_missing_one_first():
    events = [event(2_000, action="c"), event(0, action="a"), event(2_000, action="b"), event(2_000, action=None)]
    ((record, at),) = sessions.SessionSummary().process("a", WindowContext(TimeWindow(T, T + 5_000)), events)
    assert at == T + 4_999
    assert json.loads(record) == {
        "user_id": "a",
        "session_start": format_time(T),
        "session_end": format_time(T + 2_000),
        "window_end": format_time(T + 5_000),
        "duration_s": 2.0,
        "event_count": 4,
        "actions": ["a", None, "b", "c"],
    }


# --- inactivity_timeouts: the fold ----------------------------------------------------------


def test_fold_orders_pending_events_and_ends_activities_at_long_gaps():
    folded = inactivity_timeouts.fold(None, 0, [4_000, 0, 9_000, 2_000], frontier=9_500, timeout_ms=3_000)
    # 0, 2, 4 s are one activity (gaps of 2 s); 9 s follows a 5 s gap: a timeout after 4 s.
    assert folded == inactivity_timeouts.Folded(timeouts=[(4_000, 3)], last=9_000, count=1, waiting=[])


def test_fold_waits_for_events_at_or_after_the_frontier():
    folded = inactivity_timeouts.fold(None, 0, [6_000, 1_000], frontier=6_000, timeout_ms=3_000)
    assert folded == inactivity_timeouts.Folded(timeouts=[(1_000, 1)], last=None, count=0, waiting=[6_000])


def test_fold_gap_of_exactly_the_timeout_is_no_timeout():
    folded = inactivity_timeouts.fold(0, 1, [3_000], frontier=5_000, timeout_ms=3_000)
    assert folded == inactivity_timeouts.Folded(timeouts=[], last=3_000, count=2, waiting=[])


def test_fold_after_the_last_event_clears_the_user():
    folded = inactivity_timeouts.fold(3_000, 2, [], frontier=6_001, timeout_ms=3_000)
    assert folded == inactivity_timeouts.Folded(timeouts=[(3_000, 2)], last=None, count=0, waiting=[])


# --- event_router ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"value": 1.0}, None),
        ({"value": 0}, None),
        ({}, "field 'value' is missing: the router needs a non-negative number"),
        ({"value": None}, "field 'value' is null: the router needs a non-negative number"),
        ({"value": -2}, "field 'value' must not be negative, got -2"),
    ],
)
def test_value_problem(fields, problem):
    assert event_router.value_problem(event(**fields)) == problem


def test_tenant_list():
    assert event_router.tenant_list("acme, globex,acme") == ("acme", "globex")
    for bad, reason in [("", "expected tenant names"), ("acme,a/b", "invalid tenant name 'a/b'")]:
        with pytest.raises(argparse.ArgumentTypeError, match=reason):
            event_router.tenant_list(bad)


# --- the joins' formatters ------------------------------------------------------------------


def test_join_records():
    click = {"user_id": "a", "page": "/p/1", "timestamp": format_time(T)}
    purchase = {"user_id": "a", "amount": 5.0, "product_id": "x", "timestamp": format_time(T + 2_000)}
    pair = Row(
        key="a",
        left_ts=T,
        left_raw=json.dumps(click),
        right_ts=T + 2_000,
        right_raw=json.dumps(purchase),
        window_start=T,
        window_end=T + 5_000,
    )
    assert json.loads(window_join.match_record(pair)) == {
        "user_id": "a",
        "window_start": format_time(T),
        "window_end": format_time(T + 5_000),
        "click": click,
        "purchase": purchase,
    }
    assert json.loads(interval_join.conversion_record(pair)) == {
        "user_id": "a",
        "click_time": format_time(T),
        "purchase_time": format_time(T + 2_000),
        "delay_s": 2.0,
        "page": "/p/1",
        "product_id": "x",
        "amount": 5.0,
    }


def test_enriched_record_with_and_without_a_profile():
    purchase = {"user_id": "a", "amount": 1.0, "timestamp": format_time(T)}
    profile = {"user_id": "a", "tier": "gold", "timestamp": format_time(T - 1)}
    with_profile = Row(key="a", left_ts=T, left_raw=json.dumps(purchase), right_ts=T - 1, right_raw=json.dumps(profile))
    without = Row(key="a", left_ts=T, left_raw=json.dumps(purchase), right_ts=None, right_raw=None)
    assert json.loads(temporal_join.enriched_record(with_profile)) == {**purchase, "profile": {"tier": "gold"}}
    assert json.loads(temporal_join.enriched_record(without)) == {**purchase, "profile": None}
