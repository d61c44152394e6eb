"""Smoke test of the query-cost benchmark at tiny sizes: every access pattern returns what the
generated data says it must, reads only its key range, and pages as the reader pages. Timings
are reported by the benchmark, never asserted."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from benchmarks.queries import (
    PAGE_ITEMS,
    QUICK,
    message_record,
    metric_record,
    patterns,
)
from benchmarks.queries import run as run_queries
from ingestion.records.contracts import Message, Metric, MetricType

pytestmark = pytest.mark.engine

TENANT = "acme-corp-001"
PATTERNS = patterns(TENANT, QUICK)


@pytest.fixture(scope="module")
def result():
    return run_queries(quick=True)


def rows(result) -> list[dict]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_generated_records_follow_the_contracts():
    for n in (0, QUICK.messages[1] - 1):
        Message.model_validate(message_record(TENANT, n, QUICK))
    for n in (0, 121, QUICK.metrics[1] - 1):
        metric = Metric.model_validate(metric_record(TENANT, n, QUICK))
        assert isinstance(metric.value, Decimal)


def test_every_public_reader_pattern_is_measured(result):
    called = {row["access pattern"] for row in rows(result)}
    assert called == {pattern.name for pattern in PATTERNS}
    assert len(result.rows) == len(PATTERNS) == 11


def test_fixed_results_cost_the_same_at_both_sizes(result):
    for row, pattern in zip(rows(result), PATTERNS, strict=True):
        if not pattern.fixed:
            continue
        items = int(row["items returned"].replace(",", ""))
        assert items == pattern.items(QUICK.metrics[0]) > 0
        assert row["requests (small)"] == row["requests (large)"]
        # Each query reads its own key range only: items read are the items returned.
        assert row["items read (small)"] == row["items read (large)"] == items
        # One request per page of PAGE_ITEMS (DynamoDB may add one empty page).
        assert math.ceil(items / PAGE_ITEMS) <= row["requests (large)"]
        assert row["requests (large)"] <= items // PAGE_ITEMS + 1
        assert row["requests (large, 1 MB pages)"] == 1


def test_all_metrics_grows_with_its_result_only(result):
    (row,) = [row for row in rows(result) if "→" in row["items returned"]]
    small, large = QUICK.metrics
    assert row["items returned"] == f"{small:,} → {large:,}"
    assert row["items read (small)"] == small and row["items read (large)"] == large
    assert row["requests (large)"] <= large // PAGE_ITEMS + len(MetricType)
    assert row["requests (large, 1 MB pages)"] == len(MetricType)


def test_report_shape_and_targets(result):
    assert all(len(row) == len(result.columns) for row in result.rows)
    assert len(result.targets) == len(PATTERNS)
    assert all(target.met for target in result.targets)
    payload = result.to_json()
    assert payload["method"] and payload["notes"]
