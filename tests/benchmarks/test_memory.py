"""The memory benchmark at tiny sizes: each input is ingested by its own process, whole."""

from __future__ import annotations

import pytest

from benchmarks import memory

pytestmark = pytest.mark.engine


def test_each_input_is_ingested_by_its_own_process():
    result = memory.run(quick=True)
    forms = [row[0] for row in result.rows]
    assert forms == ["JSON Lines", "JSON Lines", "JSON array", "JSON array", "bad lines"]
    for row in result.rows[:4]:
        assert row[1] == row[6] and row[7] == "0"  # every valid record written, none refused
    bad = result.rows[4]
    assert bad[6] == "0" and bad[7] == bad[1] and int(bad[1].replace(",", "")) > 1_000
    for row in result.rows:
        peak, growth = row[4], row[5]
        assert 0 <= growth < peak
    assert [t.limit for t in result.targets] == [1.5, 1.5, 1.5]
    assert all(t.at_most for t in result.targets)
