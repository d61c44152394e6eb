"""`salestalk local status` as scripts use it: its exit status says whether an engine runs,
as `systemctl status` and `pg_ctl status` do (read through a real pipe)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tenancy.cli import main
from tenancy.errors import EXIT_FAILED, EXIT_NOT_RUNNING, EXIT_OK
from tenancy.local.endpoint import free_port

SALESTALK = [sys.executable, "-m", "tenancy.cli"]


def _status(port: int, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SALESTALK, "local", "status", "--port", str(port)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_nothing_running_is_exit_3(capsys):
    port = free_port()
    assert main(["local", "status", "--port", str(port)]) == EXIT_NOT_RUNNING == 3
    out, err = capsys.readouterr()
    assert "not running" in out and err == ""
    # through a real pipe, as a script reads it: `status || start` does what it says
    script = f"{' '.join(SALESTALK)} local status --port {port} >/dev/null || echo start"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout == "start\n"


@pytest.mark.engine
def test_dynamodb_answering_is_exit_0(engine):
    port = int(engine.rsplit(":", 1)[1])
    done = _status(port)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    assert "answering" in done.stdout or "running" in done.stdout


def test_a_port_held_by_something_else_is_exit_1(capsys):
    with socket.create_server(("127.0.0.1", 0)) as held:  # listens, never answers HTTP
        port = held.getsockname()[1]
        assert main(["local", "status", "--port", str(port)]) == EXIT_FAILED
    assert f"port {port} is held by" in capsys.readouterr().out
