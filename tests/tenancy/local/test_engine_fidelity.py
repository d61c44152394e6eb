"""What DynamoDB does, asked of whichever engine the session runs on: the platform's own
conformance checks for the operations it uses.

Each test is a behaviour of real DynamoDB (its documented limits and errors) where some local
engine has been seen to differ: an independent conformance suite found moto's server (the
project's default engine until these checks retired it) accepting 26 items a batch, answering
HTTP 500 to a bad index update, keeping numbers as sent, and more. Every engine the project runs
(MiniStack, DynamoDB Local, LocalStack) runs these, and `python -m benchmarks --only engines`
scores each engine on them: an engine that differs fails here, not in a user's ingest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from tenancy.endpoint_features import Feature

KEYS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "other", "AttributeType": "S"},
]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _index(name: str) -> dict:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }


@pytest.fixture
def table(dynamodb) -> Iterator[str]:
    """A scratch table with one index (deleted after the test with the session's others)."""
    name = f"fidelity-{uuid.uuid4().hex[:12]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=KEYS,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[_index("byOther")],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    yield name


def _put(n: int, pk: str | None = None) -> dict:
    return {"PutRequest": {"Item": {"pk": {"S": pk or f"item-{n}"}, "n": {"N": str(n)}}}}


def _count(dynamodb, table: str) -> int:
    return dynamodb.scan(TableName=table, Select="COUNT")["Count"]


# --- BatchWriteItem ---------------------------------------------------------------------------


def test_a_batch_of_26_writes_is_refused_whole(dynamodb, table):
    with pytest.raises(ClientError) as refused:
        dynamodb.batch_write_item(RequestItems={table: [_put(n) for n in range(26)]})
    assert _error(refused) == ("ValidationException", 400)
    assert _count(dynamodb, table) == 0


def test_a_batch_naming_one_key_twice_is_refused_whole(dynamodb, table):
    with pytest.raises(ClientError) as refused:
        dynamodb.batch_write_item(RequestItems={table: [_put(1, "same"), _put(2, "same")]})
    assert _error(refused) == ("ValidationException", 400)
    assert _count(dynamodb, table) == 0


# --- CreateTable and UpdateTable --------------------------------------------------------------


def test_adding_an_index_that_exists_is_a_validation_error(dynamodb, table):
    with pytest.raises(ClientError) as refused:
        dynamodb.update_table(
            TableName=table,
            AttributeDefinitions=KEYS,
            GlobalSecondaryIndexUpdates=[{"Create": _index("byOther")}],
        )
    assert _error(refused) == ("ValidationException", 400)


def test_removing_an_index_that_does_not_exist_is_a_client_error(dynamodb, table):
    with pytest.raises(ClientError) as refused:
        dynamodb.update_table(
            TableName=table,
            GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "noSuchIndex"}}],
        )
    code, status = _error(refused)
    assert status == 400 and code in ("ValidationException", "ResourceNotFoundException")


def test_two_indexes_of_one_name_are_refused_and_no_table_is_kept(dynamodb):
    name = f"fidelity-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as refused:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=KEYS,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[_index("twice"), _index("twice")],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _error(refused) == ("ValidationException", 400)
    assert name not in dynamodb.list_tables()["TableNames"]


@pytest.mark.parametrize("name", ["ab", "has space", "x" * 256, "slash/in/name"])
def test_an_invalid_table_name_is_refused_and_no_table_is_kept(dynamodb, name):
    with pytest.raises(ClientError) as refused:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=KEYS[:1],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _error(refused) == ("ValidationException", 400)
    assert name not in dynamodb.list_tables()["TableNames"]


def test_tables_are_listed_in_name_order(dynamodb):
    suffix = uuid.uuid4().hex[:8]
    names = [f"fidelity-z-{suffix}", f"fidelity-a-{suffix}", f"fidelity-m-{suffix}"]
    for name in names:
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=KEYS[:1],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    listed = [
        name
        for page in dynamodb.get_paginator("list_tables").paginate()
        for name in page["TableNames"]
    ]
    assert listed == sorted(listed)


# --- TransactWriteItems -----------------------------------------------------------------------


def test_a_reused_client_request_token_with_another_payload_is_refused(dynamodb, table):
    token = uuid.uuid4().hex
    put = {"Put": {"TableName": table, "Item": {"pk": {"S": "first"}}}}
    dynamodb.transact_write_items(TransactItems=[put], ClientRequestToken=token)
    other = {"Put": {"TableName": table, "Item": {"pk": {"S": "second"}}}}
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=[other], ClientRequestToken=token)
    assert _error(refused) == ("IdempotentParameterMismatchException", 400)
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "second"}})


def test_a_transaction_over_4_mb_is_refused_whole(dynamodb, table):
    big = "x" * 390_000  # each item under 400 KB; eleven of them over the 4 MB a transaction may be
    items = [
        {"Put": {"TableName": table, "Item": {"pk": {"S": f"big-{n}"}, "blob": {"S": big}}}}
        for n in range(11)
    ]
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=items)
    assert _error(refused) == ("ValidationException", 400)
    assert _count(dynamodb, table) == 0


# --- Reads ------------------------------------------------------------------------------------


def test_a_projection_may_name_a_list_element_and_a_nested_field(dynamodb, table):
    item = {
        "pk": {"S": "projected"},
        "m": {"M": {"n": {"S": "nested"}, "other": {"S": "left out"}}},
        "l": {"L": [{"S": "zero"}, {"S": "one"}, {"S": "two"}]},
    }
    dynamodb.put_item(TableName=table, Item=item)
    got = dynamodb.get_item(
        TableName=table,
        Key={"pk": {"S": "projected"}},
        ProjectionExpression="#m.#n, #l[1]",
        ExpressionAttributeNames={"#m": "m", "#n": "n", "#l": "l"},
    )["Item"]
    assert got == {"m": {"M": {"n": {"S": "nested"}}}, "l": {"L": [{"S": "one"}]}}


# --- Numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("1.0", "1"), ("00042", "42"), ("-0", "0"), ("1.50", "1.5"), ("1E+2", "100")],
)
def test_numbers_come_back_in_their_canonical_form(dynamodb, table, sent, stored):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": sent}, "n": {"N": sent}})
    got = dynamodb.get_item(TableName=table, Key={"pk": {"S": sent}}, ConsistentRead=True)
    assert got["Item"]["n"] == {"N": stored}


def test_a_number_of_39_significant_digits_is_refused(dynamodb, table):
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "long"}, "n": {"N": "1" * 39}})
    assert _error(refused) == ("ValidationException", 400)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "ok"}, "n": {"N": "1" * 38}})


# --- Tags -------------------------------------------------------------------------------------


@pytest.mark.needs(Feature.TAGS)
def test_tagging_a_key_again_replaces_its_value(dynamodb, table):
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "stack", "Value": "first"}])
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "stack", "Value": "second"}])
    tags = dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "stack", "Value": "second"}]
