"""The program against what pulumi-aws itself accepts and calls, without the Pulumi CLI.

Three contracts the mocks alone cannot see:
- every AWS service the provider calls for the registered resources has an endpoint in the
  local stack (else that call goes to real AWS, signed with the test keys), and every endpoint
  key is one pulumi-aws 7 knows;
- every registered input is valid for the provider's schema (a vendored slice of it);
- the vendored slice is the installed SDK's, so an upgrade shows up as a diff.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pulumi_aws
import pytest

from tenancy.stack_file import StackFile
from tests.support import provider_schema
from tests.support.aws_services import (
    PROVIDER_SERVICES,
    SERVICES_BY_TYPE,
    UnmappedResourceTypeError,
    services_called,
)
from tests.support.provider_schema import REGENERATE, RESOURCE_TOKENS, Validator
from tests.support.pulumi_program import (
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    TABLE_TYPE,
    Registered,
    run_program,
)
from tests.support.stacks import local_config

LOCAL_ENDPOINT = "http://localhost:4566"


@pytest.fixture(scope="module")
def local_run():
    return run_program(local_config())


@pytest.fixture(scope="module")
def schema():
    return provider_schema.load_slice()


def stack_endpoints() -> dict[str, str]:
    (endpoints,) = StackFile.load("local").namespace("aws")["endpoints"]
    return dict(endpoints)


def valid_endpoint_keys() -> set[str]:
    """The `aws:endpoints` keys pulumi-aws 7 accepts: the wire names of its Endpoints config
    type, which the SDK's ProviderEndpointArgs (explicit providers) must agree with."""
    config_keys = provider_schema.wire_names(pulumi_aws.config.outputs.Endpoints)
    provider_keys = provider_schema.wire_names(pulumi_aws.ProviderEndpointArgs)
    assert config_keys == provider_keys
    return config_keys


# --- Endpoints ---------------------------------------------------------------------------------


def test_every_service_the_provider_calls_has_a_local_endpoint_and_no_other(local_run):
    needed = services_called(local_run.resources)
    endpoints = stack_endpoints()
    assert needed <= set(endpoints), (
        f"Pulumi.local.yaml has no endpoint for {sorted(needed - set(endpoints))}: "
        "those calls would go to real AWS with the test keys"
    )
    assert set(endpoints) <= needed, f"endpoints nothing calls: {sorted(set(endpoints) - needed)}"
    assert needed == {"dynamodb", "kms", "iam", "sts"}


def test_every_endpoint_is_the_local_stack_and_a_key_pulumi_aws_7_knows():
    endpoints = stack_endpoints()
    known = valid_endpoint_keys()
    assert set(endpoints) <= known, f"unknown to pulumi-aws 7: {sorted(set(endpoints) - known)}"
    assert "kms" in known and not {"sdb", "simpledb", "worklink"} & known
    for service, url in endpoints.items():
        assert url == LOCAL_ENDPOINT, (service, url)
        assert urlsplit(url).hostname == "localhost"


def test_every_registered_provider_type_has_a_service_mapping(local_run):
    types = {r.type for r in local_run.resources if r.custom}
    assert types == {TABLE_TYPE, ROLE_TYPE, ROLE_POLICY_TYPE}
    assert types <= set(SERVICES_BY_TYPE)


def _registered(typ: str, inputs: dict[str, Any]) -> Registered:
    return Registered(typ, "x", f"urn:x::{typ}::x", "", True, False, False, inputs)


def test_a_resource_type_without_a_mapping_fails_the_endpoint_check(local_run):
    bucket = _registered("aws:s3/bucket:Bucket", {"bucket": "b"})
    with pytest.raises(UnmappedResourceTypeError, match=r"aws:s3/bucket:Bucket.*SERVICES_BY_TYPE"):
        services_called([*local_run.resources, bucket])


def test_kms_is_needed_only_by_an_encrypted_table():
    plain = _registered(TABLE_TYPE, {"name": "t"})
    encrypted = _registered(TABLE_TYPE, {"name": "t", "serverSideEncryption": {"enabled": True}})
    assert services_called([plain]) == {"dynamodb"} | PROVIDER_SERVICES
    assert services_called([encrypted]) == {"dynamodb", "kms"} | PROVIDER_SERVICES


