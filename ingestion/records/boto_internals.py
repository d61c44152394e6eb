"""Every use of boto3's and botocore's private API, in one place (as PynamoDB keeps botocore's, and
`tenancy.pulumi_internals` keeps Pulumi's).

boto3's `TypeSerializer` and `TypeDeserializer` are the codec the platform writes and reads
items with, but their number handling goes through a 38-digit context that refuses numbers
DynamoDB itself stores and returns; their public API has no hook for it, so the two private
per-type methods are overridden here. If a boto3 release renames them, this module is the one
to change, and `tests/ingestion/records/test_items.py` (numbers written with trailing zeros
beyond 38 digits, and read back exactly) shows it.

For botocore, a client's request serializer (`client._serializer`) is wrapped so that a tenant
table's batches are sent with the body encoded once (see `accept_encoded` below);
`tests/ingestion/records/test_boto_internals.py` sends every encoded operation through a real
client and compares the bytes with what botocore would have sent.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ingestion.records.contracts import canonical_number


class CanonicalSerializer(TypeSerializer):
    """boto3's serializer, writing every number in the canonical form DynamoDB stores: a
    number written with trailing zeros beyond 38 digits (`1.000…0`) is the same value as
    `1`, which boto3 alone would refuse as inexact."""

    def _serialize_n(self, value: Any) -> str:
        return super()._serialize_n(
            canonical_number(value) if isinstance(value, Decimal) else value
        )

    def number_text(self, value: Decimal | int) -> str:
        """A number's wire text (`{"N": text}`), refused as boto3 refuses it."""
        return self._serialize_n(value)


class ExactDeserializer(TypeDeserializer):
    """boto3's deserializer, reading every number exactly as DynamoDB writes it. boto3 passes
    numbers through a 38-digit context, which refuses a number DynamoDB returns written out
    in full (a whole number of 38 digits followed by zeros) although no digit is lost."""

    def _deserialize_n(self, value: str) -> Decimal:
        return Decimal(value)


# --- Requests whose JSON body is encoded here, once -------------------------------------------
#
# botocore serializes every request by walking the operation's shape, attribute by attribute,
# and encodes it with the standard library's json: for a tenant table's batches that walk was
# the largest single cost of an ingest's client (BENCHMARKS.md, issue 26). An item's wire form
# is encoded once (`ingestion.records.items.encode_item`, orjson) and a batch's body is those
# bytes joined. botocore has no public way to send a body it did not serialize, so a client's
# serializer is wrapped: a parameter value marked `Encoded` carries the body, which is sent as
# is; every other request is serialized by botocore as before. Signing, retries, timeouts,
# events (the request counters of the benchmarks and tests) and error parsing stay botocore's.


class EncodedBody(bytes):
    """A request's whole JSON body, encoded already. It stands inside the parameter that
    botocore's endpoint rules read, beside what they read there: `RequestItems={table: body}`
    (the rules read the table names, its keys), `TransactItems=[body, {"Put": {"TableName":
    table}}]` (they read each element's table name; the body has none)."""


class _EncodedBodySerializer:
    """botocore's serializer of a client (`inner`), sending an `EncodedBody` as it is."""

    def __init__(self, inner: Any):
        self.inner = inner

    def serialize_to_request(self, parameters: dict[str, Any], operation_model: Any) -> dict:
        for value in parameters.values():  # the body stands first: one look per parameter
            if isinstance(value, dict):
                first = next(iter(value.values()), None)
            elif isinstance(value, list):
                first = value[0] if value else None
            else:
                continue
            if isinstance(first, EncodedBody):
                return _json_request(operation_model, bytes(first))
        return self.inner.serialize_to_request(parameters, operation_model)


def _json_request(operation_model: Any, body: bytes) -> dict[str, Any]:
    """The request botocore's JSON serializer makes (`JSONSerializer.serialize_to_request`),
    from the operation's model, with `body` as it is."""
    metadata = operation_model.metadata
    return {
        "url_path": operation_model.http.get("requestUri", "/"),
        "query_string": "",
        "method": operation_model.http.get("method", "POST"),
        "headers": {
            "X-Amz-Target": f"{metadata['targetPrefix']}.{operation_model.name}",
            "Content-Type": f"application/x-amz-json-{metadata['jsonVersion']}",
        },
        "body": body,
    }


_wrapping = threading.Lock()


def accept_encoded(client: Any) -> Any:
    """`client`, able to send `Encoded` parameters (its serializer wrapped once; it serializes
    everything else exactly as before). Returns the client."""
    serializer = client._serializer
    if not isinstance(serializer, _EncodedBodySerializer):
        with _wrapping:
            if not isinstance(client._serializer, _EncodedBodySerializer):
                client._serializer = _EncodedBodySerializer(client._serializer)
    return client
