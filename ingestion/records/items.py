"""Records as DynamoDB items: keys, idempotency keys, content fingerprints and item size.

A `RecordKind` is a kind's declaration (`ingestion.records.contracts.KindContract`: its model,
its table layout from `tenancy.tables`, its keys) made usable for items, so the key attributes of
an item are read off the same definition the tables were built from. `KINDS` is built from the
contracts' list; a new kind needs nothing here (`MESSAGE`, `METRIC` and `TENANT` only name the
three that code reads by name).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import orjson
from pydantic import BaseModel

from ingestion.records.boto_internals import CanonicalSerializer, ExactDeserializer
from ingestion.records.contracts import (
    RECORD_CONTRACTS,
    SCHEMA_VERSION,
    STORED,
    KindContract,
    canonical_number,
    significant_digits,
)
from tenancy.errors import Refused
from tenancy.tables import (
    METADATA_LAYOUT,
    RECORD_KEY_FIELD,
    TENANT_ID_FIELD,
    TableLayout,
)

# The field of every record that names its tenant: readers check it on every item they return.
TENANT_ID_ATTR = TENANT_ID_FIELD
# Bookkeeping attributes stored beside the record's own fields.
SCHEMA_VERSION_ATTR = "schemaVersion"
CONTENT_HASH_ATTR = "contentHash"
RECORD_KEY_ATTR = RECORD_KEY_FIELD
INGESTED_AT_ATTR = "ingestedAt"
INGEST_ID_ATTR = "ingestId"  # which ingest run wrote the item: lineage, and lost-response repair
BOOKKEEPING_ATTRS = (
    SCHEMA_VERSION_ATTR,
    CONTENT_HASH_ATTR,
    RECORD_KEY_ATTR,
    INGESTED_AT_ATTR,
    INGEST_ID_ATTR,
)

MAX_ITEM_BYTES = 400 * 1024


_serializer = CanonicalSerializer()
_deserializer = ExactDeserializer()


@dataclass(frozen=True)
class RecordKind(KindContract):
    """A kind of record as items: its declaration (`KindContract`, in the contracts) with
    everything an item of it needs worked out once, keys, fingerprints and bookkeeping."""

    @classmethod
    def of(cls, contract: KindContract) -> RecordKind:
        return cls(**{f.name: getattr(contract, f.name) for f in dataclasses.fields(contract)})

    @property
    def per_tenant(self) -> bool:
        """Stored in each tenant's own tables (and ingested from files); tenants themselves
        come from the roster into the global metadata table."""
        return self.layout is not METADATA_LAYOUT

    def stored_in(self, layout: TableLayout) -> RecordKind:
        """This kind as items of a table of `layout`: its own layout, or its pooled twin,
        whose items also carry the composed partition keys (`TableLayout.compose`)."""
        if layout == self.layout:
            return self
        if layout.kind != self.layout.kind:
            raise ValueError(f"{self.plural} are not stored in {layout.kind} tables")
        return dataclasses.replace(self, layout=layout)

    def record_fields(self, record: BaseModel) -> dict[str, Any]:
        return record.model_dump(by_alias=True, exclude_none=True, mode=self.dump_mode)

    def key_names(self) -> tuple[str, ...]:
        return self._key_names

    @cached_property
    def _key_names(self) -> tuple[str, ...]:
        return tuple(key.name for key in (self.layout.hash_key, self.layout.range_key) if key)

    @cached_property
    def _key_getter(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """The key tuple of an item: asked for several times per record of every ingest."""
        getter = operator.itemgetter(*self._key_names)
        return getter if len(self._key_names) > 1 else lambda item: (getter(item),)

    def to_item(self, record: BaseModel, ingested_at: str, ingest_id: str) -> dict[str, Any]:
        fields = self.record_fields(record)
        item = {**fields, **self.derived(record), RECORD_KEY_ATTR: self.record_key(record)}
        return {
            **item,
            **self.layout.compose(item),
            SCHEMA_VERSION_ATTR: SCHEMA_VERSION,
            CONTENT_HASH_ATTR: content_hash(fields),
            INGESTED_AT_ATTR: ingested_at,
            INGEST_ID_ATTR: ingest_id,
        }

    def key_of(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        return self._key_getter(item)

    def key_dict(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._key_names}

    def from_item(self, item: Mapping[str, Any]) -> Any:
        """The contract model of a stored item (bookkeeping attributes dropped)."""
        fields = {k: _ints(v) for k, v in item.items() if k not in self.bookkeeping()}
        return self.model.model_validate(fields, context={STORED: True})

    def bookkeeping(self) -> frozenset[str]:
        """The attributes of an item that are not the record's own fields."""
        return self._bookkeeping

    @cached_property
    def _bookkeeping(self) -> frozenset[str]:
        return frozenset((*BOOKKEEPING_ATTRS, *self.derived_names, *self.layout.composed_names()))


