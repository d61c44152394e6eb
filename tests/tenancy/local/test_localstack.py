"""LocalStack as a local engine: installed by the project, started on loopback with nothing
downloaded, serving DynamoDB, IAM, STS and KMS, and stopped leaving nothing behind, even
after a SIGKILL that orphans its DynamoDB Local."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tenancy.endpoint_probe import answers
from tenancy.local import localstack
from tenancy.local.endpoint import EndpointState, LocalEndpoint
from tenancy.local.engines import Engine
from tests.support.ports import free_port, listening, listening_addresses
from tests.tenancy.local.test_endpoint import PROJECT_STATE

pytestmark = pytest.mark.engine


def _fake_leftover(state_dir: Path, port: int) -> subprocess.Popen:
    """A process whose command line reads like a DynamoDB Local our LocalStack started."""
    return subprocess.Popen([*_fake_argv(state_dir, port), "-port", str(port + 1)])


def test_a_leftover_dynamodb_local_is_found_and_ended_by_stop(tmp_path):
    state = tmp_path / ".salestalk"
    port = free_port()
    orphan = _fake_leftover(state, port)
    try:
        found = localstack.leftovers(state)
        assert [(f.pid, f.port) for f in found] == [(orphan.pid, str(port + 1))]
        assert localstack.leftovers(tmp_path / "another-project") == []

        endpoint = LocalEndpoint(state, port=port)
        stopped, _ = endpoint.stop()
        assert not stopped  # nothing of ours ran on the port, yet the leftover is ended
        assert endpoint.ended_leftovers == [found[0].describe()]
        orphan.wait(timeout=10)  # ended (and reaped by the stop, being our child here)
        with pytest.raises(ProcessLookupError):
            os.kill(orphan.pid, 0)
        assert localstack.leftovers(state) == []
    finally:
        orphan.kill()


def test_a_process_under_a_live_localstack_is_not_a_leftover(tmp_path):
    """Only an orphan is ended: the DynamoDB Local of a LocalStack that runs is its own."""
    state = tmp_path / ".salestalk"
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, os, subprocess, time; "
            "subprocess.Popen(json.loads(os.environ['CHILD'])); time.sleep(120)",
            "localstack.runtime.main",  # what names the runtime in the parent's command line
        ],
        env={**os.environ, "CHILD": json.dumps(_fake_argv(state, port))},
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _children(parent.pid):
            time.sleep(0.05)
        assert _children(parent.pid)
        assert localstack.leftovers(state) == []
    finally:
        for child in _children(parent.pid):
            os.kill(child, signal.SIGKILL)
        parent.kill()


def _fake_argv(state: Path, port: int) -> list[str]:
    jar = localstack.root(state, port) / "var/lib/localstack/lib/dynamodb-local/2"
    return [sys.executable, "-c", "import time; time.sleep(120)", f"{jar}/DynamoDBLocal.jar"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_held_dynamodb_port_is_named_before_anything_starts():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # a port we hold for certain: LocalStack's port + 1
        holder.listen()
        held = holder.getsockname()[1]
        problem = localstack.port_problem(held - 1)
    assert problem is not None and f"port {held}," in problem and "--port" in problem


def test_a_python_that_is_not_313_is_never_used(monkeypatch):
    monkeypatch.setenv(localstack.PYTHON_ENV, sys.executable)
    found = localstack.find_python()
    if sys.version_info[:2] != (3, 13):
        assert found != Path(sys.executable)


@pytest.fixture(scope="module")
def installed() -> Path:
    """The project's LocalStack, installed once (about a minute; cached after)."""
    if localstack.find_python() is None:
        pytest.skip(
            "no Python 3.13 on this machine: LocalStack's open-source runtime needs it "
            f"(set {localstack.PYTHON_ENV})"
        )
    return localstack.install(PROJECT_STATE)


def test_localstack_serves_four_services_survives_a_sigkill_and_stops_clean(tmp_path, installed):
    state = tmp_path / ".salestalk"  # a scratch state folder using the project's install
    assert localstack.installed_dir(state) == installed
    port = free_port()
    while localstack.port_problem(port):  # its DynamoDB Local takes the next port too
        port = free_port()
    endpoint = LocalEndpoint(state, port=port, engine=Engine.LOCALSTACK, in_memory=True)
    try:
        started, status = endpoint.start()
        assert started and status.engine is Engine.LOCALSTACK and status.data_dir is None
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        dynamodb = session.client("dynamodb", endpoint_url=endpoint.url)
        dynamodb.create_table(
            TableName="before-the-kill",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert session.client("iam", endpoint_url=endpoint.url).list_roles()["Roles"] == []
        identity = session.client("sts", endpoint_url=endpoint.url).get_caller_identity()
        assert identity["Account"]
        assert "Keys" in session.client("kms", endpoint_url=endpoint.url).list_keys()
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, never 0.0.0.0

        os.kill(status.pid, signal.SIGKILL)  # its DynamoDB Local stays, holding port + 1
        deadline = time.monotonic() + 10
        while answers(endpoint.url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert endpoint.status().state is EndpointState.DOWN
        assert [leftover.port for leftover in localstack.leftovers(state)] == [str(port + 1)]

        started, _ = endpoint.start()  # ends the leftover, then starts afresh
        assert started and len(endpoint.ended_leftovers) == 1
        assert dynamodb.list_tables()["TableNames"] == []  # not the leftover's tables
    finally:
        endpoint.stop()
    assert not listening(port) and not listening(port + 1)
    assert localstack.leftovers(state) == []
