"""The whole Pulumi program (__main__.py) under Pulumi's mocks, with the local stack's config."""

from __future__ import annotations

import json

import pulumi
import pytest

from tenancy.access_policy import DATA_ACTIONS
from tests.support.pulumi_program import (
    COMPONENT_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
    TABLE_TYPE,
    run_program,
)
from tests.support.stacks import THIRD_TENANT, local_config, local_roster, with_roster

SIX_INDEXES = {
    "OwnerEmailIndex",
    "StatusIndex",
    "SessionIndex",
    "SenderIndex",
    "MetricTypeIndex",
    "DimensionIndex",
}


@pytest.fixture(scope="module")
def local_run():
    return run_program(local_config())


def test_one_metadata_table_the_pool_tables_and_two_tables_per_siloed_tenant(local_run):
    tenants = local_roster()  # the demo tenants' plans are siloed
    tables = {r.inputs["name"] for r in local_run.of_type(TABLE_TYPE)}
    assert len(tables) == 1 + 2 + 2 * len(tenants) == 7
    expected = {"tenants-metadata", "pool-messages", "pool-metrics"}
    for tenant in tenants:
        expected |= {
            f"tenant-{tenant['tenantId']}-messages",
            f"tenant-{tenant['tenantId']}-metrics",
        }
    assert tables == expected
    assert {r.name for r in local_run.of_type(COMPONENT_TYPE)} == {t["tenantId"] for t in tenants}


def test_the_six_global_secondary_indexes(local_run):
    by_table = {
        r.inputs["name"]: {gsi["name"] for gsi in r.inputs["globalSecondaryIndexes"]}
        for r in local_run.of_type(TABLE_TYPE)
    }
    assert by_table["tenants-metadata"] == {"OwnerEmailIndex", "StatusIndex"}
    assert by_table["tenant-acme-corp-001-messages"] == {"SessionIndex", "SenderIndex"}
    assert by_table["tenant-acme-corp-001-metrics"] == {"MetricTypeIndex", "DimensionIndex"}
    # the pool tables: the same six, and each its tenant index (a pooled tenant's all items)
    assert by_table["pool-messages"] == by_table["tenant-acme-corp-001-messages"] | {"TenantIndex"}
    assert by_table["pool-metrics"] == by_table["tenant-acme-corp-001-metrics"] | {"TenantIndex"}
    assert set().union(*by_table.values()) == SIX_INDEXES | {"TenantIndex"}
    for table in local_run.of_type(TABLE_TYPE):
        for gsi in table.inputs["globalSecondaryIndexes"]:
            # pulumi-aws 7: key_schemas, not the deprecated hash_key/range_key
            assert "hashKey" not in gsi and "rangeKey" not in gsi
            assert gsi["keySchemas"][0]["keyType"] == "HASH"
            declared = {a["name"] for a in table.inputs["attributes"]}
            assert {k["attributeName"] for k in gsi["keySchemas"]} <= declared


def test_every_table_is_on_demand_encrypted_recoverable_and_tagged(local_run):
    plans = {t["tenantId"]: t["plan"] for t in local_roster()}
    for table in local_run.of_type(TABLE_TYPE):
        inputs = table.inputs
        assert inputs["billingMode"] == "PAY_PER_REQUEST"
        assert inputs["serverSideEncryption"] == {"enabled": True}
        assert inputs["pointInTimeRecovery"] == {"enabled": True}
        tags = inputs["tags"]
        assert tags["stack"] == "local" and tags["project"] == "salestalk"
        if inputs["name"].startswith("pool-"):
            assert tags["scope"] == "pool" and "tenant-id" not in tags
        elif inputs["name"] != "tenants-metadata":
            tenant_id = tags["tenant-id"]
            assert inputs["name"].startswith(f"tenant-{tenant_id}-")
            assert tags["plan"] == plans[tenant_id]


