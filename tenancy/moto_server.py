"""moto's DynamoDB server as this project embeds it.

The fixes below are applied before it serves. The first makes moto's actions isolated from
each other, as DynamoDB's are; each of the others changes how fast moto answers (or how much
memory it keeps), never what it answers.

Isolation. moto's server runs each request on its own thread with nothing between them, so
two transactions could interleave item by item, and a cancelled one then put back the state it
saw before it began, erasing an item the other had written meanwhile: two concurrent ingests
of overlapping files lost a record this way, rarely. Each DynamoDB action now runs whole
before the next starts; requests are still read and answered side by side.

Transaction rollback. moto's TransactWriteItems takes its rollback snapshot by deep-copying
the whole table once *per item* of the transaction: a 100-item transaction on a 2,000-item
table copies 200,000 items, and conditional ingestion fell to 17 records/s here. A first fix
took one shallow snapshot per table per transaction, still a copy of the whole table each
time: 13% of the server's time at 15,000 items, growing with the table. The fix now keeps an
undo log instead: before the transaction runs, a deep copy of each item it touches (or the
note that there is none); if it fails in any way, those items are put back exactly as they
were. The cost follows the transaction's size, not the table's. Behaviour is otherwise
moto's; LocalStack and real DynamoDB are unaffected.

Item serialization. moto writes every response through a generic, model-driven serializer that
walks each attribute value of each item member by member, asking an alias picker for every one
of the ten possible type keys: over half of the server's time on a BatchGetItem or Query of
100 items (profiled with py-spy), which made a re-ingest, all reads, slower than the first
ingest. The fix writes DynamoDB's `AttributeValue` structure directly, and a whole item (a
map of them) at once; everything around it (which members a response has, timestamps,
errors) still goes through moto's serializer, and `tests/tenancy/test_moto_server.py` checks
the output is identical to moto's own.

Condition expressions. moto parses a condition expression from its text for every item it
checks, twice for each item of a transaction: a fifth of the server's time in a conditional
ingest, which sends the same `attribute_not_exists(#key)` on every item. The parsed condition
(a tree of operators evaluated against the stored item, never changed by evaluation) is kept
for the same text, names and values, so each is parsed once.

Projections. moto's `Item.project` turns the whole item into plain JSON once per projected
attribute: 39% of the server's time on a BatchGetItem that asks for four attributes (a
re-ingest's classification read). When only top-level names are asked for, the fix returns
the stored values of those names as they are (as moto does for an unprojected read: no
conversion, no size check of what already passed one), and otherwise converts the item once
per projection, not once per path; either way a projection's size is summed once, not twice,
and a projection is not added to moto's list of every model object (kept for its inspection
API), where every item ever read stayed for the life of the server.

Item size. moto checks an item against its size limit by summing every attribute again each
time it sets one: quadratic in the attributes, and 38% of the server's time on a transaction of
100 messages (nested maps and lists are sized recursively each time). The fix sets the
attributes of a new item at once and checks the total once, against moto's own limit.

Run as `python -m tenancy.moto_server -H HOST -p PORT` (moto's own options).
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable
from typing import Any

_state = threading.local()  # moto's server is threaded: one transaction's state per thread
_serving = threading.Lock()  # one DynamoDB action at a time (see _one_action_at_a_time)
_PATCHED = "_salestalk_fixed"


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    """(table, hash value, range value) of every item a transaction reads or writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched = []
    for entry in transact_items:
        (operation,) = entry.values()
        table = backend.tables.get(operation.get("TableName"))
        attributes = operation.get("Item") or operation.get("Key") or {}
        if table is None or table.hash_key_attr not in attributes:
            continue
        range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
        touched.append(
            (
                table,
                DynamoType(attributes[table.hash_key_attr]),
                DynamoType(range_value) if range_value is not None else None,
            )
        )
    return touched


