"""Watching a local run to its end: a progress line on stderr while it runs (only when stderr is a
terminal), and Ctrl-C, which cancels the job.

The progress comes from Flink's own metrics through the local MiniCluster's REST endpoint (started
on a free loopback port only for a run that shows progress): the sources' ``numRecordsOut`` (records
read) and the event-time gauges of udfs/metrics.py (how far the watermark trails the data).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import TextIO

from pyflink.common import JobClient

#: How often the client looks at the job, and redraws the progress line.
POLL_S = 0.5
DRAW_EVERY_S = 1.0


def wants_progress(stream: TextIO = sys.stderr) -> bool:
    """Progress lines are for people: only when the stream is a terminal."""
    return stream.isatty()


def rest_overrides() -> dict[str, str]:
    """Configuration that starts the local MiniCluster's REST endpoint on a free port (on the
    loopback address, as every local endpoint: runner/environment.py's LOCAL_ADDRESSES)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {
        "rest.port": str(port),
        # The REST endpoint fetches metrics from the tasks every 10 s by default: too slow a line.
        "metrics.fetcher.update-interval": "1000",
    }


class JobMetrics:
    """Reads a running job's progress from the REST endpoint; ``None`` for what it cannot read
    (the job is starting, or its cluster has just shut down)."""

    def __init__(self, rest_url: str, job_id: str):
        self.rest_url = rest_url.rstrip("/")
        self.job_id = job_id

    def _get(self, path: str):
        with urllib.request.urlopen(f"{self.rest_url}{path}", timeout=2) as response:
            return json.load(response)

    def read(self) -> tuple[int | None, int | None]:
        """(records read by the sources, watermark lag in ms: the largest of the inputs')."""
        try:
            records, lag = 0, None
            for vertex in self._get(f"/jobs/{self.job_id}")["vertices"]:
                base = f"/jobs/{self.job_id}/vertices/{vertex['id']}/subtasks/metrics"
                ids = [m["id"] for m in self._get(base)]
                wanted = [i for i in ids if i.startswith("Source__") and i.endswith(".numRecordsOut")]
                lags = [i for i in ids if i.endswith("eventtime.lag_ms")]
                if not wanted and not lags:
                    continue
                for metric in self._get(f"{base}?get={','.join(wanted + lags)}&agg=sum,max"):
                    if metric["id"] in wanted:
                        records += int(metric["sum"])
                    else:
                        lag = max(lag or 0, int(metric["max"]))
            return records, lag
        except (OSError, ValueError, KeyError):
            return None, None


class ProgressLine:
    """``records read of total (percent), rate, elapsed`` for files; ``records consumed, watermark
    lag, elapsed`` for Kafka; redrawn in place with a carriage return."""

    def __init__(self, total: int | None, stream: TextIO = sys.stderr):
        self.total = total
        self.stream = stream
        self.started = time.monotonic()
        self.width = 0

    def draw(self, records: int | None, lag_ms: int | None) -> None:
        elapsed = time.monotonic() - self.started
        parts = []
        if records is not None:
            if self.total:
                parts.append(f"{records:,} of {self.total:,} records ({100 * records / self.total:.0f}%)")
            else:
                parts.append(f"{records:,} records consumed")
            parts.append(f"{records / elapsed:,.0f} records/s" if elapsed > 0 else "")
        if lag_ms is not None and not self.total:
            parts.append(f"watermark lag {lag_ms / 1000:.1f}s")
        minutes, seconds = divmod(int(elapsed), 60)
        parts.append(f"{minutes}:{seconds:02d} elapsed")
        text = "  " + "  ".join(p for p in parts if p)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def complete(self) -> None:
        """The input has been read to its end (a bounded run that finished)."""
        if self.total:
            self.draw(self.total, None)

    def done(self) -> None:
        if self.width:
            self.stream.write("\n")
            self.stream.flush()


def run_to_end(client: JobClient, on_poll: Callable[[], None] | None = None) -> None:
    """Wait until the job has ended, calling ``on_poll`` every :data:`DRAW_EVERY_S`; raise its
    failure as ``execute`` would. Ctrl-C cancels the job, then raises ``KeyboardInterrupt``."""
    result = client.get_job_execution_result()
    drawn = 0.0
    try:
        while not result.done():
            if on_poll is not None and time.monotonic() - drawn >= DRAW_EVERY_S:
                on_poll()
                drawn = time.monotonic()
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        cancel(client)
        raise
    result.result()


def cancel(client: JobClient) -> None:
    """Cancel a job after Ctrl-C; a job that has ended meanwhile needs nothing."""
    # A job that has ended meanwhile, or whose cluster is gone, has nothing left to stop.
    with contextlib.suppress(Exception):
        client.cancel().result()
