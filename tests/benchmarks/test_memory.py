"""The memory benchmark at tiny sizes: each ingest runs in its own process and lands whole."""

from __future__ import annotations

from benchmarks import memory


def test_each_size_is_ingested_whole_by_its_own_process():
    result = memory.run(quick=True)
    assert [row[0] for row in result.rows] == [f"{n:,}" for n in memory.QUICK]
    assert [row[-1] for row in result.rows] == [f"{n:,}" for n in memory.QUICK]
    for row in result.rows:
        peak, growth = row[3], row[4]
        assert 0 <= growth < peak
    (target,) = result.targets
    assert target.at_most and target.limit == 1.5
