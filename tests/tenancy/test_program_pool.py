"""The whole Pulumi program with pooled tenants, under Pulumi's mocks: a pooled tenant's
component holds no table, and its role reaches the pool tables only under its leading keys."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from tenancy.access_policy import DATA_ACTIONS, READ_ACTIONS
from tests.support.pulumi_program import (
    COMPONENT_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    TABLE_TYPE,
    run_program,
)
from tests.support.stacks import local_roster, with_roster

# Pooled tenants whose ids begin one another, and one that takes no new data.
POOLED = ["acme", "acme-corp", "acme-corp-001x"]
SUSPENDED = "paused-trial"


def trial(tenant_id: str, **extra) -> dict:
    return {**local_roster()[0], "tenantId": tenant_id, "plan": "trial", **extra}


@pytest.fixture(scope="module")
def pooled_run():
    roster = [*local_roster(), *map(trial, POOLED), trial(SUSPENDED, status="suspended")]
    return run_program(with_roster(roster))


def policy_of(run, tenant_id: str) -> dict:
    policy = run.named(ROLE_POLICY_TYPE, f"{tenant_id}-data-access")
    return json.loads(policy.inputs["policy"])


def test_pooled_tenants_add_no_table(pooled_run):
    names = sorted(r.inputs["name"] for r in pooled_run.of_type(TABLE_TYPE))
    assert names == sorted([
        "tenants-metadata", "pool-messages", "pool-metrics",
        "tenant-acme-corp-001-messages", "tenant-acme-corp-001-metrics",
        "tenant-techstart-inc-002-messages", "tenant-techstart-inc-002-metrics",
    ])  # fmt: skip
    components = {r.name: r.urn for r in pooled_run.of_type(COMPONENT_TYPE)}
    assert set(components) == {t["tenantId"] for t in local_roster()} | {*POOLED, SUSPENDED}
    for tenant_id in (*POOLED, SUSPENDED):
        children = [r for r in pooled_run.resources if r.parent == components[tenant_id]]
        assert sorted(r.type for r in children) == sorted([ROLE_TYPE, ROLE_POLICY_TYPE])


def test_the_pool_tables_belong_to_the_stack_and_are_protected_like_any_data():
    run = run_program(with_roster([*local_roster(), trial("acme")], protectData="true"))
    for name in ("pool-messages", "pool-metrics"):
        table = run.named(TABLE_TYPE, name)
        assert table.parent.endswith("pulumi:pulumi:Stack::salestalk-local")
        assert table.protect and table.retain_on_delete
        assert table.inputs["deletionProtectionEnabled"] is True
        assert table.inputs["tags"]["scope"] == "pool" and "tenant-id" not in table.inputs["tags"]


def test_a_pooled_policy_names_only_the_pool_tables_under_its_leading_keys(pooled_run):
    arns = {r.outputs["name"]: r.outputs["arn"] for r in pooled_run.of_type(TABLE_TYPE)}
    pool = [arns["pool-messages"], arns["pool-metrics"]]
    resources = set(pool) | {f"{arn}/index/*" for arn in pool}
    for tenant_id in (*POOLED, SUSPENDED):
        statements = policy_of(pooled_run, tenant_id)["Statement"]
        assert all(s["Effect"] == "Allow" and set(s["Resource"]) == resources for s in statements)
        guarded = [s for s in statements if "Condition" in s]
        unguarded = [s for s in statements if "Condition" not in s]
        assert len(guarded) == 1 and [s["Action"] for s in unguarded] == [
            ["dynamodb:DescribeTable"]
        ]
        condition = guarded[0]["Condition"]
        assert condition == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{tenant_id}#*"]},
            "Null": {"dynamodb:LeadingKeys": "false"},
        }
        actions = set(guarded[0]["Action"]) | {"dynamodb:DescribeTable"}
        assert actions == set(READ_ACTIONS if tenant_id == SUSPENDED else DATA_ACTIONS)


def test_no_pooled_policy_matches_another_pooled_tenants_keys(pooled_run):
    tenants = (*POOLED, SUSPENDED)
    for owner in tenants:
        (pattern,) = next(
            s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            for s in policy_of(pooled_run, owner)["Statement"]
            if "Condition" in s
        )
        for other in tenants:
            key = f"{other}#msg-0001"
            assert fnmatchcase(key, pattern) is (other == owner), (pattern, key)


def test_siloed_policies_still_name_only_their_own_tables(pooled_run):
    for tenant in local_roster():
        tenant_id = tenant["tenantId"]
        (statement,) = policy_of(pooled_run, tenant_id)["Statement"]
        assert "Condition" not in statement
        assert all(f":table/tenant-{tenant_id}-" in arn for arn in statement["Resource"])


def test_outputs_say_each_tenants_tier_and_tables(pooled_run):
    exports = pooled_run.exports
    assert exports["poolTables"] == {"messages": "pool-messages", "metrics": "pool-metrics"}
    acme = exports["tenants"]["acme"]
    assert acme["tier"] == "pool" and acme["messagesTable"] == "pool-messages"
    assert acme["metricsTableArn"].endswith(":table/pool-metrics")
    assert exports["tenants"]["acme-corp-001"]["tier"] == "silo"


def test_onboarding_a_trial_tenant_adds_its_component_role_and_policy_only(pooled_run):
    roster = [*local_roster(), *map(trial, POOLED), trial(SUSPENDED, status="suspended")]
    run = run_program(with_roster([*roster, trial("newcomer")]))
    before = {r.urn: r.inputs for r in pooled_run.resources}
    added = sorted((r.type, r.name) for r in run.resources if r.urn not in before)
    assert added == sorted([
        (COMPONENT_TYPE, "newcomer"), (ROLE_TYPE, "newcomer-data-access"),
        (ROLE_POLICY_TYPE, "newcomer-data-access"),
    ])  # fmt: skip
    assert all(before[r.urn] == r.inputs for r in run.resources if r.urn in before)


def test_a_tenant_moving_between_tiers_has_both_tiers_tables_and_access():
    roster = [*local_roster(), trial("mover", moveTo="silo")]
    run = run_program(with_roster(roster))
    names = {r.inputs["name"] for r in run.of_type(TABLE_TYPE)}
    assert {"tenant-mover-messages", "tenant-mover-metrics"} <= names  # the move's target
    statements = policy_of(run, "mover")["Statement"]
    resources = {arn for s in statements for arn in s["Resource"]}
    assert any(":table/tenant-mover-" in arn for arn in resources)
    assert any(":table/pool-" in arn for arn in resources)
    assert run.exports["tenants"]["mover"]["messagesTable"] == "pool-messages"  # not yet moved

    switched = [*local_roster(), trial("mover", tier="silo", copyLeftIn="pool")]
    after = run_program(with_roster(switched))
    assert after.exports["tenants"]["mover"]["messagesTable"] == "tenant-mover-messages"
    # the same table resources: switching moves no data and replaces no table
    tables = {r.urn: r.inputs for r in run.of_type(TABLE_TYPE)}
    assert {r.urn: r.inputs for r in after.of_type(TABLE_TYPE)} == tables
    dropped = run_program(with_roster([*local_roster(), trial("mover", tier="silo")]))
    assert len(policy_of(dropped, "mover")["Statement"]) == 1  # its own tables only
