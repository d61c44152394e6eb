"""The embedded moto server's fixes: isolated actions, all-or-nothing transactions, items measured
and limited as DynamoDB measures and limits them, and speed-ups that answer exactly as moto does.

These test the embedded server itself, so they run against an embedded server of their own,
whichever engine the rest of the session uses."""

from __future__ import annotations

import copy
import random
from decimal import Decimal, localcontext

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ingestion.items import MAX_ITEM_BYTES, item_size
from tenancy.local import moto_server
from tenancy.local.moto_server import _NoTableCopies, _state, apply_fixes

# A table keyed by a text `id`, as CreateTable takes it (boto3 keywords or a request body).
KEYED_BY_ID = {
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}


@pytest.fixture(scope="module")
def embedded_url():
    from tenancy.local.endpoint import embedded

    with embedded(port=0) as url:
        yield url


@pytest.fixture
def dynamodb(embedded_url):
    """A client of this module's embedded server; the tables a test makes are deleted after."""
    from tenancy.connection import Target, dynamodb_client
    from tests.conftest import delete_tables, table_names

    client = dynamodb_client(Target(embedded_url, "us-east-1", "the embedded moto server"))
    before = table_names(client)
    yield client
    delete_tables(client, table_names(client) - before)


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
    original = Item.project.moto_original(item, [["id"]])  # moto's own keeps it
    assert any(kept is original for kept in Item.instances_tracked)


