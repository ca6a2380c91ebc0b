"""Kafka source and sink (udfs/kafka.py) against a real broker (the session's ``kafka_bootstrap``),
the load generator, and the fail-fast checks. A job reading and writing Kafka must give exactly
what the same job gives on the same records in memory (tests/harness.py, itself checked against
brute-force references), with every input record accounted for."""

import base64
import importlib
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from jobs import sessions
from runner.cli import parse, run_command
from runner.errors import OptionError
from runner.run import run
from tests.harness import assert_same_records, run_job
from tools import loadgen
from tools.kafka_broker import free_port, produce, random_cluster_id, read_topic, read_topic_timestamped
from tools.processes import child_env
from udfs.events import ACTIVITY, InvalidRecord
from udfs.timeutil import parse_event_time

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (Path(__file__).resolve().parent.parent / "samples" / "activity.jsonl").read_text().splitlines()


def unique(name: str) -> str:
    """Topics are unique per test, so a shared or external broker needs no cleaning."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def kafka_outputs(bootstrap: str, prefix: str, outputs=("sessions", "late", "errors")) -> dict[str, list[dict]]:
    return {o: [json.loads(r) for r in read_topic(bootstrap, f"{prefix}.{o}")] for o in outputs}


@pytest.mark.parametrize("guarantee", ["at-least-once", "exactly-once"])
def test_job_through_kafka_equals_the_in_memory_result(kafka_bootstrap, guarantee, capsys):
    # The bundled sample has out-of-order, late and invalid records; one partition keeps the
    # arrival order, so watermarks (and thus late records) are the same as in memory.
    topic, prefix = unique("activity"), unique("sessions")
    produce(kafka_bootstrap, topic, SAMPLE)
    argv = ["--gap", "3s"]
    kafka = [
        "--source",
        "kafka",
        "--topic",
        topic,
        "--bounded",
        "--bootstrap-servers",
        kafka_bootstrap,
        "--sink",
        "kafka",
        "--output-topic-prefix",
        prefix,
        "--delivery-guarantee",
        guarantee,
    ]
    if guarantee == "exactly-once":
        kafka += ["--checkpoint-interval", "1s"]

    assert run_command(sessions.JOB, [*argv, *kafka]) == 0
    summary = capsys.readouterr().err

    out = kafka_outputs(kafka_bootstrap, prefix)
    expected = run_job(sessions.JOB, argv, events=SAMPLE)
    assert_same_records(out, expected)
    assert len(out["errors"]) == 10 and out["late"]  # bad records reached errors, the job went on
    assert sessions.JOB.accounted(out) == len(SAMPLE)
    # The run ends with the records each output wrote, as a file run does.
    for output, records in out.items():
        assert f"\n  {output:<15} {len(records)}\n" in summary, summary


def test_loadgen_is_reproducible_and_readable_by_the_jobs(kafka_bootstrap):
    prefix_a, prefix_b = unique("lg") + ".", unique("lg") + "."
    common = [
        "--bootstrap-servers",
        kafka_bootstrap,
        "--stream",
        "activity,clicks",
        "--events",
        "400",
        "--late-fraction",
        "0.05",
        "--invalid-fraction",
        "0.05",
        "--seed",
        "11",
        "--users",
        "5",
        "--progress",
        "off",
    ]
    assert loadgen.main([*common, "--topic-prefix", prefix_a]) == 0
    assert loadgen.main([*common, "--topic-prefix", prefix_b]) == 0

    activity = read_topic(kafka_bootstrap, prefix_a + "activity")
    assert activity == read_topic(kafka_bootstrap, prefix_b + "activity")
    assert activity == list(
        loadgen.generate("activity", 400, seed=11, users=5, late_fraction=0.05, invalid_fraction=0.05)
    )
    assert len(read_topic(kafka_bootstrap, prefix_a + "clicks")) == 400

    out_prefix = unique("lg-sessions")
    assert (
        run_command(
            sessions.JOB,
            [
                "--source",
                "kafka",
                "--topic",
                prefix_a + "activity",
                "--bounded",
                "--bootstrap-servers",
                kafka_bootstrap,
                "--sink",
                "kafka",
                "--output-topic-prefix",
                out_prefix,
                "--gap",
                "3s",
            ],
        )
        == 0
    )
    out = kafka_outputs(kafka_bootstrap, out_prefix)
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=activity)
    assert_same_records(out, expected)
    assert out["errors"] and out["late"]
    assert sessions.JOB.accounted(out) == 400


def test_loadgen_fractions_and_out_of_orderness():
    from udfs.events import ACTIVITY, InvalidRecord

    records = list(
        loadgen.generate("activity", 5_000, seed=3, out_of_orderness_ms=2_000, late_fraction=0.0, invalid_fraction=0.1)
    )
    parsed, invalid = [], 0
    for r in records:
        try:
            parsed.append(ACTIVITY.parse(r)[ACTIVITY.names.index("ts")])
        except InvalidRecord:
            invalid += 1
    assert len(records) == 5_000 and 400 < invalid < 600
    # No late fraction: every event arrives within the bound of the largest time seen before it.
    high = max_lag = 0
    for ts in parsed:
        max_lag, high = max(max_lag, high - ts), max(high, ts)
    assert 0 < max_lag <= 2_000


def fail_fast(argv) -> str:
    with pytest.raises(OptionError) as raised:
        run(sessions.JOB, parse(sessions.JOB, argv))
    return raised.value.message


def test_unreachable_broker_stops_the_job_before_submission():
    message = fail_fast(["--source", "kafka", "--bootstrap-servers", f"127.0.0.1:{free_port()}"])
    assert message.startswith("cannot reach Kafka at 127.0.0.1:")


def test_missing_topic_stops_the_job_before_submission(kafka_bootstrap):
    topic = unique("missing")
    message = fail_fast(["--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap])
    assert message == f"Kafka topic '{topic}' does not exist at {kafka_bootstrap}"


def test_transaction_timeout_beyond_the_broker_maximum_stops_the_job(kafka_bootstrap):
    message = fail_fast(
        [
            "--sink",
            "kafka",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--delivery-guarantee",
            "exactly-once",
            "--checkpoint-interval",
            "10s",
            "--transaction-timeout",
            "20min",
        ]
    )
    assert message == (
        f"--transaction-timeout 1200000 ms exceeds the broker's transaction.max.timeout.ms "
        f"(900000 ms) at {kafka_bootstrap}: lower it (or raise the broker's limit)"
    )


def test_transaction_timeout_must_outlast_the_checkpoint_interval():
    message = fail_fast(
        [
            "--sink",
            "kafka",
            "--delivery-guarantee",
            "exactly-once",
            "--checkpoint-interval",
            "2min",
            "--transaction-timeout",
            "1min",
        ]
    )
    assert "--transaction-timeout must be longer than --checkpoint-interval" in message


def rule_time(output: str, record: dict) -> int:
    """The Kafka timestamp docs/kafka-and-cluster.md ("Record timestamps") promises for a record."""
    if output in ("matches", "consumed", "windows", "sessions"):
        return parse_event_time(record["window_end"]) - 1  # the window's max timestamp
    if output == "conversions":
        return max(parse_event_time(record["click_time"]), parse_event_time(record["purchase_time"]))
    if output == "firings":
        return parse_event_time(record["fired_at"])
    if output == "timeouts":
        return parse_event_time(record["timeout_at"])
    return parse_event_time(record["timestamp"])  # an input event: late, valid, tenant-*, enriched


def error_event_time(job: str, raw: str) -> int | None:
    """The router's value checks reject valid events, which keep their event time; a record that
    could not be parsed has none."""
    if job != "event_router":
        return None
    try:
        return ACTIVITY.parse(raw)[ACTIVITY.names.index("ts")]
    except InvalidRecord:
        return None


@pytest.mark.parametrize(
    "job, argv, outputs",
    [
        ("sessions", ["--gap", "3s"], ["sessions", "late"]),
        ("sessions", ["--gap", "3s", "--allowed-lateness", "10s"], ["sessions", "late"]),  # re-fired sessions included
        (
            "sessions",
            ["--gap", "3s", "--allowed-lateness", "10s", "--build", "jvm"],
            ["sessions", "late"],
        ),
        ("moving_average", [], ["windows", "late"]),
        ("moving_average", ["--build", "jvm"], ["windows", "late"]),
        ("window_join", [], ["matches", "consumed", "late"]),
        ("window_join", ["--build", "jvm"], ["matches", "consumed", "late"]),
        ("interval_join", ["--lower=-5s"], ["conversions", "consumed", "late"]),
        ("interval_join", ["--lower=-5s", "--build", "jvm"], ["conversions", "consumed", "late"]),
        ("temporal_join", [], ["enriched", "consumed", "late"]),
        ("temporal_join", ["--build", "jvm"], ["enriched", "consumed", "late"]),
        ("late_data", ["--allowed-lateness", "10s"], ["windows", "late"]),  # re-fired windows included
        ("late_data", ["--allowed-lateness", "10s", "--build", "jvm"], ["windows", "late"]),
        ("global_triggers", ["--trigger", "count:5"], ["firings"]),  # end_of_input firings included
        ("global_triggers", ["--trigger", "count:5", "--build", "jvm"], ["firings"]),
        ("inactivity_timeouts", [], ["timeouts", "late"]),
        ("inactivity_timeouts", ["--build", "jvm"], ["timeouts", "late"]),
        ("event_router", ["--tenants", "acme"], ["valid", "tenant-acme", "late"]),
        ("event_router", ["--tenants", "acme", "--execution-mode", "process"], ["valid", "tenant-acme", "late"]),
        ("event_router", ["--tenants", "acme", "--build", "jvm"], ["valid", "tenant-acme", "late"]),
    ],
)
def test_kafka_record_timestamps_follow_the_rule(kafka_bootstrap, job, argv, outputs):
    prefix = unique(job)
    started_ms = int(time.time() * 1000)
    assert (
        run_command(
            importlib.import_module(f"jobs.{job}").JOB,
            [*argv, "--sink", "kafka", "--bootstrap-servers", kafka_bootstrap, "--output-topic-prefix", prefix],
        )
        == 0
    )
    finished_ms = int(time.time() * 1000)

    for output in outputs:
        records = [
            (ts, json.loads(value)) for ts, value in read_topic_timestamped(kafka_bootstrap, f"{prefix}.{output}")
        ]
        assert records, output
        assert [ts for ts, _ in records] == [rule_time(output, record) for _, record in records], output
    errors = [
        (ts, json.loads(value)["raw"]) for ts, value in read_topic_timestamped(kafka_bootstrap, f"{prefix}.errors")
    ]
    assert errors
    for ts, raw in errors:
        event_time = error_event_time(job, raw)
        # No time of the data: Flink gives Kafka no timestamp, and the producer stamps its clock.
        assert ts == event_time if event_time is not None else started_ms <= ts <= finished_ms, raw


def test_random_cluster_ids_are_kafka_uuids_that_do_not_start_with_a_dash():
    ids = [random_cluster_id() for _ in range(20_000)]  # about 300 draws start with '-'
    assert not [i for i in ids if i.startswith("-")]
    assert {len(base64.urlsafe_b64decode(i + "==")) for i in ids} == {16} and len(set(ids)) == len(ids)
    assert any("-" in i for i in ids)  # the alphabet is still URL-safe base64's


def test_sigterm_ends_an_unbounded_kafka_run_as_ctrl_c_does(kafka_bootstrap):
    """``kill`` (SIGTERM, the README's ``kill %1``) cancels the job and ends the run with one
    line, exit code 143 (128 + SIGTERM), as Ctrl-C does with 130."""
    topic, prefix = unique("activity"), unique("term")
    produce(kafka_bootstrap, topic, SAMPLE)
    argv = ["--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap]
    argv += ["--sink", "kafka", "--output-topic-prefix", prefix, "--gap", "3s"]
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.sessions", *argv],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not read_topic(kafka_bootstrap, f"{prefix}.sessions"):  # the job is running
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.5)  # polling the output topic, not a timing assumption
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err
    assert err.rstrip().splitlines()[-1] == "python -m jobs.sessions: terminated: the job was cancelled", err
    assert "Traceback" not in err


def test_scripts_kafka_creates_a_topic_for_replays_and_reads_its_committed_records(kafka_bootstrap):
    """The documented commands (docs/kafka-and-cluster.md): a topic that keeps what it is given,
    and a reader of what a job committed, with the Kafka timestamps the sinks wrote."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    topic = unique("replay")
    env = child_env(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    created = subprocess.run(
        ["scripts/kafka", "create", topic, "--partitions", "2", "--config", "retention.ms=-1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == f"kafka: created topic {topic} (2 partitions, retention.ms=-1)\n"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        config = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    finally:
        admin.close()
    assert config["topic"][topic]["retention.ms"]["value"] == "-1"

    prefix = unique("read")
    argv = ["--gap", "3s", "--sink", "kafka", "--bootstrap-servers", kafka_bootstrap, "--output-topic-prefix", prefix]
    argv += ["--delivery-guarantee", "exactly-once", "--checkpoint-interval", "1s"]
    assert run_command(sessions.JOB, argv) == 0
    read = subprocess.run(
        ["scripts/kafka", "read", f"{prefix}.sessions", "--timestamps"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert read.returncode == 0, read.stderr
    shown = [line.split(" | ", 1) for line in read.stdout.splitlines()]
    committed = read_topic_timestamped(kafka_bootstrap, f"{prefix}.sessions")
    assert [(parse_event_time(ts), json.loads(value)) for ts, value in shown] == [
        (ts, json.loads(value)) for ts, value in committed
    ]
    assert read.stderr == f"kafka: {len(committed)} records in {prefix}.sessions\n" and committed


def test_bounded_is_refused_for_a_job_resumed_from_a_savepoint(kafka_bootstrap, capsys):
    """``flink run -s SAVEPOINT ... --bounded``: the Kafka source would take the savepoint's stopping
    offsets (none, from an unbounded run) and never end; the run says so instead."""
    topic = unique("activity")
    produce(kafka_bootstrap, topic, SAMPLE[:5])
    argv = ["--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap, "--bounded"]
    # What `flink run --fromSavepoint` puts in the job's configuration.
    resumed = {"execution.state-recovery.path": "file:/savepoints/savepoint-1"}
    assert run_command(sessions.JOB, [*argv, "--sink", "kafka"], overrides=resumed) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m jobs.sessions: error: --bounded does not apply to a job resumed from a savepoint "
        "(file:/savepoints/savepoint-1): its Kafka source takes the stopping offsets of the run that took it; "
        "resume without --bounded and end it with scripts/flink-cluster stop-with-savepoint"
    )
