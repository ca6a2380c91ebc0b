"""The benchmark's comparison of a peer stream processor with a job (bench/peers/compare.py):
the reduction to comparable tuples and the attribution of every difference to a cause. Needs
neither the optional ``bench`` group (Bytewax, Quix Streams) nor a JVM."""

import json

from bench.cases import CASES
from bench.data import BASE_MS, iso
from bench.peers import GAP_MS
from bench.peers.common import late_record, session_record, tumbling_record, window_record
from bench.peers.compare import behind_watermark, compare, ms, summary

T = BASE_MS  # 2026-11-24T10:00:00Z


def line(user: str, t: int) -> str:
    return json.dumps({"user_id": user, "value": 1.0, "timestamp": iso(t)})


def test_ms_reads_the_job_and_sql_forms_alike():
    assert ms("2026-11-24T10:00:02.000Z") == ms("2026-11-24 10:00:02.000") == T + 2_000


def test_behind_watermark_is_one_readers_max_minus_the_bound_in_file_order():
    lines = [line("a", T), line("b", T + 5_000), line("a", T + 4_500), line("c", T + 3_000), "", line("a", T + 6_000)]
    # watermark after b: T + 4 s; a at T + 4.5 s is on time, c at T + 3 s is behind it
    assert behind_watermark(lines, 1_000) == {"c": [T + 3_000]}


def rows(job: str, records: list[dict]) -> list[tuple]:
    output = "sessions" if job == "sessions" else "windows"
    reduce = CASES[job].job_rows
    assert reduce is not None
    return reduce({output: records})


def test_a_peers_records_reduce_to_the_jobs_tuples():
    job = {"key": "a", "window_start": iso(T), "window_end": iso(T + 10_000), "count": 2, "sum": 3.0, "leaving": 1}
    assert rows("moving_average", [job]) == rows("moving_average", [window_record("a", T, T + 10_000, 2, 3.0)])
    session = {
        "user_id": "a",
        "session_start": iso(T),
        "session_end": iso(T + 60_000),
        "window_end": iso(T + 60_000 + GAP_MS),
        "event_count": 4,
    }
    assert rows("sessions", [session]) == rows("sessions", [session_record("a", T, T + 60_000, 4)])
    tumbling = {
        "user_id": "a",
        "window_start": iso(T),
        "window_end": iso(T + 10_000),
        "count": 2,
        "sum": 3.0,
        "firing": 1,
        "late_update": False,
    }
    assert tumbling_record("a", T, T + 10_000, 2, 3.0) == tumbling  # a job record, firing included


def test_a_late_data_late_record_is_the_event_and_the_window_end_it_missed():
    event = {"user_id": "a", "value": 1.0, "timestamp": iso(T + 12_345)}
    assert late_record(event, 10_000) == {**event, "window_end": iso(T + 20_000)}


def test_equal_outputs_have_no_causes():
    same = rows("moving_average", [window_record("a", T, T + 10_000, 1, 1.0)])
    check = compare("moving_average", same, list(same), {})
    assert check["same"] and check["causes"] == {} and summary(check) == "equal"


def test_each_difference_gets_its_cause_with_counts():
    job = rows(
        "moving_average",
        [
            window_record("a", T, T + 10_000, 2, 2.0),  # a late event of a counts here in the peer
            window_record("b", T, T + 10_000, 1, 1.0),
        ],
    )
    peer = rows(
        "moving_average",
        [
            window_record("a", T, T + 10_000, 3, 3.0),
            window_record("b", T + 1_000, T + 11_000, 1, 1.0),  # not on the 5 s grid
            window_record("c", T, T + 10_000, 1, 1.0),  # nothing explains it
        ],
    )
    check = compare("moving_average", job, peer, {"a": [T + 2_000]})
    assert not check["same"]
    assert check["only_in_job"] == 2 and check["only_in_peer"] == 3
    assert check["causes"] == {
        "late handling": {"only_in_job": 1, "only_in_peer": 1, "keys": 1},
        "other": {"only_in_job": 1, "only_in_peer": 1, "keys": 2},
        "window alignment": {"only_in_job": 0, "only_in_peer": 1, "keys": 1},
    }
    assert summary(check) == "differs: 1 window alignment, 2 late handling, 2 other"


def test_sessions_late_event_kept_by_both_in_different_sessions_is_session_closing():
    late = {"a": [T + 400_000]}
    # the job had fired a's session (last event T + 100 s) and put the late event in a new one;
    # the peer extended the open session
    job = rows("sessions", [session_record("a", T, T + 100_000, 2), session_record("a", T + 400_000, T + 400_000, 1)])
    peer = rows("sessions", [session_record("a", T, T + 400_000, 3)])
    check = compare("sessions", job, peer, late)
    assert check["causes"] == {"session closing": {"only_in_job": 2, "only_in_peer": 1, "keys": 1}}
    # the same difference where one side reported the event late is late handling
    dropped = compare("sessions", job, peer, late, peer_late=[("a", T + 400_000)])
    assert set(dropped["causes"]) == {"late handling"}
