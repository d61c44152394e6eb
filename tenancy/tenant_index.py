"""Filling in the tenant index shard of pool items written before the index existed.

A global secondary index only holds items that carry its key attributes. Every writer of this
version composes a pooled item's `tenantShard`, but items stored before the tenant index was
added (or written by hand) carry none, and a whole-tenant read, a move or an erasure would
never see them. So when provisioning is about to add the tenant index to a pool table that
already holds items, it first gives each item its shard, then adds the index: killed part-way,
the index is still missing, and the next run starts again (an item that has its shard is
passed over). With only the Pulumi CLI, run `salestalk provision` once before the `pulumi up`
that adds the index (README, "Tiers").

The shard is worked out from what IAM guards, the item's primary key: its leading tenant id
and its record key (`tenant_shard`). An item whose fields name another tenant lands in the
index partition of the tenant whose key it is under, where that tenant's reads skip it as not
theirs; it is never put where the tenant it names would take it for its own.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tenancy.tables import (
    POOL_KEY_SEPARATOR,
    RECORD_KEY_FIELD,
    TENANT_SHARD_ATTR,
    TableSpec,
    tenant_shard,
)


def backfill(client, spec: TableSpec) -> int:
    """Give every item of a pool table that has a record key but no tenant index shard its
    shard; how many items were given one."""
    hash_key = spec.layout.hash_key.name
    keys = [key.name for key in (spec.layout.hash_key, spec.layout.range_key) if key]
    names = {f"#k{n}": name for n, name in enumerate(keys)}
    names.update({"#shard": TENANT_SHARD_ATTR, "#record": RECORD_KEY_FIELD})
    filled = 0
    for page in client.get_paginator("scan").paginate(
        TableName=spec.name,
        ConsistentRead=True,
        FilterExpression="attribute_not_exists(#shard) AND attribute_exists(#record)",
        ProjectionExpression=", ".join([*(f"#k{n}" for n in range(len(keys))), "#record"]),
        ExpressionAttributeNames=names,
    ):
        for item in page.get("Items", []):
            lead, separator, _ = item[hash_key].get("S", "").partition(POOL_KEY_SEPARATOR)
            record_key = item[RECORD_KEY_FIELD].get("S")
            if not separator or record_key is None:
                continue  # not under any tenant's key: no tenant's index holds it
            _set_shard(client, spec, item, keys, tenant_shard(lead, record_key))
            filled += 1
    return filled


def _set_shard(client, spec: TableSpec, item: dict[str, Any], keys: list[str], shard: str):
    try:
        client.update_item(
            TableName=spec.name,
            Key={name: item[name] for name in keys},
            UpdateExpression="SET #shard = :shard",
            # still there, and still without one (a writer may have rewritten it meanwhile)
            ConditionExpression="attribute_exists(#key) AND attribute_not_exists(#shard)",
            ExpressionAttributeNames={"#shard": TENANT_SHARD_ATTR, "#key": keys[0]},
            ExpressionAttributeValues={":shard": {"S": shard}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
