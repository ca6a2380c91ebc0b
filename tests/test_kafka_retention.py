"""Record timestamps against Kafka's retention, on a broker of its own that runs its retention check
every second (Kafka's default is every 5 minutes).

The sinks write each record's event time as its Kafka timestamp, and Kafka deletes a segment whose
newest timestamp is older than the topic's ``retention.ms`` at its next check. These tests replay
events dated 2013: on the project's brokers (tools/kafka_broker.py's ``BROKER_SETTINGS``) the
committed output outlives several checks, whatever today's date; on a topic with Kafka's default
retention (7 days, what a production topic has) the run warns once per topic, counts the records
in its summary, and the broker deletes them when its own clock says so, which is what every test
broker did to the suite's output once the fixtures were a week old.
"""

import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from jobs import sessions
from runner.cli import run_command
from tests.harness import assert_same_records, run_job
from tools.kafka_broker import KafkaBroker, produce, read_topic
from udfs.timeutil import parse_event_time

SAMPLE = (Path(__file__).resolve().parent.parent / "samples" / "activity.jsonl").read_text().splitlines()
#: Kafka's own default ``log.retention.hours=168``, as a topic created without settings has it.
KAFKA_DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000
OUTPUTS = ("sessions", "late", "errors")
#: The sample's day, 24 November 2026, replayed as the same day of 2013.
SHIFT_MS = parse_event_time("2026-11-24T00:00:00Z") - parse_event_time("2013-11-24T00:00:00Z")
CLEANUP_DONE = "Log cleanup completed."


def dated_2013(line: str) -> str:
    """The sample line with its event time 13 years earlier (ISO strings and epoch milliseconds
    alike); a line that is not a valid event stays as it is, and still ends in ``errors``."""
    try:
        event = json.loads(line)
        ms = parse_event_time(event["timestamp"])
    except (ValueError, TypeError, KeyError):
        return line
    stamp = event["timestamp"]
    event["timestamp"] = stamp - SHIFT_MS if isinstance(stamp, int) else stamp.replace("2026-11-24", "2013-11-24", 1)
    assert parse_event_time(event["timestamp"]) == ms - SHIFT_MS, line
    return json.dumps(event)


REPLAY = [dated_2013(line) for line in SAMPLE]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """A broker as the project configures it, but checking retention every second and logging
    each check (``Log cleanup completed.``), so a test can wait for checks instead of sleeping."""
    broker = KafkaBroker(
        tmp_path_factory.mktemp("kafka-retention"),
        settings={"log.retention.check.interval.ms": "1000"},
        log_levels={"kafka.log.LogManager": "DEBUG"},
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def retention_checks(broker: KafkaBroker) -> int:
    return broker.log.read_text(errors="replace").count(CLEANUP_DONE)


def wait_for_retention_checks(broker: KafkaBroker, count: int, timeout: float = 60) -> None:
    """Until the broker has completed ``count`` more retention checks (it runs one a second)."""
    target, deadline = retention_checks(broker) + count, time.monotonic() + timeout
    while retention_checks(broker) < target:
        assert time.monotonic() < deadline, f"the broker completed no {count} retention checks in {timeout:.0f}s"
        time.sleep(0.2)  # polling the broker's log, not a timing assumption


def replay(broker: KafkaBroker, prefix: str, capsys) -> str:
    """The 2013 replay through Kafka, exactly-once, into topics ``<prefix>.<output>``: stderr."""
    topic = f"replay-{uuid.uuid4().hex[:8]}"
    produce(broker.bootstrap_servers, topic, REPLAY)
    argv = [
        *("--gap", "3s", "--source", "kafka", "--topic", topic, "--bounded"),
        *("--bootstrap-servers", broker.bootstrap_servers, "--sink", "kafka", "--output-topic-prefix", prefix),
        *("--delivery-guarantee", "exactly-once", "--checkpoint-interval", "1s"),
    ]
    capsys.readouterr()
    assert run_command(sessions.JOB, argv) == 0
    return capsys.readouterr().err


def canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True)


def outputs(broker: KafkaBroker, prefix: str) -> dict[str, list[dict]]:
    return {o: [json.loads(r) for r in read_topic(broker.bootstrap_servers, f"{prefix}.{o}")] for o in OUTPUTS}


def test_the_replay_is_dated_2013_and_the_in_memory_run_accounts_for_it():
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=REPLAY)
    starts = [parse_event_time(s["session_start"]) for s in expected["sessions"]]
    assert starts and max(starts) < parse_event_time("2014-01-01T00:00:00Z")
    assert sessions.JOB.accounted(expected) == len(REPLAY)


def test_output_dated_2013_outlives_the_brokers_retention_checks(broker, capsys):
    prefix = f"kept-{uuid.uuid4().hex[:8]}"
    err = replay(broker, prefix, capsys)
    assert "warning" not in err and "past retention" not in err, err

    wait_for_retention_checks(broker, 3)
    got = outputs(broker, prefix)
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=REPLAY)
    assert_same_records(got, expected)
    assert sessions.JOB.accounted(got) == len(REPLAY)
    assert "due to log retention" not in broker.log.read_text(errors="replace")


def test_a_replay_to_a_topic_with_kafkas_default_retention_is_warned_of_and_counted(broker, capsys):
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    prefix = f"week-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        week = {"retention.ms": str(KAFKA_DEFAULT_RETENTION_MS)}
        admin.create_topics([NewTopic(f"{prefix}.{o}", 1, 1, topic_configs=week) for o in OUTPUTS])
    finally:
        admin.close()

    err = replay(broker, prefix, capsys)

    expected = run_job(sessions.JOB, ["--gap", "3s"], events=REPLAY)
    # Sessions and late records carry their 2013 event time; errors have none (the broker's clock).
    past = {o: len(expected[o]) for o in ("sessions", "late")}
    assert all(past.values())
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert sorted(warnings) == [
        f"python -m jobs.sessions: warning: output {o!r} writes records whose event time is older than topic "
        f"'{prefix}.{o}' keeps them (retention.ms={KAFKA_DEFAULT_RETENTION_MS}, 7d): Kafka deletes them at its "
        f"next retention check. To keep them: kafka-configs.sh --bootstrap-server {broker.bootstrap_servers} "
        f"--alter --entity-type topics --entity-name {prefix}.{o} --add-config retention.ms=-1 "
        "(or message.timestamp.type=LogAppendTime); docs/kafka-and-cluster.md"
        for o in sorted(past)
    ]
    assert re.search(
        rf"\n  past retention  {sum(past.values())} \(sessions {past['sessions']}, late {past['late']}\): ", err
    ), err

    # When the broker deletes them is its own affair: it deletes a segment once its newest record
    # (a transaction's commit marker included, stamped with the broker's clock) is past retention, so
    # some, all or none may be gone by now. What is left is the job's output, each record once.
    got = outputs(broker, prefix)
    for o in past:
        left, wanted = Counter(map(canonical, got[o])), Counter(map(canonical, expected[o]))
        assert not left - wanted, f"{o}: {sum((left - wanted).values())} records the run did not produce or wrote twice"
    assert len(got["errors"]) == len(expected["errors"])  # stamped now: kept
