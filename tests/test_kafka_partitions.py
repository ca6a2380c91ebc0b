"""A watermark per Kafka partition, inside the reader (docs/event-time.md, "Kafka partitions").

Production topics have more partitions than a job has readers. Each partition here is in
event-time order within the job's bound, but the partitions lie far apart in event time (one is
hours behind the others), as after a producer outage. The source keeps one watermark per partition
and a reader emits the minimum over its partitions, so no record is late at any parallelism, however
the reader interleaves its partitions, and the outputs equal those of one file of the same events
in event-time order. A watermark per reader after parsing (the project's source before) made the
lagging partition's records late, as many as the interleaving happened to put behind.
"""

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from jobs import sessions
from runner.cli import run_command
from runner.outputs import read_file_outputs
from tests.harness import assert_same_records, run_job
from tests.pictures import having, svg_of
from tests.unbounded import checkpoints_later, completed_checkpoints, start_unbounded, stop, wait
from tools.browser import chromium
from tools.kafka_broker import append, committed_offsets, end_offsets, free_port, produce, read_topic
from udfs.timeutil import format_time, parse_event_time

PARTITIONS = 8
GAP = ["--gap", "3s"]  # the bound stays the default 5 s
T0 = parse_event_time("2026-11-24T10:00:00Z")
HOURS_BEHIND = 3


def partition_events(partition: int) -> list[str]:
    """Three users, each with two sessions (a 10 s pause), one event a second, pairs swapped (1 s
    out of order, within the bound); partition 0 lies hours before the others, which lie 10 min
    apart."""
    start = T0 - HOURS_BEHIND * 3_600_000 if partition == 0 else T0 + partition * 600_000
    seconds = [s for s in range(60) if not 20 <= s < 30]
    for i in range(0, len(seconds) - 1, 2):
        seconds[i], seconds[i + 1] = seconds[i + 1], seconds[i]
    return [
        json.dumps({"user_id": f"p{partition}-u{user}", "action": "view", "timestamp": format_time(start + s * 1000)})
        for s in seconds
        for user in range(3)
    ]


EVENTS = {p: partition_events(p) for p in range(PARTITIONS)}
#: The same events in one file, in event-time order: no record is late.
IN_ORDER = sorted((line for lines in EVENTS.values() for line in lines), key=lambda line: json.loads(line)["timestamp"])


def produce_partitions(bootstrap: str, topic: str, events: dict[int, list[str]], partitions: int = PARTITIONS) -> None:
    # Written partition by partition, the lagging one last: a reader sees whichever it polls first.
    order = [p for p in sorted(events) if p != 0] + [0]
    lines = [(p, line) for p in order for line in events[p]]
    produce(bootstrap, topic, [line for _, line in lines], partitions=partitions, partition_of=lambda i, _: lines[i][0])


@pytest.fixture(scope="module")
def lagging_topic(kafka_bootstrap):
    topic = f"lagging-{uuid.uuid4().hex[:8]}"
    produce_partitions(kafka_bootstrap, topic, EVENTS)
    return topic


def test_the_file_of_the_same_events_has_no_late_record():
    expected = run_job(sessions.JOB, GAP, events=IN_ORDER)
    assert expected["late"] == [] and len(expected["sessions"]) == 2 * 3 * PARTITIONS


@pytest.mark.parametrize("parallelism", [1, 1, 2, 4])
def test_a_partition_hours_behind_is_not_late_at_any_parallelism(kafka_bootstrap, lagging_topic, parallelism, tmp_path):
    argv = [*GAP, "--source", "kafka", "--topic", lagging_topic, "--bootstrap-servers", kafka_bootstrap, "--bounded"]
    argv += ["--parallelism", str(parallelism), "--group-id", f"lagging-{uuid.uuid4().hex[:8]}"]
    assert run_command(sessions.JOB, [*argv, "--sink", "file", "--output", str(tmp_path / "out")]) == 0
    got = read_file_outputs(tmp_path / "out", ["sessions", "late", "errors"])
    assert got["late"] == [], f"{len(got['late'])} records late at parallelism {parallelism}"
    assert_same_records(got, run_job(sessions.JOB, GAP, events=IN_ORDER))


# --- an idle partition --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idle_partition_topic(kafka_bootstrap):
    """Two partitions, all events in partition 0: partition 1 is idle."""
    topic = f"idle-{uuid.uuid4().hex[:8]}"
    produce_partitions(kafka_bootstrap, topic, {0: EVENTS[1], 1: []})
    return topic


