"""A standalone ZooKeeper server (127.0.0.1 only) from the jars Maven fetched into jars/zookeeper.

For Flink JobManager high availability in tests (the session fixture ``zookeeper_quorum``) and local
runs: ZooKeeper's own server (3.8, the line of Flink 2.2's shaded client), not Flink's copy; no
Docker, no download at run time. Its files (``zoo.cfg``, ``data/``, ``zookeeper.log``) live in one
folder; the JVM runs in its own process group, which :meth:`ZooKeeperServer.stop` ends whole.

    python -m tools.zookeeper --home DIR [--port 2181]     (in the foreground until Ctrl-C)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from runner.jars import zookeeper_classpath
from tools.kafka_broker import LOG4J2_TO_FILE, free_port

#: Small heap, fast start-up: the server shares 2 cores with Flink and Kafka in CI. IPv4 sockets:
#: Java's default dual-stack socket would listen on ::ffff:127.0.0.1 (an IPv6 socket, tcp6).
JVM_OPTS = [
    "-Xms32m",
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
    "-Djava.net.preferIPv4Stack=true",
]


def zoo_cfg(home: Path, port: int) -> str:
    """One standalone server: clients on 127.0.0.1 only, no admin server (Jetty on 8080, every
    interface), and only the four-letter words the readiness check and the tests use."""
    return "\n".join(
        [
            "tickTime=2000",
            f"dataDir={home / 'data'}",
            f"clientPort={port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr",
            "",
        ]
    )


def four_letter(connect: str, command: str, timeout: float = 3) -> str:
    """ZooKeeper's answer to a four-letter word (``ruok``, ``srvr``) at ``connect``: the server
    writes it and closes the connection."""
    host, port = connect.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(command.encode("ascii"))
        chunks = []
        while chunk := s.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def answers(connect: str) -> bool:
    """Does a ZooKeeper server at ``connect`` serve requests? ``ruok`` alone is not enough: it
    answers ``imok`` once the port listens, before the database is loaded (and after a start-up
    that failed there, whose JVM lives on); ``srvr`` answers with the version only when serving."""
    try:
        return four_letter(connect, "ruok") == "imok" and four_letter(connect, "srvr").startswith("Zookeeper version:")
    except OSError:
        return False


class ZooKeeperServer:
    """One server process whose files live under ``home`` (its data outlives a stop: a restart in
    the same folder keeps the znodes and the port)."""

    def __init__(self, home: Path, port: int | None = None):
        self.home = Path(home).resolve()
        self.config = self.home / "zoo.cfg"
        self.log = self.home / "zookeeper.log"
        self.out = self.home / "zookeeper.out"
        self._port = port
        self._process: subprocess.Popen | None = None
        self._log_start = 0  # where this start's lines begin in the (appended) log

    # -- state -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the port is chosen at start()")
        return self._port

    @property
    def connect_string(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        """The server's PID (and process group) if it is running."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> str:
        """Start (if not running) and wait until the server serves. Returns the connect string."""
        if self.pid() is None:
            self.home.mkdir(parents=True, exist_ok=True)
            if self._port is None:
                self._port = free_port()
            self.config.write_text(zoo_cfg(self.home, self._port))
            (self.home / "log4j2.properties").write_text(LOG4J2_TO_FILE.format(log=self.log))
            self._log_start = self.log.stat().st_size if self.log.exists() else 0
            with open(self.out, "ab") as out:  # the child keeps its own copy of the descriptor
                self._process = subprocess.Popen(
                    [
                        "java",
                        *JVM_OPTS,
                        f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                        "-cp",
                        zookeeper_classpath(),
                        "org.apache.zookeeper.server.ZooKeeperServerMain",
                        str(self.config),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.connect_string

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.pid() is None or self._start_failed():
                raise RuntimeError(f"ZooKeeper failed to start; see {self.log} and {self.out}:\n" + self._tail())
            if answers(self.connect_string):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"ZooKeeper did not answer within {timeout:.0f}s; see {self.log}")
            time.sleep(0.1)  # polling a starting process, not a test timing assumption

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the server's process group, SIGKILL to what is left of it after ``timeout``."""
        process = self._process
        if process is None:
            return
        group = process.pid  # start_new_session: the JVM leads its own group
        _signal_group(group, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait(10)
        # The JVM starts no children; anything that did join its group goes with it.
        _signal_group(group, signal.SIGKILL)
        self._process = None

    def wait(self) -> int:
        """Block until the server exits (it does not by itself); its exit code."""
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.wait()

    def _start_failed(self) -> bool:
        # A start-up error kills the main thread but not the JVM (the NIO threads live on), which
        # would then answer `ruok` forever without serving: fail at once instead of at the timeout.
        if not self.log.exists():
            return False
        with self.log.open("rb") as f:
            f.seek(self._log_start)
            return b"Thread[main," in f.read()

    def _tail(self, lines: int = 30) -> str:
        texts = []
        for f in (self.out, self.log):
            if f.exists():
                texts.extend(f.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is empty: nothing left to signal
        os.killpg(group, signum)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.zookeeper",
        description="a local standalone ZooKeeper server on 127.0.0.1, in the foreground until Ctrl-C",
    )
    parser.add_argument("--home", type=Path, required=True, help="server folder (config, data, log)")
    parser.add_argument("--port", type=int, default=2181, help="client port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    server = ZooKeeperServer(args.home, args.port or None)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
    started = time.monotonic()
    try:
        connect = server.start()
        print(
            f"zookeeper: running at {connect} (pid {server.pid()}, {time.monotonic() - started:.1f}s); "
            f"log {server.log}; Ctrl-C stops it",
            flush=True,
        )
        code = server.wait()
        print(f"zookeeper: exited by itself ({code}); see {server.log}", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as error:
        print(f"zookeeper: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zookeeper: stopping", file=sys.stderr)
        return 0
    finally:
        # A second Ctrl-C must not cut the stop short and leave the server running.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