class _UndoLog:
    """The stored state of the items a transaction touches, taken before it runs."""

    def __init__(self, touched: list[tuple[Any, Any, Any]]):
        self._before = [
            (
                table,
                hash_value,
                range_value,
                copy.deepcopy(self._stored(table, hash_value, range_value)),
            )
            for table, hash_value, range_value in touched
        ]

    @staticmethod
    def _stored(table: Any, hash_value: Any, range_value: Any) -> Any:
        if table.has_range_key:
            return table.items.get(hash_value, {}).get(range_value)
        return table.items.get(hash_value)

    def restore(self) -> None:
        for table, hash_value, range_value, before in reversed(self._before):
            if table.has_range_key:
                partition = table.items[hash_value]
                if before is None:
                    partition.pop(range_value, None)
                    if not partition:
                        table.items.pop(hash_value, None)
                else:
                    partition[range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before


class _NoTableCopies:
    """Stands in for the `copy` module inside moto's DynamoDB models: during a transaction,
    moto's per-item deep copy of the whole table (its rollback snapshot) is skipped, since
    the undo log restores what the transaction touched."""

    def __init__(self, table_type: type):
        self._table_type = table_type

    def deepcopy(self, obj: Any, memo: dict | None = None) -> Any:
        if getattr(_state, "in_transaction", False) and isinstance(obj, self._table_type):
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _attribute_value(value: dict[str, Any], base64: Callable[[Any], str]) -> dict[str, Any]:
    """One DynamoDB AttributeValue on the wire, as moto's serializer would write it."""
    if len(value) == 1:  # the usual shape: one type key; text passes through as it is
        ((type_key, member),) = value.items()
        if type_key in _TEXT_TYPES and member.__class__ is str:
            return {type_key: member}
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
    if len(wire) < 2:
        return wire
    # moto's serializer writes members in the model's order
    return {key: wire[key] for key in _ATTRIBUTE_TYPES if key in wire}


_ATTRIBUTE_TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")
_TEXT_TYPES = ("S", "N")


def _fast_attribute_values(serializer_type: type) -> None:
    original = serializer_type._serialize_type_structure
    if getattr(original, _PATCHED, False):
        return
    original_map = serializer_type._serialize_type_map

    def serialize_structure(self, serialized, value, shape, key):
        if shape.name == "AttributeValue" and key and isinstance(value, dict):
            self._default_serialize(serialized, _attribute_value(value, self._base64), shape, key)
        else:
            original(self, serialized, value, shape, key)

    def serialize_map(self, serialized, value, shape, key):
        """A whole item (a map of AttributeValues) at once, not attribute by attribute through
        the generic map serializer; anything else as moto does."""
        if (
            shape.value.name == "AttributeValue"
            and isinstance(value, dict)
            and all(name and isinstance(v, dict) for name, v in value.items())
        ):
            item = {name: _attribute_value(v, self._base64) for name, v in value.items()}
            self._default_serialize(serialized, item, shape, key)
        else:
            original_map(self, serialized, value, shape, key)

    for method, name, moto_original in (
        (serialize_structure, "_serialize_type_structure", original),
        (serialize_map, "_serialize_type_map", original_map),
    ):
        setattr(method, _PATCHED, True)
        method.moto_original = moto_original  # what tests compare against
        setattr(serializer_type, name, method)


def _parsed_once(parse: Callable[..., Any]) -> Callable[..., Any]:
    """moto's condition parser with the parsed conditions remembered by their exact text."""

    @functools.lru_cache(maxsize=1024)
    def cached(expression: str | None, names: str, values: str) -> Any:
        return parse(expression, json.loads(names), json.loads(values))

    def get_filter_expression(expression, names=None, values=None):
        try:
            key = json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
        except TypeError:  # a value JSON cannot hold (bytes): parse it as moto does
            return parse(expression, names, values)
        return cached(expression, *key)

    setattr(get_filter_expression, _PATCHED, True)
    return get_filter_expression


def _project_once(item_type: type) -> None:
    """moto's Item.project without converting the whole item for every path."""
    from botocore.utils import merge_dicts
    from moto.dynamodb.models import dynamo_type

    original = item_type.project
    if getattr(original, _PATCHED, False):
        return

    class Projection(item_type):
        """Some attributes of a stored item, made for one response and never changed: its
        size (asked for twice per item by a batch read) is worked out once, and it is not
        added to the list in which moto keeps every model object it ever made (for its
        inspection API), where each item read would stay for the life of the server."""

        __module__ = item_type.__module__  # moto's model registry files classes by module
        _size: int | None = None

        def __new__(cls, *args: Any, **kwargs: Any):
            return object.__new__(cls)

        def size(self) -> int:
            if self._size is None:
                self._size = super().size()
            return self._size

    def project(self, projection_expressions):
        if all(len(path) == 1 for path in projection_expressions):  # top-level names only
            # The stored values themselves, as moto returns an unprojected item: a part of an
            # item that passed the size check passes it, so nothing is converted or measured.
            projected = Projection(self.hash_key, self.range_key, {})
            names = [path[0] for path in projection_expressions if path[0] in self.attrs]
            dict.update(projected.attrs, {name: self.attrs[name] for name in names})
            return projected
        plain = self.to_regular_json()
        result: dict[str, Any] = {}
        for path in projection_expressions:
            merge_dicts(result, dynamo_type.find_nested_key(path, plain))
        attrs = dynamo_type.serializer.serialize(result)["M"]
        return Projection(hash_key=self.hash_key, range_key=self.range_key, attrs=attrs)

    setattr(project, _PATCHED, True)
    project.moto_original = original  # what tests compare against
    item_type.project = project


MOTO_ITEM_SIZE_LIMIT = 405_000  # moto's own (between DynamoDB's documented and observed limits)


def _sized_once(item_type: type) -> None:
    """moto's Item constructor with the size limit checked once, not once per attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    original = item_type.__init__
    if getattr(original, _PATCHED, False):
        return

    def __init__(self, hash_key, range_key, attrs):
        original(self, hash_key, range_key, {})  # moto's own set-up, attributes aside
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in values.items()) > (
            MOTO_ITEM_SIZE_LIMIT
        ):
            raise ItemSizeTooLarge
        dict.update(self.attrs, values)  # the checked total, without checking it per key

    setattr(__init__, _PATCHED, True)
    __init__.moto_original = original  # what tests compare against
    item_type.__init__ = __init__


def _one_action_at_a_time(handler_type: type) -> None:
    """Each DynamoDB action runs whole before the next starts, as DynamoDB isolates them.

    moto's server runs each request on its own thread with nothing between them, so two
    transactions could interleave item by item, and a cancelled one then put back the state it
    saw before it began, erasing what the other had written meanwhile (two concurrent ingests
    lost a record this way, rarely). Requests are still read and answered side by side; only
    the backend's work, which holds the interpreter lock anyway, is taken in turn."""
    original = handler_type.call_action
    if getattr(original, _PATCHED, False):
        return

    @functools.wraps(original)
    def call_action(self):
        with _serving:
            return original(self)

    setattr(call_action, _PATCHED, True)
    handler_type.call_action = call_action


def apply_fixes() -> None:
    """Idempotent: patch moto's DynamoDB backend and JSON serializer in this process."""
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb import models
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.responses import DynamoHandler

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, _PATCHED, False):
        return
    original = backend.transact_write_items
    models.copy = _NoTableCopies(models.Table)

    def transact_write_items(self, transact_items, *args: Any, **kwargs: Any) -> Any:
        undo = _UndoLog(_touched(self, transact_items))
        _state.in_transaction = True
        try:
            return original(self, transact_items, *args, **kwargs)
        except BaseException:
            undo.restore()  # every way out of a failed transaction leaves no trace of it
            raise
        finally:
            _state.in_transaction = False

    setattr(transact_write_items, _PATCHED, True)
    backend.transact_write_items = transact_write_items
    _one_action_at_a_time(DynamoHandler)
    _fast_attribute_values(JSONSerializer)
    _project_once(models.dynamo_type.Item)
    _sized_once(models.dynamo_type.Item)
    parse_once = _parsed_once(models.get_filter_expression)
    models.get_filter_expression = table_module.get_filter_expression = parse_once


def main(argv: list[str] | None = None) -> None:
    apply_fixes()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
