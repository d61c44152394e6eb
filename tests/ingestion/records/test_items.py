"""Records as items: keys from the table layouts, fingerprints, sizes."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ingestion.records.items as items_module
from ingestion.records.boto_internals import CanonicalSerializer
from ingestion.records.contracts import Message, Metric
from ingestion.records.items import (
    KINDS,
    MAX_ITEM_BYTES,
    UnstorableAttributeError,
    content_hash,
    deserialize,
    encode_item,
    item_size,
    serialize,
    serialize_checked,
)
from tenancy.roster import Tenant
from tests.ingestion.conftest import make_message, make_metric
from tests.support.stacks import local_roster

RECORDS = {
    "message": Message.model_validate(make_message(1)),
    "metric": Metric.model_validate(make_metric(1)),
    "tenant": Tenant.model_validate(local_roster()[0]),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_items_carry_their_table_keys_and_read_back_as_the_record(name):
    kind, record = KINDS[name], RECORDS[name]
    item = kind.to_item(record, "2026-01-01T00:00:00Z", "run-1")
    layout_keys = {k.name for k in (kind.layout.hash_key, kind.layout.range_key) if k}
    index_keys = {
        k.name for index in kind.layout.indexes for k in (index.hash_key, index.range_key)
    }
    assert layout_keys <= set(item)
    assert set(kind.derived(record)) == set(kind.derived_names)
    assert index_keys - {"dimension"} <= set(item)  # dimension is optional: a sparse index
    assert kind.from_item(item) == record
    assert item["schemaVersion"] == 1 and item["ingestId"] == "run-1"


def test_fingerprints_ignore_key_order_and_number_spelling():
    a = {"value": Decimal("1.50"), "unit": "USD", "n": 3}
    b = {"n": Decimal("3.0"), "unit": "USD", "value": Decimal("1.5")}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "unit": "EUR"})


def test_item_size_follows_dynamodb_rules():
    assert item_size({"ab": "xyz"}) == 5
    assert item_size({"n": Decimal("12345")}) == 1 + 4
    big = {"content": "x" * MAX_ITEM_BYTES}
    assert item_size(big) > MAX_ITEM_BYTES


# Stored items carry these fingerprints: an ingest of the same content must find them equal,
# whatever version of this code wrote them, so the exact text is pinned.
PINNED_FINGERPRINTS = [
    (
        {
            "value": Decimal("1.50"),
            "unit": "USD",
            "n": 3,
            "flag": True,
            "none": None,
            "neg": -120,
            "big": 10**30,
            "tiny": Decimal("0.000001"),
            "exp": Decimal("1E+5"),
            "zero": 0,
            "dzero": Decimal("0.00"),
        },
        "sha256:1af1f932707e2d6812973a06ef1c0213be222189e2bf6c05d69e233f909d4e4b",
    ),
    (
        {
            "text": "héllo ✓ 日本",
            "nested": {"a": [1, Decimal("2.0"), {"b": "c"}], "z": []},
            "list": [True, False, None, "x"],
        },
        "sha256:8b65f1b838323dd8a1061fe386102362787eaf0503d72a4e09777e84d069c804",
    ),
]


@pytest.mark.parametrize(("fields", "fingerprint"), PINNED_FINGERPRINTS)
def test_fingerprints_of_stored_content_never_change(fields, fingerprint):
    assert content_hash(fields) == fingerprint
    assert content_hash(dict(reversed(fields.items()))) == fingerprint


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("", 0),
        ("é", 2),  # UTF-8 bytes, not characters
        ("日本", 6),
        (True, 1),
        (None, 1),
        (0, 2),
        (1000, 2),  # 1E+3: one significant digit
        (-12345, 4),
        (Decimal("1.50"), 2),
        (Decimal("123456789.123"), 7),
        ({"é": "x"}, 3 + 2 + 1 + 1),
        (["a", 1], 3 + 1 + 1 + 2 + 1),
    ],
)
def test_attribute_sizes_follow_dynamodb_rules(value, size):
    assert item_size({"a": value}) == 1 + size
    assert item_size({"é": value}) == 2 + size


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_reads_its_key_as_a_tuple(name):
    kind, record = KINDS[name], RECORDS[name]
    item = kind.to_item(record, "2026-01-01T00:00:00Z", "run-1")
    assert kind.key_of(item) == tuple(item[key] for key in kind.key_names())
    assert kind.key_dict(item) == dict(zip(kind.key_names(), kind.key_of(item), strict=True))


# --- equality is exact over every number the contract accepts -------------------------------

EXACT_PAIRS = [
    # differ only in the 29th..38th significant digit: the default 28-digit context merged them
    ("1.0000000000000000000000000001", "1.0000000000000000000000000002"),
    ("12345678901234567890123456789012345678", "12345678901234567890123456789012345679"),
    ("0.12345678901234567890123456789012345678", "0.12345678901234567890123456789012345677"),
    (
        "9.9999999999999999999999999999999999999E+125",
        "9.9999999999999999999999999999999999998E+125",
    ),
    ("1E-130", "2E-130"),
]


@pytest.mark.parametrize(("first", "second"), EXACT_PAIRS)
def test_numbers_that_differ_in_any_digit_have_different_fingerprints(first, second):
    assert content_hash({"value": Decimal(first)}) != content_hash({"value": Decimal(second)})


@pytest.mark.parametrize(
    ("first", "second"),
    [("1.50", "1.5"), ("1.000000000000000000000000000000000000000000", "1"), ("100", "1E+2")],
)
def test_the_same_number_written_two_ways_has_one_fingerprint(first, second):
    assert content_hash({"value": Decimal(first)}) == content_hash({"value": Decimal(second)})


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("1.000000000000000000000000000000000000000000", "1"),  # 43 digits written, 1 kept
        ("1234.5678000000000000000000000000000000000000", "1234.5678"),
        ("0.00000000000000000000000000000000000000000012", "1.2E-43"),
        ("120", "120"),
        ("34.0", "34"),
    ],
)
def test_numbers_are_written_to_dynamodb_in_canonical_form(written, sent):
    assert serialize({"value": Decimal(written)}) == {"value": {"N": sent}}


def test_a_number_dynamodb_returns_written_out_in_full_is_read_exactly():
    """38 significant digits and ten zeros: boto3's own deserializer refuses it as inexact
    (`ingestion.records.boto_internals` reads it as it is)."""
    written = "12345678901234567890123456789012345678" + "0" * 10
    assert deserialize({"value": {"N": written}}) == {"value": Decimal(written)}


def test_an_attribute_the_wire_format_cannot_carry_is_named():
    with pytest.raises(UnstorableAttributeError) as refused:
        serialize_checked(
            {"ok": "x", "bad": Decimal("1.2345678901234567890123456789012345678E-130")}
        )
    assert refused.value.name == "bad" and "cannot be written to DynamoDB" in refused.value.reason


def test_every_tenant_table_layout_has_exactly_one_record_kind_and_back():
    """A kind is declared in two places only (its contract, its layout); everything else takes
    both from `RECORD_CONTRACTS` and `TENANT_LAYOUTS`, so the two must pair up one to one."""
    from ingestion.records.contracts import RECORD_CONTRACTS
    from ingestion.records.items import KINDS, TENANT_DATA_KINDS
    from tenancy.tables import METADATA_LAYOUT, TENANT_LAYOUTS

    kinds = {kind.layout.kind: kind.layout for kind in TENANT_DATA_KINDS}
    assert kinds == {layout.kind: layout for layout in TENANT_LAYOUTS}
    assert len(TENANT_DATA_KINDS) == len(TENANT_LAYOUTS)
    assert [k.layout for k in KINDS.values() if not k.per_tenant] == [METADATA_LAYOUT]
    assert list(KINDS) == [contract.name for contract in RECORD_CONTRACTS]


# Attribute values as records hold them: text, booleans, null, whole numbers of any size and
# decimals of any spelling, nested in maps and lists.
_numbers = st.one_of(
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
)
_values = st.recursive(
    st.one_of(st.text(), st.booleans(), st.none(), _numbers),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), _values, max_size=6))
def test_the_wire_form_is_what_boto3s_serializer_writes(item):
    """The platform writes the types records are made of itself (`items._wire_value`); what it
    writes, and what it refuses, is what boto3's serializer (with canonical numbers) does."""
    boto3_serializer = CanonicalSerializer()
    try:
        expected = {name: boto3_serializer.serialize(value) for name, value in item.items()}
    except (TypeError, ValueError, ArithmeticError):
        with pytest.raises(UnstorableAttributeError):
            encode_item(item)
        return
    assert serialize_checked(item) == expected
    assert orjson.loads(encode_item(item)) == expected


def test_text_that_is_not_unicode_is_refused_by_its_attribute():
    """pydantic refuses a lone surrogate before an item is made; should one reach the encoder
    anyway, the attribute is named rather than the request failing."""
    with pytest.raises(UnstorableAttributeError) as refused:
        encode_item({"ok": "x", "bad": {"L": ["fine", "half \ud800 pair"]}})
    assert refused.value.name == "bad"


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _values, max_size=6))
def test_fingerprint_text_is_the_standard_librarys_to_the_byte(fields):
    """Fingerprints are hashed from orjson's text; the stored ones were hashed from the
    standard library's: for any content the two texts are the same bytes (key order, escapes,
    non-ASCII text), so a re-ingest still finds every stored record a duplicate."""
    canonical = items_module._canonical(fields)
    expected = items_module._fingerprint_text(canonical).encode("utf-8", "surrogatepass")
    try:
        ours = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # a lone surrogate: the reference path is taken instead
        return
    assert ours == expected
