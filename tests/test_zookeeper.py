"""The local ZooKeeper server (tools/zookeeper.py) for JobManager high availability: ZooKeeper's own
3.8.4 from jars/zookeeper, reached by ZooKeeper's own Java client, listening on 127.0.0.1 only, and
gone, process group and all, once stopped."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from runner.jars import zookeeper_classpath
from tests.sockets import listening_sockets, socket_inodes
from tools.kafka_broker import LOG4J2_TO_FILE
from tools.zookeeper import ZooKeeperServer, answers, four_letter

pytestmark = pytest.mark.integration

#: ZooKeeper's Java client (the API Flink's shaded client is built from): connect, create a znode,
#: read it back. Run by java's single-file source launcher (no build step).
PROBE = """\
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ZkProbe {
    public static void main(String[] args) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10000, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        });
        try {
            if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no session");
            byte[] data = args[2].getBytes(StandardCharsets.UTF_8);
            zk.create(args[1], data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            System.out.println(new String(zk.getData(args[1], false, null), StandardCharsets.UTF_8));
        } finally {
            zk.close();
        }
    }
}
"""

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")  # an IPv4 socket: not ::ffff:127.0.0.1 on tcp6


def test_a_znode_written_is_read_back(zookeeper_quorum, tmp_path):
    (tmp_path / "ZkProbe.java").write_text(PROBE)
    (tmp_path / "log4j2.properties").write_text(LOG4J2_TO_FILE.format(log=tmp_path / "client.log"))
    path, value = f"/test-{uuid.uuid4().hex}", "written by ZooKeeper's client ✓"
    done = subprocess.run(
        [
            "java",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={tmp_path / 'log4j2.properties'}",
            "-cp",
            zookeeper_classpath(),
            str(tmp_path / "ZkProbe.java"),
            zookeeper_quorum,
            path,
            value,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + _read(tmp_path / "client.log")
    assert done.stdout.strip() == value


def test_srvr_names_zookeeper_3_8_4_standalone(zookeeper_quorum):
    srvr = four_letter(zookeeper_quorum, "srvr")
    assert srvr.startswith("Zookeeper version: 3.8.4"), srvr
    assert "Mode: standalone" in srvr, srvr
    assert four_letter(zookeeper_quorum, "ruok") == "imok"
    # Only the words zoo.cfg allows: `stat` would dump the connections.
    assert "not in the whitelist" in four_letter(zookeeper_quorum, "stat")


def test_it_listens_on_127_0_0_1_only(zookeeper_quorum):
    port = int(zookeeper_quorum.rsplit(":", 1)[1])
    on_port = [(address, inode) for address, p, inode in listening_sockets() if p == port]
    assert [address for address, _ in on_port] == [LOOPBACK], on_port
    # And nowhere else: no admin server (8080), no other port, on IPv4 or IPv6.
    owner = _owner_of(on_port[0][1])
    assert owner is not None
    mine = socket_inodes(owner)
    assert [(address, p) for address, p, inode in listening_sockets() if inode in mine] == [(LOOPBACK, port)]


def test_stop_ends_its_whole_process_group(tmp_path):
    server = ZooKeeperServer(tmp_path / "zookeeper")
    connect = server.start()
    pid = server.pid()
    assert pid is not None
    assert os.getpgid(pid) == pid != os.getpgrp()  # its own group, not the suite's
    assert _group_members(pid) == [pid]
    server.stop()
    assert server.pid() is None
    assert _group_members(pid) == []
    assert not answers(connect)


# -- /proc ------------------------------------------------------------------------------------
def _owner_of(inode: str) -> int | None:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if inode in socket_inodes(int(proc.name)):
                    return int(proc.name)
            except OSError:
                continue
    return None


def _group_members(group: int) -> list[int]:
    """PIDs whose process group is ``group`` (zombies included: they would still count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except OSError:
            continue
        if int(fields[2]) == group:  # state, ppid, pgrp
            members.append(int(stat.parent.name))
    return sorted(members)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
