"""The embedded moto server's fixes: isolated actions, all-or-nothing transactions, and speed-ups
that answer exactly as moto does."""

from __future__ import annotations

import copy

import pytest
from botocore.exceptions import ClientError

from tenancy.moto_server import _NoTableCopies, _state, apply_fixes

# A table keyed by a text `id`, as CreateTable takes it (boto3 keywords or a request body).
KEYED_BY_ID = {
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def put(table: str, key: str, condition: bool = False) -> dict:
    request = {"TableName": table, "Item": {"id": {"S": key}}}
    if condition:
        request["ConditionExpression"] = "attribute_not_exists(id)"
    return {"Put": request}


def test_a_cancelled_transaction_still_rolls_back_every_item(dynamodb):
    dynamodb.create_table(TableName="t", **KEYED_BY_ID)
    dynamodb.put_item(TableName="t", Item={"id": {"S": "taken"}})
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[put("t", "a"), put("t", "b"), put("t", "taken", condition=True)]
        )
    keys = {item["id"]["S"] for item in dynamodb.scan(TableName="t")["Items"]}
    assert keys == {"taken"}
    dynamodb.transact_write_items(TransactItems=[put("t", "a"), put("t", "b")])
    assert len(dynamodb.scan(TableName="t")["Items"]) == 3


def test_tables_are_not_copied_inside_a_transaction_and_copied_outside():
    apply_fixes()
    apply_fixes()  # idempotent
    table = type("Table", (), {"name": "t", "has_range_key": False, "items": {}})()
    proxy = _NoTableCopies(type(table))
    assert proxy.deepcopy(table) is not table  # outside a transaction: moto's deep copy
    _state.in_transaction = True
    try:
        assert proxy.deepcopy(table) is table
        assert proxy.deepcopy([1]) is not proxy.deepcopy([1])  # only tables are skipped
    finally:
        _state.in_transaction = False
    assert proxy.copy is copy.copy


def test_a_cancelled_transaction_restores_overwritten_and_deleted_items(dynamodb):
    dynamodb.create_table(TableName="h", **KEYED_BY_ID)
    for key in ("kept", "gone", "taken"):
        dynamodb.put_item(TableName="h", Item={"id": {"S": key}, "v": {"S": "before"}})
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "h", "Item": {"id": {"S": "kept"}, "v": {"S": "after"}}}},
                {"Delete": {"TableName": "h", "Key": {"id": {"S": "gone"}}}},
                put("h", "new"),
                put("h", "taken", condition=True),
            ]
        )
    items = {i["id"]["S"]: i["v"]["S"] for i in dynamodb.scan(TableName="h")["Items"]}
    assert items == {"kept": "before", "gone": "before", "taken": "before"}


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


ITEMS = [
    {"id": {"S": "a"}, "n": {"N": "1.50"}, "flag": {"BOOL": False}, "none": {"NULL": True}},
    {
        "id": {"S": ""},
        "blob": {"B": b"\x00\xffbytes"},
        "blobs": {"BS": [b"x", b"\x01"]},
        "strings": {"SS": ["b", "a"]},
        "numbers": {"NS": ["1", "2.5"]},
        "nested": {"M": {"list": {"L": [{"S": "x"}, {"M": {}}, {"L": []}, {"N": "-3"}]}}},
        "empty": {"M": {}},
    },
]


