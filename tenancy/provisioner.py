"""Apply the table definitions to a DynamoDB endpoint without the Pulumi CLI.

Convergent and idempotent: each table is compared with its definition (as `TableShape`s) and
only the differences are applied, so a second run changes nothing. Nothing here deletes a
table or an index it does not manage; a key schema that differs cannot be changed in place and
is reported instead of being "fixed" by dropping data.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from tenancy.budgets import CONCURRENT_CREATES
from tenancy.budgets import TABLE_POLL_SECONDS as POLL_SECONDS
from tenancy.budgets import TABLE_WAIT_TIMEOUT_SECONDS as WAIT_TIMEOUT_SECONDS
from tenancy.endpoint_features import EndpointFeatures, Feature, features_of
from tenancy.errors import Failed, Refused
from tenancy.tables import (
    STACK_TAG,
    TENANT_INDEX,
    TENANT_SHARD_ATTR,
    IndexShape,
    TableShape,
    TableSpec,
    foreign_owner,
)
from tenancy.tenant_index import backfill


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class TableResult:
    name: str
    outcome: Outcome
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ProvisionError(Failed, RuntimeError):
    """A table differs from its definition in a way that cannot be repaired in place."""


class OwnershipError(Refused, ProvisionError):
    """Tables the definitions name already exist and belong to another stack or tenant."""

    def __init__(self, stack: str, foreign: list[tuple[TableShape, dict[str, str]]]):
        self.tables = [live.name for live, _ in foreign]
        lines = []
        for live, owner in foreign:
            said = ", ".join(f"{tag}={value}" for tag, value in owner.items())
            lines.append(f"  - {live.name} ({live.arn or 'no ARN'}) is tagged {said}")
        super().__init__(
            f"stack {stack!r} names tables that belong to someone else; nothing was changed:\n"
            + "\n".join(lines)
            + "\nTwo stacks sharing an account need a `salestalk:tablePrefix` each. If a table "
            "really is this stack's (restored from a backup, say), retag it first: "
            "aws dynamodb tag-resource --resource-arn ARN --tags Key=stack,Value="
            f"{stack} (and Key=tenant-id,Value=TENANT for a tenant's table)."
        )


def observe(client, name: str, features: EndpointFeatures | None = None) -> TableShape | None:
    """The live table as a TableShape, or None when it does not exist. A setting the
    endpoint does not support or report is None ("not supported by this endpoint")."""
    table = describe(client, name)
    return None if table is None else shape_of(client, table, features)


def describe(client, name: str) -> dict[str, Any] | None:
    """DescribeTable's answer, or None when the table does not exist."""
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def shape_of(client, table: dict[str, Any], features: EndpointFeatures | None = None) -> TableShape:
    """A described table as a TableShape, with the settings DescribeTable does not carry
    (point-in-time recovery, tags) asked for where the endpoint supports them."""
    features = features or features_of(client)
    name = table["TableName"]
    keys = {entry["KeyType"]: entry["AttributeName"] for entry in table["KeySchema"]}
    indexes = {}
    for index in table.get("GlobalSecondaryIndexes", []):
        index_keys = {entry["KeyType"]: entry["AttributeName"] for entry in index["KeySchema"]}
        projection = index.get("Projection", {})
        indexes[index["IndexName"]] = IndexShape(
            hash_key=index_keys["HASH"],
            range_key=index_keys.get("RANGE"),
            projection=projection.get("ProjectionType", "ALL"),
            non_key_attributes=tuple(sorted(projection.get("NonKeyAttributes", []))),
        )
    pitr: bool | None = None
    if features.supports(Feature.POINT_IN_TIME_RECOVERY):
        backups = client.describe_continuous_backups(TableName=name)
        status = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        pitr = status.get("PointInTimeRecoveryStatus") == "ENABLED"
    tags: dict[str, str] | None = None
    if features.supports(Feature.TAGS):
        tags = {}
        for page in client.get_paginator("list_tags_of_resource").paginate(
            ResourceArn=table["TableArn"]
        ):
            tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
    sse = table.get("SSEDescription", {}).get("Status") in {"ENABLED", "ENABLING"}
    protected = bool(table.get("DeletionProtectionEnabled", False))
    return TableShape(
        name=table["TableName"],
        hash_key=keys["HASH"],
        range_key=keys.get("RANGE"),
        attributes={
            entry["AttributeName"]: entry["AttributeType"]
            for entry in table.get("AttributeDefinitions", [])
        },
        indexes=indexes,
        billing_mode=table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        server_side_encryption=sse if features.supports(Feature.ENCRYPTION_REPORTING) else None,
        point_in_time_recovery=pitr,
        deletion_protection=protected if features.supports(Feature.DELETION_PROTECTION) else None,
        tags=tags,
        arn=table["TableArn"],
    )


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _index_request(name: str, index: IndexShape) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index.projection}
    if index.non_key_attributes:
        projection["NonKeyAttributes"] = list(index.non_key_attributes)
    return {
        "IndexName": name,
        "KeySchema": _key_schema(index.hash_key, index.range_key),
        "Projection": projection,
    }


