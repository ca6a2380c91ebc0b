"""Which addresses a process listens on (Linux's /proc): the tests that nothing is reachable from
outside the machine (a local run, a cluster, an application cluster)."""

import contextlib
import ipaddress
import os
import subprocess
from pathlib import Path


def listening_sockets() -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int, str]]:
    """(local address, port, socket inode) of every listening TCP socket (Linux's /proc/net tables)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():  # a kernel without IPv6
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A":  # LISTEN
                raw = bytes.fromhex(address)  # 32-bit words in the machine's (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.append((ipaddress.ip_address(words), int(port, 16), fields[9]))
    return found


def listening_addresses(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses of the sockets listening on ``port``."""
    return [address for address, p, _ in listening_sockets() if p == port]


def listeners_of(pid: int) -> list[tuple[str, int]]:
    """(process, port) of every socket a process and its children listen on, with the address."""
    pids = [
        pid,
        *(int(c) for c in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()),
    ]
    inodes = {}
    for each in pids:
        with contextlib.suppress(OSError):
            comm = Path(f"/proc/{each}/comm").read_text().strip()
            inodes.update(dict.fromkeys(socket_inodes(each), comm))
    return [(f"{inodes[inode]} {address}", port) for address, port, inode in listening_sockets() if inode in inodes]


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` has open (its /proc fd links ``socket:[N]``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def loopback(address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
