"""moto's DynamoDB server as this project embeds it.

Two fixes are applied before it serves; both change how fast moto answers, never what it
answers.

Transaction snapshots. moto's TransactWriteItems takes its rollback snapshot by
deep-copying the whole table once *per item* of the transaction: a 100-item transaction on a
2,000-item table copies 200,000 items, and conditional ingestion fell to 17 records/s here. The
fix takes one snapshot per table per transaction, and makes it cheap: the snapshot gets its
own item containers but shares the stored items the transaction does not touch (moto replaces
an item object on Put and removes it on Delete, so those stay intact); the items it touches are
deep-copied as before. Rolling back restores exactly what moto's own snapshot would. Behaviour
is otherwise moto's; LocalStack and real DynamoDB are unaffected.

Item serialization. moto writes every response through a generic, model-driven serializer that
walks each attribute value of each item member by member, asking an alias picker for every one
of the ten possible type keys: over half of the server's time on a BatchGetItem or Query of
100 items (profiled with py-spy), which made a re-ingest, all reads, slower than the first
ingest. The fix writes DynamoDB's `AttributeValue` structure directly; everything around it
(which members a response has, timestamps, errors) still goes through moto's serializer, and
`tests/tenancy/test_moto_server.py` checks the output is identical to moto's own.

Run as `python -m tenancy.moto_server -H HOST -p PORT` (moto's own options).
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

_state = threading.local()  # moto's server is threaded: one transaction's state per thread
_PATCHED = "_salestalk_cheap_snapshots"


def _touched_keys(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, set]:
    """Table name -> keys (hash, range) of the items a transaction reads or writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched: dict[str, set] = defaultdict(set)
    for entry in transact_items:
        (operation,) = entry.values()
        table = backend.tables.get(operation.get("TableName"))
        attributes = operation.get("Item") or operation.get("Key") or {}
        if table is None or table.hash_key_attr not in attributes:
            continue
        range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
        touched[table.name].add(
            (
                DynamoType(attributes[table.hash_key_attr]),
                DynamoType(range_value) if range_value is not None else None,
            )
        )
    return touched


def _snapshot(table: Any, keys: set) -> Any:
    snapshot = copy.copy(table)
    if table.has_range_key:
        snapshot.items = defaultdict(dict, {h: dict(r) for h, r in table.items.items()})
    else:
        snapshot.items = defaultdict(dict, table.items)
    for hash_value, range_value in keys:
        if table.has_range_key:
            stored = table.items.get(hash_value, {}).get(range_value)
            if stored is not None:
                snapshot.items[hash_value][range_value] = copy.deepcopy(stored)
        elif hash_value in table.items:
            snapshot.items[hash_value] = copy.deepcopy(table.items[hash_value])
    return snapshot


class _TransactionSnapshots:
    """Stands in for the `copy` module inside moto's DynamoDB models."""

    def __init__(self, table_type: type):
        self._table_type = table_type

    def deepcopy(self, obj: Any, memo: dict | None = None) -> Any:
        snapshots = getattr(_state, "snapshots", None)
        if snapshots is None or not isinstance(obj, self._table_type):
            return copy.deepcopy(obj, memo)
        if id(obj) not in snapshots:
            snapshots[id(obj)] = _snapshot(obj, _state.touched.get(obj.name, set()))
        return snapshots[id(obj)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _attribute_value(value: dict[str, Any], base64: Callable[[Any], str]) -> dict[str, Any]:
    """One DynamoDB AttributeValue on the wire, as moto's serializer would write it."""
    wire: dict[str, Any] = {}
    for type_key, member in value.items():
        if member is None or type_key not in _ATTRIBUTE_TYPES:
            continue
        if type_key == "M":
            member = {name: _attribute_value(v, base64) for name, v in member.items()}
        elif type_key == "L":
            member = [_attribute_value(v, base64) for v in member]
        elif type_key == "B":
            member = base64(member)
        elif type_key == "BS":
            member = [base64(v) for v in member]
        elif type_key in ("S", "N") and member not in ({}, []):
            member = str(member)
        elif type_key in ("SS", "NS"):
            member = [str(v) for v in member]
        wire[type_key] = member
    # moto's serializer writes members in the model's order
    return {key: wire[key] for key in _ATTRIBUTE_TYPES if key in wire}


_ATTRIBUTE_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")


def _fast_attribute_values(serializer_type: type) -> None:
    original = serializer_type._serialize_type_structure
    if getattr(original, _PATCHED, False):
        return

    def serialize_structure(self, serialized, value, shape, key):
        if shape.name == "AttributeValue" and key and isinstance(value, dict):
            self._default_serialize(serialized, _attribute_value(value, self._base64), shape, key)
        else:
            original(self, serialized, value, shape, key)

    setattr(serialize_structure, _PATCHED, True)
    serialize_structure.moto_original = original  # what tests compare against
    serializer_type._serialize_type_structure = serialize_structure


def apply_fixes() -> None:
    """Idempotent: patch moto's DynamoDB backend and JSON serializer in this process."""
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _PATCHED, False):
        return
    original = backend.transact_write_items
    models.copy = _TransactionSnapshots(models.Table)

    def transact_write_items(self, transact_items, *args: Any, **kwargs: Any) -> Any:
        _state.snapshots, _state.touched = {}, _touched_keys(self, transact_items)
        try:
            return original(self, transact_items, *args, **kwargs)
        finally:
            _state.snapshots = _state.touched = None

    setattr(transact_write_items, _PATCHED, True)
    backend.transact_write_items = transact_write_items
    _fast_attribute_values(JSONSerializer)


def main(argv: list[str] | None = None) -> None:
    apply_fixes()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
