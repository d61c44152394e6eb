"""`provision` makes the tenant roles and policies the Pulumi program declares, on an endpoint
that serves IAM, and converges them; on one that serves none it says so and makes nothing."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from tenancy.access_policy import role_name
from tenancy.connection import Target, local_iam_client
from tenancy.provisioner import Provisioner
from tenancy.roster import Roster, Tier
from tenancy.tables import all_table_specs
from tenancy.tenant_roles import (
    IAM_NAME_LIMIT,
    NO_IAM_NOTE,
    RoleOutcome,
    RoleOwnershipError,
    physical_role_name,
    provision_roles,
    serves_iam,
)
from tests.conftest import REGION, engine_name
from tests.support.pulumi_program import ROLE_POLICY_TYPE, ROLE_TYPE, run_program
from tests.support.stacks import local_config

TABLE_ARN = re.compile(r"arn:aws:dynamodb:[^:\"]*:[^:\"]*:table/")


@pytest.fixture
def iam(endpoint_url):
    """The session endpoint's IAM (the roles a test makes are deleted after it, with its
    tables, by `endpoint_url`)."""
    return local_iam_client(Target(endpoint_url, REGION, engine_name()))


@pytest.fixture
def provisioned(dynamodb, settings):
    Provisioner(dynamodb).apply(all_table_specs(settings))
    return dynamodb


def _needs_iam(iam) -> None:
    if not serves_iam(iam):
        pytest.skip(f"{engine_name()} serves no IAM (its note is tested instead)")


def _by_table_name(document: str | dict) -> dict:
    """A policy with each table ARN cut to `table/NAME`: the account and region the mocks
    give differ from the endpoint's, the tables they name must not."""
    text = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
    return json.loads(TABLE_ARN.sub("table/", text))


def test_an_endpoint_without_iam_gets_a_note_and_no_roles(provisioned, settings, iam):
    results, note = provision_roles(provisioned, iam, settings)
    if serves_iam(iam):
        assert note is None and len(results) == len(settings.roster)
    else:  # DynamoDB Local: the note is what provisioning prints
        assert (results, note) == ([], NO_IAM_NOTE)
    # Against real AWS there is no IAM client at all: `pulumi up` makes the roles.
    assert local_iam_client(Target(None, REGION, "AWS")) is None


def test_roles_made_on_the_endpoint_equal_the_programs(provisioned, settings, iam):
    _needs_iam(iam)
    run = run_program(local_config())
    declared = {r.name: r.inputs for r in run.of_type(ROLE_TYPE)}
    declared_policies = {r.name: r.inputs for r in run.of_type(ROLE_POLICY_TYPE)}

    results, _ = provision_roles(provisioned, iam, settings)

    assert {r.outcome for r in results} == {RoleOutcome.CREATED}
    assert len(declared) == len(settings.roster) == len(results)
    for tenant in settings.roster:
        logical = role_name(tenant.tenant_id)
        name = physical_role_name(settings, tenant.tenant_id)
        live = iam.get_role(RoleName=name)["Role"]
        assert live["Description"] == declared[logical]["description"]
        assert live["AssumeRolePolicyDocument"] == json.loads(declared[logical]["assumeRolePolicy"])
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
        assert tags == declared[logical]["tags"]
        policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
        assert _by_table_name(policy) == _by_table_name(declared_policies[logical]["policy"])


def test_a_second_run_changes_nothing_and_a_tampered_role_is_repaired(provisioned, settings, iam):
    _needs_iam(iam)
    provision_roles(provisioned, iam, settings)
    again, _ = provision_roles(provisioned, iam, settings)
    assert {r.outcome for r in again} == {RoleOutcome.UNCHANGED}

    tenant = next(iter(settings.roster))
    name = physical_role_name(settings, tenant.tenant_id)
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(everything))
    iam.tag_role(
        RoleName=name, Tags=[{"Key": "tier", "Value": "nonsense"}, {"Key": "x", "Value": "y"}]
    )
    iam.update_role(RoleName=name, Description="hand-edited")

    repaired = {r.name: r for r in provision_roles(provisioned, iam, settings)[0]}
    assert repaired[name].outcome is RoleOutcome.UPDATED
    assert set(repaired[name].changes) == {"data policy", "tags", "description"}
    policy = iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    assert all(statement["Action"] != "*" for statement in policy["Statement"])
    tags = {t["Key"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
    assert "x" not in tags


def test_a_tenant_that_leaves_the_roster_loses_its_role_and_others_roles_are_kept(
    provisioned, settings, iam
):
    _needs_iam(iam)
    provision_roles(provisioned, iam, settings)
    # A role of another stack, named like a tenant role: never ours to delete.
    other = dataclasses.replace(settings, stack="other", table_prefix="other")
    Provisioner(provisioned).apply(all_table_specs(other))
    provision_roles(provisioned, iam, other)
    leaving = list(settings.roster)[-1]
    smaller = dataclasses.replace(
        settings, roster=Roster([t for t in settings.roster if t is not leaving])
    )

    results = provision_roles(provisioned, iam, smaller)[0]

    deleted = [r for r in results if r.outcome is RoleOutcome.DELETED]
    assert [r.name for r in deleted] == [physical_role_name(settings, leaving.tenant_id)]
    names = {role["RoleName"] for role in iam.list_roles()["Roles"]}
    assert physical_role_name(other, leaving.tenant_id) in names


def test_a_role_of_the_same_name_owned_elsewhere_is_never_adopted(provisioned, settings, iam):
    _needs_iam(iam)
    tenant = next(iter(settings.roster))
    name = physical_role_name(settings, tenant.tenant_id)
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Tags=[{"Key": "stack", "Value": "someone-else"}],
    )
    with pytest.raises(RoleOwnershipError, match=name):
        provision_roles(provisioned, iam, settings)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []


def test_a_moving_tenants_role_reaches_both_tiers(provisioned, settings, iam):
    _needs_iam(iam)
    tenant = next(iter(settings.roster))
    to = Tier.POOL if settings.tier(tenant) is Tier.SILO else Tier.SILO
    moved = tenant.model_copy(update={"move_to": to})
    moving = Roster([moved if t is tenant else t for t in settings.roster])
    moving_settings = dataclasses.replace(settings, roster=moving)
    Provisioner(provisioned).apply(all_table_specs(moving_settings))
    provision_roles(provisioned, iam, moving_settings)
    name = physical_role_name(settings, tenant.tenant_id)
    policy = json.dumps(iam.get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"])
    assert "TenantTablesDataAccess" in policy and "PoolTablesOwnItems" in policy


def test_long_prefixes_keep_role_names_within_iams_limit(settings):
    long = dataclasses.replace(settings, table_prefix="p" * 40)
    name = physical_role_name(long, "t" * 32)
    assert len(name) <= IAM_NAME_LIMIT and name.endswith("t" * 32 + "-data-access")
    assert physical_role_name(long, "t" * 32) != physical_role_name(
        dataclasses.replace(settings, table_prefix="q" * 40), "t" * 32
    )
