"""Beyond one machine: a job as its own application cluster (docs/several-machines.md).

``sessions`` Kafka -> Kafka exactly-once in an application cluster (the JobManager runs the job's
Python client itself), meeting what a cluster of several hosts meets: capacity added and taken
away (reactive mode rescales the job to the slots there are) and the JobManager's death (high
availability: ZooKeeper elects the restarted one, which resumes from the latest checkpoint). Each
time the read_committed output equals the uninterrupted run's, record for record."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
import uuid
from ipaddress import ip_address
from pathlib import Path

import pytest

from jobs import sessions
from runner.outputs import read_file_outputs
from tests.exactly_once_runs import (
    activity,
    assert_same_output,
    committed_output,
    local_run,
    sessions_args,
    user_partition,
    wait_consumed,
)
from tests.harness import canonical, flink_cluster_script, run_job, wait_until
from tests.sockets import listeners_of, loopback
from tools.flink_cluster import FlinkCluster
from tools.kafka_broker import append, create_topic
from tools.processes import child_env

pytestmark = pytest.mark.ops

ROOT = Path(__file__).resolve().parent.parent


def write_partitioned(bootstrap, topic, records) -> None:
    """Each user's records to one of two partitions, in order."""
    for p in (0, 1):
        mine = [r for i, r in enumerate(records) if user_partition(i, r) == p]
        append(bootstrap, topic, mine, partition_of=lambda i, r, p=p: p)


def running_at(cluster: FlinkCluster, job_id: str, parallelism: int):
    """True once every vertex of the job runs ``parallelism`` subtasks, all of them RUNNING."""
    job = cluster.rest(f"/jobs/{job_id}")
    assert job["state"] in ("RUNNING", "RESTARTING", "CREATED", "INITIALIZING"), cluster.root_cause(job_id)
    vertices = job["vertices"]
    return job["state"] == "RUNNING" and all(
        v["parallelism"] == parallelism and v["tasks"].get("RUNNING", 0) == parallelism for v in vertices
    )


def test_reactive_mode_scales_out_to_a_new_taskmanager_and_back_in_losing_and_duplicating_nothing(
    kafka_bootstrap, tmp_path
):
    suffix = uuid.uuid4().hex[:8]
    topic, prefix, group = f"app-in-{suffix}", f"app-{suffix}", f"app-{suffix}"
    records = activity(4000, seed=51)
    quarter = len(records) // 4
    create_topic(kafka_bootstrap, topic, partitions=2)
    write_partitioned(kafka_bootstrap, topic, records[:quarter])

    cluster = FlinkCluster(tmp_path / "application")
    try:
        job_id = cluster.start_application(
            "jobs/sessions.py", sessions_args(topic, kafka_bootstrap, prefix, group, None), reactive=True
        )
        wait_until(lambda: running_at(cluster, job_id, 1), 300, "the job did not start at parallelism 1")
        wait_until(lambda: committed_output(kafka_bootstrap, prefix)["sessions"], 300, "no session committed")
        wait_consumed(kafka_bootstrap, group, topic)
        before = committed_output(kafka_bootstrap, prefix)

        added_at = time.monotonic()
        said = flink_cluster_script(cluster.home, "add-taskmanager", timeout=120)
        assert said.returncode == 0, said.stderr
        added = re.fullmatch(r"flink: TaskManager pid (\d+) started; 2 TaskManagers\n", said.stdout)
        assert added, said.stdout
        wait_until(lambda: running_at(cluster, job_id, 2), 300, "the job did not scale out to the new TaskManager")
        scale_out_s = time.monotonic() - added_at
        write_partitioned(kafka_bootstrap, topic, records[quarter : 2 * quarter])
        wait_consumed(kafka_bootstrap, group, topic)
        daemons = cluster.pids("standalonejob") + cluster.pids("taskexecutor")
        sockets = [listener for pid in daemons for listener in listeners_of(pid)]
        assert sockets and all(loopback(ip_address(name.rsplit(" ", 1)[1])) for name, _ in sockets), sockets

        removed_at = time.monotonic()
        said = flink_cluster_script(cluster.home, "remove-taskmanager", timeout=120)
        assert said.returncode == 0, said.stderr
        assert said.stdout == f"flink: TaskManager pid {added[1]} stopped; 1 TaskManager\n", said.stdout
        wait_until(lambda: running_at(cluster, job_id, 1), 300, "the job did not scale back in")
        scale_in_s = time.monotonic() - removed_at
        write_partitioned(kafka_bootstrap, topic, records[2 * quarter :])
        wait_consumed(kafka_bootstrap, group, topic)

        cluster.stop_with_savepoint(job_id, tmp_path / "savepoints", drain=True)
        out = committed_output(kafka_bootstrap, prefix)
        rescales = cluster.rest(f"/jobs/{job_id}/exceptions?maxExceptions=50")["exceptionHistory"]["entries"]
    finally:
        cluster.stop()
    assert not cluster.process_groups()
    expected = local_run(tmp_path, records)
    assert expected["late"] == [] and expected["errors"]
    assert before["sessions"] and len(before["sessions"]) < len(expected["sessions"])  # a real mid-stream cut
    assert_same_output(out, expected)
    assert sessions.JOB.accounted(out) == len(records)
    print(
        f"\nreactive: TaskManager started -> running at parallelism 2 in {scale_out_s:.1f}s; stopped -> running "
        f"at parallelism 1 in {scale_in_s:.1f}s; {len(rescales)} entries in the exception history"
    )


