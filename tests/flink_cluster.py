"""A local standalone Flink cluster (one JobManager, one TaskManager) from PyFlink's own ``bin/``,
configured by a copy of ``flink-conf/config.yaml`` with free ports and its own folders, all on
127.0.0.1. Used by the session fixture ``flink_cluster`` (tests/conftest.py).

Jobs are submitted with ``flink run -py jobs/<name>.py --pyFiles udfs,jobs ...`` (see
:meth:`FlinkCluster.submit`), exactly as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.harness import child_env
from tests.kafka_broker import free_port
from tools.package import package
from udfs.jars import connector_jars

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYFLINK = Path(__import__("pyflink").__file__).resolve().parent
BIN = PYFLINK / "bin"


class FlinkCluster:
    def __init__(self, home: Path, free_ports: bool = True):
        self.home = Path(home).resolve()
        self.conf_dir = self.home / "conf"
        self.free_ports = free_ports
        config = self.conf_dir / "config.yaml"
        if config.exists():
            self.rest_port = yaml.safe_load(config.read_text())["rest.port"]
        else:
            self.rest_port = free_port() if free_ports else _project_config()["rest.port"]
        self.checkpoints = self.home / "checkpoints"

    # -- configuration -----------------------------------------------------------------------
    def configure(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for name in ("log4j.properties", "log4j-cli.properties", "log4j-console.properties",
                     "logback.xml", "logback-console.xml"):
            if (PYFLINK / "conf" / name).exists():
                shutil.copy(PYFLINK / "conf" / name, self.conf_dir / name)
        conf = _project_config()
        if self.free_ports:  # test clusters: side by side with anything else on the machine
            conf.update({
                "jobmanager.rpc.port": free_port(),
                "rest.port": self.rest_port,
                "blob.server.port": free_port(),
                "taskmanager.rpc.port": free_port(),
                "taskmanager.data.port": free_port(),
                "jobmanager.memory.process.size": "800m",
                "taskmanager.memory.process.size": "1280m",
                # A killed TaskManager (exactly-once test) is noticed in seconds, not 50 s.
                "heartbeat.interval": 2000,
                "heartbeat.timeout": 8000,
            })
        conf.update({
            "env.pid.dir": str(self.home / "pid"),
            "env.log.dir": str(self.home / "log"),
            "io.tmp.dirs": str(self.home / "tmp"),
            "execution.checkpointing.dir": self.checkpoints.as_uri(),
            "python.executable": sys.executable,
            "python.client.executable": sys.executable,  # the project's venv: PyFlink, kafka-python
        })
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(conf, sort_keys=False))
        (self.conf_dir / "masters").write_text(f"127.0.0.1:{self.rest_port}\n")
        (self.conf_dir / "workers").write_text("127.0.0.1\n")
        for sub in ("pid", "log", "tmp"):
            (self.home / sub).mkdir(exist_ok=True)

    @property
    def env(self) -> dict:
        env = child_env()
        env["FLINK_CONF_DIR"] = str(self.conf_dir)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONPATH", None)  # the client's own PYTHONPATH must not leak into the cluster
        return env

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 120) -> str:
        if not self.conf_dir.exists():
            self.configure()
        self._daemon("jobmanager.sh", "start")
        self.start_taskmanager()
        self.wait_for_slots(timeout)
        return self.rest_url

    def start_taskmanager(self) -> None:
        self._daemon("taskmanager.sh", "start")

    def stop(self) -> None:
        for pid in self.pids("taskexecutor") + self.pids("standalonesession"):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        for pid in self.pids("taskexecutor") + self.pids("standalonesession"):
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def kill_taskmanagers(self) -> list[int]:
        """SIGKILL every TaskManager of this cluster (a machine failure, as far as Flink can tell)."""
        pids = [p for p in self.pids("taskexecutor") if _alive(p)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            while _alive(pid):
                time.sleep(0.05)
        return pids

    def pids(self, daemon: str) -> list[int]:
        """PIDs of this cluster's daemons, from the pid files flink-daemon.sh writes."""
        result = []
        for f in (self.home / "pid").glob(f"flink-*-{daemon}.pid"):
            result += [int(line) for line in f.read_text().split() if line.strip().isdigit()]
        return result

    def _daemon(self, script: str, command: str) -> None:
        subprocess.run([str(BIN / script), command], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # -- REST --------------------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

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
            if not any(_alive(p) for p in self.pids("standalonesession")):
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
    def flink_run(self, script: str, args, packages=("udfs", "jobs"), detached: bool = False,
                  timeout: float = 600, flink_options=()) -> subprocess.CompletedProcess:
        """``flink run`` a job script the way a user does (see docs/kafka-and-cluster.md): the
        packages go as one zip in ``--pyFiles`` (tools/package.py says why)."""
        zipped = package(self.home / f"{script.replace('/', '-')}.zip", packages)
        command = [str(BIN / "flink"), "run", "-m", f"127.0.0.1:{self.rest_port}",
                   *(["--detached"] if detached else []), *flink_options,
                   "--jarfile", str(connector_jars()[0]),
                   "-py", str(PROJECT_ROOT / script),
                   "--pyFiles", str(zipped),
                   "-pyexec", sys.executable, "-pyclientexec", sys.executable,
                   *args]
        return subprocess.run(command, env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout)


def _project_config() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "flink-conf" / "config.yaml").read_text())


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="scripts/flink-cluster",
                                     description="a local standalone Flink cluster from PyFlink's bin/")
    parser.add_argument("command", choices=["start", "stop", "status", "run"])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / ".flink-cluster")
    parser.add_argument("job_args", nargs=argparse.REMAINDER,
                        help="run: JOB_SCRIPT [job options], e.g. jobs/sessions.py --source kafka ...")
    args = parser.parse_args(argv)
    cluster = FlinkCluster(args.home, free_ports=False)
    if args.command == "start":
        if any(_alive(p) for p in cluster.pids("standalonesession")):
            print(f"flink: already running at {cluster.rest_url}")
            return 0
        started = time.monotonic()
        cluster.start()
        print(f"flink: running at {cluster.rest_url} ({time.monotonic() - started:.1f}s); logs in {cluster.home / 'log'}")
    elif args.command == "stop":
        cluster.stop()
        print("flink: stopped")
    elif args.command == "status":
        alive = [p for p in cluster.pids("standalonesession") + cluster.pids("taskexecutor") if _alive(p)]
        print(f"flink: {'running at ' + cluster.rest_url if alive else 'not running'} (pids {alive})")
        return 0 if alive else 3
    else:
        if not args.job_args:
            parser.error("run needs a job script, e.g. jobs/sessions.py")
        result = cluster.flink_run(args.job_args[0], args.job_args[1:])
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        return result.returncode
    return 0


def job_id_of(output: str) -> str:
    for line in output.splitlines():
        if "JobID" in line:
            return line.split()[-1]
    raise ValueError(f"no JobID in flink run output:\n{output[-3000:]}")


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