# --- Inputs against the schema -----------------------------------------------------------------


def test_the_slice_covers_every_resource_type_the_program_registers(local_run, schema):
    registered = {r.type for r in local_run.resources if r.custom}
    assert registered <= set(schema["resources"]), (
        f"not in the schema slice: {sorted(registered - set(schema['resources']))}; add them "
        f"to RESOURCE_TOKENS in tests/support/provider_schema.py and run `{REGENERATE}`"
    )
    assert set(schema["resources"]) == set(RESOURCE_TOKENS)


def test_every_registered_input_is_valid_for_the_provider_schema(local_run, schema):
    validator = Validator(schema)
    checked = 0
    for resource in local_run.resources:
        if resource.custom:
            assert validator.resource(resource.type, resource.inputs) == [], resource.name
            checked += 1
    assert checked == 7 + 2 * 2  # seven tables, and a role and a policy per tenant


def _first(run, typ: str) -> dict[str, Any]:
    return copy.deepcopy(next(r.inputs for r in run.resources if r.type == typ))


def _gsi(inputs: dict[str, Any]) -> dict[str, Any]:
    return inputs["globalSecondaryIndexes"][0]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda inputs: inputs.__setitem__(key, value)


def _policy_document(version: str, effect: str) -> dict[str, Any]:
    statement = {"Effect": effect, "Action": ["dynamodb:GetItem"], "Resource": "*"}
    return {"Version": version, "Statement": [statement]}


BROKEN_INPUTS = [
    pytest.param(
        TABLE_TYPE,
        _set("streamEnabld", True),
        "unknown input property 'streamEnabld'",
        id="unknown-property",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i).__setitem__("projection", "ALL"),
        "globalSecondaryIndexes[0]: unknown input property 'projection'",
        id="unknown-nested-property",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i).__setitem__("hashKey", "ownerEmail"),
        "globalSecondaryIndexes[0].hashKey: deprecated input property: hash_key is deprecated",
        id="deprecated-gsi-hashKey",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i).__setitem__("rangeKey", "tenantId"),
        "globalSecondaryIndexes[0].rangeKey: deprecated input property: range_key is deprecated",
        id="deprecated-gsi-rangeKey",
    ),
    pytest.param(
        TABLE_TYPE,
        _set("deletionProtectionEnabled", "false"),
        "deletionProtectionEnabled: expected boolean, got string 'false'",
        id="string-for-boolean",
    ),
    pytest.param(
        TABLE_TYPE,
        _set("serverSideEncryption", [{"enabled": True}]),
        "serverSideEncryption: expected object "
        "(aws:dynamodb/TableServerSideEncryption:TableServerSideEncryption), got array",
        id="array-for-object",
    ),
    pytest.param(
        TABLE_TYPE,
        _set("globalSecondaryIndexes", {"name": "OwnerEmailIndex"}),
        "globalSecondaryIndexes: expected array, got object",
        id="object-for-array",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i)["keySchemas"][0].__setitem__("attributeName", 7),
        "globalSecondaryIndexes[0].keySchemas[0].attributeName: expected string, got number 7",
        id="nested-number-for-string",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: i["pointInTimeRecovery"].__setitem__("enabled", "yes"),
        "pointInTimeRecovery.enabled: expected boolean, got string 'yes'",
        id="nested-string-for-boolean",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: i["tags"].__setitem__("plan", 3),
        "tags.plan: expected string, got number 3",
        id="map-value-type",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i).pop("projectionType"),
        "globalSecondaryIndexes[0]: missing required input 'projectionType'",
        id="missing-nested-required",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: i["attributes"][0].pop("type"),
        "attributes[0]: missing required input 'type'",
        id="missing-attribute-type",
    ),
    pytest.param(
        TABLE_TYPE,
        lambda i: _gsi(i)["keySchemas"][0].pop("keyType"),
        "globalSecondaryIndexes[0].keySchemas[0]: missing required input 'keyType'",
        id="missing-key-type",
    ),
    pytest.param(
        ROLE_TYPE,
        lambda i: i.pop("assumeRolePolicy"),
        "missing required input 'assumeRolePolicy'",
        id="missing-required",
    ),
    pytest.param(
        ROLE_POLICY_TYPE,
        lambda i: i.pop("role"),
        "missing required input 'role'",
        id="missing-required-role",
    ),
    pytest.param(
        ROLE_POLICY_TYPE,
        _set("policy", _policy_document("2012-10-17", "Maybe")),
        "policy.Statement[0].Effect: 'Maybe' is not one of "
        "aws:iam/PolicyStatementEffect:PolicyStatementEffect's values ['Allow', 'Deny']",
        id="enum-effect",
    ),
    pytest.param(
        ROLE_POLICY_TYPE,
        _set("policy", _policy_document("2013-01-01", "Allow")),
        "policy.Version: '2013-01-01' is not one of",
        id="enum-version",
    ),
    pytest.param(
        ROLE_POLICY_TYPE,
        _set("policy", 42),
        "policy: expected string or aws:iam/PolicyDocument:PolicyDocument, got number",
        id="number-for-string-or-document",
    ),
]