@pytest.mark.parametrize(
    ("operation", "result"),
    [
        ("GetItem", {"Item": ITEMS[0]}),
        ("GetItem", {}),
        (
            "BatchGetItem",
            {"Responses": {"t": ITEMS}, "UnprocessedKeys": {"t": {"Keys": [{"id": {"S": "z"}}]}}},
        ),
        ("Query", {"Items": ITEMS, "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": ITEMS[0]}),
        ("Scan", {"Items": [], "Count": 0, "ScannedCount": 0}),
        ("PutItem", {"Attributes": ITEMS[1]}),
        ("BatchWriteItem", {"UnprocessedItems": {"t": [{"PutRequest": {"Item": ITEMS[1]}}]}}),
    ],
)
def test_fast_item_serialization_writes_exactly_what_moto_writes(operation, result):
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    apply_fixes()
    model = get_service_model("dynamodb").operation_model(operation)

    methods = ("_serialize_type_structure", "_serialize_type_map")

    def body(which) -> str:
        patched = {name: getattr(JSONSerializer, name) for name in methods}
        for name in methods:
            setattr(JSONSerializer, name, which(patched[name]))
        try:
            picker = XFormedAttributePicker()
            serializer = JSONSerializer(operation_model=model, value_picker=picker)
            return serializer.serialize(copy.deepcopy(result))["body"]
        finally:
            for name, method in patched.items():
                setattr(JSONSerializer, name, method)

    for name in methods:
        assert getattr(JSONSerializer, name) is not getattr(JSONSerializer, name).moto_original
    assert body(lambda ours: ours) == body(lambda ours: ours.moto_original)


def test_items_read_over_http_are_exactly_the_items_written(dynamodb):
    dynamodb.create_table(TableName="w", **KEYED_BY_ID)
    for item in ITEMS:
        dynamodb.put_item(TableName="w", Item={**item, "id": {"S": item["id"]["S"] or "e"}})
    read = dynamodb.batch_get_item(
        RequestItems={"w": {"Keys": [{"id": {"S": "a"}}, {"id": {"S": "e"}}]}}
    )["Responses"]["w"]
    by_id = {item["id"]["S"]: item for item in read}
    assert by_id["a"] == ITEMS[0]
    expected = {**ITEMS[1], "id": {"S": "e"}}
    assert {k: v for k, v in by_id["e"].items() if k not in {"strings", "numbers", "blobs"}} == {
        k: v for k, v in expected.items() if k not in {"strings", "numbers", "blobs"}
    }
    assert sorted(by_id["e"]["strings"]["SS"]) == ["a", "b"]
    assert sorted(by_id["e"]["blobs"]["BS"]) == sorted([b"x", b"\x01"])


@pytest.mark.parametrize(
    "paths",
    [
        [["id"]],
        [["id"], ["n"], ["missing"]],
        [["nested", "list"], ["strings"], ["blob"]],
        [["nested"], ["nested", "list"]],
        [["strings"], ["numbers"], ["blob"], ["blobs"], ["flag"], ["none"], ["nested"], ["n"]],
        [],
    ],
)
def test_projection_keeps_exactly_what_moto_keeps(paths):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.utilities import dynamo_to_dict

    apply_fixes()
    attrs = {**ITEMS[0], **{k: v for k, v in ITEMS[1].items() if k not in {"id", "blob"}}}
    attrs["blob"] = {"B": "AP9ieXRlcw=="}  # as moto holds it: base64 text from the wire
    item = Item(DynamoType(attrs["id"]), None, attrs)
    ours = Item.project(item, paths)
    theirs = Item.project.moto_original(item, paths)
    assert Item.project is not Item.project.moto_original
    # as responses carry them (binary as bytes, whether moto holds base64 text or bytes)
    assert unordered_sets(dynamo_to_dict(ours.attrs)) == unordered_sets(
        dynamo_to_dict(theirs.attrs)
    )
    assert (ours.hash_key, ours.range_key) == (theirs.hash_key, theirs.range_key)
    # Top-level names are sized as moto sizes the stored item (an unprojected read); moto's own
    # projection differs there for binary values only, which its round trip through plain JSON
    # turns from base64 text into bytes. Nested paths take that round trip in both.
    if all(len(path) == 1 for path in paths):
        expected = sum(len(name.encode()) + item.attrs[name].size() for name in ours.attrs)
    else:
        expected = theirs.size()
    assert ours.size() == expected == ours.size()  # the second time from the first


def test_projections_are_not_kept_for_the_life_of_the_server():
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    apply_fixes()
    item = Item(DynamoType(ITEMS[0]["id"]), None, ITEMS[0])
    projected = Item.project(item, [["id"]])
    assert isinstance(projected, Item)
    assert all(projected is not kept for kept in Item.instances_tracked)
    assert all(projected is not kept for kept in type(projected).instances_tracked)
    assert Item.project.moto_original(item, [["id"]]) in Item.instances_tracked  # moto's own


