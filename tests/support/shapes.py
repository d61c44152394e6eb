"""Read a TableShape back from the inputs the Pulumi component registered."""

from __future__ import annotations

from typing import Any

from tenancy.tables import IndexShape, TableShape


def shape_from_pulumi_inputs(inputs: dict[str, Any]) -> TableShape:
    def keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
        by_type = {entry["keyType"]: entry["attributeName"] for entry in schema}
        return by_type["HASH"], by_type.get("RANGE")

    indexes = {}
    for gsi in inputs.get("globalSecondaryIndexes", []):
        hash_key, range_key = keys(gsi["keySchemas"])
        indexes[gsi["name"]] = IndexShape(
            hash_key=hash_key,
            range_key=range_key,
            projection=gsi["projectionType"],
            non_key_attributes=tuple(sorted(gsi.get("nonKeyAttributes") or [])),
        )
    return TableShape(
        name=inputs["name"],
        hash_key=inputs["hashKey"],
        range_key=inputs.get("rangeKey"),
        attributes={a["name"]: a["type"] for a in inputs["attributes"]},
        indexes=indexes,
        billing_mode=inputs["billingMode"],
        server_side_encryption=inputs["serverSideEncryption"]["enabled"],
        point_in_time_recovery=inputs["pointInTimeRecovery"]["enabled"],
        deletion_protection=inputs["deletionProtectionEnabled"],
        tags=dict(inputs["tags"]),
    )
