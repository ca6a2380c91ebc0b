"""Cluster submission: jobs submitted with ``flink run -py ... --pyFiles ...`` to a standalone
cluster (the session's ``flink_cluster``) run in the cluster's configured Python execution mode
(thread), several at once on one TaskManager, read and write Kafka, and give exactly what the
same job gives on the same records in memory. ``scripts/flink-cluster run`` follows a job to its
end and cancels it on Ctrl-C; ``stop`` leaves no process behind."""

import json
import os
import re
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jobs import sessions, window_join
from tests.harness import canonical, run_job
from tools.flink_cluster import FlinkCluster, Submission, group_members
from tools.kafka_broker import produce, read_topic
from tools.processes import child_env

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SAMPLE = (SAMPLES / "activity.jsonl").read_text().splitlines()


def file_outputs(directory: Path, outputs) -> dict[str, list[dict]]:
    from runner.outputs import read_file_outputs

    return read_file_outputs(directory, outputs)


def test_flink_run_on_a_standalone_cluster_reads_and_writes_kafka(flink_cluster, kafka_bootstrap):
    suffix = uuid.uuid4().hex[:8]
    topic, prefix = f"cluster-activity-{suffix}", f"cluster-sessions-{suffix}"
    produce(kafka_bootstrap, topic, SAMPLE)

    submitted = flink_cluster.submit(
        "jobs/sessions.py",
        [
            "--source",
            "kafka",
            "--topic",
            topic,
            "--bootstrap-servers",
            kafka_bootstrap,
            "--bounded",
            "--sink",
            "kafka",
            "--output-topic-prefix",
            prefix,
            "--gap",
            "3s",
        ],
    )
    assert submitted.execution_mode == "thread"  # the cluster's python.execution-mode
    assert flink_cluster.wait_for_job(submitted.job_id) == "FINISHED"

    out = {
        o: [json.loads(r) for r in read_topic(kafka_bootstrap, f"{prefix}.{o}")] for o in ("sessions", "late", "errors")
    }
    expected = run_job(sessions.JOB, ["--gap", "3s"], events=SAMPLE)
    assert {k: canonical(v) for k, v in out.items()} == {k: canonical(v) for k, v in expected.items()}
    assert sessions.JOB.accounted(out) == len(SAMPLE)


def test_two_thread_mode_jobs_run_at_once_on_one_taskmanager(flink_cluster, tmp_path):
    # FLINK-37727: the second thread-mode job on a TaskManager used to fail loading pemja's native
    # libraries (NoSuchFieldException: loadedLibraryNames); flink-conf/config.yaml says why not now.
    clicks, purchases = SAMPLES / "clicks.jsonl", SAMPLES / "purchases.jsonl"
    sessions_args = ["--input", str(SAMPLES / "activity.jsonl"), "--gap", "3s"]
    join_args = ["--clicks", str(clicks), "--purchases", str(purchases)]
    first, second = submit_at_once(
        flink_cluster,
        ("jobs/sessions.py", [*sessions_args, "--sink", "file", "--output", str(tmp_path / "sessions")], {}),
        ("jobs/window_join.py", [*join_args, "--sink", "file", "--output", str(tmp_path / "join")], {}),
    )
    assert (first.execution_mode, second.execution_mode) == ("thread", "thread")
    assert flink_cluster.wait_for_job(first.job_id) == "FINISHED", flink_cluster.root_cause(first.job_id)
    assert flink_cluster.wait_for_job(second.job_id) == "FINISHED", flink_cluster.root_cause(second.job_id)

    expected = run_job(sessions.JOB, ["--gap", "3s"], events=SAMPLE)
    got = file_outputs(tmp_path / "sessions", expected)
    assert {k: canonical(v) for k, v in got.items()} == {k: canonical(v) for k, v in expected.items()}
    expected = run_job(
        window_join.JOB, [], clicks=clicks.read_text().splitlines(), purchases=purchases.read_text().splitlines()
    )
    got = file_outputs(tmp_path / "join", expected)
    assert {k: canonical(v) for k, v in got.items()} == {k: canonical(v) for k, v in expected.items()}