def unordered_sets(value):
    """DynamoDB sets have no order (moto's projection passes them through Python sets)."""
    if isinstance(value, dict):
        return {
            k: sorted(v) if k in {"SS", "NS", "BS"} else unordered_sets(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [unordered_sets(v) for v in value]
    return value


def test_items_are_built_as_moto_builds_them_and_limited_at_400_kb(monkeypatch):
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

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
    exact = {"id": {"S": "k"}, "big": {"S": "x" * (MAX_ITEM_BYTES - len("idkbig"))}}
    assert build(ours, exact).size() == MAX_ITEM_BYTES == moto_server.ITEM_SIZE_LIMIT
    # moto's own check, as it set each attribute: refused above 405,000 bytes
    monkeypatch.setattr(LimitedSizeDict, "__setitem__", LimitedSizeDict.__setitem__.moto_original)
    with pytest.raises(ItemSizeTooLarge):
        build(theirs, exact)
    monkeypatch.undo()
    over = {**exact, "big": {"S": exact["big"]["S"] + "y"}}
    with pytest.raises(ItemSizeTooLarge):
        build(ours, over)


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


# Item size: DynamoDB's published rules, as the platform implements them (`ingestion.items`), and
# its limit of exactly 409,600 bytes.

_deserializer = TypeDeserializer()
TOO_LARGE = {
    "Code": "ValidationException",
    "Message": "Item size has exceeded the maximum allowed size",
}


def platform_size(item: dict) -> int:
    """`ingestion.items.item_size` of an item as the wire carries it."""
    return item_size({name: _deserializer.deserialize(v) for name, v in item.items()})


def exactly(item: dict, size: int) -> dict:
    """The item, with a text attribute that brings it to exactly `size` bytes."""
    rest = size - platform_size(item) - len("pad")
    assert rest >= 0, "the item is too large to pad"
    padded = {**item, "pad": {"S": "x" * rest}}
    assert platform_size(padded) == size
    return padded


def one_big_string() -> dict:
    return {"id": {"S": "string"}, "body": {"S": "b" * 400_000}}


def message_references() -> dict:
    """A message whose references (a list of small maps) are most of it: stock moto stored such
    an item of 502,130 bytes, since it gave a list or map none of its overhead."""
    references = [
        {"M": {"kind": {"S": "message"}, "id": {"S": f"m-{i:06d}"}, "score": {"N": "0.75"}}}
        for i in range(11_000)
    ]
    return {"id": {"S": "references"}, "content": {"S": "see"}, "references": {"L": references}}


def number_text(i: int) -> str:
    """Numbers of 1 to 38 significant digits, now and then with a sign, a point, or zeros that
    are not significant."""
    s = ("123456789" * 5)[: 1 + i % 38]
    sign = "-" if i % 3 == 0 else ""
    return sign + (s, f"{s[0]}.{s[1:37]}0", f"0.00{s}", f"{s[:36]}00")[i % 4]


def many_numbers() -> dict:
    """Stock moto counted a number's characters, and refused such an item of 283,569 bytes."""
    return {"id": {"S": "numbers"}, **{f"n{i:05d}": {"N": number_text(i)} for i in range(20_000)}}


def nested_maps() -> dict:
    def level(depth: int) -> dict:
        inside = {"name": {"S": f"level-{depth}"}}
        inside["values"] = {"L": [{"N": str(depth)}, {"BOOL": depth % 2 == 0}, {"NULL": True}]}
        if depth < 25:
            inside["child"] = level(depth + 1)
        return {"M": inside}

    wide = {
        f"k{i:04d}": {"M": {"a": {"S": "x" * 30}, "b": {"M": {"c": {"N": str(i)}, "d": {"L": []}}}}}
        for i in range(6_000)
    }
    return {"id": {"S": "nested"}, "deep": level(0), "wide": {"M": wide}}


def non_ascii() -> dict:
    text = "é" * 40_000 + "日本語" * 25_000 + "🙂" * 15_000  # 2, 3 and 4 bytes a character
    return {
        "id": {"S": "ünïcødé"},
        "größe": {"S": text},
        "名前": {"M": {"ключ": {"S": "значение" * 1_000}, "😀": {"L": [{"S": "ça"}, {"S": "👍"}]}}},
    }


@pytest.mark.parametrize(
    "shape", [one_big_string, message_references, many_numbers, nested_maps, non_ascii]
)
def test_an_item_of_exactly_400_kb_is_stored_and_one_byte_more_refused(dynamodb, shape):
    dynamodb.create_table(TableName="sized", **KEYED_BY_ID)
    item = exactly(shape(), MAX_ITEM_BYTES)
    dynamodb.put_item(TableName="sized", Item=item)
    stored = dynamodb.get_item(TableName="sized", Key={"id": item["id"]}, ConsistentRead=True)
    assert stored["Item"] == item
    assert platform_size(stored["Item"]) == MAX_ITEM_BYTES == 409_600

    over = exactly({**shape(), "id": {"S": item["id"]["S"] + "+"}}, MAX_ITEM_BYTES + 1)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="sized", Item=over)
    assert refused.value.response["Error"] == TOO_LARGE
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Item" not in dynamodb.get_item(TableName="sized", Key={"id": over["id"]})


def test_a_binary_is_measured_by_its_bytes_wherever_it_is(dynamodb):
    """moto keeps a binary inside a map or list as its base64 text, which it measured as text; the
    platform's measure has no binaries, so the bytes are counted here by the rules."""
    dynamodb.create_table(TableName="binary", **KEYED_BY_ID)

    def item(key: str, size: int) -> dict:
        fixed = len("id") + len(key) + len("blob") + len("doc") + 3 + 1 + len("inner")
        top = size - fixed - 150_000
        return {
            "id": {"S": key},
            "blob": {"B": b"\x00" * top},
            "doc": {"M": {"inner": {"B": b"\xff" * 150_000}}},
        }

    dynamodb.put_item(TableName="binary", Item=item("at", MAX_ITEM_BYTES))
    stored = dynamodb.get_item(TableName="binary", Key={"id": {"S": "at"}})["Item"]
    assert stored == item("at", MAX_ITEM_BYTES)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="binary", Item=item("over", MAX_ITEM_BYTES + 1))
    assert refused.value.response["Error"] == TOO_LARGE


NUMBER_SHAPES = ("integer", "point", "leading zeros", "trailing zeros", "exponent")
TEXT = "ab Z09-_.éßç日本語🙂👍"  # characters of 1, 2, 3 and 4 bytes


def random_text(rng: random.Random, shortest: int = 0) -> str:
    return "".join(rng.choice(TEXT) for _ in range(rng.randint(shortest, 30)))


