"""The local provisioner against the session's engine over HTTP.

What a table must look like is its definition as the engine can show it (DynamoDB Local has no
point-in-time recovery or tags, and reports no encryption): `defined()`."""

from __future__ import annotations

import dataclasses

import pytest

from tenancy.endpoint_features import ALL_FEATURES, Feature
from tenancy.provisioner import Outcome, Provisioner, ProvisionError, observe
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs
from tests.conftest import engine_features


@pytest.fixture
def settings():
    return StackFile.load("local").settings()


@pytest.fixture
def specs(settings):
    return all_table_specs(settings)


def by_name(specs, name):
    return next(spec for spec in specs if spec.name == name)


def defined(spec):
    """The definition as the session's engine can show it."""
    return spec.shape().as_seen_by(engine_features().unsupported_fields())


def test_creates_every_table_then_a_rerun_changes_nothing(dynamodb, specs):
    first = Provisioner(dynamodb).apply(specs)
    assert [r.outcome for r in first] == [Outcome.CREATED] * 7
    assert set(dynamodb.list_tables()["TableNames"]) == {spec.name for spec in specs}
    for spec in specs:
        assert observe(dynamodb, spec.name) == defined(spec)

    second = Provisioner(dynamodb).apply(specs)
    assert [(r.outcome, r.changes, r.warnings) for r in second] == [(Outcome.UNCHANGED, [], [])] * 7


def test_repairs_a_missing_index(dynamodb, specs):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-acme-corp-001-messages"
    dynamodb.update_table(
        TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "SenderIndex"}}]
    )
    Provisioner(dynamodb)._wait_active(name)  # an index is deleted in the background
    assert "SenderIndex" not in observe(dynamodb, name).indexes

    result = Provisioner(dynamodb).apply_one(by_name(specs, name))
    assert (result.outcome, result.changes) == (Outcome.UPDATED, ["index SenderIndex created"])
    assert observe(dynamodb, name) == defined(by_name(specs, name))
    assert Provisioner(dynamodb).apply_one(by_name(specs, name)).outcome is Outcome.UNCHANGED


@pytest.mark.needs(Feature.POINT_IN_TIME_RECOVERY)
def test_repairs_disabled_point_in_time_recovery(dynamodb, specs):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-acme-corp-001-messages"
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    assert observe(dynamodb, name).point_in_time_recovery is False

    result = Provisioner(dynamodb).apply_one(by_name(specs, name))
    assert result.changes == ["point-in-time recovery -> True"]
    assert observe(dynamodb, name) == defined(by_name(specs, name))


def test_a_feature_the_endpoint_lacks_is_noted_once_per_kind_and_never_drift(dynamodb, specs):
    """On an endpoint without PITR, tags and encryption reporting (DynamoDB Local), nothing is
    sent for them and a re-run is unchanged; where the engine has them all, nothing is noted."""
    first = Provisioner(dynamodb)
    first.apply(specs)
    second = Provisioner(dynamodb)
    assert {r.outcome for r in second.apply(specs)} == {Outcome.UNCHANGED}
    missing = engine_features().missing
    assert len(second.notes()) == len(missing)
    for feature, note in zip(sorted(missing), second.notes(), strict=True):
        assert note.startswith(f"{feature} is not supported by this endpoint")
        assert "metadata, messages, metrics tables" in note


def test_missing_tables_are_all_created_before_any_is_waited_for(dynamodb, specs):
    """DynamoDB builds tables side by side: one wait for all, not one per table, and a new
    table costs four requests (look, create, wait, point-in-time recovery)."""
    features = engine_features()  # probed before counting
    calls: list[str] = []
    dynamodb.meta.events.register(
        "before-send.dynamodb", lambda event_name, **_: calls.append(event_name.split(".")[-1])
    )
    Provisioner(dynamodb).apply(specs)
    creates = [n for n, call in enumerate(calls) if call == "CreateTable"]
    assert len(creates) == len(specs)
    assert creates == list(range(creates[0], creates[0] + len(specs)))  # back to back
    per_table = 4 if features.supports(Feature.POINT_IN_TIME_RECOVERY) else 3
    assert len(calls) == per_table * len(specs)


def test_repairs_deletion_protection(dynamodb, specs, settings):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-techstart-inc-002-metrics"
    protected = all_table_specs(dataclasses.replace(settings, protect_data=True))
    result = Provisioner(dynamodb).apply_one(by_name(protected, name))
    assert result.changes == ["deletion protection -> True"]
    assert observe(dynamodb, name).deletion_protection
    dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)


@pytest.mark.needs(Feature.TAGS)
def test_repairs_tags(dynamodb, specs):
    Provisioner(dynamodb).apply(specs)
    name = "tenant-techstart-inc-002-metrics"
    arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "plan", "Value": "trial"}])
    result = Provisioner(dynamodb).apply_one(by_name(specs, name))
    assert result.changes == ["tags set: plan=enterprise"]
    assert observe(dynamodb, name).tags["plan"] == "enterprise"


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

    waiting = Provisioner(Client(), poll_seconds=0.5, sleep=sleeps.append, features=ALL_FEATURES)
    waiting._wait_active("t")
    assert sleeps == [0.5, 0.5]
