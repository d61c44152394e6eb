"""The access patterns as declared: every index of the layouts is read by one of them, each
reads what its name says, and a range is refused by an index that is not sorted by period.
(`tests/tenancy/cli/test_query.py` runs them through `salestalk query` on an engine.)"""

from __future__ import annotations

import itertools

import pytest

from ingestion.reading.access_patterns import ACCESS_PATTERNS, PATTERNS, Scope
from ingestion.reading.queries import PeriodRangeError, TenantReader
from tenancy.tables import METADATA_LAYOUT, SESSION_INDEX, TENANT_LAYOUTS, IndexSpec, Key
from tests.ingestion.conftest import ACME


class Recorder:
    """A reader that records what a pattern asked of it."""

    def __init__(self):
        self.calls: list[tuple] = []

    def index_query(self, index, value, **kw):
        self.calls.append(("index", index.name, value, kw))
        return []

    def message(self, message_id):
        self.calls.append(("message", message_id))
        return None

    def series_query(self, subject, **kw):
        self.calls.append(("series", subject, kw))
        return []


def _runs(pattern):
    """The pattern run with a value for each parameter (one run per option when exactly one
    option is given)."""
    if pattern.one_option:
        choices = [{p.name: f"<{p.name}>"} for p in pattern.parameters]
    else:
        choices = [{p.name: f"<{p.name}>" for p in pattern.parameters}]
    for values in choices:
        reader = Recorder()
        pattern.run(reader, values)
        yield reader.calls


def test_every_index_of_the_layouts_is_read_by_a_pattern():
    indexes = {i.name for layout in (METADATA_LAYOUT, *TENANT_LAYOUTS) for i in layout.indexes}
    read = {
        call[1]
        for pattern in ACCESS_PATTERNS
        for calls in _runs(pattern)
        for call in calls
        if call[0] == "index"
    }
    assert read == indexes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("message", [("message", "<message_id>")]),
        ("session", [("index", "SessionIndex", "<session_id>", {})]),
        ("sender", [("index", "SenderIndex", "<sender_id>", {})]),
        (
            "series",
            [("series", "<subject>", {"dimension": "<dimension>", "start": None, "end": None})],
        ),
        ("type", [("index", "MetricTypeIndex", "<metric_type>", {"start": None, "end": None})]),
        ("dimension", [("index", "DimensionIndex", "<dimension>", {"start": None, "end": None})]),
    ],
)
def test_each_pattern_reads_what_its_name_says(name, expected):
    (calls,) = _runs(PATTERNS[name])
    assert calls == expected


def test_the_tenants_pattern_reads_by_owner_or_by_status():
    owner, status = _runs(PATTERNS["tenants"])
    assert owner == [("index", "OwnerEmailIndex", "<owner>", {})]
    assert status == [("index", "StatusIndex", "<status>", {})]
    assert PATTERNS["tenants"].scope is Scope.METADATA


def test_a_range_passes_through_to_the_read():
    reader = Recorder()
    PATTERNS["type"].run(reader, {"metric_type": "financial", "start": "2025-Q3", "end": None})
    assert reader.calls == [
        ("index", "MetricTypeIndex", "financial", {"start": "2025-Q3", "end": None})
    ]


def test_names_and_examples_are_unique_and_each_pattern_has_one():
    names = [pattern.name for pattern in ACCESS_PATTERNS]
    assert len(names) == len(set(names)) == len(PATTERNS)
    assert all(pattern.examples for pattern in ACCESS_PATTERNS)
    examples = list(itertools.chain.from_iterable(p.examples for p in ACCESS_PATTERNS))
    assert len(examples) == len(set(examples))


def test_an_index_not_sorted_by_period_takes_no_range(settings):
    reader = TenantReader(None, settings, ACME)  # refused before any request
    with pytest.raises(PeriodRangeError, match="SessionIndex is not sorted by period"):
        reader.index_query(SESSION_INDEX, "sess-1", start="2025-01")
    with pytest.raises(KeyError, match="no index 'NoSuchIndex'"):
        reader.index_query(IndexSpec("NoSuchIndex", Key("x"), None), "v")
