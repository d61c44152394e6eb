"""Loopback ports: one nothing listens on, for tests that start (or must not find) a server,
and what listens on a port, to check that a server binds loopback only."""

from __future__ import annotations

import socket
from pathlib import Path

from tenancy.local.endpoint import HOST, free_port  # noqa: F401 (the tests' free port)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def listening_addresses(port: int) -> set[str]:
    """The local addresses sockets listen on at `port`, as /proc/net/tcp{,6} writes them
    (`0100007F` is 127.0.0.1; `00000000` would be every interface)."""
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(f":{port:04X}"):
                addresses.add(local.rsplit(":", 1)[0])
    return addresses
