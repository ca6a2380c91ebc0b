"""Nothing in the cluster's configuration assumes one host: a JobManager and a TaskManager in
network namespaces of their own (two hosts, as far as the network can tell) on private addresses
this test creates and removes, the client a third host. The job's Python files reach the
TaskManager through the JobManager's blob server, its records cross the network between them, and
its output equals the in-memory run's (docs/several-machines.md)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs import sessions
from tests.harness import canonical, run_job, wait_until
from tools.flink_cluster import FlinkCluster
from tools.kafka_broker import free_port

pytestmark = pytest.mark.ops

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "samples" / "activity.jsonl").read_text().splitlines()


def ip(*args: str, namespace: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, text=True)


def why_no_namespaces() -> str | None:
    """Why this machine cannot create network namespaces (not root, no ``ip``), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    probe = f"pf-probe-{uuid.uuid4().hex[:6]}"
    created = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if created.returncode:
        return f"cannot create a network namespace: {created.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=True)
    return None


def free_subnet() -> ipaddress.IPv4Network:
    """A private /24 that no route of this machine uses."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used = [ipaddress.ip_network(word, strict=False) for word in routes.split() if "/" in word and word[0].isdigit()]
    for third in range(200, 250):
        subnet = ipaddress.IPv4Network(f"10.{third}.77.0/24")
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise RuntimeError("no free 10.x.77.0/24 subnet")


@contextlib.contextmanager
def hosts(names: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """A network namespace per name, each with a veth link into a bridge on this machine that has
    an address of its own (the client's), on a free private /24: ``{name: address}``. Everything
    created is removed on exit."""
    tag = uuid.uuid4().hex[:5]
    subnet = free_subnet()
    addresses = list(subnet.hosts())
    bridge = f"pfbr{tag}"
    namespaces = {name: f"pf-{name}-{tag}" for name in names}
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{addresses[-1]}/{subnet.prefixlen}", "dev", bridge)
        ip("link", "set", bridge, "up")
        result = {}
        for i, namespace in enumerate(namespaces.values()):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            inside, outside = f"pfv{i}{tag}", f"pfb{i}{tag}"
            ip("link", "add", inside, "type", "veth", "peer", "name", outside)
            ip("link", "set", inside, "netns", namespace)
            ip("link", "set", outside, "master", bridge, "up")
            ip("addr", "add", f"{addresses[i]}/{subnet.prefixlen}", "dev", inside, namespace=namespace)
            ip("link", "set", inside, "up", namespace=namespace)
            ip("link", "set", "lo", "up", namespace=namespace)
            result[namespace] = str(addresses[i])
        yield result
    finally:
        for namespace in namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def listening(namespace: str, pids: list[int]) -> set[str]:
    """The local addresses the processes ``pids`` listen on (TCP), seen inside ``namespace`` (an
    IPv4 address on Java's dual-stack socket shows as ``[::ffff:a.b.c.d]``)."""
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, "ss", "-Hltnp"], check=True, capture_output=True, text=True
    ).stdout
    return {
        line.split()[3].rsplit(":", 1)[0].removeprefix("[::ffff:").removesuffix("]")
        for line in out.splitlines()
        if any(f"pid={pid}," in line for pid in pids)
    }


def test_a_jobmanager_and_a_taskmanager_on_two_hosts_run_a_job_submitted_from_a_third(tmp_path):
    reason = why_no_namespaces()
    if reason:
        pytest.skip(f"{reason}: the two-host test needs network namespaces")
    with hosts(("jobmanager", "taskmanager")) as addresses:
        (jm_ns, jm), (tm_ns, tm) = addresses.items()
        cluster = FlinkCluster(tmp_path / "cluster")
        cluster.configure()
        cluster.set_config(
            {
                "jobmanager.rpc.address": jm,
                "jobmanager.bind-host": jm,
                "rest.address": jm,
                "rest.bind-address": jm,
                "metrics.reporter.prom.host": jm,
                "metrics.reporter.prom.port": free_port(),
            }
        )
        try:
            cluster.start_session_jobmanager(namespace=jm_ns)
            cluster.start_taskmanager(
                f"-Dtaskmanager.host={tm}",
                f"-Dtaskmanager.bind-host={tm}",
                f"-Dmetrics.reporter.prom.host={tm}",
                namespace=tm_ns,
            )
            cluster.wait_for_slots()
            taskmanagers = cluster.rest("/taskmanagers")["taskmanagers"]
            assert [t["path"].split("@")[1].split(":")[0] for t in taskmanagers] == [tm], taskmanagers

            submitted = cluster.submit(
                "jobs/sessions.py",
                [
                    *("--input", str(ROOT / "samples" / "activity.jsonl"), "--gap", "3s", "--parallelism", "2"),
                    *("--sink", "file", "--output", str(tmp_path / "out")),
                ],
            )
            assert cluster.wait_for_job(submitted.job_id) == "FINISHED", cluster.root_cause(submitted.job_id)
            bound = {
                jm_ns: listening(jm_ns, cluster.pids("standalonesession")),
                tm_ns: listening(tm_ns, cluster.pids("taskexecutor")),
            }
        finally:
            cluster.stop()
        wait_until(lambda: not cluster.process_groups(), 30, "the cluster's processes did not end")
    from runner.outputs import read_file_outputs

    expected = run_job(sessions.JOB, ["--gap", "3s"], events=SAMPLE)
    got = read_file_outputs(tmp_path / "out", expected)
    assert {k: canonical(v) for k, v in got.items()} == {k: canonical(v) for k, v in expected.items()}
    # Each process listens on its own host's address only (nothing on every interface).
    assert bound == {jm_ns: {jm}, tm_ns: {tm}}, bound