def test_without_idleness_an_idle_partition_holds_every_session_back(kafka_bootstrap, idle_partition_topic):
    prefix = f"stalled-{uuid.uuid4().hex[:8]}"
    job = start_unbounded("sessions", kafka_bootstrap, idle_partition_topic, prefix, *GAP)
    try:
        ends = end_offsets(kafka_bootstrap, idle_partition_topic)
        # Checkpoints commit the source's offsets: every record has been read, and checkpoints
        # completed after that flushed whatever the job had emitted to the sink.
        wait(
            lambda: committed_offsets(kafka_bootstrap, prefix, idle_partition_topic).get(0) == ends[0],
            job,
            180,
            "the job did not read its input",
        )
        first = committed_offsets(kafka_bootstrap, prefix, idle_partition_topic)
        assert read_topic(kafka_bootstrap, f"{prefix}.sessions") == []
    finally:
        err = stop(job)
    assert first == {0: ends[0], 1: 0} or first == {0: ends[0]}, first
    assert err.rstrip().splitlines()[-1] == "python -m jobs.sessions: terminated: the job was cancelled", err


def test_with_idleness_the_sessions_appear_while_a_partition_is_idle(kafka_bootstrap, idle_partition_topic):
    prefix = f"idle-{uuid.uuid4().hex[:8]}"
    job = start_unbounded("sessions", kafka_bootstrap, idle_partition_topic, prefix, *GAP, "--idleness", "1s")
    try:
        closed = wait(
            lambda: read_topic(kafka_bootstrap, f"{prefix}.sessions"), job, 180, "no session reached the output"
        )
    finally:
        stop(job)
    # The watermark follows partition 0 alone: every session that ended a gap before its last
    # event, the first session of each user, is out; the last ones wait for more data.
    expected = run_job(sessions.JOB, GAP, events=EVENTS[1])["sessions"]
    firsts = sorted((s for s in expected if s["session_start"].endswith("10:10:00.000Z")), key=str)
    assert sorted((json.loads(r) for r in closed), key=str) == firsts


# --- watermark alignment ------------------------------------------------------------------------

#: Records in each fast partition: more than a reader takes in before its first alignment report.
FAST_RECORDS = 50_000


@pytest.fixture(scope="module")
def catch_up_topic(kafka_bootstrap):
    """A backlog after an outage, on 4 partitions: partition 0 one hour behind (and, here, no
    further records), the three others far ahead with many records each."""
    topic = f"catch-up-{uuid.uuid4().hex[:8]}"

    def events(partition: int, count: int, start: int) -> list[str]:
        return [
            json.dumps({"user_id": f"p{partition}-u{i % 50}", "timestamp": format_time(start + i * 10)})
            for i in range(count)
        ]

    produce_partitions(
        kafka_bootstrap,
        topic,
        {0: events(0, 100, T0 - 3_600_000), **{p: events(p, FAST_RECORDS, T0) for p in (1, 2, 3)}},
        partitions=4,  # none empty: an empty partition would hold every watermark back, aligned or not
    )
    return topic


def consumed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets the job's source committed, at its latest completed checkpoint."""
    return committed_offsets(bootstrap, group, topic)


def read_to_the_end(committed: dict[int, int], ends: dict[int, int]) -> bool:
    """Whether every partition was read to its end (an empty partition never gets a commit)."""
    return all(committed.get(p, 0) >= end for p, end in ends.items())