def test_tenant_resources_are_parented_to_their_component(local_run):
    components = {r.name: r.urn for r in local_run.of_type(COMPONENT_TYPE)}
    shared = [local_run.named(TABLE_TYPE, name)
              for name in ("tenants-metadata", "pool-messages", "pool-metrics")]  # fmt: skip
    assert all(t.parent.endswith("pulumi:pulumi:Stack::salestalk-local") for t in shared)
    for resource in local_run.resources:
        if resource.type in (TABLE_TYPE, ROLE_TYPE, ROLE_POLICY_TYPE) and resource not in shared:
            owner = next(
                t
                for t in components
                if resource.name.startswith(f"tenant-{t}-") or resource.name.startswith(f"{t}-")
            )
            assert resource.parent == components[owner], resource.name


def test_local_stack_leaves_data_unprotected_as_configured(local_run):
    # Pulumi.local.yaml sets protectData: false for easy teardown of disposable local data.
    for table in local_run.of_type(TABLE_TYPE):
        assert table.protect is False and table.inputs["deletionProtectionEnabled"] is False


def test_data_is_protected_by_default():
    config = local_config()
    del config["salestalk:protectData"]
    run = run_program(config)
    for table in run.of_type(TABLE_TYPE):
        assert table.protect is True, table.name
        assert table.retain_on_delete is True, table.name
        assert table.inputs["deletionProtectionEnabled"] is True, table.name
    # Protection is for data; the roles and policies stay replaceable.
    assert not any(r.protect for r in run.of_type(ROLE_TYPE) + run.of_type(ROLE_POLICY_TYPE))


def test_each_tenant_policy_names_only_its_own_tables_and_indexes(local_run):
    arns = {r.outputs["name"]: r.outputs["arn"] for r in local_run.of_type(TABLE_TYPE)}
    roles = {r.urn: r for r in local_run.of_type(ROLE_TYPE)}
    policies = local_run.of_type(ROLE_POLICY_TYPE)
    assert len(policies) == len(local_roster())
    for policy in policies:
        tenant_id = policy.name.removesuffix("-data-access")
        own = [arns[f"tenant-{tenant_id}-messages"], arns[f"tenant-{tenant_id}-metrics"]]
        document = json.loads(policy.inputs["policy"])
        resources, actions = set(), set()
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            resources |= set(statement["Resource"])
            actions |= set(statement["Action"])
        assert resources == set(own) | {f"{arn}/index/*" for arn in own}
        assert actions <= set(DATA_ACTIONS) and "dynamodb:Scan" not in actions
        assert not any("*" in action for action in actions)
        assert policy.inputs["role"] == f"{tenant_id}-data-access-7c1e0a2"
        role = next(r for r in roles.values() if r.name == f"{tenant_id}-data-access")
        assert policy.parent == role.parent


def test_outputs_are_exported_per_tenant(local_run):
    exports = local_run.exports
    assert exports["metadataTable"] == "tenants-metadata"
    assert exports["poolTables"] == {"messages": "pool-messages", "metrics": "pool-metrics"}
    assert set(exports["tenants"]) == {t["tenantId"] for t in local_roster()}
    acme = exports["tenants"]["acme-corp-001"]
    assert acme["tier"] == "silo" and acme["messagesTable"] == "tenant-acme-corp-001-messages"
    assert acme["metricsTableArn"].endswith(":table/tenant-acme-corp-001-metrics")
    assert acme["dataAccessRoleArn"].startswith("arn:aws:iam::")


def test_onboarding_a_third_tenant_adds_a_component_and_changes_nothing_else(local_run):
    run = run_program(with_roster([*local_roster(), THIRD_TENANT]))
    before = {(r.type, r.urn): r.parent for r in local_run.resources}
    after = {(r.type, r.urn): r.parent for r in run.resources}
    assert before.items() <= after.items()  # same URNs (names) and the same parents
    added = {key[1].rsplit("::", 1)[1] for key in after.keys() - before.keys()}
    assert added == {
        "globex-003",
        "tenant-globex-003-messages",
        "tenant-globex-003-metrics",
        "globex-003-data-access",
    }
    assert len(run.of_type(TABLE_TYPE)) == 9
    for old in local_run.resources:
        new = next(r for r in run.resources if r.urn == old.urn)
        assert new.inputs == old.inputs, old.name


