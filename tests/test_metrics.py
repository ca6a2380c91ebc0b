"""Metrics where users look (docs/metrics.md): a running job's Prometheus endpoint, read by a real
Prometheus, against what the job wrote.

The job is ``sessions`` reading Kafka, so it keeps running while it is scraped. Its input is the
bundled sample and two closing records of a key of their own, a day later: the first moves the
watermark past every session of the sample, so all of them close while the job runs on; the
second, 1 ms older, arrives when the newest event is exactly the bound ahead of the watermark, which
is then what the lag gauge shows.
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from jobs import sessions
from runner.cli import parse
from tests.harness import canonical, run_job, wait_until
from tests.sockets import listeners_of, listening_addresses, loopback
from tests.unbounded import scrape
from tools import dashboard
from tools.kafka_broker import free_port, produce, read_topic
from tools.processes import child_env
from udfs.timeutil import format_time, parse_event_time

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "samples" / "activity.jsonl").read_text().splitlines()
DASHBOARD = json.loads((ROOT / "docker" / "grafana" / "dashboards" / "pyflink-jobs.json").read_text())
PROMETHEUS_CONFIG = ROOT / "docker" / "prometheus" / "prometheus.yml"
OUTPUTS = ("sessions", "late", "errors")
BOUND_MS = parse(sessions.JOB, []).event_time.out_of_orderness_ms


def closing_records() -> list[str]:
    newest = max(parse_event_time(json.loads(line)["timestamp"]) for line in SAMPLE if _is_event(line))
    template = json.loads(next(line for line in SAMPLE if _is_event(line)))
    first = newest + 86_400_000
    return [
        json.dumps({**template, "user_id": "metrics-closer", "timestamp": format_time(ts)}) for ts in (first, first - 1)
    ]


def _is_event(line: str) -> bool:
    try:
        record = json.loads(line)
        parse_event_time(record["timestamp"])
        return isinstance(record, dict) and bool(record.get("user_id"))
    except (ValueError, KeyError, TypeError):
        return False


def output_counts(samples) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for name, labels, value in samples:
        if name == "flink_taskmanager_job_task_operator_output_records":
            counts[labels["output"]] += int(value)
    return dict(counts)


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of the dashboard, Grafana's variables resolved."""
    queries = []
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"].replace("$__rate_interval", "1m")))
    return queries


