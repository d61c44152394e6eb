"""moto's DynamoDB server as this project embeds it, with fixes to moto's internals.

Each fix is declared in `_fixes()` with the moto internals it replaces and the shape it was
written against (leading parameters, and for the rollback fix the call it removes). At start-up
every target is checked; a fix whose target has moved or changed shape is skipped and said so
on stderr, never applied blind. `python -m tenancy.local.moto_server --fixes` lists them.

Four fixes change what moto answers, to what DynamoDB answers: each action runs whole before
the next (moto interleaved concurrent transactions item by item, and a cancelled one could
erase another's write); items are measured by DynamoDB's published rules and refused above
409,600 bytes, on every write path; an update is measured on the item it leaves; a batch write
with an item too large is refused whole. The other five change only how fast moto answers, or
how much memory it keeps: transactions roll back from an undo log instead of copying the whole
table per item, attribute values are serialized whole, projections are converted once, items
are measured once when built, and condition expressions are parsed once per distinct text.

What profiling found behind each fix, with its figures, is in `benchmarks/HISTORY.md`; the
general ones are written up as upstream patches in `docs/moto-upstream.md`, so that each fix
moto merges is a fix deleted here. `tests/tenancy/local/test_moto_server.py` compares every fix
with moto's own code.

Run as `python -m tenancy.local.moto_server -H HOST -p PORT` (moto's own options).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import inspect
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_state = threading.local()  # moto's server is threaded: one transaction's state per thread
_serving = threading.Lock()  # one DynamoDB action at a time (see _one_action_at_a_time)
_PATCHED = "_salestalk_fixed"
log = logging.getLogger(__name__)


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
    get_filter_expression.moto_original = parse  # what tests compare against
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


ITEM_SIZE_LIMIT = 400 * 1024  # DynamoDB's: 409,600 bytes accepted, one more refused (moto: 405,000)
_UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())  # isascii is a flag lookup


def _number_size(number: Any) -> int:
    """1 byte per two significant digits, plus 1: sign, point, exponent, and leading and trailing
    zeros are not stored (`-0.0150E+3` has the two digits of 15)."""
    text = number if number.__class__ is str else str(number)
    if "e" in text or "E" in text:
        text = text.lower().partition("e")[0]
    digits = len(text.lstrip("+-").replace(".", "").strip("0")) or 1  # zero: one digit
    return (digits + 1) // 2 + 1


def _binary_size(value: Any) -> int:
    """The bytes themselves. moto keeps a top-level binary as bytes but one inside a map or list
    as the base64 text it came in, which it measured as text (a third too large)."""
    if value.__class__ is bytes:
        return len(value)
    if isinstance(value, str):
        if len(value) % 4:  # not base64: measured as moto measures it
            return len(value.encode())
        return len(value) // 4 * 3 - value[-2:].count("=")
    return len(getattr(value, "value", value))  # boto3's Binary, after a round trip


def _value_size(value: Any) -> int:
    """DynamoDB's size of an attribute value: a moto DynamoType, or an AttributeValue as it comes
    in (`{"S": "text"}`). A map or list is 3 bytes plus 1 per element, besides its elements
    (and a map's names); a set is the sum of its elements."""
    if value.__class__ is dict:
        type_key, member = next(iter(value.items()))
    else:
        type_key, member = value.type, value.value
    if type_key == "S":
        if member.__class__ is str:
            return len(member) if member.isascii() else len(member.encode())
        return len(str(member).encode())
    if type_key == "N":
        return _number_size(member)
    if type_key == "M":
        return 3 + len(member) + sum(_text_size(k) + _value_size(v) for k, v in member.items())
    if type_key == "L":
        return 3 + len(member) + sum(map(_value_size, member))
    if type_key == "B":
        return _binary_size(member)
    if type_key == "SS":
        return sum(map(_text_size, member))
    if type_key == "NS":
        return sum(map(_number_size, member))
    if type_key == "BS":
        return sum(map(_binary_size, member))
    return 1  # BOOL, NULL


def item_size(attrs: dict[str, Any]) -> int:
    """DynamoDB's size of an item: each attribute's name (UTF-8 bytes) and value."""
    return sum(_text_size(name) + _value_size(value) for name, value in attrs.items())


def _exact_sizes(dynamo_type: type) -> None:
    """moto's DynamoType.size by DynamoDB's published rules.

    moto measured a number by the length of its text (a 38-digit number as 38 bytes, not 20),
    gave a map or list none of its overhead (3 bytes, and 1 per element), and measured a binary
    nested in a map or list by its base64 text; its limit was 405,000 bytes of that. So it
    refused an item of 283,569 bytes made of numbers, and stored one of 502,130 bytes made of
    a list of small maps, which DynamoDB (and DynamoDB Local) refuses. It also rebuilt every
    value of a map to measure it. Everything that measures an item uses this: the limit, key
    sizes, and the 1 MB page of a Query or Scan."""
    original = dynamo_type.size
    if getattr(original, _PATCHED, False):
        return

    def size(self) -> int:
        return _value_size(self)

    setattr(size, _PATCHED, True)
    size.moto_original = original  # what tests compare against
    dynamo_type.size = size


@contextlib.contextmanager
def _puts_sized_first(items: list[Any]) -> Iterator[None]:
    """The items a BatchWriteItem or TransactWriteItems request puts, measured before anything
    is written: one too large refuses the whole request, as DynamoDB refuses it. While the
    request then runs, moto's Item constructor does not measure them again. An item too
    malformed to measure is left to moto's own validation (which names what is wrong with it),
    and to its constructor's measure."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge

    measured = True
    for item in items:
        try:
            size = item_size(item)
        except Exception:  # moto reports a malformed item in its own words
            measured = False
            continue
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
    _state.puts_sized = measured
    try:
        yield
    finally:
        _state.puts_sized = False


def _sized_once(item_type: type) -> None:
    """moto's Item constructor with the size limit checked once, not once per attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = item_type.__init__
    if getattr(original, _PATCHED, False):
        return

    def __init__(self, hash_key, range_key, attrs):
        original(self, hash_key, range_key, {})  # moto's own set-up, attributes aside
        values = {key: DynamoType(value) for key, value in attrs.items()}
        if not getattr(_state, "puts_sized", False) and item_size(values) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.update(self.attrs, values)  # the checked total, without checking it per key

    setattr(__init__, _PATCHED, True)
    __init__.moto_original = original  # what tests compare against
    item_type.__init__ = __init__


class ValidationError(Exception):
    """A transacted Update that would make its item too large: DynamoDB cancels the transaction
    with this reason for the action (moto names a reason after the exception's class)."""


def _updates_sized_whole(backend_type: type, attrs_type: type) -> None:
    """UpdateItem checks the item it leaves, once, and leaves no trace when it refuses it.

    moto checked each top-level attribute as an update set it, against the item's size *plus*
    the attribute's old value (so replacing a 300 KB value with another was refused), never
    checked a value set inside a map or list or added to a set (an item grew past 600 KB that
    way), and kept whatever the update had done before it refused (and the item an update
    created). The stored item is copied before the update and put back if it fails in any way
    (in a transaction, the transaction's undo log puts it back). In a transaction, an Update
    too large cancels it with a `ValidationError` reason, as DynamoDB does (a Put too large is
    refused before the transaction starts)."""
    from moto.dynamodb.exceptions import ItemSizeToUpdateTooLarge

    original = backend_type.update_item
    if getattr(original, _PATCHED, False):
        return

    def update_item(self, table_name, key, *args: Any, **kwargs: Any) -> Any:
        in_transaction = getattr(_state, "in_transaction", False)  # whose undo log restores it
        touched = [] if in_transaction else [{"Update": {"TableName": table_name, "Key": key}}]
        undo = _UndoLog(_touched(self, touched))
        try:
            item = original(self, table_name, key, *args, **kwargs)
            if item_size(item.attrs) > ITEM_SIZE_LIMIT:
                if in_transaction:
                    raise ValidationError(_UPDATE_TOO_LARGE)
                raise ItemSizeToUpdateTooLarge
        except BaseException:
            undo.restore()
            raise
        return item

    def set_attribute(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)  # the whole item is checked when the update is done

    for method in (update_item, set_attribute):
        setattr(method, _PATCHED, True)
    update_item.moto_original = original  # what tests compare against
    set_attribute.moto_original = attrs_type.__setitem__
    backend_type.update_item = update_item
    attrs_type.__setitem__ = set_attribute


def _batch_puts_sized_first(handler_type: type) -> None:
    """BatchWriteItem refuses a request with an item too large before writing any of it.

    moto wrote the batch's items one by one and refused at the first too large, leaving the
    ones before it written: the caller, told the whole request failed, could not know which
    were. DynamoDB refuses the whole request and writes nothing."""
    original = handler_type.batch_write_item
    if getattr(original, _PATCHED, False):
        return

    @functools.wraps(original)
    def batch_write_item(self):
        puts = [
            request["PutRequest"].get("Item", {})
            for requests in self.body.get("RequestItems", {}).values()
            for request in requests
            if "PutRequest" in request
        ]
        with _puts_sized_first(puts):
            return original(self)

    setattr(batch_write_item, _PATCHED, True)
    handler_type.batch_write_item = batch_write_item


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


def _transactions_by_undo_log(backend: type, models: Any) -> None:
    original = backend.transact_write_items
    if getattr(original, _PATCHED, False):
        return
    models.copy = _NoTableCopies(models.Table)

    def transact_write_items(self, transact_items, *args: Any, **kwargs: Any) -> Any:
        puts = [entry["Put"].get("Item", {}) for entry in transact_items if "Put" in entry]
        with _puts_sized_first(puts):  # a Put too large is refused before the transaction starts
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
    transact_write_items.moto_original = original
    backend.transact_write_items = transact_write_items


def _conditions_parsed_once(models: Any, table_module: Any) -> None:
    if getattr(models.get_filter_expression, _PATCHED, False):
        return
    parse_once = _parsed_once(models.get_filter_expression)
    models.get_filter_expression = table_module.get_filter_expression = parse_once


@dataclass(frozen=True)
class Target:
    """A moto internal a fix replaces, and the shape the fix was written against."""

    path: str  # module:attribute.attribute
    parameters: tuple[str, ...] = ()  # its leading parameters, in order
    source_has: str | None = None  # text its source must hold (what the fix removes)

    def problem(self) -> str | None:
        """Why the fix cannot be applied to this moto, or None when the target is as expected."""
        module_name, _, attribute_path = self.path.partition(":")
        try:
            found: Any = importlib.import_module(module_name)
        except ImportError:
            return f"module {module_name} is missing"
        for name in attribute_path.split("."):
            if not hasattr(found, name):
                return f"{self.path} is missing"
            found = getattr(found, name)
        found = getattr(found, "moto_original", found)  # already fixed in this process
        if self.parameters:
            try:
                names = tuple(inspect.signature(found).parameters)[: len(self.parameters)]
            except (TypeError, ValueError):
                return f"{self.path} has no inspectable signature"
            if names != self.parameters:
                return f"{self.path} takes {names}, not {self.parameters}"
        if self.source_has is not None:
            try:
                source = inspect.getsource(found)
            except (OSError, TypeError):
                return f"the source of {self.path} cannot be read"
            if self.source_has not in source:
                return f"{self.path} no longer calls {self.source_has}"
        return None


@dataclass(frozen=True)
class Fix:
    """One change to moto's internals: what it changes, what it replaces, how it is applied."""

    name: str
    changes: str  # "answers": what moto answers; "speed": how fast, never what
    targets: tuple[Target, ...]
    apply: Callable[[], None]

    def problem(self) -> str | None:
        return next((p for p in (t.problem() for t in self.targets) if p), None)


@dataclass(frozen=True)
class FixOutcome:
    fix: Fix
    skipped_because: str | None = None

    @property
    def applied(self) -> bool:
        return self.skipped_because is None

    def describe(self) -> str:
        if self.applied:
            return f"{self.fix.name}: applied"
        cost = "its answers differ from DynamoDB's" if self.fix.changes == ANSWERS else "slower"
        return (
            f"{self.fix.name}: NOT applied, {self.skipped_because}; moto's own behaviour is "
            f"kept there ({cost})"
        )


ANSWERS, SPEED = "answers", "speed"
_M = "moto.dynamodb.models"


def _fixes() -> tuple[Fix, ...]:
    """Every fix, in the order they are applied, with the moto internals each replaces."""

    def models() -> Any:
        return importlib.import_module(_M)

    def handler() -> type:
        return importlib.import_module("moto.dynamodb.responses").DynamoHandler

    def dynamo_type() -> Any:
        return importlib.import_module(f"{_M}.dynamo_type")

    def serializer() -> type:
        return importlib.import_module("moto.core.serialize").JSONSerializer

    return (
        Fix(
            "one action at a time",
            ANSWERS,
            (Target("moto.dynamodb.responses:DynamoHandler.call_action", ("self",)),),
            lambda: _one_action_at_a_time(handler()),
        ),
        Fix(
            "transactions rolled back by an undo log, not whole-table copies",
            SPEED,
            (
                Target(
                    f"{_M}:DynamoDBBackend.transact_write_items",
                    ("self", "transact_items"),
                    source_has="copy.deepcopy(",
                ),
                Target(f"{_M}:copy"),
                Target(f"{_M}:Table"),
            ),
            lambda: _transactions_by_undo_log(models().DynamoDBBackend, models()),
        ),
        Fix(
            "attribute values serialized whole",
            SPEED,
            (
                Target(
                    "moto.core.serialize:JSONSerializer._serialize_type_structure",
                    ("self", "serialized", "value", "shape", "key"),
                ),
                Target(
                    "moto.core.serialize:JSONSerializer._serialize_type_map",
                    ("self", "serialized", "value", "shape", "key"),
                ),
            ),
            lambda: _fast_attribute_values(serializer()),
        ),
        Fix(
            "projections converted once",
            SPEED,
            (Target(f"{_M}.dynamo_type:Item.project", ("self", "projection_expressions")),),
            lambda: _project_once(dynamo_type().Item),
        ),
        Fix(
            "items measured by DynamoDB's rules",
            ANSWERS,
            (Target(f"{_M}.dynamo_type:DynamoType.size", ("self",)),),
            lambda: _exact_sizes(dynamo_type().DynamoType),
        ),
        Fix(
            "items measured once when built",
            SPEED,
            (
                Target(
                    f"{_M}.dynamo_type:Item.__init__", ("self", "hash_key", "range_key", "attrs")
                ),
            ),
            lambda: _sized_once(dynamo_type().Item),
        ),
        Fix(
            "updates measured on the item they leave",
            ANSWERS,
            (
                Target(f"{_M}:DynamoDBBackend.update_item", ("self", "table_name", "key")),
                Target(f"{_M}.dynamo_type:LimitedSizeDict.__setitem__", ("self", "key", "value")),
            ),
            lambda: _updates_sized_whole(models().DynamoDBBackend, dynamo_type().LimitedSizeDict),
        ),
        Fix(
            "batch writes refused whole when an item is too large",
            ANSWERS,
            (Target("moto.dynamodb.responses:DynamoHandler.batch_write_item", ("self",)),),
            lambda: _batch_puts_sized_first(handler()),
        ),
        Fix(
            "condition expressions parsed once",
            SPEED,
            (
                Target(f"{_M}:get_filter_expression", ("expr", "names", "values")),
                Target(f"{_M}.table:get_filter_expression"),
            ),
            lambda: _conditions_parsed_once(models(), importlib.import_module(f"{_M}.table")),
        ),
    )


_outcomes: list[FixOutcome] = []
_applying = threading.Lock()


def apply_fixes() -> list[FixOutcome]:
    """Patch moto in this process, once; a fix whose target has moved or changed shape is
    skipped, and said so on stderr, rather than applied blind (moto 5.1.2-5.1.14 copied a
    dict for its rollback, and the copy fix silently did nothing there)."""
    with _applying:
        if not _outcomes:
            for fix in _fixes():
                problem = fix.problem()
                if problem is None:
                    fix.apply()
                outcome = FixOutcome(fix, problem)
                _outcomes.append(outcome)
                if not outcome.applied:
                    log.warning("salestalk: embedded moto server: %s", outcome.describe())
        return list(_outcomes)


def main(argv: list[str] | None = None) -> None:
    outcomes = apply_fixes()
    if (argv if argv is not None else sys.argv[1:]) == ["--fixes"]:
        for outcome in outcomes:
            print(outcome.describe())
        return
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