def _attribute_definitions(shape: TableShape) -> list[dict[str, str]]:
    return [{"AttributeName": n, "AttributeType": t} for n, t in shape.attributes.items()]


def create_table_request(spec: TableSpec) -> dict[str, Any]:
    """The CreateTable request for a definition (PITR is a separate call in DynamoDB's API)."""
    shape = spec.shape()
    return {
        "TableName": shape.name,
        "AttributeDefinitions": _attribute_definitions(shape),
        "KeySchema": _key_schema(shape.hash_key, shape.range_key),
        "GlobalSecondaryIndexes": [
            _index_request(name, index) for name, index in shape.indexes.items()
        ],
        "BillingMode": shape.billing_mode,
        "SSESpecification": {"Enabled": shape.server_side_encryption},
        "DeletionProtectionEnabled": shape.deletion_protection,
        "Tags": [{"Key": key, "Value": value} for key, value in shape.tags.items()],
    }


class Provisioner:
    """Brings tables in line with their definitions on one endpoint."""

    def __init__(
        self,
        client,
        *,
        poll_seconds: float = POLL_SECONDS,
        timeout_seconds: float = WAIT_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        features: EndpointFeatures | None = None,
    ):
        self.client = client
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.features = features or features_of(client)
        # What the endpoint cannot do, by table kind: one note each, not one per table.
        self.skipped: dict[Feature, list[str]] = {}

    def apply(self, specs: Iterable[TableSpec]) -> list[TableResult]:
        return list(self.results(specs))

    def apply_one(self, spec: TableSpec) -> TableResult:
        return self.apply([spec])[0]

    def results(self, specs: Iterable[TableSpec]) -> Iterator[TableResult]:
        """Each table's result, in definition order.

        Missing tables are created first, up to CONCURRENT_CREATES at a time, and waited for
        together: DynamoDB builds them side by side, so onboarding 50 tenants waits about as
        long as onboarding one, instead of once per table. A new table is then converged from
        what its CreateTable set, without reading it back.
        """
        specs = list(specs)
        live = {spec.name: observe(self.client, spec.name, self.features) for spec in specs}
        for feature in sorted(self.features.missing):
            self.skipped[feature] = list(dict.fromkeys(spec.layout.kind for spec in specs))
        self._check_ownership(specs, live)
        missing = [spec for spec in specs if live[spec.name] is None]
        for start in range(0, len(missing), CONCURRENT_CREATES):
            group = missing[start : start + CONCURRENT_CREATES]
            for spec in group:
                self.client.create_table(**create_table_request(spec))
            for spec in group:
                self._wait_active(spec.name)
        for spec in specs:
            yield self._converged(spec, live[spec.name])

    @staticmethod
    def _check_ownership(specs: list[TableSpec], live: dict[str, TableShape | None]) -> None:
        """Adopt no table another stack or tenant owns: stop before anything is changed.
        (A table with no owner tags, made by hand, is adopted and tagged.)"""
        foreign = []
        for spec in specs:
            table = live[spec.name]
            owner = foreign_owner(spec.shape(), table) if table else None
            if owner:
                foreign.append((table, owner))
        if foreign:
            stack = specs[0].tags.get(STACK_TAG, "?")
            raise OwnershipError(stack, foreign)

    def notes(self) -> list[str]:
        """One line per feature the endpoint lacks, naming the kinds of table concerned."""
        return [
            f"{feature} is not supported by this endpoint: left out on the "
            f"{', '.join(kinds)} tables"
            + (" (table ownership cannot be checked either)" if feature is Feature.TAGS else "")
            for feature, kinds in self.skipped.items()
        ]

    def _converged(self, spec: TableSpec, live: TableShape | None) -> TableResult:
        wanted = spec.shape().as_seen_by(self.features.unsupported_fields())
        if live is None:
            result = TableResult(spec.name, Outcome.CREATED)
            # CreateTable sets everything but point-in-time recovery (a call of its own)
            pitr = None if wanted.point_in_time_recovery is None else False
            as_created = dataclasses.replace(wanted, point_in_time_recovery=pitr)
            self._converge(wanted, as_created, result, created=True)
            return result
        result = TableResult(spec.name, Outcome.UNCHANGED)
        self._converge(wanted, live, result, created=False, spec=spec)
        if result.changes:
            result.outcome = Outcome.UPDATED
        return result

    def _converge(
        self,
        wanted: TableShape,
        live: TableShape,
        result: TableResult,
        created: bool,
        spec: TableSpec | None = None,
    ):
        name = wanted.name
        if (live.hash_key, live.range_key) != (wanted.hash_key, wanted.range_key):
            raise ProvisionError(
                f"{name}: key schema is ({live.hash_key}, {live.range_key}) but the definition "
                f"says ({wanted.hash_key}, {wanted.range_key}). A primary key cannot be changed "
                "in place: migrate the data to a new table; nothing was changed."
            )
        note = (lambda text: None) if created else result.changes.append

        if live.billing_mode != wanted.billing_mode:
            self.client.update_table(TableName=name, BillingMode=wanted.billing_mode)
            self._wait_active(name)
            note(f"billing mode {live.billing_mode} -> {wanted.billing_mode}")
        if (
            wanted.server_side_encryption is not None
            and live.server_side_encryption != wanted.server_side_encryption
        ):
            self.client.update_table(
                TableName=name, SSESpecification={"Enabled": wanted.server_side_encryption}
            )
            self._wait_active(name)
            note(f"server-side encryption -> {wanted.server_side_encryption}")
        if (
            wanted.deletion_protection is not None
            and live.deletion_protection != wanted.deletion_protection
        ):
            self.client.update_table(
                TableName=name, DeletionProtectionEnabled=wanted.deletion_protection
            )
            note(f"deletion protection -> {wanted.deletion_protection}")

        for index_name, index in wanted.indexes.items():
            current = live.indexes.get(index_name)
            if current == index:
                continue
            if current is not None:
                # A GSI is derived data: rebuilding it from the base table loses nothing.
                self._update_indexes(name, wanted, [{"Delete": {"IndexName": index_name}}])
                note(f"index {index_name} rebuilt ({current.describe()} -> {index.describe()})")
            else:
                note(f"index {index_name} created")
                if index_name == TENANT_INDEX.name and spec is not None:
                    filled = backfill(self.client, spec)  # before the index: see tenant_index
                    note(f"{filled:,} stored items given their {TENANT_SHARD_ATTR}")
            self._update_indexes(name, wanted, [{"Create": _index_request(index_name, index)}])
        for extra in sorted(set(live.indexes) - set(wanted.indexes)):
            result.warnings.append(f"index {extra} is not in the definition; left in place")

        if (
            wanted.point_in_time_recovery is not None
            and live.point_in_time_recovery != wanted.point_in_time_recovery
        ):
            self.client.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": wanted.point_in_time_recovery
                },
            )
            note(f"point-in-time recovery -> {wanted.point_in_time_recovery}")

        stale = {
            k: v
            for k, v in (wanted.tags or {}).items()
            if live.tags is not None and live.tags.get(k) != v
        }
        if stale:
            arn = self.client.describe_table(TableName=name)["Table"]["TableArn"]
            self.client.tag_resource(
                ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in stale.items()]
            )
            note("tags set: " + ", ".join(f"{k}={v}" for k, v in sorted(stale.items())))

    def _update_indexes(self, name: str, wanted: TableShape, updates: list[dict[str, Any]]):
        # DynamoDB accepts one index change per UpdateTable and only on an ACTIVE table.
        self.client.update_table(
            TableName=name,
            AttributeDefinitions=_attribute_definitions(wanted),
            GlobalSecondaryIndexUpdates=updates,
        )
        self._wait_active(name)

    def _wait_active(self, name: str) -> None:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            table = self.client.describe_table(TableName=name)["Table"]
            statuses = [table["TableStatus"]] + [
                index.get("IndexStatus", "ACTIVE")
                for index in table.get("GlobalSecondaryIndexes", [])
            ]
            if all(status == "ACTIVE" for status in statuses):
                return
            if time.monotonic() > deadline:
                raise ProvisionError(f"{name}: still not ACTIVE after {self.timeout_seconds}s")
            self.sleep(self.poll_seconds)
