"""A command run in a pseudo-terminal, as a person runs it: the width is the terminal's own
(no COLUMNS variable), stdin is a terminal to answer prompts at, and what it prints is read
back as the person would see it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence


class Terminal:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], columns: int = 80, **kw):
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen(
            list(argv), stdin=follower, stdout=follower, stderr=follower, env=env, **kw
        )
        os.close(follower)
        self.leader = leader
        self.said = b""

    @property
    def text(self) -> str:
        return self.said.decode().replace("\r\n", "\n")

    def read_until(self, done: Callable[[], bool], timeout: float = 120.0) -> None:
        """Read what the command prints until `done()` or it closes the terminal."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            if select.select([self.leader], [], [], 0.5)[0]:
                try:
                    chunk = os.read(self.leader, 65536)
                except OSError:  # the command closed the terminal
                    return
                if not chunk:
                    return
                self.said += chunk

    def type(self, line: str) -> None:
        os.write(self.leader, f"{line}\n".encode())

    def finish(self, timeout: float = 120.0) -> int:
        self.read_until(lambda: self.process.poll() is not None, timeout)
        self.read_until(lambda: False, 0.5)  # what is left in the terminal
        status = self.process.wait(timeout=60)
        os.close(self.leader)
        return status


def in_a_terminal(argv: Sequence[str], env: Mapping[str, str], columns: int = 80) -> str:
    """What a command prints in a terminal `columns` wide; it must succeed."""
    terminal = Terminal(argv, env, columns)
    status = terminal.finish()
    assert status == 0, terminal.text
    return terminal.text