# Every kind of record, built from its declaration in `ingestion.records.contracts` (in the
# order they are seeded: metrics first, messages refer to them).
KINDS = {contract.name: RecordKind.of(contract) for contract in RECORD_CONTRACTS}
TENANT_DATA_KINDS = tuple(kind for kind in KINDS.values() if kind.per_tenant)
MESSAGE, METRIC, TENANT = KINDS["message"], KINDS["metric"], KINDS["tenant"]


def _ints(value: Any) -> Any:
    """DynamoDB returns every number as a Decimal; whole ones become int again, so that
    integer fields (timestamps) validate strictly and fractions stay exact Decimals."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _canonical(value: Any) -> Any:
    # The commonest types first, by exact type (text, booleans, whole numbers), then the rest
    # by kind: a fingerprint is worked out for every record of every ingest.
    cls = value.__class__
    if cls is str or cls is bool or value is None:
        return value
    if cls is int:
        return str(value)  # as a Decimal would write it: 3 and 3.0 are the same number
    if isinstance(value, Decimal):
        # 1.50 and 1.5 are the same number (DynamoDB stores both as 1.5): same fingerprint.
        # Exactly: numbers that differ only in their 38th digit are different numbers.
        return format(canonical_number(value), "f")
    if isinstance(value, int):  # an int subclass (bool was taken above)
        return format(Decimal(value), "f")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(fields: Mapping[str, Any]) -> str:
    """A fingerprint of a record's content: equal records, equal hashes, whatever the order.

    Stored items carry it, so its text must never change for the same content
    (`tests/ingestion/records/test_items.py` pins known fingerprints, and checks that orjson
    writes exactly the text the standard library's json, which made the first ones, writes)."""
    canonical = _canonical(fields)
    try:
        text = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # not valid Unicode: as the first fingerprints were made
        text = _fingerprint_text(canonical).encode()
    return "sha256:" + hashlib.sha256(text).hexdigest()


def _fingerprint_text(canonical: Any) -> str:
    """The fingerprint's text as the standard library writes it (the reference)."""
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _wire_value(value) for name, value in item.items()}


class UnstorableAttributeError(Refused, ValueError):
    """An attribute that DynamoDB's wire format cannot carry; names the attribute."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


def serialize_checked(item: Mapping[str, Any]) -> dict[str, Any]:
    """`serialize`, naming the attribute when one cannot be written, so that a record the
    serializer refuses is rejected alone instead of failing the request it would travel in."""
    wire = {}
    for name, value in item.items():
        try:
            wire[name] = _wire_value(value)
        except (TypeError, ValueError, ArithmeticError) as exc:  # decimal signals are these
            reason = f"cannot be written to DynamoDB ({type(exc).__name__}: {exc})"
            raise UnstorableAttributeError(name, reason) from None
    return wire


def encode_item(item: Mapping[str, Any]) -> bytes:
    """The item's wire form as JSON bytes, encoded once and joined into every request that
    carries it (`ingestion.writing.store`); refuses as `serialize_checked` does."""
    wire = serialize_checked(item)
    try:
        return orjson.dumps(wire)
    except orjson.JSONEncodeError:  # text that is not valid Unicode: name its attribute
        for name, value in wire.items():
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError as exc:
                reason = f"cannot be written to DynamoDB ({exc})"
                raise UnstorableAttributeError(name, reason) from None
        raise


# Whole numbers this small are written as themselves; larger ones go through the serializer's
# 38-digit rule, which refuses what DynamoDB cannot store.
_SMALL_INT = 10**18


def _wire_value(value: Any) -> Any:
    """One attribute value in DynamoDB's wire format, as boto3's serializer writes it (with
    canonical numbers). The types records are made of are written directly, by exact type:
    boto3's serializer asks every value up to nine questions, for every record of an ingest;
    anything else (sets, bytes, floats) is still boto3's to write or refuse."""
    cls = value.__class__
    if cls is str:
        return {"S": value}
    if cls is Decimal:
        return {"N": _serializer.number_text(value)}
    if cls is int and -_SMALL_INT < value < _SMALL_INT:
        return {"N": str(value)}
    if cls is bool:
        return {"BOOL": value}
    if cls is dict:
        return {"M": {key: _wire_value(v) for key, v in value.items()}}
    if cls is list:
        return {"L": [_wire_value(v) for v in value]}
    if value is None:
        return {"NULL": True}
    return _serializer.serialize(value)


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's item size, from its published rules (names + values, in bytes)."""
    return sum(_text_size(name) + _value_size(value) for name, value in item.items())


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())  # isascii is a flag lookup


def _value_size(value: Any) -> int:
    cls = value.__class__
    if cls is str:
        return len(value) if value.isascii() else len(value.encode())
    if cls is bool or value is None:
        return 1
    if isinstance(value, int | Decimal):
        return (significant_digits(Decimal(value)) + 1) // 2 + 1
    if isinstance(value, str):
        return _text_size(value)
    if isinstance(value, Mapping):
        return 3 + sum(_text_size(k) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(_value_size(v) + 1 for v in value)
    raise TypeError(f"unsupported attribute value {type(value).__name__}")


def largest_field(item: Mapping[str, Any]) -> str:
    return max(item, key=lambda name: _value_size(item[name]))