def test_a_killed_jobmanager_restarts_from_the_latest_checkpoint_losing_and_duplicating_nothing(
    kafka_bootstrap, zookeeper_quorum, tmp_path
):
    """Through the wrapper, as a user runs it: ``application --zookeeper``; the JobManager is
    killed (SIGKILL) mid-stream, the wrapper starts it again as a supervisor would, ZooKeeper
    elects it, and it resumes the job from its latest checkpoint."""
    suffix = uuid.uuid4().hex[:8]
    topic, prefix, group = f"ha-in-{suffix}", f"ha-{suffix}", f"ha-{suffix}"
    records = activity(3000, seed=61)
    half = len(records) // 2
    create_topic(kafka_bootstrap, topic, partitions=2)
    write_partitioned(kafka_bootstrap, topic, records[:half])

    home, transcript = tmp_path / "application", tmp_path / "wrapper.txt"
    options = sessions_args(topic, kafka_bootstrap, prefix, group, 1)
    with open(transcript, "w") as log:
        wrapper = subprocess.Popen(
            [
                *(str(ROOT / "scripts" / "flink-cluster"), "application", "--home", str(home)),
                *("--zookeeper", zookeeper_quorum, "jobs/sessions.py", *options),
            ],
            cwd=ROOT,
            env=child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        started = wait_until(lambda: "application cluster for" in transcript.read_text(), 300, "no application")
        assert started
        cluster = FlinkCluster(home)
        (job_id,) = [j["jid"] for j in cluster.rest("/jobs/overview")["jobs"]]
        wait_until(lambda: running_at(cluster, job_id, 1), 300, "the job did not start")
        wait_until(lambda: committed_output(kafka_bootstrap, prefix)["sessions"], 300, "no session committed")
        wait_consumed(kafka_bootstrap, group, topic)
        before = committed_output(kafka_bootstrap, prefix)
        checkpoint = cluster.rest(f"/jobs/{job_id}/checkpoints")["latest"]["completed"]["id"]

        (killed,) = cluster.kill_jobmanagers()
        killed_at, killed_wall_ms = time.monotonic(), time.time() * 1000
        write_partitioned(kafka_bootstrap, topic, records[half:])  # the job's input goes on meanwhile

        def recovered():
            with contextlib.suppress(OSError):  # the REST endpoint comes up with the JobManager
                latest = cluster.rest(f"/jobs/{job_id}/checkpoints")["latest"]
                done = latest.get("completed")
                if done and done["trigger_timestamp"] > killed_wall_ms and running_at(cluster, job_id, 1):
                    return latest
            return None

        latest = wait_until(recovered, 300, "the job did not recover after the JobManager was killed")
        recovery_s = time.monotonic() - killed_at
        restored = latest["restored"]
        assert restored["id"] >= checkpoint and not restored["is_savepoint"], restored
        wait_consumed(kafka_bootstrap, group, topic)
        stopped = flink_cluster_script(
            home, "stop-with-savepoint", "--drain", job_id, "--savepoint-dir", str(tmp_path / "savepoints"), timeout=600
        )
        assert stopped.returncode == 0, stopped.stderr
        assert Path(stopped.stdout.strip().removeprefix("file:")).is_dir(), stopped.stdout
        assert wrapper.wait(timeout=120) == 0, transcript.read_text()[-3000:]
        out = committed_output(kafka_bootstrap, prefix)
    finally:
        if wrapper.poll() is None:
            wrapper.send_signal(signal.SIGINT)  # the wrapper cancels its job and stops its cluster
            wrapper.wait(timeout=120)
    said = transcript.read_text()
    assert "flink: the JobManager died; restarting it" in said, said
    assert not FlinkCluster(home).process_groups()
    expected = local_run(tmp_path, records)
    assert expected["late"] == [] and expected["errors"]
    assert before["sessions"] and len(before["sessions"]) < len(expected["sessions"])  # a real mid-stream cut
    assert_same_output(out, expected)
    assert sessions.JOB.accounted(out) == len(records)
    print(
        f"\nJobManager (pid {killed}) killed; the restarted one ran the job again from checkpoint "
        f"{restored['id']} (the last before the kill: {checkpoint}), with a new checkpoint completed, "
        f"{recovery_s:.1f}s after the kill"
    )


def test_the_wrapper_runs_a_job_as_its_own_cluster_and_leaves_nothing_running(tmp_path):
    home = tmp_path / "application"
    result = flink_cluster_script(
        home,
        *("application", "jobs/sessions.py", "--input", str(ROOT / "samples" / "activity.jsonl"), "--gap", "3s"),
        *("--sink", "file", "--output", str(tmp_path / "out")),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("flink: application cluster for jobs/sessions.py at http://127.0.0.1:"), lines
    assert lines[-1].startswith("FINISHED"), lines
    assert not FlinkCluster(home).process_groups()
    events = (ROOT / "samples" / "activity.jsonl").read_text().splitlines()
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=events)
    got = read_file_outputs(tmp_path / "out", expected)
    assert {k: canonical(v) for k, v in got.items()} == {k: canonical(v) for k, v in expected.items()}
