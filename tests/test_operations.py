"""Operations (docs/operations.md): failures that surface, savepoints and rescaling, a broker outage,
poison input at rate. Real Flink (the session's standalone cluster, thread mode) and real Kafka;
every job is driven through its command line (``scripts/flink-cluster run``, ``flink run``).

The Kafka-in/Kafka-out cases run ``sessions`` with ``--checkpoint-interval 1s --delivery-guarantee
exactly-once`` unbounded, as in production, and end it with ``stop-with-savepoint --drain``
once its consumer group has committed every input offset: the drain fires every open session and
the sink commits on that final savepoint, so the ``read_committed`` output is complete and must
equal a bounded local run of the same records (``python -m jobs.sessions --input FILE``), record
for record, duplicates included.

Determinism: the inputs are out of order only within the watermark bound (loadgen's 3 s < the
job's 5 s), so no record is late however the stream is cut, restarted or rescaled (watermarks are
per reader and are not part of a checkpoint; session contents depend only on each user's events
when none is late). Where a topic has two partitions, all of a user's events are in one of them
(their order is the generator's); a reader of both keeps a watermark per partition, so neither
makes the other's records late, and an empty partition holds event time back (no idleness here).

Run with ``-m ops`` (``make test-ops``); each test takes 1-3 minutes on 2 busy cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from jobs import sessions
from tests.exactly_once_runs import (
    activity,
    assert_same_output,
    committed_output,
    local_run,
    sessions_args,
    user_partition,
    wait_consumed,
)
from tests.flaky_job import ALWAYS
from tests.harness import flink_cluster_script, wait_until
from tools import loadgen
from tools.kafka_broker import (
    KafkaBroker,
    append,
    create_topic,
    produce,
    read_topic,
)
from tools.processes import child_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ops


# -- helpers ----------------------------------------------------------------------------------
def job_id_in(stderr: str) -> str:
    for line in stderr.splitlines():
        if " as job " in line:
            return line.split(" as job ")[1].split()[0]
    raise AssertionError(f"no job id in:\n{stderr}")


# -- 1. failures surface ---------------------------------------------------------------------
def test_a_deterministic_failure_ends_failed_with_its_reason_within_the_restart_bound(
    flink_cluster, kafka_bootstrap, tmp_path
):
    """A failure no restart can fix (every record throws): the cluster's bounded exponential-delay
    strategy gives up, and ``scripts/flink-cluster run`` ends with the root cause on one line and
    exit 1. (The other side, a killed TaskManager that recovers under the same strategy, is
    tests/test_exactly_once.py::test_exactly_once_after_the_taskmanager_is_killed.)"""
    suffix = uuid.uuid4().hex[:8]
    topic = f"ops-fail-{suffix}"
    produce(kafka_bootstrap, topic, activity(200, seed=13))
    started = time.monotonic()
    result = flink_cluster_script(
        flink_cluster.home,
        "run",
        "tests/flaky_job.py",
        "--job",
        "sessions",
        "--checkpoints",
        str(tmp_path / "chk"),
        "--failure-marker",
        str(tmp_path / "marker"),
        "--failure-mode",
        "always",
        *sessions_args(topic, kafka_bootstrap, f"ops-fail-{suffix}", f"ops-fail-{suffix}"),
        timeout=900,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("job failed: ") and ALWAYS in last, result.stderr[-3000:]
    # While Flink retried, the wrapper said why on entering RESTARTING.
    assert "  after: " in result.stderr and ALWAYS in result.stderr.split("  after: ")[1]

    job_id = job_id_in(result.stderr)
    job = flink_cluster.rest(f"/jobs/{job_id}")
    assert job["state"] == "FAILED"
    attempts = len(flink_cluster.rest(f"/jobs/{job_id}/exceptions?maxExceptions=50")["exceptionHistory"]["entries"])
    conf = flink_cluster.rest("/jobmanager/config")
    allowed = int(
        next(e["value"] for e in conf if e["key"] == "restart-strategy.exponential-delay.attempts-before-reset-backoff")
    )
    assert 2 <= attempts <= allowed + 1, f"{attempts} failures recorded, {allowed} restarts allowed"
    print(
        f"\ndeterministic failure: FAILED after {(job['end-time'] - job['start-time']) / 1000:.1f}s on the cluster "
        f"({attempts} failures), wrapper {elapsed:.1f}s; last line: {last}"
    )


# -- 2. savepoint, rescale -------------------------------------------------------------------
def test_stop_with_savepoint_and_resume_at_parallelism_2_on_rocksdb_loses_and_duplicates_nothing(
    flink_cluster, kafka_bootstrap, tmp_path
):
    """``sessions`` Kafka -> Kafka, exactly-once, at parallelism 1 on the heap state backend,
    stopped with a savepoint after it has committed output, more input written meanwhile, resumed
    from the savepoint at parallelism 2 (two readers of a 2-partition topic) on RocksDB: a
    savepoint is in Flink's canonical format, which every backend reads. The read_committed output
    equals the uninterrupted run's."""
    suffix = uuid.uuid4().hex[:8]
    topic, prefix, group = f"ops-sp-in-{suffix}", f"ops-sp-{suffix}", f"ops-sp-{suffix}"
    records = activity(3000, seed=21)
    by_partition = {0: [], 1: []}
    for i, record in enumerate(records):
        by_partition[user_partition(i, record)].append(record)
    # Phase 1: the first half of each partition. Both partitions have records: the reader keeps a
    # watermark per partition, and an empty one would hold event time (and every session) back.
    first = {p: part[: len(part) // 2] for p, part in by_partition.items()}
    create_topic(kafka_bootstrap, topic, partitions=2)
    for p, part in first.items():
        append(kafka_bootstrap, topic, part, partition_of=lambda i, r, p=p: p)

    submitted = flink_cluster.submit(
        "jobs/sessions.py", sessions_args(topic, kafka_bootstrap, prefix, group, 1, "--state-backend", "hashmap")
    )
    assert state_backend(flink_cluster, submitted.job_id) == "HashMapStateBackend"
    # Mid-stream: some sessions committed, some input consumed.
    wait_until(lambda: read_topic(kafka_bootstrap, f"{prefix}.sessions"), 300, "no committed session before the stop")
    result = flink_cluster_script(
        flink_cluster.home,
        "stop-with-savepoint",
        submitted.job_id,
        "--savepoint-dir",
        str(tmp_path / "savepoints"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    savepoint = result.stdout.strip()
    assert Path(savepoint.removeprefix("file:")).is_dir(), savepoint
    assert result.stderr == (
        f"flink: job {submitted.job_id} stopped (FINISHED) with a savepoint; resume it with "
        f"scripts/flink-cluster run --from-savepoint {savepoint} <job script> <options>\n"
    )
    assert flink_cluster.rest(f"/jobs/{submitted.job_id}")["state"] == "FINISHED"
    before = committed_output(kafka_bootstrap, prefix)

    # More input while the job is stopped, then resume at parallelism 2.
    for p, part in by_partition.items():
        append(kafka_bootstrap, topic, part[len(first[p]) :], partition_of=lambda i, r, p=p: p)
    resumed = flink_cluster.submit(
        "jobs/sessions.py",
        sessions_args(topic, kafka_bootstrap, prefix, group, 2, "--state-backend", "rocksdb"),
        flink_options=["--fromSavepoint", savepoint],
    )
    assert state_backend(flink_cluster, resumed.job_id) == "EmbeddedRocksDBStateBackend"
    assert flink_cluster.savepoint_path(resumed.job_id) in (None, savepoint)
    wait_consumed(kafka_bootstrap, group, topic)
    assert flink_cluster.savepoint_path(resumed.job_id) == savepoint
    parallelism = {v["name"]: v["parallelism"] for v in flink_cluster.rest(f"/jobs/{resumed.job_id}")["vertices"]}
    assert max(parallelism.values()) == 2, parallelism
    drained = flink_cluster_script(
        flink_cluster.home,
        "stop-with-savepoint",
        "--drain",
        resumed.job_id,
        "--savepoint-dir",
        str(tmp_path / "savepoints"),
        timeout=600,
    )
    assert drained.returncode == 0, drained.stderr
    final = drained.stdout.strip()
    # The end of the job, not a point to resume from: the wrapper says so instead of "resume it with".
    assert drained.stderr == (
        f"flink: job {resumed.job_id} drained and stopped (FINISHED): every window fired and every timer ran "
        f"before the final savepoint {final}; it records where the job ended, not a point to resume from (a job "
        "resumed from it would split each window that was open at the stop in two; to pause a job and resume "
        "it, stop it without --drain)\n"
    )
    assert flink_cluster.rest(f"/jobs/{resumed.job_id}")["state"] == "FINISHED"

    out = committed_output(kafka_bootstrap, prefix)
    expected = local_run(tmp_path, records)
    assert expected["late"] == [] and expected["errors"]
    assert before["sessions"] and len(before["sessions"]) < len(expected["sessions"])  # a real mid-stream cut
    assert_same_output(out, expected)
    assert sessions.JOB.accounted(out) == len(records)
    print(
        f"\nsavepoint {savepoint}: {sessions.JOB.accounted(before)} records in {len(before['sessions'])} "
        "sessions and errors "
        f"committed before the stop; {len(records)} records in, {len(out['sessions'])} sessions in all"
    )


def state_backend(flink_cluster, job_id: str) -> str:
    """The state backend a job runs on, as its JobManager reports it."""
    return flink_cluster.rest(f"/jobs/{job_id}/checkpoints/config")["state_backend"]


# -- 3. broker outage (and a killed TaskManager, timed) --------------------------------------
#: How long the broker is away: 15 checkpoint intervals (OPS_OUTAGE_S=60 for the longer runs of
#: docs/operations.md).
OUTAGE_S = float(os.environ.get("OPS_OUTAGE_S", "15"))


def break_broker(broker, cluster, watch):
    broker.stop()
    watch(OUTAGE_S)  # the outage lasts OUTAGE_S; the job is watched meanwhile
    broker.start()


def kill_taskmanager(broker, cluster, watch):
    assert cluster.kill_taskmanagers()
    watch(0)
    cluster.start_taskmanager()


@pytest.mark.parametrize("fault", [break_broker, kill_taskmanager], ids=["broker-outage", "taskmanager-killed"])
def test_the_job_recovers_by_itself_from_a_broker_outage_or_a_killed_taskmanager(flink_cluster, tmp_path, fault):
    """A job running exactly-once (Kafka in, Kafka out, through ``scripts/flink-cluster run``)
    meets a fault after it has committed output: its broker (one of its own: the session's serves
    other tests) stopped for ``OUTAGE_S``, longer than a checkpoint interval, then started again on
    the same port and data; or its TaskManager killed (SIGKILL) and a new one started. The job
    recovers without help (recovered = RUNNING with a checkpoint completed that was triggered after
    the fault was over; the time to it is printed), and its output equals the uninterrupted run's.
    The wrapper's transcript, printed, is what a user sees meanwhile."""
    broker = KafkaBroker(tmp_path / "kafka")
    bootstrap = broker.start()
    wrapper = None
    try:
        topic, prefix, group = "ops-fault-in", "ops-fault", "ops-fault"
        records = activity(3000, seed=31)
        first, second = records[:1500], records[1500:]
        produce(bootstrap, topic, first)
        transcript = tmp_path / "wrapper.txt"
        with open(transcript, "w") as log:
            wrapper = subprocess.Popen(
                [
                    str(PROJECT_ROOT / "scripts" / "flink-cluster"),
                    "--home",
                    str(flink_cluster.home),
                    "run",
                    "jobs/sessions.py",
                    *sessions_args(topic, bootstrap, prefix, group, 1),
                ],
                cwd=PROJECT_ROOT,
                env=child_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        job_id = wait_until(
            lambda: " as job " in transcript.read_text() and job_id_in(transcript.read_text()),
            300,
            "the wrapper did not submit the job",
        )
        wait_until(lambda: read_topic(bootstrap, f"{prefix}.sessions"), 300, "no committed session before the fault")
        wait_consumed(bootstrap, group, topic)
        checkpoints_before = flink_cluster.rest(f"/jobs/{job_id}/checkpoints")["counts"]

        states = []
        fault_at = time.monotonic()

        def note_state():
            state = flink_cluster.rest(f"/jobs/{job_id}")["state"]
            if not states or states[-1][1] != state:
                states.append((round(time.monotonic() - fault_at, 1), state))
            return state

        def watch(seconds):
            while time.monotonic() - fault_at < seconds:
                note_state()
                time.sleep(0.5)  # the fault lasts `seconds`; polling the job's state meanwhile

        fault(broker, flink_cluster, watch)
        over_at = time.monotonic()
        over_wall_ms = time.time() * 1000

        def recovered():
            state = note_state()
            assert state in ("RUNNING", "RESTARTING", "INITIALIZING", "CREATED", "FAILING"), (
                f"job {state}: {flink_cluster.root_cause(job_id)}"
            )
            latest = flink_cluster.rest(f"/jobs/{job_id}/checkpoints")["latest"].get("completed")
            return state == "RUNNING" and latest and latest["trigger_timestamp"] > over_wall_ms and latest

        checkpoint = wait_until(recovered, 300, "the job did not recover after the fault")
        recovery_s = checkpoint["latest_ack_timestamp"] / 1000 - over_wall_ms / 1000
        failures = len(flink_cluster.rest(f"/jobs/{job_id}/exceptions?maxExceptions=50")["exceptionHistory"]["entries"])

        append(bootstrap, topic, second)
        wait_consumed(bootstrap, group, topic)
        flink_cluster.stop_with_savepoint(job_id, tmp_path / "savepoints", drain=True)
        assert wrapper.wait(timeout=120) == 0, transcript.read_text()[-3000:]
        out = committed_output(bootstrap, prefix)
    finally:
        if wrapper and wrapper.poll() is None:
            wrapper.send_signal(signal.SIGINT)  # the wrapper cancels its job on Ctrl-C
            wrapper.wait(timeout=120)
        broker.stop()
    expected = local_run(tmp_path, records)
    assert expected["late"] == []
    assert_same_output(out, expected)
    assert sessions.JOB.accounted(out) == len(records)
    counts = flink_cluster.rest(f"/jobs/{job_id}/checkpoints")["counts"]
    print(
        f"\n{fault.__name__} (outage {OUTAGE_S:.0f}s for the broker): job states {states} (s after the fault); "
        f"fault over after {over_at - fault_at:.1f}s; the first checkpoint triggered after that completed "
        f"{recovery_s:.1f}s later; {failures} job failures; "
        f"checkpoints before {checkpoints_before}, at the end {counts}"
    )
    print(transcript.read_text())
    if fault is kill_taskmanager:  # the wrapper said why the job restarted
        assert "  after: " in transcript.read_text()


# -- 4. poison input at rate -----------------------------------------------------------------
def test_poison_input_at_rate_keeps_the_job_running_and_every_record_accounted_for(
    flink_cluster, kafka_bootstrap, tmp_path
):
    """tools/loadgen.py at 100 records/s for 60 s with 5 % invalid and 2 % late records into a
    running exactly-once ``sessions`` job: it never fails, every input record is in exactly one
    output (sum of event_count + late + errors = records in), and its output equals a bounded run
    of the same records, so every invalid record is in ``errors`` with its reason."""
    suffix = uuid.uuid4().hex[:8]
    prefix, group = f"ops-poison-{suffix}", f"ops-poison-{suffix}"
    topic = f"{prefix}.in.activity"
    create_topic(kafka_bootstrap, topic)
    submitted = flink_cluster.submit("jobs/sessions.py", sessions_args(topic, kafka_bootstrap, prefix, group, 1))
    flink_cluster.wait_for_job(submitted.job_id, states=("RUNNING",), timeout=120)
    started = time.monotonic()
    load = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.loadgen",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--stream",
            "activity",
            "--topic-prefix",
            f"{prefix}.in.",
            "--events",
            "6000",
            "--rate",
            "100",
            "--invalid-fraction",
            "0.05",
            "--late-fraction",
            "0.02",
            "--users",
            "20",
            "--seed",
            "41",
            "--progress",
            "off",
        ],
        cwd=PROJECT_ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert load.returncode == 0, load.stderr
    load_s = time.monotonic() - started
    assert flink_cluster.rest(f"/jobs/{submitted.job_id}")["state"] == "RUNNING"
    wait_consumed(kafka_bootstrap, group, topic)
    history = flink_cluster.rest(f"/jobs/{submitted.job_id}/exceptions")["exceptionHistory"]["entries"]
    assert history == [], flink_cluster.root_cause(submitted.job_id)  # never failed, never restarted
    flink_cluster.stop_with_savepoint(submitted.job_id, tmp_path / "savepoints", drain=True)
    assert flink_cluster.wait_for_job(submitted.job_id, timeout=120) == "FINISHED"

    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 6000
    out = committed_output(kafka_bootstrap, prefix)
    assert sessions.JOB.accounted(out) == len(records)
    expected = local_run(tmp_path, records)
    assert_same_output(out, expected)
    assert out["late"] and out["errors"]
    # Every invalid record is in errors, with a reason; every kind of invalid record has its own.
    invalid = set(loadgen.invalid_for("activity"))
    sent = [r for r in records if r in invalid]
    assert sorted(e["raw"] for e in out["errors"]) == sorted(sent)
    assert all(e["error"] and e["job"] == "sessions" for e in out["errors"])
    reasons = {e["raw"]: e["error"] for e in out["errors"]}
    assert set(reasons) == set(sent)
    print(
        f"\npoison input: {len(records)} records in {load_s:.0f}s, {len(out['errors'])} errors "
        f"({len(set(reasons.values()))} distinct reasons), {len(out['late'])} late, {len(out['sessions'])} sessions"
    )
