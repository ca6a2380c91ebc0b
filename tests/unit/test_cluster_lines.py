"""What scripts/flink-cluster says (tools/flink_cluster.py): sentences, not alarms or raw data."""

from tools.flink_cluster import checkpoint_text, savepoint_line, status_line

URL = "http://127.0.0.1:8081"


def test_status_says_which_process_runs_or_that_none_does():
    assert status_line(URL, [], []) == "flink: not running"
    assert status_line(URL, [11], [12, 13]) == f"flink: running at {URL} (JobManager pid 11, TaskManager pid 12, 13)"
    assert status_line(URL, [11], []) == f"flink: running at {URL} (JobManager pid 11, no TaskManager)"
    assert status_line(URL, [], [12]) == "flink: no JobManager running; TaskManager pid 12 left over (stop it)"


def test_checkpoints_before_the_first_completes_are_no_alarm():
    assert checkpoint_text({"counts": {"total": 0}}, 0) == ""
    declined = {"counts": {"total": 1, "completed": 0, "failed": 1}, "latest": {"completed": None}}
    assert (
        checkpoint_text(declined, 0)
        == "; no checkpoint completed yet (1 attempt declined or failed; Flink tries again)"
    )
    assert checkpoint_text({"counts": {"total": 1, "in_progress": 1}}, 0) == "; no checkpoint completed yet"
    done = {
        "counts": {"total": 14, "completed": 11, "failed": 3},
        "latest": {"completed": {"latest_ack_timestamp": 7_000}},
    }
    assert checkpoint_text(done, 10.0) == "; 11 checkpoints completed, the last 3s ago, 3 failed"


def test_a_drained_savepoint_is_not_offered_for_resuming():
    drained = savepoint_line("abc", "FINISHED", "file:/sp/1", drain=True)
    assert "resume it with" not in drained and "every window fired" in drained
    assert savepoint_line("abc", "FINISHED", "file:/sp/1", drain=False) == (
        "flink: job abc stopped (FINISHED) with a savepoint; resume it with "
        "scripts/flink-cluster run --from-savepoint file:/sp/1 <job script> <options>"
    )
