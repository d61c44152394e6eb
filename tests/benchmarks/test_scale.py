"""Smoke test of the scale benchmark at tiny sizes: what it reads, counts and checks, never
its timings (those belong to the report)."""

from __future__ import annotations

import pytest

from benchmarks import scale

pytestmark = pytest.mark.engine


def test_the_scale_benchmark_measures_what_users_do_at_tiny_sizes():
    result = scale.run(quick=True)
    figures = {(row[0], row[1]): row[2] for row in result.rows}
    small, large = scale.QUICK_SIZES
    assert (
        figures[f"ingest {large:,} messages into one tenant", "peak memory of the process, MB"] > 0
    )
    limited = f"query sender --limit 20 on a {small:,}-message tenant"
    assert figures[limited, "records printed"] == 20
    assert figures[limited, "Query requests"] == 1
    pooled = f"all of one pooled tenant's messages, beside {scale.QUICK_POOLED:,} others"
    assert figures[pooled, "the tenant's records"] == scale.POOLED_ITEMS
    assert figures[pooled, "items read (BatchGetItem)"] == scale.POOLED_ITEMS
    assert figures[pooled, "items in the pool table"] == (scale.QUICK_POOLED + 1) * 100
    up = f"salestalk up, a tenant of {scale.QUICK_LARGE_TENANT:,} messages in the roster"
    notebooks = [name for what, name in figures if what == up and name.startswith("seconds, 0")]
    assert len(notebooks) == 5  # each report's own time
    targets = {t.label: t for t in result.targets}
    assert targets["requests of a --limit 20 query"].met
    assert targets["items read / the tenant's own, whole-tenant pool read"].measured == 1
