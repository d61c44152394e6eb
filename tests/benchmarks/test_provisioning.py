"""Smoke test of the provisioning benchmark at three tenants: structure and request counts,
never timings (those belong to the benchmark's report, not to a pass/fail)."""

from __future__ import annotations

import pytest

from benchmarks.provisioning import CHECK_REQUESTS_PER_TABLE, MUTATING_OPERATIONS, QUICK_TENANTS
from benchmarks.provisioning import run as run_provisioning
from benchmarks.provisioning import settings as bench_settings
from tenancy.tables import all_table_specs

pytestmark = pytest.mark.engine

TABLES = 1 + 2 + 2 * QUICK_TENANTS  # metadata, the pool, each tenant's (all siloed)


@pytest.fixture(scope="module")
def result():
    return run_provisioning(quick=True)


def rows_by_run(result) -> dict[str, dict]:
    return {row[0]: dict(zip(result.columns, row, strict=True)) for row in result.rows}


def test_the_generated_roster_is_valid_and_makes_two_tables_per_tenant():
    settings = bench_settings(50)
    assert len(settings.roster) == 50
    assert len(all_table_specs(settings)) == 103


def test_first_run_creates_every_table(result):
    first = rows_by_run(result)["first run (create)"]
    assert first["tables"] == TABLES
    assert first["outcome"] == f"created {TABLES}"
    assert first["CreateTable"] == TABLES


def test_no_op_rerun_changes_nothing_and_only_reads(result):
    again = rows_by_run(result)["re-run (no-op)"]
    assert again["outcome"] == f"unchanged {TABLES}"
    assert all(again.get(op, 0) == 0 for op in MUTATING_OPERATIONS)
    assert again["requests"] == CHECK_REQUESTS_PER_TABLE * TABLES
    assert again["DescribeTable"] == again["ListTagsOfResource"] == TABLES


def test_report_shape_and_targets(result):
    assert all(len(row) == len(result.columns) for row in result.rows)
    for row in result.rows:
        named = dict(zip(result.columns, row, strict=True))
        operations = result.columns[result.columns.index("requests per table") + 1 :]
        assert named["requests"] == sum(named[op] for op in operations)
    assert result.targets and all(target.met for target in result.targets)
    assert result.to_json()["method"]