@pytest.mark.parametrize("drift", [None, "1min"])
def test_alignment_pauses_the_partitions_that_run_ahead(kafka_bootstrap, catch_up_topic, drift):
    """With ``--max-watermark-drift 1min`` the partitions an hour ahead of partition 0 are paused
    once the readers have reported their watermarks: after partition 0 has been read to its end
    they stand still, short of theirs, checkpoint after checkpoint, and are read on only when
    partition 0 moves on. Without the option every partition is read to its end at once. Neither run makes a
    record late: the watermarks are per partition either way."""
    group, port = f"align-{uuid.uuid4().hex[:8]}", free_port()
    # The JVM window build keeps up with the source, so checkpoints are not held up behind a
    # backlog of records in the network buffers.
    options = ["--build", "jvm", "--metrics-port", str(port)]
    job = start_unbounded(
        "sessions",
        kafka_bootstrap,
        catch_up_topic,
        group,
        *GAP,
        *options,
        *(["--max-watermark-drift", drift] if drift else []),
    )
    try:
        ends = end_offsets(kafka_bootstrap, catch_up_topic)
        wait(lambda: consumed(kafka_bootstrap, group, catch_up_topic).get(0) == ends[0], job, 180, "no read")
        if drift:
            # A reader reads ahead until its first alignment report (every second), then the
            # partitions an hour ahead stand still, checkpoint after checkpoint, short of their ends.
            checkpoints_later(port, job, 3)
            held = consumed(kafka_bootstrap, group, catch_up_topic)
            checkpoints_later(port, job, 3)
            assert consumed(kafka_bootstrap, group, catch_up_topic) == held
            assert all(held.get(p, 0) < ends[p] for p in (1, 2, 3)), (held, ends)
            # Partition 0 catches up past the others: they are resumed and read to their ends.
            later = [json.dumps({"user_id": "p0-u0", "timestamp": format_time(T0 + 3_600_000)})]
            append(kafka_bootstrap, catch_up_topic, later, partition_of=lambda i, record: 0)
            ends = end_offsets(kafka_bootstrap, catch_up_topic)
        wait(lambda: read_to_the_end(consumed(kafka_bootstrap, group, catch_up_topic), ends), job, 180, "no read")
        flushed = completed_checkpoints(port) + 1  # the sinks flush on checkpoints
        wait(lambda: completed_checkpoints(port) >= flushed, job, 120, "no checkpoint after the input was read")
        late = read_topic(kafka_bootstrap, f"{group}.late")
    finally:
        stop(job)
    assert late == [], f"{len(late)} late records"


# --- the picture of a lagging partition (docs/event-time.md) ------------------------------------

LAGGING_PICTURE = Path(__file__).resolve().parent.parent / "docs" / "images" / "timeline-lagging-partition.png"


def test_the_timeline_of_a_lagging_partition(kafka_bootstrap, tmp_path):
    """``--timeline`` of one user whose events a producer spread over two partitions, one two
    minutes behind the other (docs/event-time.md's picture): whichever partition the reader
    fetches first, no record arrives behind the watermark and none is late, and the sessions are
    those of the same events in one file, in event-time order."""

    def user_u0(partition: int, shift_ms: int) -> list[str]:
        """Partition ``partition``'s first user as ``u0``, its event times moved by ``shift_ms``."""
        records = [json.loads(line) for line in partition_events(partition)]
        return [
            json.dumps({**r, "user_id": "u0", "timestamp": format_time(parse_event_time(r["timestamp"]) + shift_ms)})
            for r in records
            if r["user_id"] == f"p{partition}-u0"
        ]

    # Partition 0 from 07:00:00, partition 1 from 07:02:00 (partition_events puts them 3 h 10 min apart).
    two_minutes = {0: user_u0(0, 0), 1: user_u0(1, -(HOURS_BEHIND * 3_600_000 + 480_000))}
    topic = f"two-minutes-{uuid.uuid4().hex[:8]}"
    produce_partitions(kafka_bootstrap, topic, two_minutes, partitions=2)
    page = tmp_path / "lagging.html"
    argv = [*GAP, "--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap, "--bounded"]
    argv += ["--group-id", f"picture-{uuid.uuid4().hex[:8]}", "--sink", "file", "--output", str(tmp_path / "out")]
    assert run_command(sessions.JOB, [*argv, "--timeline", str(page)]) == 0
    (lane,) = having(svg_of(page.read_text()), "lane")
    assert lane.get("data-key") == "u0" and lane.get("data-late") == "0"
    assert len(having(lane, "event")) == 100 and not having(lane, "behind") and not having(lane, "late")
    in_order = sorted(two_minutes[0] + two_minutes[1], key=lambda line: json.loads(line)["timestamp"])
    assert_same_records(
        read_file_outputs(tmp_path / "out", ["sessions", "late", "errors"]), run_job(sessions.JOB, GAP, events=in_order)
    )
    if shutil.which("chromium") is None:  # the test's own assertions hold without the picture
        return
    shot = tmp_path / "lagging.png"
    chromium(f"--screenshot={shot}", "--window-size=1240,900", page.as_uri(), cwd=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_TIMELINE_SCREENSHOT"):  # docs/event-time.md's picture
        shutil.copyfile(shot, LAGGING_PICTURE)