def unordered_sets(value):
    """DynamoDB sets have no order (moto's projection passes them through Python sets)."""
    if isinstance(value, dict):
        return {
            k: sorted(v) if k in {"SS", "NS", "BS"} else unordered_sets(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [unordered_sets(v) for v in value]
    return value


def test_items_are_built_and_size_checked_exactly_as_moto_does():
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    apply_fixes()
    ours, theirs = Item.__init__, Item.__init__.moto_original
    assert ours is not theirs

    def build(init, attrs):
        item = Item.__new__(Item)
        init(item, DynamoType({"S": "k"}), None, attrs)
        return item

    for attrs in (ITEMS[0], {k: v for k, v in ITEMS[1].items() if k not in {"blob", "blobs"}}):
        assert build(ours, attrs) == build(theirs, attrs)
        assert dict(build(ours, attrs).attrs) == dict(build(theirs, attrs).attrs)
    just_under = {"id": {"S": "k"}, "big": {"S": "x" * (405_000 - len("idkbig"))}}
    assert build(ours, just_under) == build(theirs, just_under)
    over = {**just_under, "more": {"S": "y"}}
    for init in (ours, theirs):
        with pytest.raises(ItemSizeTooLarge):
            build(init, over)


def test_a_cancelled_transaction_cannot_erase_what_another_request_wrote_meanwhile():
    """The race two concurrent ingests once lost a record to: transaction B saves the state of
    the items it touches, request A writes one of them while B is still running, B is
    cancelled and puts back what it saved. Actions taken in turn leave A's item stored."""
    import json
    import threading

    from moto.dynamodb.models.table import Table
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    apply_fixes()
    app = DomainDispatcherApplication(create_backend_app)
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/"
        "aws4_request, SignedHeaders=host, Signature=x",
        "Content-Type": "application/x-amz-json-1.0",
    }

    def call(operation: str, body: dict) -> tuple[int, dict]:
        target = {"X-Amz-Target": f"DynamoDB_20120810.{operation}"}
        response = Client(app).post("/", data=json.dumps(body), headers={**headers, **target})
        return response.status_code, json.loads(response.get_data() or b"{}")

    table = "isolation"
    call("CreateTable", {"TableName": table, **KEYED_BY_ID})
    try:
        call("PutItem", {"TableName": table, "Item": {"id": {"S": "exists"}}})
        b_is_running, a_wrote = threading.Event(), threading.Event()
        real_put = Table.put_item

        def put_item(self, item_attrs, *args, **kwargs):
            result = real_put(self, item_attrs, *args, **kwargs)
            if self.name == table and item_attrs["id"] == {"S": "y"}:  # B, part-way
                b_is_running.set()
                a_wrote.wait(timeout=1)  # A's write lands here unless actions take turns
            return result

        def request_a():
            b_is_running.wait(timeout=5)
            call("PutItem", {"TableName": table, "Item": {"id": {"S": "x"}}})
            a_wrote.set()

        Table.put_item = put_item
        try:
            a = threading.Thread(target=request_a)
            a.start()
            status, cancelled = call(
                "TransactWriteItems",
                {
                    "TransactItems": [
                        {
                            "ConditionCheck": {
                                "TableName": table,
                                "Key": {"id": {"S": "x"}},
                                "ConditionExpression": "attribute_not_exists(id)",
                            }
                        },
                        put(table, "y"),
                        put(table, "exists", condition=True),
                    ]
                },
            )
            a.join(timeout=10)
        finally:
            Table.put_item = real_put
        assert status == 400 and "TransactionCanceledException" in cancelled["__type"]
        _, scanned = call("Scan", {"TableName": table})
        assert sorted(item["id"]["S"] for item in scanned["Items"]) == ["exists", "x"]
    finally:
        call("DeleteTable", {"TableName": table})
