"""Smoke test of the pooled-tier benchmarks at tiny sizes: what they build and count, never
their timings (those belong to the report)."""

from __future__ import annotations

import pytest

from benchmarks import pool_data, pool_scale

pytestmark = pytest.mark.engine


def test_the_scale_benchmark_counts_the_tables_a_pooled_roster_needs():
    result = pool_scale.run(quick=True)
    rows = {(row[0], row[1]): dict(zip(result.columns, row, strict=True)) for row in result.rows}
    for tenants in pool_scale.QUICK_SIZES:
        pooled = pool_scale.pooled_count(tenants)
        program = rows["Pulumi program under mocks", tenants]
        assert program["pooled"] == pooled
        assert program["tables"] == 3 + 2 * (tenants - pooled)
        assert program["resources"] == 3 + 3 * pooled + 5 * (tenants - pooled)
        assert rows["salestalk provision: validate, create", tenants]["tables"] == program["tables"]
    assert "adds a component, a role and a role policy, and no table" in result.notes[0]


def test_the_data_benchmark_reads_the_same_records_in_both_tiers():
    result = pool_data.run(quick=True)
    found = {(row[0], row[1]): row for row in result.rows}
    for label in (
        "all metrics (MetricTypeIndex)",
        "one series (table key)",
        "a session (SessionIndex)",
    ):
        assert found["pooled", label][2] == found["siloed", label][2] > 0, label
        assert found["pooled", label][5] >= 1 and found["siloed", label][5] >= 1, label
    assert found["pooled", "all metrics (MetricTypeIndex)"][2] == pool_data.QUICK_DATA_RECORDS
    re_ingest = found["pooled", "re-ingest metrics"]
    assert re_ingest[2] == pool_data.QUICK_DATA_RECORDS
    assert found["pooled", "ingest metrics"][5] == found["siloed", "ingest metrics"][5]
    assert "Query requests, pooled against siloed: one series (table key): " in result.notes[1]