def random_number(rng: random.Random) -> str:
    digits = rng.randint(1, 38)
    mantissa = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
    sign = "-" if rng.random() < 0.3 else ""
    shape = rng.choice(NUMBER_SHAPES)
    if shape == "point" and digits > 1:
        at = rng.randint(1, digits - 1)
        return f"{sign}{mantissa[:at]}.{mantissa[at:]}"
    if shape == "leading zeros":
        return f"{sign}0.{'0' * rng.randint(0, 5)}{mantissa}"
    if shape == "trailing zeros" and digits < 38:
        zeros = "0" * rng.randint(1, 38 - digits)
        return f"{sign}{mantissa}{zeros}" if rng.random() < 0.5 else f"{sign}{mantissa}.{zeros}"
    if shape == "exponent":
        point = f".{mantissa[1:]}" if digits > 1 else ""
        return f"{sign}{mantissa[0]}{point}E{rng.randint(-90, 90):+d}"
    return f"{sign}{mantissa}" if rng.random() < 0.95 else "0"


def random_value(rng: random.Random, depth: int = 0) -> dict:
    kinds = ["S", "N", "BOOL", "NULL"] + (["L", "M", "L", "M"] if depth < 5 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": random_text(rng)}
    if kind == "N":
        return {"N": random_number(rng)}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "L":
        return {"L": [random_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]}
    names = {"m" + random_text(rng) for _ in range(rng.randint(0, 6))}
    return {"M": {name: random_value(rng, depth + 1) for name in names}}


def random_item(rng: random.Random, key: str) -> dict:
    names = {"a" + random_text(rng) for _ in range(rng.randint(1, 12))}
    return {"id": {"S": key}, **{name: random_value(rng, 1) for name in names}}


CORPUS = [random_item(random.Random(seed), f"corpus-{seed}") for seed in range(600)]


def test_moto_measures_every_item_of_a_corpus_as_the_platform_does():
    """hypothesis is not installed here: a seeded corpus of strings, numbers of 1 to 38 digits,
    booleans, nulls, lists and maps, nested up to five deep."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    apply_fixes()
    for item in CORPUS:
        expected = platform_size(item)
        built = Item(DynamoType(item["id"]), None, item)
        assert (built.size(), moto_server.item_size(item)) == (expected, expected), item
        for name, value in item.items():  # each attribute, to point at the one that differs
            assert DynamoType(value).size() == platform_size({name: value}) - len(name.encode())

    kinds, digits, depths = set(), set(), set()

    def walk(value: dict, depth: int) -> None:
        ((kind, member),) = value.items()
        kinds.add(kind)
        depths.add(depth)
        if kind == "N":
            with localcontext(prec=38):
                digits.add(len(Decimal(member).normalize().as_tuple().digits))
        for inner in member.values() if kind == "M" else member if kind == "L" else ():
            walk(inner, depth + 1)

    for item in CORPUS:
        for value in item.values():
            walk(value, 1)
    assert kinds == {"S", "N", "BOOL", "NULL", "L", "M"}
    assert digits == set(range(1, 39)) and max(depths) == 5


@pytest.mark.parametrize("seed", [3, 17, 101, 222, 404, 599])
def test_a_corpus_item_brought_to_exactly_400_kb_is_stored_and_one_byte_more_refused(
    dynamodb, seed
):
    dynamodb.create_table(TableName="corpus", **KEYED_BY_ID)
    item = exactly(CORPUS[seed], MAX_ITEM_BYTES)
    dynamodb.put_item(TableName="corpus", Item=item)
    over = exactly({**CORPUS[seed], "id": {"S": "over"}}, MAX_ITEM_BYTES + 1)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="corpus", Item=over)
    assert refused.value.response["Error"] == TOO_LARGE
    stored = dynamodb.scan(TableName="corpus")["Items"]
    assert [platform_size(i) for i in stored] == [MAX_ITEM_BYTES]


def test_sets_are_measured_by_their_elements_and_numbers_by_their_significant_digits():
    from moto.dynamodb.models.dynamo_type import DynamoType

    apply_fixes()
    moto_size = DynamoType.size.moto_original
    assert DynamoType.size is not moto_size
    cases = [
        ({"SS": ["a", "bb", "é"]}, 1 + 2 + 2),
        ({"NS": ["1", "22", "-0.00333", "4444E10"]}, 2 + 2 + 3 + 3),
        ({"BS": [b"\x00", b"abc"]}, 1 + 3),
        ({"N": "1" * 38}, 20),  # moto: 38
        ({"N": "-12300"}, 3),  # moto: 6
        ({"N": "0"}, 2),
        ({"L": [{"NULL": True}, {"BOOL": False}]}, 3 + 2 * (1 + 1)),  # moto: 2
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),  # moto: 2
        ({"M": {"b": {"B": "AAEC"}}}, 3 + 1 + 1 + 3),  # base64 text of 3 bytes; moto: 5
    ]
    for value, size in cases:
        assert DynamoType(value).size() == size, value
    assert moto_size(DynamoType({"N": "1" * 38})) == 38  # what stock moto made of it


def test_the_platform_counts_every_digit_of_a_38_digit_number():
    """What the corpus comparison rests on: in Python's default decimal context (28 digits) a
    38-digit number of nines rounds to 1E+38, a single digit."""
    assert item_size({"n": Decimal("9" * 38)}) == len("n") + 20
    assert item_size({"n": Decimal("-0.00" + "12345678901234567890123456789012345678")}) == 1 + 20


def test_the_size_fixes_are_applied_once():
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.responses import DynamoHandler

    apply_fixes()
    patched = (DynamoType.size, Item.__init__, DynamoDBBackend.update_item)
    more = (LimitedSizeDict.__setitem__, DynamoHandler.batch_write_item)
    moto_server._exact_sizes(DynamoType)
    moto_server._sized_once(Item)
    moto_server._updates_sized_whole(DynamoDBBackend, LimitedSizeDict)
    moto_server._batch_puts_sized_first(DynamoHandler)
    assert (DynamoType.size, Item.__init__, DynamoDBBackend.update_item) == patched
    assert (LimitedSizeDict.__setitem__, DynamoHandler.batch_write_item) == more
    assert all(method is not method.moto_original for method in patched)


def small(key: str) -> dict:
    return {"id": {"S": key}, "v": {"S": "small"}}


def keys_in(dynamodb, table: str) -> set[str]:
    return {item["id"]["S"] for item in dynamodb.scan(TableName=table)["Items"]}


def test_batch_write_refuses_the_whole_request_when_one_item_is_too_large(dynamodb):
    """Nothing of the request is written (moto wrote the items before the one too large), so a
    caller can split the request to find it."""
    dynamodb.create_table(TableName="batch", **KEYED_BY_ID)
    big = {"id": {"S": "big"}, "references": message_references()["references"]}

    def batch(size: int) -> dict:
        items = [small("a"), exactly(big, size), small("c")]
        return {"batch": [{"PutRequest": {"Item": item}} for item in items]}

    with pytest.raises(ClientError) as refused:
        dynamodb.batch_write_item(RequestItems=batch(MAX_ITEM_BYTES + 1))
    assert refused.value.response["Error"] == TOO_LARGE
    assert keys_in(dynamodb, "batch") == set()
    assert dynamodb.batch_write_item(RequestItems=batch(MAX_ITEM_BYTES))["UnprocessedItems"] == {}
    assert keys_in(dynamodb, "batch") == {"a", "big", "c"}


def test_a_transaction_with_a_put_too_large_is_refused_before_it_starts(dynamodb):
    """A ValidationException for the whole request, not a cancellation: even with an action whose
    condition fails, as DynamoDB measures a put before the transaction starts."""
    dynamodb.create_table(TableName="tx", **KEYED_BY_ID)
    dynamodb.put_item(TableName="tx", Item=small("taken"))
    big = {"id": {"S": "big"}, "body": {"S": "b" * 400_000}}

    def actions(size: int) -> list[dict]:
        return [
            {"Put": {"TableName": "tx", "Item": small("a")}},
            {"Put": {"TableName": "tx", "Item": exactly(big, size)}},
        ]

    # too large, and its condition fails: moto checked the condition first, and cancelled
    failing = {**put("tx", "taken", condition=True)["Put"]}
    failing["Item"] = exactly({**big, "id": {"S": "taken"}}, MAX_ITEM_BYTES + 1)
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[*actions(MAX_ITEM_BYTES), {"Put": failing}])
    assert refused.value.response["Error"] == TOO_LARGE
    assert "CancellationReasons" not in refused.value.response
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=actions(MAX_ITEM_BYTES + 1))
    assert refused.value.response["Error"] == TOO_LARGE
    assert keys_in(dynamodb, "tx") == {"taken"}
    dynamodb.transact_write_items(TransactItems=actions(MAX_ITEM_BYTES))
    assert keys_in(dynamodb, "tx") == {"taken", "a", "big"}


def set_p(table: str, key: str, text: str) -> dict:
    return {
        "TableName": table,
        "Key": {"id": {"S": key}},
        "UpdateExpression": "SET p = :p",
        "ExpressionAttributeValues": {":p": {"S": text}},
    }


def padding_to(item: dict, size: int) -> str:
    """The text of an attribute `p` that brings the item to exactly `size` bytes."""
    return "x" * (size - platform_size(item) - len("p"))


def test_a_transacted_update_too_large_cancels_the_transaction_with_a_validation_reason(dynamodb):
    dynamodb.create_table(TableName="txu", **KEYED_BY_ID)
    dynamodb.put_item(TableName="txu", Item=small("u"))
    over = padding_to(small("u"), MAX_ITEM_BYTES + 1)
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "txu", "Item": small("a")}},
                {"Update": set_p("txu", "u", over)},
            ]
        )
    response = cancelled.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {
            "Code": "ValidationError",
            "Message": "Item size to update has exceeded the maximum allowed size",
        },
    ]
    assert dynamodb.scan(TableName="txu")["Items"] == [small("u")]
    at = padding_to(small("u"), MAX_ITEM_BYTES)
    dynamodb.transact_write_items(TransactItems=[{"Update": set_p("txu", "u", at)}])
    stored = dynamodb.get_item(TableName="txu", Key={"id": {"S": "u"}})["Item"]
    assert platform_size(stored) == MAX_ITEM_BYTES


UPDATE_TOO_LARGE = {
    "Code": "ValidationException",
    "Message": "Item size to update has exceeded the maximum allowed size",
}


def test_update_item_is_measured_on_the_item_it_leaves_and_leaves_none_when_refused(dynamodb):
    dynamodb.create_table(TableName="upd", **KEYED_BY_ID)
    key = {"id": {"S": "u"}}
    before = {**small("u"), "doc": {"M": {"a": {"S": "a" * 300_000}}}}
    dynamodb.put_item(TableName="upd", Item=before)

    def stored() -> dict:
        return dynamodb.get_item(TableName="upd", Key=key, ConsistentRead=True)["Item"]

    def refused(**update) -> None:
        with pytest.raises(ClientError) as error:
            dynamodb.update_item(TableName="upd", **update)
        assert error.value.response["Error"] == UPDATE_TOO_LARGE

    # into a map (moto never measured what an update set below the top level)
    grown = {**before, "doc": {"M": {**before["doc"]["M"], "b": {"S": ""}}}}
    rest = MAX_ITEM_BYTES - platform_size(grown)
    nested = {"Key": key, "UpdateExpression": "SET doc.b = :b, extra = :e"}
    refused(**nested, ExpressionAttributeValues={":b": {"S": "b" * rest}, ":e": {"N": "1"}})
    assert stored() == before  # moto kept `extra`, set before it refused
    room = rest - len("extra") - 2
    values = {":b": {"S": "b" * room}, ":e": {"N": "1"}}
    dynamodb.update_item(TableName="upd", **nested, ExpressionAttributeValues=values)
    assert platform_size(stored()) == MAX_ITEM_BYTES
    # a value replaced by one as large (moto counted the old value too, and refused it)
    dynamodb.update_item(
        TableName="upd",
        Key=key,
        UpdateExpression="SET doc.a = :a",
        ExpressionAttributeValues={":a": {"S": "z" * 300_000}},
    )
    assert platform_size(stored()) == MAX_ITEM_BYTES
    # more, through the older AttributeUpdates too
    refused(Key=key, AttributeUpdates={"one": {"Value": {"S": "1"}, "Action": "PUT"}})
    assert platform_size(stored()) == MAX_ITEM_BYTES
    # an update that would create an item too large leaves no item
    new = {"id": {"S": "new"}}
    refused(
        Key=new,
        UpdateExpression="SET p = :p",
        ExpressionAttributeValues={":p": {"S": padding_to(new, MAX_ITEM_BYTES + 1)}},
    )
    assert "Item" not in dynamodb.get_item(TableName="upd", Key=new)


def test_update_item_adding_to_a_set_is_measured_too(dynamodb):
    dynamodb.create_table(TableName="sets", **KEYED_BY_ID)
    key = {"id": {"S": "s"}}
    dynamodb.put_item(TableName="sets", Item={**key, "tags": {"SS": ["t" * 300_000]}})
    fits = MAX_ITEM_BYTES - len("id") - len("s") - len("tags") - 300_000
    add = {"Key": key, "UpdateExpression": "ADD tags :more"}
    with pytest.raises(ClientError) as error:
        dynamodb.update_item(
            TableName="sets", **add, ExpressionAttributeValues={":more": {"SS": ["u" * (fits + 1)]}}
        )
    assert error.value.response["Error"] == UPDATE_TOO_LARGE
    assert dynamodb.get_item(TableName="sets", Key=key)["Item"]["tags"] == {"SS": ["t" * 300_000]}
    dynamodb.update_item(
        TableName="sets", **add, ExpressionAttributeValues={":more": {"SS": ["u" * fits]}}
    )


# --- every fix checked against the moto it patches -------------------------------------------


def test_every_fix_finds_its_target_in_the_moto_ci_runs():
    outcomes = apply_fixes()
    assert [o.describe() for o in outcomes if not o.applied] == []
    assert len(outcomes) == len(moto_server._fixes()) == 9


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (moto_server.Target("moto.dynamodb.no_such_module:X"), "module"),
        (moto_server.Target("moto.dynamodb.models:DynamoDBBackend.no_such_method"), "missing"),
        (
            moto_server.Target(
                "moto.dynamodb.models:DynamoDBBackend.transact_write_items", ("self", "items")
            ),
            "takes ('self', 'transact_items'), not ('self', 'items')",
        ),
        (
            moto_server.Target(
                "moto.dynamodb.models:DynamoDBBackend.transact_write_items",
                source_has="copy.copy(self.tables)",  # moto 5.1.2-5.1.14's rollback
            ),
            "no longer calls copy.copy(self.tables)",
        ),
    ],
)
def test_a_target_that_moved_or_changed_shape_is_named(target, problem):
    assert problem in target.problem()


def test_a_fix_whose_target_moved_is_skipped_loudly_and_the_others_applied(monkeypatch, caplog):
    applied = []
    fixes = (
        moto_server.Fix(
            "kept", moto_server.SPEED, (moto_server.Target("moto.dynamodb.models:Table"),),
            lambda: applied.append("kept"),
        ),
        moto_server.Fix(
            "moved", moto_server.ANSWERS,
            (moto_server.Target("moto.dynamodb.models:DynamoDBBackend.gone"),),
            lambda: applied.append("moved"),
        ),
    )  # fmt: skip
    monkeypatch.setattr(moto_server, "_fixes", lambda: fixes)
    monkeypatch.setattr(moto_server, "_outcomes", [])
    with caplog.at_level("WARNING", logger=moto_server.__name__):
        outcomes = moto_server.apply_fixes()
    assert applied == ["kept"]
    assert [o.applied for o in outcomes] == [True, False]
    (record,) = caplog.records
    assert "moved: NOT applied, moto.dynamodb.models:DynamoDBBackend.gone is missing" in (
        record.getMessage()
    )
    assert "its answers differ from DynamoDB's" in record.getMessage()


def test_the_fixes_are_listed_by_the_server_module():
    import subprocess
    import sys

    listing = subprocess.run(
        [sys.executable, "-m", "tenancy.local.moto_server", "--fixes"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.splitlines()  # fmt: skip
    assert len(listing) == 9
    assert all(line.endswith(": applied") for line in listing)


# --- the parsed-condition cache answers as moto's parser does ---------------------------------

CONDITIONS = [
    ("attribute_not_exists(#k)", {"#k": "id"}, None),
    ("attribute_exists(#k) AND #h = :h", {"#k": "id", "#h": "contentHash"}, {":h": {"S": "a"}}),
    ("#h <> :h", {"#h": "contentHash"}, {":h": {"S": "a"}}),
    ("#h = :h", {"#h": "contentHash"}, {":h": {"S": "b"}}),
    ("#n BETWEEN :lo AND :hi", {"#n": "n"}, {":lo": {"N": "1"}, ":hi": {"N": "5"}}),
    ("size(#l) > :z OR NOT attribute_exists(#n)", {"#l": "l", "#n": "n"}, {":z": {"N": "1"}}),
    ("begins_with(#h, :p)", {"#h": "contentHash"}, {":p": {"S": "a"}}),
    ("contains(#l, :v)", {"#l": "l"}, {":v": {"S": "x"}}),
    ("#n IN (:a, :b)", {"#n": "n"}, {":a": {"N": "3"}, ":b": {"N": "7"}}),
    ("#m.#k = :v", {"#m": "m", "#k": "k"}, {":v": {"BOOL": True}}),
    ("#b = :b", {"#b": "b"}, {":b": {"B": b"\x00\x01"}}),  # bytes: parsed as moto does, uncached
]
STORED = [
    {"id": {"S": "1"}},
    {"id": {"S": "2"}, "contentHash": {"S": "a"}, "n": {"N": "3"}, "l": {"L": [{"S": "x"}]}},
    {"id": {"S": "3"}, "contentHash": {"S": "b"}, "n": {"N": "9"},
     "m": {"M": {"k": {"BOOL": True}}}},
    {"id": {"S": "4"}, "contentHash": {"S": "ab"}, "n": {"N": "7"}, "l": {"L": []},
     "b": {"B": b"\x00\x01"}},
]  # fmt: skip


def verdict(condition, item):
    """What a condition says of an item: True, False, or the error it raises."""
    try:
        return condition.expr(item)
    except Exception as exc:  # moto refuses some conditions on some items: that is compared too
        return f"{type(exc).__name__}: {exc}"


def test_a_cached_condition_answers_exactly_as_a_freshly_parsed_one_on_every_item():
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import Item

    apply_fixes()
    cached, parse = models.get_filter_expression, models.get_filter_expression.moto_original
    assert cached is not parse
    items = [Item({"S": attrs["id"]["S"]}, None, attrs) for attrs in STORED]
    verdicts = []
    for expression, names, values in CONDITIONS:
        for _ in range(2):  # the second use is answered from the cache
            ours = [verdict(cached(expression, names, values), item) for item in items]
            theirs = [verdict(parse(expression, names, values), item) for item in items]
            assert ours == theirs, expression
        verdicts.append(tuple(theirs))
    assert len(set(verdicts)) > 5  # the corpus tells items apart: the comparison is not vacuous


def test_the_cache_tells_apart_the_same_text_with_other_names_or_values():
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import Item

    apply_fixes()
    cached = models.get_filter_expression
    item = Item({"S": "2"}, None, STORED[1])
    text = "#h = :h"
    assert cached(text, {"#h": "contentHash"}, {":h": {"S": "a"}}).expr(item) is True
    assert cached(text, {"#h": "contentHash"}, {":h": {"S": "b"}}).expr(item) is False
    assert cached(text, {"#h": "id"}, {":h": {"S": "a"}}).expr(item) is False
    assert cached(text, {"#h": "id"}, {":h": {"S": "2"}}).expr(item) is True