@pytest.mark.parametrize(("typ", "mutate", "expected"), BROKEN_INPUTS)
def test_the_validator_reports_each_broken_input(local_run, schema, typ, mutate, expected):
    inputs = _first(local_run, typ)
    validator = Validator(schema)
    assert validator.resource(typ, inputs) == []  # valid as the program registers it
    mutate(inputs)
    problems = validator.resource(typ, inputs)
    assert any(expected in problem for problem in problems), problems


def test_a_policy_document_object_is_accepted_where_the_schema_allows_one(local_run, schema):
    inputs = _first(local_run, ROLE_POLICY_TYPE)
    inputs["policy"] = json.loads(inputs["policy"])  # the same document, as an object
    assert Validator(schema).resource(ROLE_POLICY_TYPE, inputs) == []


# --- The slice against the installed SDK -------------------------------------------------------


def test_the_slice_is_for_the_installed_pulumi_aws(schema):
    installed = provider_schema.installed_version()
    assert schema["version"] == installed, (
        f"the schema slice is of pulumi-aws {schema['version']} but {installed} is installed: "
        f"run `{REGENERATE}`, review the diff, and re-run these tests"
    )


def test_the_slice_is_what_the_installed_sdk_generates(schema):
    generated = provider_schema.build_slice()
    assert schema == generated, (
        f"the schema slice differs from what pulumi-aws {generated['version']} generates; run "
        f"`{REGENERATE}` and review the diff:\n{provider_schema.diff(schema, generated)}"
    )


def test_the_slice_knows_the_7x_gsi_key_schema(schema):
    gsi = schema["types"]["aws:dynamodb/TableGlobalSecondaryIndex:TableGlobalSecondaryIndex"]
    props = gsi["properties"]
    assert props["keySchemas"]["items"]["$ref"].endswith("TableGlobalSecondaryIndexKeySchema")
    assert "deprecationMessage" in props["hashKey"] and "deprecationMessage" in props["rangeKey"]
    key_schema = schema["types"][
        "aws:dynamodb/TableGlobalSecondaryIndexKeySchema:TableGlobalSecondaryIndexKeySchema"
    ]
    assert key_schema["required"] == ["attributeName", "keyType"]


def test_the_regeneration_command_reports_a_stale_slice(tmp_path, monkeypatch, capsys):
    stale = provider_schema.build_slice()
    stale["version"] = "7.0.0"
    del stale["resources"][TABLE_TYPE]["inputProperties"]["warmThroughput"]
    path = tmp_path / "slice.json"
    path.write_text(provider_schema.dumps(stale))
    monkeypatch.setattr(provider_schema, "SLICE_PATH", path)
    assert provider_schema.main(["--check"]) == 1
    out = capsys.readouterr().out
    changed = {line[0] + line[1:].strip() for line in out.splitlines() if line[:1] in "+-"}
    installed = provider_schema.installed_version()
    assert {
        '-"version": "7.0.0",',
        f'+"version": "{installed}",',
        '+"warmThroughput": {',
    } <= changed
    assert REGENERATE in out
    assert provider_schema.main(["--write"]) == 0
    assert provider_schema.main(["--check"]) == 0
    assert provider_schema.load_slice(path) == provider_schema.build_slice()
