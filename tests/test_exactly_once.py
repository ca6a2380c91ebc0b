"""Exactly-once under failure: the sessions job on the standalone cluster, checkpointing every
second, exactly-once Kafka sinks, and one failure 100 records after the first completed checkpoint
(tests/flaky_sessions.py), when the failed attempt has written uncommitted output: either an
exception in an operator, or the TaskManager process killed with SIGKILL (and a new one started).
Flink restarts the job from that checkpoint; a ``read_committed`` consumer must then see exactly
the failure-free result: no record lost, none duplicated.

The input (tools/loadgen.py) is out of order only within the watermark bound, so no record is late
and the result does not depend on where the failure cut the stream: watermarks are not part of a
checkpoint, so after a restart a record that was late before might not be, and vice versa.

``EXACTLY_ONCE_RUNS=N`` repeats both variants with N seeds each (scripts/soak-exactly-once).
"""

import json
import os
import time
import uuid

import pytest

from jobs import sessions
from tests.flaky_sessions import MESSAGE
from tests.flink_cluster import job_id_of
from tests.harness import canonical, run_job
from tests.kafka_broker import produce, read_topic
from tools import loadgen

RUNS = int(os.environ.get("EXACTLY_ONCE_RUNS", "1"))
EVENTS = int(os.environ.get("EXACTLY_ONCE_EVENTS", "2000"))
OUTPUTS = ("sessions", "late", "errors")


def submit_flaky_job(cluster, bootstrap, tmp_path, seed, mode):
    """Write the seed's input to a new topic, submit the flaky sessions job; returns what the
    checks need."""
    records = list(loadgen.generate("activity", EVENTS, seed=seed, users=20, out_of_orderness_ms=3_000,
                                    late_fraction=0.0, invalid_fraction=0.02))
    suffix = uuid.uuid4().hex[:8]
    topic, prefix = f"eo-activity-{suffix}", f"eo-sessions-{suffix}"
    produce(bootstrap, topic, records)
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "failed-once"
    result = cluster.flink_run(
        "tests/flaky_sessions.py",
        ["--checkpoints", str(checkpoints), "--failure-marker", str(marker), "--failure-mode", mode,
         "--source", "kafka", "--topic", topic, "--bootstrap-servers", bootstrap, "--bounded",
         "--sink", "kafka", "--output-topic-prefix", prefix, "--gap", "1s",
         "--checkpoint-interval", "1s", "--delivery-guarantee", "exactly-once", "--execution-mode", "process"],
        packages=("udfs", "jobs", "tests/flaky_sessions.py"),
        flink_options=["-D", f"execution.checkpointing.dir={checkpoints.as_uri()}"],
        detached=(mode == "kill"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return records, prefix, marker, job_id_of(result.stdout)


def assert_exactly_once(bootstrap, prefix, records, label):
    out = {o: [json.loads(r) for r in read_topic(bootstrap, f"{prefix}.{o}", "read_committed")] for o in OUTPUTS}
    expected = run_job(sessions, ["--gap", "1s"], events=records)
    assert expected["late"] == [] and expected["errors"]
    # Lists, not sets: a duplicate would show as an extra element.
    assert {k: canonical(v) for k, v in out.items()} == {k: canonical(v) for k, v in expected.items()}
    assert sessions.accounting(out) == len(records)
    # What the failed attempt wrote and Flink aborted (visible only to read_uncommitted readers).
    aborted = sum(len(read_topic(bootstrap, f"{prefix}.{o}", "read_uncommitted")) - len(out[o]) for o in OUTPUTS)
    print(f"\nexactly-once run {label}: {len(records)} records in, {sum(map(len, out.values()))} out, "
          f"{aborted} records of the failed attempt aborted")


@pytest.mark.parametrize("seed", range(1, RUNS + 1))
def test_exactly_once_after_a_failure_after_the_first_checkpoint(flink_cluster, kafka_bootstrap, tmp_path, seed):
    records, prefix, marker, job_id = submit_flaky_job(flink_cluster, kafka_bootstrap, tmp_path, seed, "raise")

    # The failure happened, after a completed checkpoint, and Flink recovered from it.
    assert marker.exists(), "the job finished before its first checkpoint completed: no failure was injected"
    history = flink_cluster.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    assert any(MESSAGE in entry["stacktrace"] for entry in history)
    assert flink_cluster.rest(f"/jobs/{job_id}")["state"] == "FINISHED"
    assert_exactly_once(kafka_bootstrap, prefix, records, f"seed={seed} (exception)")


@pytest.mark.parametrize("seed", range(101, 101 + RUNS))
def test_exactly_once_after_the_taskmanager_is_killed(flink_cluster, kafka_bootstrap, tmp_path, seed):
    records, prefix, marker, job_id = submit_flaky_job(flink_cluster, kafka_bootstrap, tmp_path, seed, "kill")
    deadline = time.monotonic() + 300
    while not marker.exists():  # the job signals: first checkpoint done, output written since
        assert flink_cluster.rest(f"/jobs/{job_id}")["state"] in ("CREATED", "INITIALIZING", "RUNNING")
        assert time.monotonic() < deadline, "no completed checkpoint within 300 s"
        time.sleep(0.2)  # polling a running job
    killed = flink_cluster.kill_taskmanagers()
    assert killed
    flink_cluster.start_taskmanager()

    assert flink_cluster.wait_for_job(job_id, timeout=300) == "FINISHED"
    history = flink_cluster.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    assert history, "the job did not notice the TaskManager's death"
    assert_exactly_once(kafka_bootstrap, prefix, records, f"seed={seed} (TaskManager pid {killed} killed)")
