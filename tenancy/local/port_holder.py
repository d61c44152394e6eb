"""Which program listens on a local TCP port, so that a busy port can be named in one line.

Read from Linux's procfs (the socket tables, then each process's open descriptors): no tool
to install, and nothing to ask another process. Elsewhere, or for another user's process
that procfs hides, the answer is simply unknown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_LISTEN = "0A"  # the TCP state code of a listening socket in /proc/net/tcp
_PROC = Path("/proc")


@dataclass(frozen=True)
class PortHolder:
    pid: int
    name: str  # the program's name, as `ps` shows it

    def describe(self) -> str:
        return f"{self.name} (pid {self.pid})"


def port_holder(port: int, proc: Path = _PROC) -> PortHolder | None:
    """The process listening on `port` (any address), or None if none can be found."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for descriptor in (entry / "fd").iterdir():
                if os.readlink(descriptor) in wanted:
                    name = (entry / "comm").read_text().strip()
                    return PortHolder(int(entry.name), name)
        except OSError:  # gone meanwhile, or another user's
            continue
    return None


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN:
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port:
                    inodes.add(fields[9])
    return inodes
