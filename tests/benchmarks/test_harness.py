"""What every benchmark relies on: requests counted on the wire, targets judged both ways."""

from __future__ import annotations

from benchmarks.harness import RequestCounter, Target, format_number


def test_every_request_is_counted_by_operation(dynamodb):
    counter = RequestCounter(dynamodb)
    dynamodb.list_tables()
    dynamodb.list_tables()
    dynamodb.describe_limits()
    assert counter.by_operation == {"ListTables": 2, "DescribeLimits": 1}
    assert (counter.total, counter.writes()) == (3, 0)
    counter.reset()
    assert counter.total == 0


def test_targets_are_met_on_the_right_side_of_their_limit():
    assert Target("speed", 0.8, 0.8, at_most=False).met
    assert not Target("speed", 0.79, 0.8, at_most=False).met
    assert Target("requests", 50, 50, at_most=True).met
    assert not Target("requests", 51, 50, at_most=True).met
    assert Target("x", 0.5, 0.8, at_most=False, unit="x").describe() == (
        "x: 0.50x (target ≥ 0.80x) MISSED"
    )
    assert [format_number(v) for v in (20000, 12.345, 1234.6, 3.0)] == [
        "20,000",
        "12.35",
        "1,235",
        "3",
    ]
