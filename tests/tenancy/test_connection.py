"""Endpoint resolution and the refusal to touch real AWS by accident."""

from __future__ import annotations

import pytest

from tenancy.connection import RealAwsRefusedError, dynamodb_client, resolve_target
from tenancy.stack_file import StackFile


@pytest.fixture
def stack_file():
    return StackFile.load("local")


def test_the_stack_file_endpoint_is_used_by_default(stack_file):
    target = resolve_target(stack_file, environ={})
    assert target.endpoint_url == "http://localhost:4566"
    assert target.region == "us-east-1" and target.is_local
    assert target.source == "Pulumi.local.yaml"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"])
def test_standard_variables_override_the_stack_file(stack_file, variable):
    target = resolve_target(stack_file, environ={variable: "http://127.0.0.1:9999"})
    assert (target.endpoint_url, target.source) == ("http://127.0.0.1:9999", variable)


def test_service_specific_variable_wins(stack_file):
    target = resolve_target(
        stack_file,
        environ={"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://b:2"},
    )
    assert target.endpoint_url == "http://b:2"


def test_a_stack_without_endpoint_is_real_aws_and_refused(stack_file):
    config = stack_file.document["config"]
    del config["aws:endpoints"]
    target = resolve_target(stack_file, environ={})
    assert target.endpoint_url is None and not target.is_local
    with pytest.raises(RealAwsRefusedError, match="refusing to touch real AWS DynamoDB"):
        dynamodb_client(target)


def test_an_aws_hostname_is_not_local(stack_file):
    environ = {"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.us-east-1.amazonaws.com"}
    target = resolve_target(stack_file, environ=environ)
    assert not target.is_local
    with pytest.raises(RealAwsRefusedError):
        dynamodb_client(target)


def test_test_credentials_go_only_to_the_local_endpoint(stack_file, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "users-own-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "users-own-secret")
    local = dynamodb_client(resolve_target(stack_file))
    assert local.meta.endpoint_url == "http://localhost:4566"
    assert local._request_signer._credentials.access_key == "test"

    del stack_file.document["config"]["aws:endpoints"]
    remote = dynamodb_client(resolve_target(stack_file), allow_aws=True)
    assert remote.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"
    assert remote._request_signer._credentials.access_key == "users-own-key"


def test_retries_are_botocore_standard_mode(stack_file):
    client = dynamodb_client(resolve_target(stack_file, environ={}))
    assert client.meta.config.retries["mode"] == "standard"


@pytest.mark.parametrize(
    "url",
    [
        "https://dynamodb.us-east-1.amazonaws.com.",
        "https://DYNAMODB.eu-west-1.AMAZONAWS.COM",
        "https://dynamodb.us-east-1.api.aws",
    ],
)
def test_aws_hosts_in_any_spelling_are_not_local(stack_file, url):
    target = resolve_target(stack_file, environ={"AWS_ENDPOINT_URL_DYNAMODB": url})
    assert not target.is_local


def test_localstack_under_its_compose_host_name_is_local(stack_file):
    target = resolve_target(
        stack_file, environ={"AWS_ENDPOINT_URL_DYNAMODB": "http://localstack:4566"}
    )
    assert target.is_local
