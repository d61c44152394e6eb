"""The one use of botocore's private API on the write path: batches sent with their body
encoded once (`ingestion.records.boto_internals.accept_encoded`). Each encoded request must be
the request botocore would have sent for the same parameters: same URL, same headers, same
JSON; and every other request must be serialized by botocore as before."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import orjson
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from ingestion.records.boto_internals import EncodedBody, accept_encoded
from ingestion.records.items import encode_item, serialize

ITEM = {"tenantId": "acme-corp-001", "value": Decimal("1.50"), "tags": ["a", {"b": True}]}
TABLE = "salestalk-local-metrics"


class _Recorded:
    """The requests a client would send, answered at once with `{}` (nothing goes out)."""

    def __init__(self, client):
        self.sent: list = []
        client.meta.events.register("before-send.dynamodb.*", self._answer)

    def _answer(self, request, **_):
        self.sent.append(request)
        return AWSResponse(request.url, 200, {}, _Raw(b"{}"))


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_):
        return self._body


def _client(validate: bool, endpoint_url: str | None = "http://127.0.0.1:1"):
    return boto3.session.Session().client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
    )


PUT = {TABLE: [{"PutRequest": {"Item": serialize(ITEM)}}]}
GET = {TABLE: {"Keys": [serialize({"seriesId": "s", "period": "2024-01"})], "ConsistentRead": True}}
TRANSACT = [{"Put": {"TableName": TABLE, "Item": serialize(ITEM)}}]

CASES = {
    "batch_write_item": (
        "RequestItems",
        PUT,
        {TABLE: EncodedBody(orjson.dumps({"RequestItems": PUT}))},
    ),
    "batch_get_item": (
        "RequestItems",
        GET,
        {TABLE: EncodedBody(orjson.dumps({"RequestItems": GET}))},
    ),
    "transact_write_items": (
        "TransactItems",
        TRANSACT,
        [
            EncodedBody(orjson.dumps({"TransactItems": TRANSACT, "ClientRequestToken": "t"})),
            {"Put": {"TableName": TABLE}},
        ],
    ),
}


@pytest.mark.parametrize("validate", [False, True])
@pytest.mark.parametrize("endpoint_url", ["http://127.0.0.1:1", None])  # a local one, AWS's
@pytest.mark.parametrize("operation", sorted(CASES))
def test_an_encoded_request_is_the_request_botocore_would_send(operation, endpoint_url, validate):
    name, plain, encoded = CASES[operation]
    by_botocore, by_us = (
        _client(validate, endpoint_url),
        accept_encoded(_client(validate, endpoint_url)),
    )
    sent_plain, sent_encoded = _Recorded(by_botocore), _Recorded(by_us)
    getattr(by_botocore, operation)(**{name: plain})
    getattr(by_us, operation)(**{name: encoded})
    (ours,), (theirs,) = sent_encoded.sent, sent_plain.sent
    assert ours.url == theirs.url and ours.method == theirs.method
    for header in ("X-Amz-Target", "Content-Type", "User-Agent"):
        assert ours.headers[header] == theirs.headers[header]
    ours_body, theirs_body = json.loads(ours.body), json.loads(theirs.body)
    # botocore fills a transaction's idempotency token itself: a fresh one each call
    assert ("ClientRequestToken" in ours_body) == ("ClientRequestToken" in theirs_body)
    ours_body.pop("ClientRequestToken", None), theirs_body.pop("ClientRequestToken", None)
    assert ours_body == theirs_body
    assert "Authorization" in ours.headers  # signed, as any request


def test_every_other_request_is_still_botocores_and_wrapping_twice_wraps_once():
    client = accept_encoded(accept_encoded(_client(False)))
    recorded = _Recorded(client)
    client.describe_table(TableName=TABLE)
    client.batch_write_item(RequestItems=PUT)  # plain parameters: serialized by botocore
    assert [json.loads(r.body) for r in recorded.sent] == [
        {"TableName": TABLE},
        {"RequestItems": PUT},
    ]
    assert type(client._serializer.inner).__name__ != "_EncodedBodySerializer"


def test_an_item_is_encoded_once_and_carried_as_it_is():
    wire = encode_item(ITEM)
    client = accept_encoded(_client(False))
    recorded = _Recorded(client)
    body = b'{"RequestItems":{"%s":[{"PutRequest":{"Item":%s}}]}}' % (TABLE.encode(), wire)
    client.batch_write_item(RequestItems={TABLE: EncodedBody(body)})
    assert recorded.sent[0].body == body
    assert json.loads(recorded.sent[0].body)["RequestItems"][TABLE][0]["PutRequest"]["Item"] == {
        "tenantId": {"S": "acme-corp-001"},
        "value": {"N": "1.5"},
        "tags": {"L": [{"S": "a"}, {"M": {"b": {"BOOL": True}}}]},
    }
