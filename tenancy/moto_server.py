"""moto's DynamoDB server as this project embeds it.

One fix is applied before it serves: moto's TransactWriteItems takes a rollback snapshot by
deep-copying the whole table once *per item* of the transaction, so a 100-item transaction on a
2,000-item table copies 200,000 items; measured here, conditional ingestion fell to 17 records/s.
The fix hands out one snapshot per table per transaction, which is what the rollback needs
(moto assigns the copies into the same dict slot, so every copy but the last is discarded
anyway). Behaviour is otherwise moto's own; LocalStack and real DynamoDB are unaffected.

Run as `python -m tenancy.moto_server -H HOST -p PORT` (moto's own options).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_state = threading.local()  # moto's server is threaded: one snapshot cache per request thread
_PATCHED = "_salestalk_one_snapshot_per_table"


class _SnapshotOncePerTable:
    """Stands in for the `copy` module inside moto's DynamoDB models."""

    def __init__(self, table_type: type):
        self._table_type = table_type

    def deepcopy(self, obj: Any, memo: dict | None = None) -> Any:
        cache = getattr(_state, "snapshots", None)
        if cache is None or not isinstance(obj, self._table_type):
            return copy.deepcopy(obj, memo)
        if id(obj) not in cache:
            cache[id(obj)] = copy.deepcopy(obj, memo)
        return cache[id(obj)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def apply_fixes() -> None:
    """Idempotent: patch moto's DynamoDB backend in this process."""
    from moto.dynamodb import models

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _PATCHED, False):
        return
    original = backend.transact_write_items
    models.copy = _SnapshotOncePerTable(models.Table)

    def transact_write_items(self, *args: Any, **kwargs: Any) -> Any:
        _state.snapshots = {}
        try:
            return original(self, *args, **kwargs)
        finally:
            _state.snapshots = None

    setattr(transact_write_items, _PATCHED, True)
    backend.transact_write_items = transact_write_items


def main(argv: list[str] | None = None) -> None:
    apply_fixes()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