def test_reordering_the_roster_changes_no_resource(local_run):
    run = run_program(with_roster(list(reversed(local_roster()))))
    assert {r.urn: r.inputs for r in run.resources} == {
        r.urn: r.inputs for r in local_run.resources
    }


def test_table_prefix_changes_physical_names_but_not_resource_names(local_run):
    run = run_program(with_roster(local_roster(), tablePrefix="staging"))
    assert {r.urn for r in run.resources} == {r.urn for r in local_run.resources}
    names = {r.inputs["name"] for r in run.of_type(TABLE_TYPE)}
    assert names == {f"staging.{r.inputs['name']}" for r in local_run.of_type(TABLE_TYPE)}


BAD_ROSTERS = [
    pytest.param(
        lambda t: [t[0], {**t[1], "tenantId": t[0]["tenantId"]}],
        "tenant id 'acme-corp-001' appears more than once",
        id="duplicate-id",
    ),
    pytest.param(
        lambda t: [{**t[0], "tenantId": "Acme_Corp"}, t[1]],
        "tenant 'Acme_Corp' (entry 1), field 'tenantId': must be 3-32 lowercase",
        id="bad-id",
    ),
    pytest.param(
        lambda t: [t[0], {**t[1], "plan": "platinum"}],
        "tenant 'techstart-inc-002' (entry 2), field 'plan': Input should be",
        id="unknown-plan",
    ),
    pytest.param(
        lambda t: [{**t[0], "ownerEmail": "not-an-email"}, t[1]],
        "tenant 'acme-corp-001' (entry 1), field 'ownerEmail': value is not a valid email",
        id="bad-email",
    ),
    pytest.param(lambda t: [], "the roster is empty", id="empty-list"),
    pytest.param(
        lambda t: [t[0], {k: v for k, v in t[1].items() if k != "name"}],
        "tenant 'techstart-inc-002' (entry 2), field 'name': is required",
        id="missing-field",
    ),
    pytest.param(
        lambda t: [{**t[0], "stauts": "active"}],
        "tenant 'acme-corp-001' (entry 1), field 'stauts': is not a known field "
        "(unknown fields are refused)",
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_ROSTERS)
def test_bad_roster_stops_the_program_before_any_resource(mutate, message):
    config = with_roster(mutate(local_roster()))
    with pytest.raises(pulumi.RunError) as failure:
        run = run_program(config)
        pytest.fail(f"program ran and registered {len(run.resources)} resources")
    assert message in str(failure.value)
    assert "invalid tenant roster in stack 'local'" in str(failure.value)
    assert failure.value.registered == []


def test_missing_roster_and_bad_settings_stop_the_program():
    config = local_config()
    del config["salestalk:tenants"]
    with pytest.raises(pulumi.RunError, match="no tenants are configured") as failure:
        run_program(config)
    assert failure.value.registered == []
    for bad_prefix in ("bad prefix/", "staging-", "qa.eu", "-qa"):
        with pytest.raises(pulumi.RunError, match=r"salestalk:tablePrefix.*letters, digits"):
            run_program(with_roster(local_roster(), tablePrefix=bad_prefix))
    with pytest.raises(pulumi.RunError, match="salestalk:protectData"):
        run_program(with_roster(local_roster(), protectData="maybe"))


def test_a_misspelt_setting_stops_the_program_instead_of_being_ignored():
    config = {**local_config(), "salestalk:tablePrefx": "staging-"}
    with pytest.raises(pulumi.RunError, match="unknown setting salestalk:tablePrefx") as failure:
        run_program(config)
    assert failure.value.registered == []


def test_the_program_runs_without_the_cyclic_collector_and_gives_it_back(local_run):
    """The program turns the collector off (Pulumi keeps every output alive to the end); the
    process that ran it under mocks, this test session, gets it back."""
    import gc

    assert local_run.collector_states == {False}
    assert gc.isenabled()