def test_the_cluster_default_execution_mode_is_kept_and_the_option_overrides_it(flink_cluster, tmp_path):
    events = tmp_path / "events.jsonl"  # a few records: process mode runs one-record bundles
    events.write_text("".join(f"{line}\n" for line in SAMPLE[:20]))
    common = ["--input", str(events), "--gap", "3s", "--sink", "file"]
    cluster_process, option_process = submit_at_once(
        flink_cluster,
        (
            "jobs/sessions.py",
            [*common, "--output", str(tmp_path / "a")],
            {"flink_options": ["-D", "python.execution-mode=process"]},
        ),
        ("jobs/sessions.py", [*common, "--output", str(tmp_path / "b"), "--execution-mode", "process"], {}),
    )
    assert (cluster_process.execution_mode, option_process.execution_mode) == ("process", "process")
    for job in (cluster_process, option_process):
        assert flink_cluster.wait_for_job(job.job_id) == "FINISHED"


def submit_at_once(cluster: FlinkCluster, *submissions: tuple[str, list[str], dict]) -> list[Submission]:
    """``flink run --detached`` of each ``(script, args, options)``, all at once: each client
    starts its own JVM and interpreter, which is most of a submission's time."""
    with ThreadPoolExecutor(len(submissions)) as pool:
        running = [pool.submit(cluster.submit, script, args, **options) for script, args, options in submissions]
        return [submission.result() for submission in running]


def test_the_idleness_option_lets_windows_fire_while_a_partition_is_idle(flink_cluster, kafka_bootstrap):
    # Two partitions, parallelism 2, every record in partition 0: the second source subtask never
    # sees a record, so its event-time bridge never emits a watermark and the session windows
    # (which take the minimum over their inputs) would wait forever (measured: no output in 60 s).
    # With --idleness that subtask is marked idle after 1 s of silence and the windows follow the
    # active one. The job is unbounded (no --bounded): what fires is what the watermark of the
    # last record allows, max event time - 5 s; the sessions still open after it never fire.
    from tools import loadgen
    from udfs.timeutil import parse_event_time as parse_timestamp

    suffix = uuid.uuid4().hex[:8]
    topic, prefix = f"idle-activity-{suffix}", f"idle-sessions-{suffix}"
    records = list(loadgen.generate("activity", 300, seed=1, users=5, out_of_orderness_ms=0))
    produce(kafka_bootstrap, topic, records, partitions=2, partition_of=lambda i, record: 0)
    watermark = max(parse_timestamp(json.loads(r)["timestamp"]) for r in records) - 5_000
    every = run_job(sessions.JOB, ["--gap", "1s"], events=records)["sessions"]
    expected = [s for s in every if parse_timestamp(s["window_end"]) - 1 <= watermark]
    assert 0 < len(expected) < len(every)
    assert all(abs(parse_timestamp(s["window_end"]) - 1 - watermark) > 1 for s in every)  # no edge cases

    job_id = flink_cluster.submit(
        "jobs/sessions.py",
        [
            "--source",
            "kafka",
            "--topic",
            topic,
            "--bootstrap-servers",
            kafka_bootstrap,
            "--sink",
            "kafka",
            "--output-topic-prefix",
            prefix,
            "--gap",
            "1s",
            "--idleness",
            "1s",
            "--parallelism",
            "2",
        ],
    ).job_id
    try:
        out = wait_for_records(kafka_bootstrap, f"{prefix}.sessions", len(expected), timeout_s=180)
    finally:
        flink_cluster.cancel(job_id)
    assert canonical(out) == canonical(expected)


