"""Which processes listen on a TCP port, read from Linux's /proc: a test can tell that two
receivers share one port, not that one answers for both."""

from __future__ import annotations

import os
from pathlib import Path

_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp{,6}


def listening_inodes(port: int) -> set[str]:
    """The socket inodes of every listening TCP socket on ``port`` (any address)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a listening socket on ``port``."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) in wanted for fd in fds.iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False  # the process (or one of its descriptors) went meanwhile
