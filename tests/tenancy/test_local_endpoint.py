"""`salestalk local start|stop|status`: a real background moto server on a free port."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tenancy.local_endpoint import HOST, EndpointState, LocalEndpoint, answers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def endpoint(tmp_path):
    local = LocalEndpoint(tmp_path / ".salestalk", port=free_port())
    yield local
    local.stop()


def test_start_is_idempotent_and_stop_ends_it(endpoint):
    assert endpoint.status().state is EndpointState.DOWN

    started, status = endpoint.start()
    assert started and status.state is EndpointState.OURS and answers(endpoint.url)
    pid = status.pid
    assert endpoint.pid_file.read_text().strip() == str(pid)

    started_again, again = endpoint.start()
    assert not started_again and again.pid == pid

    stopped, after = endpoint.stop()
    assert stopped and after.state is EndpointState.DOWN
    assert not answers(endpoint.url) and not endpoint.pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert endpoint.stop()[0] is False


def test_binds_to_loopback_only(endpoint):
    endpoint.start()
    pid = endpoint.status().pid
    listening = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    hex_port = f"{endpoint.port:04X}"
    local_addresses = {
        line.split()[1].split(":")[0]
        for line in listening
        if line.split()[1].endswith(f":{hex_port}") and line.split()[3] == "0A"
    }
    assert local_addresses == {"0100007F"}  # 127.0.0.1, never 0.0.0.0


def test_an_endpoint_already_answering_is_used_and_never_stopped(tmp_path):
    foreign_port = urlsplit(os.environ["SALESTALK_TEST_ENDPOINT"]).port
    endpoint = LocalEndpoint(tmp_path / ".salestalk", port=foreign_port)
    started, status = endpoint.start()
    assert not started and status.state is EndpointState.FOREIGN
    assert endpoint.stop()[0] is False
    assert answers(endpoint.url)


def test_a_stale_pid_file_is_ignored(endpoint):
    endpoint.state_dir.mkdir(parents=True)
    endpoint.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a moto server
    assert endpoint.status().state is EndpointState.DOWN
    assert not endpoint.pid_file.exists()