def wrapper(cluster: FlinkCluster, *args, **popen):
    command = [str(ROOT / "scripts" / "flink-cluster"), "--home", str(cluster.home), *args]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=child_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def test_the_wrapper_follows_a_job_to_its_end(flink_cluster, tmp_path):
    run = wrapper(
        flink_cluster,
        "run",
        "jobs/sessions.py",
        "--input",
        str(SAMPLES / "activity.jsonl"),
        "--gap",
        "3s",
        "--sink",
        "file",
        "--output",
        str(tmp_path),
    )
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    lines = err.splitlines()
    assert any(
        line.startswith("flink: submitted jobs/sessions.py as job ") and "/#/job/running/" in line for line in lines
    ), err
    assert lines[-1].startswith("FINISHED"), err
    assert sessions.JOB.accounted(file_outputs(tmp_path, ("sessions", "late", "errors"))) == len(SAMPLE)

    bad = wrapper(
        flink_cluster,
        "run",
        "jobs/sessions.py",
        "--gap",
        "0s",
        "--input",
        str(SAMPLES / "activity.jsonl"),
        "--sink",
        "file",
        "--output",
        str(tmp_path / "bad"),
    )
    _, err = bad.communicate(timeout=300)
    assert bad.returncode == 2
    assert err.splitlines()[-1] == "python -m jobs.sessions: error: argument --gap: must be longer than 0ms, got '0s'"


def test_ctrl_c_on_the_wrapper_cancels_the_job(flink_cluster, kafka_bootstrap):
    topic = f"ctrl-c-{uuid.uuid4().hex[:8]}"
    produce(kafka_bootstrap, topic, SAMPLE[:10])
    run = wrapper(
        flink_cluster,
        "run",
        "jobs/sessions.py",
        "--source",
        "kafka",
        "--topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        "--sink",
        "kafka",
        "--output-topic-prefix",
        topic,
    )
    job_id = None
    for line in run.stderr:  # unbounded source: the job runs until cancelled
        if line.startswith("flink: submitted"):
            job_id = line.split(" as job ")[1].split()[0]
        if job_id and line.startswith("RUNNING"):
            break
    assert job_id, "the wrapper never reported a running job"
    run.send_signal(signal.SIGINT)
    rest = run.stderr.read()
    assert run.wait(timeout=120) == 130, rest
    assert f"job {job_id} cancelled" in rest
    assert flink_cluster.rest(f"/jobs/{job_id}")["state"] == "CANCELED"


@pytest.mark.ops  # a cluster of its own, started and stopped: an operations scenario (make test-ops)
def test_stop_leaves_no_process_behind_python_workers_included(tmp_path, kafka_bootstrap):
    cluster = FlinkCluster(tmp_path / "cluster")
    cluster.start()
    try:
        groups = cluster.process_groups()
        topic = f"workers-{uuid.uuid4().hex[:8]}"
        produce(kafka_bootstrap, topic, SAMPLE[:10])
        # Process mode: the job's Python operators run in worker processes the TaskManager starts.
        job_id = cluster.submit(
            "jobs/sessions.py",
            [
                "--source",
                "kafka",
                "--topic",
                topic,
                "--bootstrap-servers",
                kafka_bootstrap,
                "--sink",
                "kafka",
                "--output-topic-prefix",
                topic,
                "--execution-mode",
                "process",
            ],
        ).job_id
        deadline = time.monotonic() + 180
        while not _python_workers(groups):
            assert time.monotonic() < deadline, "no Python worker started within 180 s"
            assert cluster.rest(f"/jobs/{job_id}")["state"] in ("CREATED", "INITIALIZING", "RUNNING")
            time.sleep(0.5)  # polling for the workers of a starting job
    finally:
        cluster.stop()
    assert not [pid for g in groups for pid in group_members(g)]
    assert not _processes_mentioning(str(cluster.home))


def _python_workers(groups) -> list[int]:
    return [pid for g in groups for pid in group_members(g) if "pyflink.fn_execution" in _cmdline(pid)]


