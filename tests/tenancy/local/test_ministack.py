"""MiniStack as a local engine: installed by pip alone into an environment of its own, started
on loopback, serving the four services the platform uses, keeping its state across a stop and
start when asked, and stopped leaving nothing listening."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tenancy.endpoint_probe import answers
from tenancy.local import ministack
from tenancy.local.endpoint import EndpointState, LocalEndpoint
from tenancy.local.engines import Engine
from tests.support.ports import free_port, listening, listening_addresses
from tests.tenancy.local.test_endpoint import PROJECT_STATE

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def installed() -> Path:
    """The project's MiniStack, installed once with pip (cached after)."""
    return ministack.install(PROJECT_STATE)


def _state(tmp_path: Path, installed: Path) -> Path:
    """A scratch state folder (it uses the project's install: SALESTALK_ENGINES_DIR)."""
    assert ministack.installed_dir(tmp_path / ".salestalk") == installed
    return tmp_path / ".salestalk"


def _session():
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def test_ministack_serves_four_services_on_loopback_and_stops_clean(tmp_path, installed):
    state = _state(tmp_path, installed)
    endpoint = LocalEndpoint(state, port=free_port(), engine=Engine.MINISTACK, in_memory=True)
    try:
        started, status = endpoint.start()
        assert started and status.engine is Engine.MINISTACK and status.data_dir is None
        assert listening_addresses(endpoint.port) == {"0100007F"}  # never 0.0.0.0
        session = _session()
        assert session.client("dynamodb", endpoint_url=endpoint.url).list_tables()
        assert session.client("iam", endpoint_url=endpoint.url).list_roles()["Roles"] == []
        assert session.client("sts", endpoint_url=endpoint.url).get_caller_identity()["Account"]
        assert "Keys" in session.client("kms", endpoint_url=endpoint.url).list_keys()
    finally:
        stopped, _ = endpoint.stop()
    assert stopped and not listening(endpoint.port) and not answers(endpoint.url)
    assert endpoint.status().state is EndpointState.DOWN


def test_ministack_keeps_its_tables_across_a_stop_and_start_unless_in_memory(tmp_path, installed):
    state = _state(tmp_path, installed)
    endpoint = LocalEndpoint(state, port=free_port(), engine=Engine.MINISTACK)
    dynamodb = _session().client("dynamodb", endpoint_url=endpoint.url)
    try:
        _, status = endpoint.start()
        assert status.data_dir == ministack.data_dir(state, endpoint.port)
        dynamodb.create_table(
            TableName="kept",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="kept", Item={"id": {"S": "survives"}})
        endpoint.stop()
        endpoint.start()
        item = dynamodb.get_item(TableName="kept", Key={"id": {"S": "survives"}})["Item"]
        assert item == {"id": {"S": "survives"}}
    finally:
        endpoint.stop()
    in_memory = LocalEndpoint(state, port=endpoint.port, engine=Engine.MINISTACK, in_memory=True)
    try:
        in_memory.start()
        assert dynamodb.list_tables()["TableNames"] == []
    finally:
        in_memory.stop()
