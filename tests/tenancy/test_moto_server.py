"""The embedded moto server's one fix keeps transactions all-or-nothing."""

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from tenancy.moto_server import _SnapshotOncePerTable, _state, apply_fixes


def put(table: str, key: str, condition: bool = False) -> dict:
    request = {"TableName": table, "Item": {"id": {"S": key}}}
    if condition:
        request["ConditionExpression"] = "attribute_not_exists(id)"
    return {"Put": request}


def test_a_cancelled_transaction_still_rolls_back_every_item(dynamodb):
    dynamodb.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="t", Item={"id": {"S": "taken"}})
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[put("t", "a"), put("t", "b"), put("t", "taken", condition=True)]
        )
    keys = {item["id"]["S"] for item in dynamodb.scan(TableName="t")["Items"]}
    assert keys == {"taken"}
    dynamodb.transact_write_items(TransactItems=[put("t", "a"), put("t", "b")])
    assert len(dynamodb.scan(TableName="t")["Items"]) == 3


def test_one_snapshot_per_table_per_transaction_and_plain_copies_otherwise():
    apply_fixes()
    apply_fixes()  # idempotent
    table = type("Table", (), {})()
    proxy = _SnapshotOncePerTable(type(table))
    assert proxy.deepcopy(table) is not proxy.deepcopy(table)  # outside a transaction
    _state.snapshots = {}
    try:
        assert proxy.deepcopy(table) is proxy.deepcopy(table)
        assert proxy.deepcopy([1]) is not proxy.deepcopy([1])  # only tables are shared
    finally:
        _state.snapshots = None
    assert proxy.copy is copy.copy