def _processes_mentioning(text: str) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and int(p.name) != os.getpid() and text in _cmdline(int(p.name))
    ]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for_records(bootstrap, topic, count, timeout_s):
    """Poll an unbounded job's output topic until ``count`` records are there (or fail)."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = [json.loads(r) for r in read_topic(bootstrap, topic, "read_uncommitted")]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(1)  # polling a running job's output, not a timing assumption


# -- what the wrapper says (tools/flink_cluster.py: checkpoint_text, savepoint_line, status_line) --
PROGRESS = re.compile(
    r"(CREATED|INITIALIZING|RUNNING|FINISHED) +\d+s  records out of the source stages [\d,]+, into the downstream "
    r"stages [\d,]+(; no checkpoint completed yet|; [\d,]+ checkpoints? completed, the last \d+s ago)?"
)


def test_the_wrapper_says_nothing_alarming_about_checkpoints_that_could_not_start_yet(flink_cluster, tmp_path):
    """The first line of every job with checkpoints said ``checkpoints: 0 completed, 1 failed``:
    Flink counts a checkpoint it could not trigger while the tasks start as failed. Every progress
    line of a healthy checkpointing job is now a plain count."""
    run = wrapper(
        flink_cluster,
        "run",
        "jobs/sessions.py",
        "--input",
        str(SAMPLES / "activity.jsonl"),
        "--checkpoint-interval",
        "100ms",
        "--output",
        str(tmp_path / "out"),
    )
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    progress = [line for line in err.splitlines() if not line.startswith("flink: ")]  # submitted, warnings
    assert progress and all(PROGRESS.fullmatch(line) for line in progress), err
    assert progress[-1].startswith("FINISHED") and " checkpoint" in progress[-1], err


def test_status_of_a_cluster_that_is_not_running_says_so(tmp_path):
    status = subprocess.run(
        [str(ROOT / "scripts" / "flink-cluster"), "--home", str(tmp_path / "none"), "status"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (status.returncode, status.stdout, status.stderr) == (3, "flink: not running\n", "")


# -- a job resumed from a savepoint (runner/environment.py: restored_from) ----------------------
def test_restored_from_names_the_savepoint_flink_run_s_puts_in_the_configuration():
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment

    from runner.environment import restored_from

    def environment(**settings):
        conf = Configuration()
        for key, value in settings.items():
            conf.set_string(key, value)
        return StreamExecutionEnvironment.get_execution_environment(conf)

    assert restored_from(environment()) is None
    assert restored_from(environment(**{"execution.state-recovery.path": "file:/sp/1"})) == "file:/sp/1"
    assert restored_from(environment(**{"execution.savepoint.path": "file:/sp/2"})) == "file:/sp/2"


def test_a_job_resumed_from_a_savepoint_refuses_bounded_on_a_kafka_source(flink_cluster, kafka_bootstrap):
    """``run --from-savepoint`` (``flink run -s``) with ``--bounded``: the Kafka source would take
    the savepoint's stopping offsets (none, from an unbounded run) and never end. The job's client
    refuses before anything is submitted (the savepoint's path is not even read)."""
    topic = f"resumed-bounded-{uuid.uuid4().hex[:8]}"
    produce(kafka_bootstrap, topic, SAMPLE[:5])
    run = wrapper(
        flink_cluster,
        "run",
        "--from-savepoint",
        "file:/no/such/savepoint-1",
        "jobs/sessions.py",
        "--source",
        "kafka",
        "--topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        "--bounded",
        "--sink",
        "kafka",
        "--output-topic-prefix",
        topic,
    )
    out, err = run.communicate(timeout=300)
    assert run.returncode == 2, err
    assert (out, err.splitlines()) == (
        "",
        [
            "python -m jobs.sessions: error: --bounded does not apply to a job resumed from a savepoint "
            "(file:/no/such/savepoint-1): its Kafka source takes the stopping offsets of the run that took it; "
            "resume without --bounded and end it with scripts/flink-cluster stop-with-savepoint"
        ],
    )
