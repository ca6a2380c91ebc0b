"""A job that reads Kafka without end, as in production: started in its own process, watched
through the broker (committed offsets, output topics) and its Prometheus endpoint, stopped with
SIGTERM as a user stops it with Ctrl-C."""

import re
import subprocess
import sys
import time
import urllib.request

from tools.processes import child_env


def start_unbounded(job: str, bootstrap: str, topic: str, prefix: str, *extra: str) -> subprocess.Popen:
    """``python -m jobs.<job>`` from ``topic`` to the topics ``<prefix>.<output>``, in consumer group
    ``prefix``, checkpointing every second (the source commits its offsets on each)."""
    argv = ["--source", "kafka", "--topic", topic, "--bootstrap-servers", bootstrap, "--sink", "kafka"]
    argv += ["--output-topic-prefix", prefix, "--checkpoint-interval", "1s", "--group-id", prefix, *extra]
    return subprocess.Popen(
        [sys.executable, "-m", f"jobs.{job}", *argv],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(job: subprocess.Popen) -> str:
    """Stop the job (SIGTERM: the run cancels its job and ends with one line); its stderr."""
    if job.poll() is None:
        job.terminate()
    try:
        return job.communicate(timeout=120)[1]
    finally:
        if job.poll() is None:
            job.kill()


def wait(condition, job: subprocess.Popen, timeout: float, what: str):
    """``condition()``'s first true value, polled while the job runs; fails with ``what`` after
    ``timeout`` seconds or when the job ends."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert job.poll() is None, f"the job ended: {job.stderr.read() if job.stderr else ''}"
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s"
        time.sleep(0.5)  # polling the broker, not a timing assumption
    return result


#: Prometheus's text format: ``name{labels} value`` (labels may be absent).
SAMPLE_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(port: int) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a run's Prometheus endpoint (``--metrics-port``): ``(name, labels, value)``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = []
    for line in text.splitlines():
        match = SAMPLE_LINE.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def job_metric(port: int, name: str) -> float | None:
    """The job-level metric ``name`` (e.g. ``numberOfCompletedCheckpoints``) from the run's
    Prometheus endpoint, None while it has none (or the endpoint is not up yet)."""
    try:
        samples = scrape(port)
    except OSError:
        return None
    return next((value for metric, _, value in samples if metric == f"flink_jobmanager_job_{name}"), None)


def completed_checkpoints(port: int) -> int:
    """The job's completed checkpoints: the clock of a test that waits for the sinks to flush or
    the source to commit."""
    return int(job_metric(port, "numberOfCompletedCheckpoints") or 0)


def checkpoints_later(port: int, job: subprocess.Popen, count: int) -> None:
    """Wait until ``count`` more checkpoints have completed."""
    after = completed_checkpoints(port) + count
    wait(lambda: completed_checkpoints(port) >= after, job, 120, f"no {count} more checkpoints")
