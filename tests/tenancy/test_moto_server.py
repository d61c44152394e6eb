"""The embedded moto server's one fix keeps transactions all-or-nothing."""

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from tenancy.moto_server import _state, _TransactionSnapshots, apply_fixes


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
    table = type("Table", (), {"name": "t", "has_range_key": False, "items": {}})()
    proxy = _TransactionSnapshots(type(table))
    assert proxy.deepcopy(table) is not proxy.deepcopy(table)  # outside a transaction
    _state.snapshots, _state.touched = {}, {}
    try:
        assert proxy.deepcopy(table) is proxy.deepcopy(table)
        assert proxy.deepcopy([1]) is not proxy.deepcopy([1])  # only tables are shared
    finally:
        _state.snapshots = _state.touched = None
    assert proxy.copy is copy.copy


def test_a_cancelled_transaction_restores_updated_and_deleted_items(dynamodb):
    dynamodb.create_table(
        TableName="r",
        AttributeDefinitions=[
            {"AttributeName": "h", "AttributeType": "S"},
            {"AttributeName": "r", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "h", "KeyType": "HASH"},
            {"AttributeName": "r", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for r in ("1", "2", "3"):
        dynamodb.put_item(TableName="r", Item={"h": {"S": "a"}, "r": {"S": r}, "v": {"N": r}})
    key = {"h": {"S": "a"}, "r": {"S": "1"}}
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "r",
                        "Key": key,
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "100"}},
                    }
                },
                {"Delete": {"TableName": "r", "Key": {"h": {"S": "a"}, "r": {"S": "2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "r",
                        "Key": {"h": {"S": "a"}, "r": {"S": "3"}},
                        "ConditionExpression": "attribute_not_exists(h)",
                    }
                },
            ]
        )
    items = dynamodb.query(
        TableName="r",
        KeyConditionExpression="h = :h",
        ExpressionAttributeValues={":h": {"S": "a"}},
    )["Items"]
    assert [(i["r"]["S"], i["v"]["N"]) for i in items] == [("1", "1"), ("2", "2"), ("3", "3")]
