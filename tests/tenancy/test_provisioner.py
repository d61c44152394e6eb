"""The local provisioner against a real moto server over HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from tenancy.provisioner import Outcome, Provisioner, ProvisionError, observe
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs


@pytest.fixture
def settings():
    return StackFile.load("local").settings()


@pytest.fixture
def specs(settings):
    return all_table_specs(settings)


def by_name(specs, name):
    return next(spec for spec in specs if spec.name == name)


def test_creates_every_table_then_a_rerun_changes_nothing(dynamodb, specs):
    first = Provisioner(dynamodb).apply(specs)
    assert [r.outcome for r in first] == [Outcome.CREATED] * 5
    assert set(dynamodb.list_tables()["TableNames"]) == {spec.name for spec in specs}
    for spec in specs:
        assert observe(dynamodb, spec.name) == spec.shape()

    second = Provisioner(dynamodb).apply(specs)
    assert [(r.outcome, r.changes, r.warnings) for r in second] == [(Outcome.UNCHANGED, [], [])] * 5


def test_repairs_a_missing_index_and_disabled_point_in_time_recovery(dynamodb, specs):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-acme-corp-001-messages"
    dynamodb.update_table(
        TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "SenderIndex"}}]
    )
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    drifted = observe(dynamodb, name)
    assert "SenderIndex" not in drifted.indexes and not drifted.point_in_time_recovery

    result = Provisioner(dynamodb).apply_one(by_name(specs, name))
    assert result.outcome is Outcome.UPDATED
    assert result.changes == ["index SenderIndex created", "point-in-time recovery -> True"]
    assert observe(dynamodb, name) == by_name(specs, name).shape()
    assert Provisioner(dynamodb).apply_one(by_name(specs, name)).outcome is Outcome.UNCHANGED


def test_missing_tables_are_all_created_before_any_is_waited_for(dynamodb, specs):
    """DynamoDB builds tables side by side: one wait for all, not one per table, and a new
    table costs four requests (look, create, wait, point-in-time recovery)."""
    calls: list[str] = []
    dynamodb.meta.events.register(
        "before-send.dynamodb", lambda event_name, **_: calls.append(event_name.split(".")[-1])
    )
    Provisioner(dynamodb).apply(specs)
    creates = [n for n, call in enumerate(calls) if call == "CreateTable"]
    assert len(creates) == len(specs)
    assert creates == list(range(creates[0], creates[0] + len(specs)))  # back to back
    assert len(calls) == 4 * len(specs)


def test_repairs_tags_and_deletion_protection(dynamodb, specs, settings):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-techstart-inc-002-metrics"
    arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "plan", "Value": "trial"}])

    protected = all_table_specs(dataclasses.replace(settings, protect_data=True))
    result = Provisioner(dynamodb).apply_one(by_name(protected, name))
    assert result.changes == ["deletion protection -> True", "tags set: plan=enterprise"]
    live = observe(dynamodb, name)
    assert live.deletion_protection and live.tags["plan"] == "enterprise"


def test_rebuilds_an_index_whose_keys_differ(dynamodb, specs):
    spec = by_name(specs, "tenant-acme-corp-001-metrics")
    Provisioner(dynamodb).apply_one(spec)
    index = spec.layout.indexes[1]
    changed = dataclasses.replace(index, projection="KEYS_ONLY")
    other = dataclasses.replace(
        spec, layout=dataclasses.replace(spec.layout, indexes=(spec.layout.indexes[0], changed))
    )
    result = Provisioner(dynamodb).apply_one(other)
    assert result.changes == [
        "index DimensionIndex rebuilt ((dimension, period) ALL -> (dimension, period) KEYS_ONLY)"
    ]
    assert observe(dynamodb, spec.name).indexes["DimensionIndex"].projection == "KEYS_ONLY"


def test_an_unmanaged_index_is_reported_and_left_in_place(dynamodb, specs):
    spec = by_name(specs, "tenants-metadata")
    Provisioner(dynamodb).apply_one(spec)
    dynamodb.update_table(
        TableName=spec.name,
        AttributeDefinitions=[{"AttributeName": "plan", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "PlanIndex",
                    "KeySchema": [{"AttributeName": "plan", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    result = Provisioner(dynamodb).apply_one(spec)
    assert result.outcome is Outcome.UNCHANGED
    assert result.warnings == ["index PlanIndex is not in the definition; left in place"]
    assert "PlanIndex" in observe(dynamodb, spec.name).indexes


def test_a_different_primary_key_is_refused_not_rebuilt(dynamodb, specs):
    spec = by_name(specs, "tenant-acme-corp-001-messages")
    dynamodb.create_table(
        TableName=spec.name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=spec.name, Item={"id": {"S": "keep-me"}})
    with pytest.raises(ProvisionError, match="primary key cannot be changed in place"):
        Provisioner(dynamodb).apply_one(spec)
    assert dynamodb.get_item(TableName=spec.name, Key={"id": {"S": "keep-me"}})["Item"]


def test_waits_for_tables_and_indexes_to_become_active():
    statuses = iter(["CREATING", "ACTIVE", "ACTIVE"])
    index_statuses = iter(["CREATING", "CREATING", "ACTIVE"])
    sleeps: list[float] = []

    class Client:
        def describe_table(self, TableName):
            return {
                "Table": {
                    "TableStatus": next(statuses),
                    "GlobalSecondaryIndexes": [{"IndexStatus": next(index_statuses)}],
                }
            }

    Provisioner(Client(), poll_seconds=0.5, sleep=sleeps.append)._wait_active("t")
    assert sleeps == [0.5, 0.5]
