"""moto's DynamoDB server as this project embeds it.

One fix is applied before it serves. moto's TransactWriteItems takes its rollback snapshot by
deep-copying the whole table once *per item* of the transaction: a 100-item transaction on a
2,000-item table copies 200,000 items, and conditional ingestion fell to 17 records/s here. The
fix takes one snapshot per table per transaction, and makes it cheap: the snapshot gets its
own item containers but shares the stored items the transaction does not touch (moto replaces
an item object on Put and removes it on Delete, so those stay intact); the items it touches are
deep-copied as before. Rolling back restores exactly what moto's own snapshot would. Behaviour
is otherwise moto's; LocalStack and real DynamoDB are unaffected.

Run as `python -m tenancy.moto_server -H HOST -p PORT` (moto's own options).
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
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


def apply_fixes() -> None:
    """Idempotent: patch moto's DynamoDB backend in this process."""
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


def main(argv: list[str] | None = None) -> None:
    apply_fixes()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
