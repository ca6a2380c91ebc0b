"""What scripts/flink-cluster says (tools/flink_cluster.py): sentences, not alarms or raw data."""

from tools.flink_cluster import checkpoint_text, savepoint_line, status_line

URL = "http://127.0.0.1:8081"


def test_status_says_which_process_runs_or_that_none_does():
    assert status_line(URL, [], []) == "flink: not running"
    assert status_line(URL, [11], [12, 13]) == f"flink: running at {URL} (JobManager pid 11, TaskManager pid 12, 13)"
    assert status_line(URL, [11], []) == f"flink: running at {URL} (JobManager pid 11, no TaskManager)"
    assert status_line(URL, [], [12]) == "flink: no JobManager running; TaskManager pid 12 left over (stop it)"


def test_checkpoints_that_could_not_start_are_no_alarm():
    """Flink counts a checkpoint it could not trigger (not every task running yet: at the start and
    after a restart) as failed, without statistics of its own: the wrapper's first line said
    ``checkpoints: 0 completed, 1 failed`` for every job, and ``3 failed`` ever after."""
    assert checkpoint_text({"counts": {"total": 0}}, 0) == ""
    not_triggered = {"counts": {"total": 1, "completed": 0, "failed": 1}, "latest": {"completed": None, "failed": None}}
    assert checkpoint_text(not_triggered, 0) == "; no checkpoint completed yet"
    assert checkpoint_text({"counts": {"total": 1, "in_progress": 1}}, 0) == "; no checkpoint completed yet"
    done = {
        "counts": {"total": 14, "completed": 11, "failed": 3},
        "latest": {"completed": {"latest_ack_timestamp": 7_000}, "failed": None},
    }
    assert checkpoint_text(done, 10.0) == "; 11 checkpoints completed, the last 3s ago"
    one = {"counts": {"total": 2, "completed": 1, "failed": 1}, "latest": {"completed": {"latest_ack_timestamp": 0}}}
    assert checkpoint_text(one, 0.4) == "; 1 checkpoint completed, the last 0s ago"


def test_a_checkpoint_that_failed_is_shown_with_its_reason_until_a_later_one_completes():
    expired = {"id": 12, "failure_timestamp": 9_000, "failure_message": "Checkpoint expired before completing.\nmore"}
    stats = {
        "counts": {"total": 16, "completed": 11, "failed": 5},
        "latest": {"completed": {"latest_ack_timestamp": 7_000}, "failed": expired},
    }
    assert checkpoint_text(stats, 10.0) == (
        "; 11 checkpoints completed, the last 3s ago; "
        "checkpoint 12 failed 1s ago: Checkpoint expired before completing."
    )
    stats["latest"]["completed"] = {"latest_ack_timestamp": 9_500}  # checkpoint 13 completed after it
    assert checkpoint_text(stats, 10.0) == "; 11 checkpoints completed, the last 0s ago"
    # The checkpoint in flight when a bounded job finishes (or one is stopped) is aborted: routine.
    stats["latest"]["failed"] = {
        "id": 14,
        "failure_timestamp": 9_900,
        "failure_message": "Checkpoint Coordinator is suspending.",
    }
    assert checkpoint_text(stats, 10.0) == "; 11 checkpoints completed, the last 0s ago"
    stats["latest"]["failed"] = {
        "id": 15,
        "failure_timestamp": 9_950,
        "failure_message": "TaskManager received a checkpoint request for unknown task 6164ff_1020ce_0_0. "
        "Failure reason: Task local checkpoint failure.",
    }
    assert checkpoint_text(stats, 10.0) == "; 11 checkpoints completed, the last 0s ago"
    first = {"counts": {"total": 1, "failed": 1}, "latest": {"completed": None, "failed": {**expired, "id": 1}}}
    assert checkpoint_text(first, 10.0) == (
        "; no checkpoint completed yet; checkpoint 1 failed 1s ago: Checkpoint expired before completing."
    )


def test_a_drained_savepoint_is_not_offered_for_resuming():
    assert savepoint_line("abc", "FINISHED", "file:/sp/1", drain=True) == (
        "flink: job abc drained and stopped (FINISHED): every window fired and every timer ran before the final "
        "savepoint file:/sp/1; it records where the job ended, not a point to resume from (a job resumed from it "
        "would split each window that was open at the stop in two; to pause a job and resume it, stop it without "
        "--drain)"
    )
    assert savepoint_line("abc", "FINISHED", "file:/sp/1", drain=False) == (
        "flink: job abc stopped (FINISHED) with a savepoint; resume it with "
        "scripts/flink-cluster run --from-savepoint file:/sp/1 <job script> <options>"
    )
