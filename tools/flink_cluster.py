"""A local standalone Flink cluster (one JobManager, one TaskManager) from PyFlink's own ``bin/``,
configured by a copy of ``flink-conf/config.yaml`` with free ports and its own folders, all on
127.0.0.1: ``scripts/flink-cluster`` and the tests' session fixture ``flink_cluster``
(tests/conftest.py).

Jobs are submitted with ``flink run -py jobs/<name>.py --pyFiles udfs,jobs ...`` (see
:meth:`FlinkCluster.submit`), exactly as a user would.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyflink
import yaml

from runner.jars import connector_jars, functions_jar, prometheus_reporter_jars
from runner.run import root_cause
from tools.kafka_broker import free_port
from tools.package import package
from tools.processes import child_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYFLINK = Path(pyflink.__path__[0]).resolve()
BIN = PYFLINK / "bin"


#: The daemons (pid-file names) of a JobManager: a session cluster's and an application cluster's.
JOBMANAGERS = ("standalonesession", "standalonejob")


class FlinkCluster:
    def __init__(self, home: Path, free_ports: bool = True):
        self.home = Path(home).resolve()
        self.conf_dir = self.home / "conf"
        self.free_ports = free_ports
        config = self.conf_dir / "config.yaml"
        if config.exists():
            conf = yaml.safe_load(config.read_text())
            self.rest_port, self.rest_address = conf["rest.port"], conf["rest.address"]
        else:
            self.rest_port = free_port() if free_ports else _project_config()["rest.port"]
            self.rest_address = _project_config()["rest.address"]
        self.checkpoints = self.home / "checkpoints"
        #: The command :meth:`start_application` started the JobManager with (a restart repeats it).
        self.application_command: list[str] = []

    # -- configuration -----------------------------------------------------------------------
    def configure(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for name in (
            "log4j.properties",
            "log4j-cli.properties",
            "log4j-console.properties",
            "logback.xml",
            "logback-console.xml",
        ):
            if (PYFLINK / "conf" / name).exists():
                shutil.copy(PYFLINK / "conf" / name, self.conf_dir / name)
        conf = _project_config()
        if self.free_ports:  # test clusters: side by side with anything else on the machine
            conf.update(
                {
                    "jobmanager.rpc.port": free_port(),
                    "rest.port": self.rest_port,
                    "blob.server.port": free_port(),
                    # Any free port, chosen by each TaskManager: one that replaces a killed one gets a
                    # new address. At the old one the JobManager's RPC system still holds the dead
                    # process's association ("read-only association"), and the replacement never
                    # registers (exactly-once test: NoResourceAvailableException after 5 min).
                    "taskmanager.rpc.port": 0,
                    "taskmanager.data.port": 0,
                    "jobmanager.memory.process.size": "800m",
                    "taskmanager.memory.process.size": "1280m",
                    # A killed TaskManager (exactly-once test) is noticed in seconds, not 50 s.
                    "heartbeat.interval": 2000,
                    "heartbeat.timeout": 8000,
                    # The JobManager and up to five TaskManagers (one that replaces a killed one,
                    # those add-taskmanager starts): one port each.
                    "metrics.reporter.prom.port": ",".join(str(free_port()) for _ in range(6)),
                }
            )
        conf.update(
            {
                "env.pid.dir": str(self.home / "pid"),
                "env.log.dir": str(self.home / "log"),
                "io.tmp.dirs": str(self.home / "tmp"),
                "execution.checkpointing.dir": self.checkpoints.as_uri(),
                "python.executable": sys.executable,
                "python.client.executable": sys.executable,  # the project's venv: PyFlink, kafka-python
            }
        )
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(conf, sort_keys=False))
        (self.conf_dir / "masters").write_text(f"127.0.0.1:{self.rest_port}\n")
        (self.conf_dir / "workers").write_text("127.0.0.1\n")
        for sub in ("pid", "log", "tmp"):
            (self.home / sub).mkdir(exist_ok=True)
        self._link_class_path()

    def set_config(self, settings: dict) -> None:
        """Change settings of this cluster's config.yaml (processes started after read them)."""
        config = self.conf_dir / "config.yaml"
        conf = yaml.safe_load(config.read_text())
        conf.update(settings)
        config.write_text(yaml.safe_dump(conf, sort_keys=False))
        self.rest_address = conf["rest.address"]

    def _link_class_path(self) -> None:
        """The cluster's lib and plugins folders. lib: PyFlink's lib/, flink-python from its opt/ (so
        that the one pemja of the TaskManager serves every thread-mode job: flink-conf/config.yaml
        says why), the Kafka connector and the jobs' JVM functions (loaded once per TaskManager
        rather than once per job: thread mode keeps every job's classes alive, and a connector per
        job filled the metaspace after 17 jobs). plugins: the Prometheus reporter of config.yaml."""
        lib = self.home / "lib"
        shutil.rmtree(lib, ignore_errors=True)
        lib.mkdir()
        for jar in [
            *(PYFLINK / "lib").glob("*.jar"),
            *(PYFLINK / "opt").glob("flink-python-*.jar"),
            *connector_jars(),
            functions_jar(),
        ]:
            (lib / jar.name).symlink_to(jar)
        # The Prometheus reporter of config.yaml, a plugin: a folder of its own (its class loader).
        reporter = self.home / "plugins" / "metrics-prometheus"
        shutil.rmtree(reporter.parent, ignore_errors=True)
        reporter.mkdir(parents=True)
        for jar in prometheus_reporter_jars():
            (reporter / jar.name).symlink_to(jar)

    @property
    def env(self) -> dict:
        env = child_env()
        env["FLINK_CONF_DIR"] = str(self.conf_dir)
        env["FLINK_LIB_DIR"] = str(self.home / "lib")
        env["FLINK_PLUGINS_DIR"] = str(self.home / "plugins")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONPATH", None)  # the client's own PYTHONPATH must not leak into the cluster
        return env

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 120) -> str:
        """A session cluster: a JobManager and one TaskManager; its REST URL once it has slots."""
        if not self.conf_dir.exists():
            self.configure()
        self.start_session_jobmanager()
        self.start_taskmanager()
        self.wait_for_slots(timeout)
        return self.rest_url

    def start_session_jobmanager(self, namespace: str | None = None) -> None:
        """A session cluster's JobManager; in network namespace ``namespace`` (another host, as far
        as the network is concerned) if given."""
        self._daemon("jobmanager.sh", "start", namespace=namespace)

    def start_application(
        self,
        script: str,
        args,
        *,
        reactive: bool = False,
        zookeeper_quorum: str | None = None,
        slots_per_taskmanager: int = 1,
        from_savepoint: str | None = None,
        packages=("udfs", "jobs", "runner"),
        flink_options=(),
        timeout: float = 300,
    ) -> str:
        """Start an application cluster: a JobManager whose one job is ``script`` (its Python
        client runs inside the JobManager, where ``flink run`` would run it on the user's
        machine), then one TaskManager. The cluster ends when the job does; :meth:`stop` ends it
        earlier. ``reactive``: Flink's adaptive scheduler in reactive mode, the job's parallelism
        follows the slots there are (:meth:`start_taskmanager` adds some), so a TaskManager's
        slots are the unit of capacity. ``zookeeper_quorum``: high availability, the JobManager
        keeps its job and checkpoints in ZooKeeper and a file store, so one that restarts after a
        crash (:meth:`start_jobmanager`) resumes the job from its latest checkpoint. Returns the
        job id (with high availability it is fixed, derived from the cluster id)."""
        if not self.conf_dir.exists():
            self.configure()
        self.set_config({"taskmanager.numberOfTaskSlots": slots_per_taskmanager})
        if zookeeper_quorum:
            self.set_config(
                {
                    "high-availability.type": "zookeeper",
                    "high-availability.zookeeper.quorum": zookeeper_quorum,
                    # Job graphs, checkpoint metadata pointers and blobs: ZooKeeper holds only
                    # references to these files, which every JobManager host must be able to read.
                    "high-availability.storageDir": (self.home / "ha").as_uri(),
                    "high-availability.cluster-id": f"/{self.home.name}-{self.rest_port}",
                    # A dead leader's ZooKeeper session holds its leadership until the session
                    # expires: Flink's 60 s default is most of a failover. 15 s: a JobManager
                    # paused longer (GC, network) than that loses leadership, which is a restart.
                    "high-availability.zookeeper.client.session-timeout": 15_000,
                }
            )
        zipped = package(self.home / f"{script.replace('/', '-')}.zip", packages)
        self.application_command = [
            str(BIN / "standalone-job.sh"),
            "start",
            # The owner (the wrapper, a test) reads the job's final state, then stops the cluster.
            "-Dexecution.shutdown-on-application-finish=false",
            *(["-Dscheduler-mode=reactive"] if reactive else []),
            *flink_options,
            *(["--fromSavepoint", str(from_savepoint)] if from_savepoint else []),
            "-py",
            str(PROJECT_ROOT / script),
            "-pyfs",
            str(zipped),
            "-pyexec",
            sys.executable,
            "-pyclientexec",
            sys.executable,
            *args,
        ]
        self.start_jobmanager()
        self.start_taskmanager()
        return self.wait_for_application(timeout)

    def start_jobmanager(self) -> None:
        """(Re)start the application cluster's JobManager with the command it was started with:
        what a process supervisor (systemd, Kubernetes) does after the JobManager dies."""
        self._start_in_own_group(self.application_command)

    def wait_for_application(self, timeout: float = 300) -> str:
        """The id of the application cluster's job, once its JobManager has it."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                jobs = self.rest("/jobs/overview")["jobs"]
                if jobs:
                    return jobs[0]["jid"]
            if not self.live("standalonejob"):
                raise RuntimeError(f"the application's JobManager exited; logs in {self.home / 'log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no job on the application cluster within {timeout:.0f}s; logs in {self.home}")
            time.sleep(0.5)  # polling a starting JobManager (its Python client builds the job)

    def start_taskmanager(self, *properties: str, namespace: str | None = None) -> None:
        """One more TaskManager, with ``-Dkey=value`` settings of its own (its address when it runs
        on another host), in network namespace ``namespace`` if given."""
        self._daemon("taskmanager.sh", "start", *properties, namespace=namespace)

    def stop_taskmanager(self, pid: int) -> None:
        """Stop one TaskManager as an orderly shutdown does (SIGTERM, then its Python workers):
        capacity removed, which a reactive job answers by scaling in."""
        group = os.getpgid(pid)
        _signal_groups([group], signal.SIGTERM)
        _wait_until_gone([group])

    def kill_jobmanagers(self) -> list[int]:
        """SIGKILL every JobManager of this cluster (a machine failure, as far as Flink can tell)."""
        return self._kill(*JOBMANAGERS)

    def stop(self) -> None:
        """Stop the daemons and everything they started (PyFlink's Python workers included): each
        daemon runs in its own process group (see :meth:`_daemon`), so nothing outlives it."""
        groups = self.process_groups()
        _signal_groups(groups, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while any(group_members(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.2)  # waiting for processes to exit
        _signal_groups(groups, signal.SIGKILL)
        _wait_until_gone(groups)

    def kill_taskmanagers(self) -> list[int]:
        """SIGKILL every TaskManager of this cluster with its Python workers (a machine failure,
        as far as Flink can tell)."""
        return self._kill("taskexecutor")

    def _kill(self, *daemons: str) -> list[int]:
        """SIGKILL the live daemons of these kinds with their process groups; their PIDs."""
        pids = self.live(*daemons)
        groups = [os.getpgid(p) for p in pids]
        _signal_groups(groups, signal.SIGKILL)
        _wait_until_gone(groups)
        return pids

    def process_groups(self) -> list[int]:
        """The process groups of this cluster's live daemons."""
        groups = []
        for pid in self.pids("taskexecutor", *JOBMANAGERS):
            with contextlib.suppress(ProcessLookupError):
                groups.append(os.getpgid(pid))
        # A daemon that died is a zombie until its parent reaps it, and keeps its group until then.
        return sorted(g for g in set(groups) if group_members(g))

    def pids(self, *daemons: str) -> list[int]:
        """PIDs of this cluster's daemons of these kinds, from the pid files flink-daemon.sh writes,
        each file in the order the daemons started."""
        result = []
        for daemon in daemons:
            for f in (self.home / "pid").glob(f"flink-*-{daemon}.pid"):
                result += [int(line) for line in f.read_text().split() if line.strip().isdigit()]
        return result

    def live(self, *daemons: str) -> list[int]:
        """The PIDs of :meth:`pids` whose process still runs."""
        return [p for p in self.pids(*daemons) if _alive(p)]

    def _daemon(self, script: str, command: str, *args: str, namespace: str | None = None) -> None:
        prefix = ["ip", "netns", "exec", namespace] if namespace else []
        self._start_in_own_group([*prefix, str(BIN / script), command, *args])

    def _start_in_own_group(self, command: list[str]) -> None:
        # A session of its own: the daemon, and every process it starts, share one process group
        # that stop() and the kill methods signal as a whole.
        subprocess.run(
            command,
            env=self.env,
            check=True,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # -- REST --------------------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        return f"http://{self.rest_address}:{self.rest_port}"

    @property
    def metrics_ports(self) -> list[int]:
        """The ports of the Prometheus endpoints (``http://127.0.0.1:<port>/metrics``) the JobManager
        and TaskManagers may take: config.yaml's ``metrics.reporter.prom.port``, a list and/or
        ranges, of which each process takes the first free one."""
        ports: list[int] = []
        for part in str(
            yaml.safe_load((self.conf_dir / "config.yaml").read_text())["metrics.reporter.prom.port"]
        ).split(","):
            first, _, last = part.strip().partition("-")
            ports.extend(range(int(first), int(last or first) + 1))
        return ports

    def rest(self, path: str):
        with urllib.request.urlopen(self.rest_url + path, timeout=10) as response:
            return json.loads(response.read())

    def wait_for_slots(self, timeout: float = 120, slots: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.rest("/overview")["slots-available"] >= slots:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Flink cluster not ready within {timeout:.0f}s; logs in {self.home / 'log'}")
            if not self.live("standalonesession"):
                raise RuntimeError(f"JobManager exited; logs in {self.home / 'log'}")
            time.sleep(0.5)  # polling a starting process

    def wait_for_job(self, job_id: str, states=("FINISHED", "FAILED", "CANCELED"), timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.rest(f"/jobs/{job_id}")["state"]
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {state} after {timeout:.0f}s")
            time.sleep(0.5)

    def cancel(self, job_id: str) -> None:
        request = urllib.request.Request(f"{self.rest_url}/jobs/{job_id}?mode=cancel", method="PATCH")
        urllib.request.urlopen(request, timeout=10).close()
        self.wait_for_job(job_id, states=("CANCELED", "FAILED", "FINISHED"), timeout=60)

    # -- submission --------------------------------------------------------------------------
    def flink_run(
        self,
        script: str,
        args,
        packages=("udfs", "jobs", "runner"),
        detached: bool = False,
        timeout: float = 600,
        flink_options=(),
    ) -> subprocess.CompletedProcess:
        """``flink run`` a job script the way a user does (see docs/kafka-and-cluster.md): the
        packages go as one zip in ``--pyFiles`` (tools/package.py says why)."""
        zipped = package(self.home / f"{script.replace('/', '-')}.zip", packages)
        command = [
            str(BIN / "flink"),
            "run",
            "-m",
            f"{self.rest_address}:{self.rest_port}",
            *(["--detached"] if detached else []),
            *flink_options,
            "-py",
            str(PROJECT_ROOT / script),
            "--pyFiles",
            str(zipped),
            "-pyexec",
            sys.executable,
            "-pyclientexec",
            sys.executable,
            # "--": the job's options are the job's, even where one looks like flink run's
            # own (--parallelism, or --job, a prefix of --jobmanager)
            "--",
            *args,
        ]
        return subprocess.run(command, env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)

    def submit(self, script: str, args, **kwargs) -> Submission:
        """``flink run --detached``. A job that fails before it is submitted (a bad option, a
        missing input) raises :class:`SubmissionError` with its one-line reason."""
        result = self.flink_run(script, args, detached=True, **kwargs)
        output = result.stdout + result.stderr
        try:
            job_id = job_id_of(result.stdout)
        except ValueError:
            raise SubmissionError(result) from None
        mode = re.search(r"python\.execution-mode (\w+)", output)
        return Submission(job_id, mode.group(1) if mode else "unknown")

    def follow(self, job_id: str, out=sys.stderr, every_s: float = 5.0) -> str:
        """Report a job's progress until it ends; its final state. A failed job's root cause is
        printed on one line. Ctrl-C (KeyboardInterrupt) cancels the job."""
        started = time.monotonic()
        last_report, last_state, failures = 0.0, None, 0
        try:
            while True:
                job = self.rest(f"/jobs/{job_id}")
                state = job["state"]
                now = time.monotonic()
                if state != last_state or now - last_report >= every_s or state in TERMINAL:
                    print(
                        f"{state:<12} {now - started:6.0f}s  {_progress(job)}{self.checkpoint_note(job_id)}",
                        file=out,
                        flush=True,
                    )
                    last_report, last_state = now, state
                # Why, each time Flink restarts the job: a region failover keeps the job RUNNING,
                # so a new entry of its exception history is the signal, not RESTARTING.
                history = self.rest(f"/jobs/{job_id}/exceptions?maxExceptions=100")["exceptionHistory"]["entries"]
                if len(history) > failures and state not in TERMINAL:
                    failures = len(history)
                    print(
                        f"  after: {root_cause(history[0]['stacktrace'])} (failure {failures}; Flink restarts the "
                        f"job as its restart strategy allows)",
                        file=out,
                        flush=True,
                    )
                if state in TERMINAL:
                    if state == "FAILED":
                        print(f"job failed: {self.root_cause(job_id)}", file=out, flush=True)
                    return state
                time.sleep(0.5)  # polling the REST API
        except KeyboardInterrupt:
            print(f"cancelling job {job_id} ...", file=out, flush=True)
            self.cancel(job_id)
            print(f"job {job_id} cancelled", file=out, flush=True)
            raise

    def root_cause(self, job_id: str) -> str:
        """The innermost cause of a job's latest failure, on one line."""
        entries = self.rest(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
        return root_cause(entries[0]["stacktrace"]) if entries else "no exception recorded"

    def checkpoint_note(self, job_id: str) -> str:
        """``; 12 checkpoints completed, the last 3s ago``, for a job that checkpoints (empty
        otherwise): a job whose last completed checkpoint keeps getting older commits nothing
        (exactly-once output stalls), e.g. while the Kafka broker is away (docs/operations.md).
        :func:`checkpoint_text` says which failures it shows and why."""
        try:
            stats = self.rest(f"/jobs/{job_id}/checkpoints")
        except OSError:
            return ""
        return checkpoint_text(stats, time.time())

    # -- savepoints (docs/operations.md) -----------------------------------------------------
    def rest_post(self, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.rest_url + path,
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop_with_savepoint(
        self, job_id: str, savepoint_dir: str | Path | None = None, drain: bool = False, timeout: float = 300
    ) -> str:
        """Stop a running job with a savepoint (``flink stop [--savepointPath DIR] [--drain] JOB``):
        the sources stop, a final savepoint is taken, exactly-once sinks commit on it, and the job
        ends FINISHED. Returns the savepoint's path; raises :class:`SavepointError` with the root
        cause on one line if the savepoint fails (the job then keeps running). Without
        ``savepoint_dir`` the cluster's ``execution.checkpointing.savepoint-dir``. ``drain`` sends
        the end-of-event-time watermark first (every window fires): for a final stop, not an
        upgrade."""
        body = {"drain": drain, "formatType": "CANONICAL"}
        if savepoint_dir is not None:
            body["targetDirectory"] = _uri(savepoint_dir)
        trigger = self.rest_post(f"/jobs/{job_id}/stop", body)["request-id"]
        deadline = time.monotonic() + timeout
        while True:
            status = self.rest(f"/jobs/{job_id}/savepoints/{trigger}")
            if status["status"]["id"] == "COMPLETED":
                operation = status.get("operation", {})
                if "failure-cause" in operation:
                    cause = operation["failure-cause"]
                    raise SavepointError(root_cause(cause.get("stack-trace") or cause.get("class", "unknown")))
                return operation["location"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"savepoint of job {job_id} not complete after {timeout:.0f}s")
            time.sleep(0.5)  # polling an asynchronous operation

    def savepoint_path(self, job_id: str) -> str | None:
        """The savepoint a job was restored from, if any (its checkpoint statistics)."""
        restored = self.rest(f"/jobs/{job_id}/checkpoints").get("latest", {}).get("restored")
        return restored.get("external_path") if restored else None


@dataclass(frozen=True)
class Submission:
    job_id: str
    execution_mode: str  # the Python execution mode the job's client chose


class SavepointError(RuntimeError):
    """A savepoint that failed; the message is its root cause on one line."""


def _uri(path: str | Path) -> str:
    """A folder as Flink wants it: a URI (``file:///...``); URIs pass unchanged."""
    text = str(path)
    return text if "://" in text or text.startswith("file:") else Path(text).resolve().as_uri()


class SubmissionError(RuntimeError):
    """``flink run`` did not submit: the job's client failed first. The message is its reason on
    one line: what the job's Python client printed last (its one-line option or Kafka check
    error), else the innermost cause of the client's exception."""

    def __init__(self, result: subprocess.CompletedProcess):
        client = [line for line in result.stdout.splitlines() if line.strip()]
        super().__init__(client[-1].strip() if client else root_cause(result.stderr))
        code = re.search(r"Python process exits with code: (\d+)", result.stdout + result.stderr)
        self.exit_code = int(code.group(1)) if code else 1


TERMINAL = ("FINISHED", "FAILED", "CANCELED")


def _progress(job: dict) -> str:
    """Records that left the source stages and that reached the downstream stages, from the REST
    job detail (a stage is a chain of operators; its counts are what crosses its edges)."""
    nodes = job.get("plan", {}).get("nodes", [])
    sources = {node["id"] for node in nodes if not node.get("inputs")}
    vertices = job.get("vertices", [])
    if not vertices:
        return ""
    out = sum(v["metrics"].get("write-records", 0) for v in vertices if v["id"] in sources)
    downstream = sum(v["metrics"].get("read-records", 0) for v in vertices if v["id"] not in sources)
    return f"records out of the source stages {out:,}, into the downstream stages {downstream:,}"


def _project_config() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "flink-conf" / "config.yaml").read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/flink-cluster", description="a local standalone Flink cluster from PyFlink's bin/"
    )
    parser.add_argument(
        "command",
        choices=[
            "start",
            "stop",
            "restart",
            "status",
            "run",
            "stop-with-savepoint",
            "application",
            "add-taskmanager",
            "remove-taskmanager",
        ],
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="the cluster's folder (default .flink-cluster; for application, .flink-application)",
    )
    parser.add_argument(
        "--reactive",
        action="store_true",
        help="application: the job's parallelism follows the TaskManagers' slots (add-taskmanager, remove-taskmanager)",
    )
    parser.add_argument(
        "--zookeeper",
        metavar="HOST:PORT",
        help="application: high availability through this ZooKeeper quorum (docs/several-machines.md)",
    )
    parser.add_argument(
        "--from-savepoint",
        metavar="PATH",
        help="run, application: resume the job from this savepoint (flink run -s PATH); docs/operations.md",
    )
    parser.add_argument(
        "--allow-non-restored-state",
        action="store_true",
        help="run/application --from-savepoint: skip state of operators the job no longer has (flink run -n)",
    )
    parser.add_argument(
        "--savepoint-dir",
        metavar="DIR",
        help="stop-with-savepoint: where to write it (default: the cluster's execution.checkpointing.savepoint-dir)",
    )
    parser.add_argument(
        "--drain",
        action="store_true",
        help="stop-with-savepoint: fire every window first (a final stop, not an upgrade)",
    )
    parser.add_argument(
        "job_args",
        nargs=argparse.REMAINDER,
        help="run: JOB_SCRIPT [job options], e.g. jobs/sessions.py --source kafka ...; stop-with-savepoint: JOB_ID",
    )
    args = parser.parse_args(argv)
    _command_options(parser, args)
    if args.command == "application":
        if not args.job_args:
            parser.error("application needs a job script, e.g. jobs/sessions.py")
        return _application(args)
    cluster = FlinkCluster(args.home or PROJECT_ROOT / ".flink-cluster", free_ports=False)
    if args.command == "add-taskmanager":
        if not cluster.live(*JOBMANAGERS):
            print(f"flink: no cluster running in {cluster.home}", file=sys.stderr)
            return 2
        cluster.start_taskmanager()
        taskmanagers = cluster.live("taskexecutor")
        print(f"flink: TaskManager pid {taskmanagers[-1]} started; {_taskmanagers(len(taskmanagers))}")
        return 0
    if args.command == "remove-taskmanager":
        taskmanagers = cluster.live("taskexecutor")
        if not taskmanagers:
            print(f"flink: no TaskManager running in {cluster.home}", file=sys.stderr)
            return 2
        cluster.stop_taskmanager(taskmanagers[-1])
        print(f"flink: TaskManager pid {taskmanagers[-1]} stopped; {_taskmanagers(len(taskmanagers) - 1)}")
        return 0
    if args.command == "start":
        if cluster.live("standalonesession"):
            print(f"flink: already running at {cluster.rest_url}")
            return 0
        started = time.monotonic()
        cluster.start()
        print(
            f"flink: running at {cluster.rest_url} ({time.monotonic() - started:.1f}s); logs in {cluster.home / 'log'}"
        )
        print(
            f"flink: metrics for Prometheus at http://127.0.0.1:{cluster.metrics_ports[0]}/metrics (JobManager), "
            "the next ports (TaskManagers)"
        )
    elif args.command == "stop":
        cluster.stop()
        print("flink: stopped")
    elif args.command == "restart":
        cluster.stop()
        started = time.monotonic()
        cluster.start()
        print(f"flink: restarted at {cluster.rest_url} ({time.monotonic() - started:.1f}s)")
    elif args.command == "status":
        jobmanagers = cluster.live(*JOBMANAGERS)
        taskmanagers = cluster.live("taskexecutor")
        print(status_line(cluster.rest_url, jobmanagers, taskmanagers))
        return 0 if jobmanagers or taskmanagers else 3
    elif args.command == "stop-with-savepoint":
        if len(args.job_args) != 1:
            parser.error("stop-with-savepoint needs one job id (the web UI or `run` prints it)")
        return _stop_with_savepoint(cluster, args.job_args[0], args.savepoint_dir, args.drain)
    else:
        if not args.job_args:
            parser.error("run needs a job script, e.g. jobs/sessions.py")
        flink_options = []
        if args.from_savepoint:
            flink_options += ["--fromSavepoint", args.from_savepoint]
            if args.allow_non_restored_state:
                flink_options.append("--allowNonRestoredState")
        return _run(cluster, args.job_args[0], args.job_args[1:], flink_options)
    return 0


def _command_options(parser, args) -> None:
    """Options written after the command (``run --from-savepoint PATH jobs/x.py ...``,
    ``stop-with-savepoint --savepoint-dir DIR JOB_ID``): argparse hands everything after the
    command to ``job_args``; the options before the job script (or id) are the wrapper's."""
    if args.command == "stop-with-savepoint":  # JOB_ID and options in any order
        sub = argparse.ArgumentParser(prog="scripts/flink-cluster stop-with-savepoint")
        sub.add_argument("job_id", nargs="*")
        sub.add_argument("--savepoint-dir", default=args.savepoint_dir)
        sub.add_argument("--drain", action="store_true", default=args.drain)
        sub.add_argument("--home", type=Path, default=args.home)
        parsed = sub.parse_args(args.job_args)
        args.savepoint_dir, args.drain, args.job_args = parsed.savepoint_dir, parsed.drain, parsed.job_id
        args.home = parsed.home
        return
    takes_value = {
        "--from-savepoint": "from_savepoint",
        "--savepoint-dir": "savepoint_dir",
        "--home": "home",
        "--zookeeper": "zookeeper",
    }
    flags = {"--allow-non-restored-state": "allow_non_restored_state", "--drain": "drain", "--reactive": "reactive"}
    rest = list(args.job_args)
    while rest and rest[0].startswith("-"):
        name, _, value = rest.pop(0).partition("=")
        if name in flags and not value:
            setattr(args, flags[name], True)
        elif name in takes_value:
            if not value:
                if not rest:
                    parser.error(f"{name} needs a value")
                value = rest.pop(0)
            setattr(args, takes_value[name], Path(value) if name == "--home" else value)
        elif name == "--":
            break
        else:
            parser.error(f"unknown option {name} before the job script")
    args.job_args = rest


def _stop_with_savepoint(cluster: FlinkCluster, job_id: str, savepoint_dir, drain: bool) -> int:
    """``scripts/flink-cluster stop-with-savepoint JOB_ID``: the savepoint's path on stdout, or why
    not on one line on stderr (exit 1; the job then keeps running)."""
    try:
        path = cluster.stop_with_savepoint(job_id, savepoint_dir, drain=drain)
    except (SavepointError, TimeoutError) as error:
        print(f"flink: no savepoint of job {job_id}: {error}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as error:  # no such job, or it is not running
        print(f"flink: cannot stop job {job_id}: {_rest_error(error)}", file=sys.stderr)
        return 1
    try:
        state = cluster.wait_for_job(job_id, timeout=120)
    except urllib.error.URLError:  # an application cluster that ended with its job, already stopped
        state = "FINISHED"
    print(savepoint_line(job_id, state, path, drain), file=sys.stderr)
    print(path)
    return 0


#: Reasons (Flink's ``CheckpointFailureReason`` messages) of a checkpoint that started and was
#: abandoned in the normal course of things: the job finishing or being stopped (the checkpoint in
#: flight is aborted: the final line of every bounded job with checkpoints said so), tasks starting
#: or closing, a restart (whose cause the wrapper prints on its own line), a newer checkpoint.
ROUTINE_CHECKPOINT_FAILURES = (
    "Checkpoint Coordinator is suspending.",
    "CheckpointCoordinator shutdown.",
    "Periodic checkpoint scheduler is shut down.",
    "Not all required tasks are currently running.",
    "Checkpoint was declined (tasks not ready)",
    "Checkpoint was declined (task is closing)",
    "Checkpoint was declined because one input stream is finished",
    "Task received cancellation from one of its inputs",
    "Checkpoint was canceled because a barrier from newer checkpoint was received.",
    "Checkpoint has been subsumed.",
    "FailoverRegion is restarting.",
    "Task has failed.",
    # A trigger that reached a TaskManager after the task there finished (the end of a bounded
    # input): the next checkpoint, or the job's end, covers it.
    "TaskManager received a checkpoint request for unknown task",
)


def checkpoint_text(stats: dict, now_s: float) -> str:
    """:meth:`FlinkCluster.checkpoint_note` from the REST API's ``/jobs/<id>/checkpoints``.

    Flink's ``failed`` count also holds the checkpoints it could not even trigger because not every
    task was running yet (at the start and after each restart: the first line of every job with
    checkpoints said ``0 completed, 1 failed``). Those are normal and have no statistics of their
    own, so they are not shown. A checkpoint that started and failed (``latest.failed``: declined,
    expired, an error in a snapshot) is shown with its reason while it is the latest news, i.e.
    until a later checkpoint completes, unless the reason is routine
    (:data:`ROUTINE_CHECKPOINT_FAILURES`)."""
    counts = stats.get("counts", {})
    if not counts.get("total"):
        return ""
    latest = stats.get("latest") or {}
    completed, failed = latest.get("completed"), latest.get("failed")
    done = counts.get("completed", 0)
    if done:
        note = f"; {done:,} checkpoint{'s' * (done != 1)} completed"
        if completed:
            note += f", the last {_age_s(completed['latest_ack_timestamp'], now_s)}s ago"
    else:
        note = "; no checkpoint completed yet"
    reason = ((failed or {}).get("failure_message") or "").strip().split("\n")[0] or "no reason recorded"
    if (
        failed
        and (not completed or failed.get("failure_timestamp", 0) > completed["latest_ack_timestamp"])
        and not reason.startswith(ROUTINE_CHECKPOINT_FAILURES)
    ):
        checkpoint = f"checkpoint {failed['id']}" if "id" in failed else "a checkpoint"
        note += f"; {checkpoint} failed {_age_s(failed.get('failure_timestamp', 0), now_s)}s ago: {reason}"
    return note


def _age_s(timestamp_ms: int, now_s: float) -> str:
    return f"{max(0.0, now_s - timestamp_ms / 1000):.0f}"


def savepoint_line(job_id: str, state: str, path: str, drain: bool) -> str:
    """What ``stop-with-savepoint`` did, on one line (stderr; the path alone goes to stdout)."""
    if drain:
        # --drain sends the final watermark first: every window fired, every timer ran, and the
        # savepoint holds the source positions without a single open window.
        return (
            f"flink: job {job_id} drained and stopped ({state}): every window fired and every timer ran before "
            f"the final savepoint {path}; it records where the job ended, not a point to resume from (a job "
            "resumed from it would split each window that was open at the stop in two; to pause a job and "
            "resume it, stop it without --drain)"
        )
    return (
        f"flink: job {job_id} stopped ({state}) with a savepoint; resume it with "
        f"scripts/flink-cluster run --from-savepoint {path} <job script> <options>"
    )


def status_line(rest_url: str, jobmanagers: list[int], taskmanagers: list[int]) -> str:
    """``scripts/flink-cluster status``: whether the cluster runs, and its processes by role."""
    if not jobmanagers and not taskmanagers:
        return "flink: not running"
    if not jobmanagers:
        return f"flink: no JobManager running; TaskManager pid {', '.join(map(str, taskmanagers))} left over (stop it)"
    managers = f"TaskManager pid {', '.join(map(str, taskmanagers))}" if taskmanagers else "no TaskManager"
    return f"flink: running at {rest_url} (JobManager pid {jobmanagers[0]}, {managers})"


def _rest_error(error) -> str:
    try:
        errors = json.loads(error.read()).get("errors", [])
    except ValueError:
        errors = []
    first = next((line for e in errors for line in str(e).splitlines() if line.strip()), "")
    return f"HTTP {error.code}{': ' + first if first else ''}"


def _run(cluster: FlinkCluster, script: str, job_args, flink_options=()) -> int:
    """``scripts/flink-cluster run``: submit, report progress until the job ends; Ctrl-C cancels it."""
    if not cluster.live("standalonesession"):
        print(
            f"flink: no cluster running at {cluster.rest_url}; start one with scripts/flink-cluster start",
            file=sys.stderr,
        )
        return 2
    if _code_changed_since_taskmanager_start(cluster):
        print(
            "flink: warning: jobs/ or udfs/ changed since the TaskManager started; in thread mode it keeps the "
            "modules it imported first (scripts/flink-cluster restart loads the new code)",
            file=sys.stderr,
        )
    try:
        submitted = cluster.submit(script, job_args, packages=_packages(script), flink_options=list(flink_options))
    except SubmissionError as error:
        print(error, file=sys.stderr)
        return error.exit_code
    job_id = submitted.job_id
    print(
        f"flink: submitted {script} as job {job_id} (python.execution-mode {submitted.execution_mode}): "
        f"{cluster.rest_url}/#/job/running/{job_id}/overview",
        file=sys.stderr,
        flush=True,
    )
    try:
        state = cluster.follow(job_id)
    except KeyboardInterrupt:
        return 130
    return 0 if state == "FINISHED" else 1


def _packages(script: str) -> tuple[str, ...]:
    """What goes into the job's zip: the project's packages, and a script outside jobs/
    (tests/flaky_job.py) beside them."""
    return ("udfs", "jobs", "runner") if script.startswith("jobs/") else ("udfs", "jobs", "runner", script)


def _taskmanagers(count: int) -> str:
    return f"{count} TaskManager{'' if count == 1 else 's'}"


def _application(args) -> int:
    """``scripts/flink-cluster application JOB_SCRIPT [options]``: the job as its own cluster (free
    ports, beside a session cluster), followed as ``run`` follows a job; the cluster is stopped
    when the job ends, or on Ctrl-C (which cancels the job first)."""
    cluster = FlinkCluster(args.home or PROJECT_ROOT / ".flink-application")
    if cluster.process_groups():
        print(
            f"flink: a cluster is running in {cluster.home}; stop it with scripts/flink-cluster stop --home "
            f"{cluster.home}",
            file=sys.stderr,
        )
        return 2
    shutil.rmtree(cluster.conf_dir, ignore_errors=True)  # free ports of its own each time
    cluster = FlinkCluster(cluster.home)
    script = args.job_args[0]
    try:
        try:
            job_id = cluster.start_application(
                script,
                args.job_args[1:],
                reactive=args.reactive,
                zookeeper_quorum=args.zookeeper,
                from_savepoint=args.from_savepoint,
                packages=_packages(script),
                flink_options=["--allowNonRestoredState"] if args.allow_non_restored_state else [],
            )
        except (RuntimeError, TimeoutError) as error:
            print(f"flink: the application did not start: {error}", file=sys.stderr)
            return 1
        scaling = f" (reactive: scripts/flink-cluster add-taskmanager --home {cluster.home})" if args.reactive else ""
        print(
            f"flink: application cluster for {script} at {cluster.rest_url}, job {job_id}{scaling}",
            file=sys.stderr,
            flush=True,
        )
        while True:
            try:
                state = cluster.follow(job_id)
                # A stop-with-savepoint command in flight reads the job's end from the JobManager.
                time.sleep(3)
                break
            except KeyboardInterrupt:
                return 130
            except OSError:  # the REST endpoint went away with the JobManager
                if cluster.live("standalonejob"):
                    time.sleep(1)  # a JobManager starting up or recovering the job
                    continue
                if not args.zookeeper:
                    print("flink: the JobManager died, and with it the job (no high availability)", file=sys.stderr)
                    return 1
                # What a supervisor does: the new JobManager takes the job over from ZooKeeper.
                print(
                    "flink: the JobManager died; restarting it (it resumes the job from its latest checkpoint)",
                    file=sys.stderr,
                    flush=True,
                )
                cluster.start_jobmanager()
                cluster.wait_for_application()
        return 0 if state == "FINISHED" else 1
    finally:
        cluster.stop()


def _code_changed_since_taskmanager_start(cluster: FlinkCluster) -> bool:
    pid_files = list((cluster.home / "pid").glob("flink-*-taskexecutor.pid"))
    if not pid_files:
        return False
    started = max(f.stat().st_mtime for f in pid_files)
    return any(
        p.stat().st_mtime > started
        for package in ("jobs", "udfs", "runner")
        for p in (PROJECT_ROOT / package).rglob("*.py")
    )


def job_id_of(output: str) -> str:
    for line in output.splitlines():
        if "JobID" in line:
            return line.split()[-1]
    raise ValueError(f"no JobID in flink run output:\n{output[-3000:]}")


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _wait_until_gone(groups, timeout: float = 30) -> None:
    """Wait for SIGKILLed process groups to exit; a process that outlives SIGKILL (stuck in the
    kernel) is named instead of waited for forever."""
    deadline = time.monotonic() + timeout
    while survivors := [pid for g in groups for pid in group_members(g)]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {survivors} still alive {timeout:.0f}s after SIGKILL")
        time.sleep(0.05)  # waiting for the kernel to reap them


def _signal_groups(groups, sig) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
