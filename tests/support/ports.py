"""A loopback port nothing listens on, for tests that start (or must not find) a server."""

from __future__ import annotations

import socket

from tenancy.local.endpoint import HOST


def free_port(host: str = HOST) -> int:
    """A port the kernel just handed out and released: free now, though another process
    could take it before the test binds it (the tests that need certainty hold a socket)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
