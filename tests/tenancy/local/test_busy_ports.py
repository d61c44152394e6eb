"""A local port held by something that is not DynamoDB: every command says so in one line.

Real listeners on real ports: a socket that accepts and never answers, and an HTTP server that
answers every request with an HTML 501 page (what `python -m http.server` does with a POST).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import threading
from argparse import Namespace
from collections.abc import Iterator

import pytest

from tenancy.cli import main
from tenancy.cli.common import connect
from tenancy.endpoint_probe import Answer, probe
from tenancy.local.endpoint import HOST, EndpointState, LocalEndpoint
from tenancy.local.endpoint import endpoint_url as url_of
from tenancy.local.port_holder import port_holder
from tests.support.ports import free_port

pytestmark = pytest.mark.engine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listener accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        yield listener.getsockname()[1]


class _NotDynamoDB(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_error(501, "Unsupported method")

    do_GET = do_POST

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def html_port() -> Iterator[int]:
    """A port held by an HTTP server that is not DynamoDB."""
    server = http.server.ThreadingHTTPServer((HOST, 0), _NotDynamoDB)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_probe_tells_each_kind_of_listener_apart(silent_port, html_port, endpoint_url):
    assert probe(url_of(free_port())).answer is Answer.NOTHING
    assert probe(url_of(silent_port)).answer is Answer.SILENT
    other = probe(url_of(html_port))
    assert other.answer is Answer.NOT_DYNAMODB and other.detail == "HTTP 501, text/html"
    assert probe(endpoint_url).serves_dynamodb  # the session's engine, whichever it is


def test_the_holder_of_a_port_is_named(silent_port):
    holder = port_holder(silent_port)
    assert holder is not None and holder.pid == os.getpid()
    assert port_holder(free_port()) is None


@pytest.mark.parametrize(
    ("listener", "what"),
    [
        ("silent_port", "which does not answer HTTP"),
        ("html_port", "an HTTP server that is not DynamoDB (HTTP 501, text/html)"),
    ],
)
def test_local_start_on_a_held_port_is_one_line_and_exit_2(
    request, capsys, tmp_path, monkeypatch, listener, what
):
    port = request.getfixturevalue(listener)
    monkeypatch.chdir(tmp_path)  # outside the project: its state folder is this one
    for _ in range(2):  # the same answer again: nothing piles up
        assert main(["local", "start", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"port {port} is held by python" in err and what in err
        assert "--port N" in err and "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:N" in err
    assert main(["local", "status", "--port", str(port)]) == 1  # a port, but no DynamoDB
    assert f"port {port} is held by python" in capsys.readouterr().out
    status = LocalEndpoint(tmp_path / ".salestalk", port=port).status()
    assert status.state is EndpointState.HELD


def test_a_command_against_a_held_port_says_what_holds_it(capsys, monkeypatch, html_port):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url_of(html_port))
    assert main(["tables"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "<html" not in err.lower()
    assert f"port {html_port} is held by python" in err and "HTTP 501" in err


def test_local_commands_follow_the_endpoint_variable(capsys, monkeypatch):
    """`local start|status|stop` without --port use the port every other command uses."""
    port = free_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    try:
        assert main(["local", "start"]) == 0
        assert f"http://127.0.0.1:{port}: running" in capsys.readouterr().out
        assert main(["tables"]) == 1  # reached: the tables are simply not there yet
        assert f"at http://127.0.0.1:{port} (from AWS_ENDPOINT_URL_DYNAMODB)" in (
            capsys.readouterr().out
        )
        assert main(["provision"]) == 0
        assert main(["seed"]) == 0
        capsys.readouterr()
        assert main(["local", "stop"]) == 0
        out = capsys.readouterr().out
        assert f"stopped MiniStack at http://127.0.0.1:{port}: its data is kept in" in out
        assert main(["query", "series", "--tenant", "acme-corp-001", "revenue"]) == 2
        err = capsys.readouterr().err
        assert "Is it running? `salestalk local start` starts the default engine there" in err
        assert main(["local", "start"]) == 0  # the kept tables and items are back
        capsys.readouterr()
        assert main(["query", "series", "--tenant", "acme-corp-001", "revenue"]) == 0
        assert "revenue" in capsys.readouterr().out
    finally:
        endpoint = LocalEndpoint(_project_state(), port=port)
        endpoint.stop()
        shutil.rmtree(endpoint.data_dir, ignore_errors=True)


def test_local_commands_refuse_a_stack_whose_endpoint_is_elsewhere(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb.internal.example:8000")
    assert main(["local", "start"]) == 2
    err = capsys.readouterr().err
    assert "a local engine runs on this machine's loopback" in err and "pass --port" in err


def test_a_query_on_missing_tables_names_them_and_says_what_makes_them(
    capsys, monkeypatch, endpoint_url
):
    """As after a restart of an in-memory engine: the endpoint answers, the tables are gone."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint_url)
    assert main(["query", "series", "--tenant", "acme-corp-001", "revenue"]) == 2
    err = capsys.readouterr().err
    assert "7 tables of stack 'local' do not exist (tenants-metadata, " in err
    assert "run `salestalk up` or `salestalk provision` first" in err
    assert "ResourceNotFoundException" not in err


def _project_state():
    from tenancy.cli.common import state_dir

    return state_dir()


class _SlowDynamoDB(http.server.BaseHTTPRequestHandler):
    """An engine busy for two seconds (a large batch being applied) before it answers."""

    def do_POST(self) -> None:
        import time

        time.sleep(2.0)
        body = b'{"TableNames": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_a_busy_engine_is_waited_for_not_called_a_stranger(monkeypatch):
    """The first probe gives up after a second; a command asks once more, patiently, before
    it says the port is held by something that does not answer."""
    server = http.server.ThreadingHTTPServer((HOST, 0), _SlowDynamoDB)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = url_of(server.server_address[1])
        assert probe(url).answer is Answer.SILENT  # what one quick look sees
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        target, _ = connect(Namespace(stack="local", allow_aws=False))  # no CommandError
        assert target.endpoint_url == url
    finally:
        server.shutdown()
        server.server_close()
