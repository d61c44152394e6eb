"""Every use of boto3's private API, in one place (as PynamoDB keeps botocore's, and
`tenancy.pulumi_internals` keeps Pulumi's).

boto3's `TypeSerializer` and `TypeDeserializer` are the codec the platform writes and reads
items with, but their number handling goes through a 38-digit context that refuses numbers
DynamoDB itself stores and returns; their public API has no hook for it, so the two private
per-type methods are overridden here. If a boto3 release renames them, this module is the one
to change, and `tests/ingestion/records/test_items.py` (numbers written with trailing zeros
beyond 38 digits, and read back exactly) shows it.
"""

from __future__ import annotations

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


class ExactDeserializer(TypeDeserializer):
    """boto3's deserializer, reading every number exactly as DynamoDB writes it. boto3 passes
    numbers through a 38-digit context, which refuses a number DynamoDB returns written out
    in full (a whole number of 38 digits followed by zeros) although no digit is lost."""

    def _deserialize_n(self, value: str) -> Decimal:
        return Decimal(value)