class RunningJob:
    """``python -m jobs.sessions`` from Kafka to Kafka with ``--metrics-port``, as a user runs it;
    stopped with Ctrl-C (its process group), as a user stops it."""

    def __init__(self, argv: list[str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobs.sessions", *argv],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        output, _ = self.process.communicate()
        return output


class Prometheus:
    """The real Prometheus (Debian's package, installed by scripts/setup) with the compose file's
    configuration, its targets replaced by the local endpoint and scraping every second."""

    def __init__(self, home: Path, target: str):
        config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        for job in config["scrape_configs"]:
            job["static_configs"] = [{"targets": [target]}]
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(home / "prometheus.log").open("w"),
        )

    def query(self, promql: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                answer = json.load(response)
        except OSError:
            return []
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def scrapes(self) -> int:
        """How many times Prometheus has scraped the job in the last minute."""
        result = self.query("count_over_time(up[1m])")
        return int(float(result[0]["value"][1])) if result else 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Scraped:
    """The running job, its endpoint, what it wrote, and a scrape taken once the counters caught up."""

    job: RunningJob
    port: int
    written: dict[str, list[dict]]
    samples: list[tuple[str, dict[str, str], float]]


@pytest.fixture(scope="module")
def scraped(kafka_bootstrap):
    topic, prefix, port = f"activity-{uuid.uuid4().hex[:8]}", f"metrics-{uuid.uuid4().hex[:8]}", free_port()
    expected = run_job(sessions.JOB, events=SAMPLE)  # the bounded run closes every session too
    produce(kafka_bootstrap, topic, [*SAMPLE, *closing_records()])
    job = RunningJob(
        [
            *("--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap),
            *("--sink", "kafka", "--output-topic-prefix", prefix, "--checkpoint-interval", "1s"),
            *("--metrics-port", str(port)),
        ]
    )
    try:
        written: dict[str, list[dict]] = {}

        def all_written():
            assert job.alive(), job.stop()
            written.update({o: [json.loads(r) for r in read_topic(kafka_bootstrap, f"{prefix}.{o}")] for o in OUTPUTS})
            return all(len(written[o]) == len(expected[o]) for o in OUTPUTS)

        wait_until(all_written, 180, "the sample's sessions in the output topics")
        assert {o: canonical(written[o]) for o in OUTPUTS} == {o: canonical(expected[o]) for o in OUTPUTS}
        # The counters may trail the topics by one report: wait until they count what was written.
        samples = wait_until(
            lambda: (s := scrape(port)) and output_counts(s) == {o: len(written[o]) for o in OUTPUTS} and s,
            180,
            "the output counters to reach the records written",
        )
        yield Scraped(job, port, written, samples)
    finally:
        output = job.stop()
    assert "interrupted: the job was cancelled" in output, output


def test_the_counters_equal_the_outputs_and_the_lag_gauge_the_bound(scraped):
    assert output_counts(scraped.samples) == {o: len(scraped.written[o]) for o in OUTPUTS}
    assert len(scraped.written["errors"]) > 0 and len(scraped.written["sessions"]) > 0
    read = sum(v for n, _, v in scraped.samples if n == "flink_taskmanager_job_task_operator_records_in")
    assert read == len(SAMPLE) + 2
    lags = [v for n, _, v in scraped.samples if n == "flink_taskmanager_job_task_operator_eventtime_lag_ms"]
    assert lags == [BOUND_MS]
    # The endpoint listens on the loopback address only (Flink's own reporter listens on all).
    addresses = listening_addresses(scraped.port)
    assert addresses and all(loopback(a) for a in addresses), addresses


def test_a_local_run_listens_on_the_loopback_address_only(scraped):
    """The run's Python process and its JVM: the metrics endpoint, the MiniCluster's REST endpoint
    (job submissions), PyFlink's Python worker service and py4j (runner/environment.py)."""
    listeners = listeners_of(scraped.job.process.pid)
    assert any(port == scraped.port for _, port in listeners), listeners
    exposed = [(who, port) for who, port in listeners if not loopback(ipaddress.ip_address(who.split()[-1]))]
    assert not exposed


def test_every_dashboard_query_names_a_metric_the_job_exports(scraped):
    exported = {name for name, _, _ in scraped.samples}
    for title, promql in panel_queries():
        named = set(re.findall(r"\bflink_\w+", promql))
        assert named and named <= exported, (title, sorted(named - exported))


def test_prometheus_with_the_compose_configuration_gives_every_panel_data(scraped, tmp_path):
    if not shutil.which("prometheus"):
        pytest.skip("no prometheus binary on this machine (scripts/setup installs it when run as root)")
    prometheus = Prometheus(tmp_path, f"127.0.0.1:{scraped.port}")
    try:
        wait_until(lambda: prometheus.scrapes() >= 5, 180, "five scrapes of the job by Prometheus")
        for title, promql in panel_queries():
            assert prometheus.query(promql), (title, promql)
        by_output = {
            r["metric"]["output"]: int(float(r["value"][1]))
            for r in prometheus.query("sum by (output) (flink_taskmanager_job_task_operator_output_records)")
        }
        assert by_output == {o: len(scraped.written[o]) for o in OUTPUTS}

        # The dashboard as tools/dashboard.py draws it from this Prometheus: every panel has lines.
        page = dashboard.render(f"http://127.0.0.1:{prometheus.port}", time.time() - 60, time.time())
        drawn = {
            title: int(n) for title, n in re.findall(r'class="panel" data-title="([^"]+)" data-series="(\d+)"', page)
        }
        assert set(drawn) == {panel["title"] for panel in DASHBOARD["panels"]}
        assert all(n > 0 for n in drawn.values()), drawn
    finally:
        prometheus.stop()


def test_a_cluster_reports_a_submitted_jobs_counters_on_loopback(flink_cluster, kafka_bootstrap):
    """flink-conf/config.yaml's reporter on a standalone cluster: the TaskManager serves the job's
    counters, and every endpoint listens on the loopback address only."""
    topic, prefix = f"activity-{uuid.uuid4().hex[:8]}", f"cluster-metrics-{uuid.uuid4().hex[:8]}"
    produce(kafka_bootstrap, topic, [*SAMPLE, *closing_records()])
    submitted = flink_cluster.submit(
        "jobs/sessions.py",
        [
            *("--source", "kafka", "--topic", topic, "--bootstrap-servers", kafka_bootstrap),
            *("--sink", "kafka", "--output-topic-prefix", prefix, "--checkpoint-interval", "1s"),
        ],
    )
    try:
        expected = {o: len(v) for o, v in run_job(sessions.JOB, events=SAMPLE).items()}

        def reported():
            counts: dict[str, int] = defaultdict(int)
            for port in flink_cluster.metrics_ports:
                if listening_addresses(port):
                    for output, n in output_counts(scrape(port)).items():
                        counts[output] += n
            return counts == expected

        wait_until(reported, 180, "the cluster's reporter to count the sample's outputs")
        written = {o: len(read_topic(kafka_bootstrap, f"{prefix}.{o}")) for o in OUTPUTS}
        assert written == expected
        listening = [a for port in flink_cluster.metrics_ports for a in listening_addresses(port)]
        assert len(listening) >= 2 and all(loopback(a) for a in listening), listening  # JobManager, TaskManager
    finally:
        flink_cluster.cancel(submitted.job_id)
