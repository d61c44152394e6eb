"""Shared test infrastructure: one real moto server over HTTP for the whole session.

It is started in `pytest_sessionstart` (not a fixture) so that items without fixtures, such as
executed notebooks, can reach it through the environment too.
"""

from __future__ import annotations

import contextlib
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenancy.connection import Target, dynamodb_client

PROJECT_DIR = Path(__file__).resolve().parents[1]
ENDPOINT_ENV = "SALESTALK_TEST_ENDPOINT"
REGION = "us-east-1"

_server_stack = contextlib.ExitStack()


def pytest_sessionstart(session: pytest.Session) -> None:
    from tenancy.local_endpoint import embedded

    url = _server_stack.enter_context(embedded(port=0))
    os.environ[ENDPOINT_ENV] = url
    # Commands under test find their endpoint the standard way, never real AWS.
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    os.environ["AWS_ACCESS_KEY_ID"] = "test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
    os.environ["SALESTALK_PROJECT_DIR"] = str(PROJECT_DIR)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _server_stack.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from tests.support.figures import lines

    if lines():
        terminalreporter.section("reliability figures")
        for line in lines():
            terminalreporter.write_line(line)


def reset_endpoint(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture
def endpoint_url() -> Iterator[str]:
    """The session's moto server, emptied before the test."""
    url = os.environ[ENDPOINT_ENV]
    reset_endpoint(url)
    yield url


@pytest.fixture
def dynamodb(endpoint_url: str):
    """A boto3 client talking HTTP to the session's (emptied) moto server."""
    return dynamodb_client(Target(endpoint_url, REGION, "the test session's moto server"))


@pytest.fixture
def settings():
    """The local stack's settings, read from Pulumi.local.yaml."""
    from tenancy.stack_file import StackFile

    return StackFile.load("local").settings()


@pytest.fixture
def tables(dynamodb, settings):
    """The local stack's tables, freshly provisioned on the (emptied) moto server."""
    from tenancy.provisioner import Provisioner
    from tenancy.tables import all_table_specs

    Provisioner(dynamodb).apply(all_table_specs(settings))
    return dynamodb
