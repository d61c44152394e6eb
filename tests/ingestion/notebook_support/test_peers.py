"""A tenant beside its anonymous peers: median and middle half of the tenants that report the
metric in the same unit, never fewer than `MIN_PEERS` of them, and no other tenant named."""

from __future__ import annotations

import pytest

from ingestion.notebook_support import dataframes, plots
from ingestion.notebook_support.dataframes import (
    MIN_PEERS,
    PEER_COUNT,
    PEER_HIGH,
    PEER_LOW,
    PEER_MEDIAN,
)
from ingestion.records.contracts import Metric
from tests.ingestion.conftest import make_metric

PERIODS = ["2025-Q1", "2025-Q2", "2025-Q3"]


def frame(tenant_id: str, values: dict[str, float], unit: str = "USD"):
    records = [
        Metric.model_validate(
            make_metric(
                n, tenant_id=tenant_id, subject="revenue", period=period, value=value,
                unit=unit, metricType="financial", dimension=None,
            )
        )
        for n, (period, value) in enumerate(values.items())
    ]  # fmt: skip
    return dataframes.metrics_frame(records)


@pytest.fixture
def peers():
    """Five tenants in USD (one lacks Q3), two in EUR."""
    usd = {
        f"peer-{n}": frame(f"peer-{n}", {p: 100.0 * n + i for i, p in enumerate(PERIODS)})
        for n in range(1, 6)
    }
    usd["peer-5"] = frame("peer-5", {"2025-Q1": 500.0, "2025-Q2": 501.0})
    eur = {f"euro-{n}": frame(f"euro-{n}", dict.fromkeys(PERIODS, 9e9), "EUR") for n in (1, 2)}
    return {**usd, **eur}


def test_the_tenant_beside_the_median_and_middle_half_of_its_peers(peers):
    own = frame("me-001", {"2025-Q1": 250.0, "2025-Q2": 260.0, "2025-Q3": 270.0})
    compared = dataframes.compare_with_peers("me-001", own, peers, "revenue")
    assert compared.comparable
    table = compared.table
    assert list(table.columns) == ["me-001", PEER_MEDIAN, PEER_LOW, PEER_HIGH, PEER_COUNT]
    assert list(table.index) == PERIODS
    assert table.loc["2025-Q1", PEER_MEDIAN] == 300.0  # 100, 200, 300, 400, 500
    assert (table.loc["2025-Q1", PEER_LOW], table.loc["2025-Q1", PEER_HIGH]) == (200.0, 400.0)
    assert table.loc["2025-Q3", PEER_COUNT] == 4  # peer-5 has no Q3
    assert table.loc["2025-Q3", PEER_MEDIAN] == pytest.approx(252.0)  # 102, 202, 302, 402
    # nobody else is named, in the table or the note; the EUR tenants are left out, and said
    shown = " ".join([compared.note, *map(str, table.columns), *map(str, table.index)])
    assert "peer-" not in shown and "euro-" not in shown and "9000000000" not in table.to_string()
    assert "2 other tenants report it in another unit and are left out" in compared.note


def test_too_few_peers_shows_no_peer_figure(peers):
    own = frame("me-001", {p: 1.0 for p in PERIODS})
    few = {name: peers[name] for name in ("peer-1", "peer-2")}  # a median of two is theirs
    compared = dataframes.compare_with_peers("me-001", own, few, "revenue")
    assert not compared.comparable and compared.table.empty
    assert f"fewer than {MIN_PEERS} other tenants report revenue in USD" in compared.note

    # a period that fewer than MIN_PEERS report stays blank; the others are shown
    three = {name: peers[name] for name in ("peer-1", "peer-2", "peer-5")}  # peer-5: no Q3
    compared = dataframes.compare_with_peers("me-001", own, three, "revenue")
    assert compared.comparable
    assert compared.table[PEER_MEDIAN].isna().tolist() == [False, False, True]
    assert compared.table[PEER_COUNT].isna().tolist() == [False, False, True]


def test_peers_only_in_another_unit_are_nothing_to_compare(peers):
    own = frame("me-001", {p: 1.0 for p in PERIODS}, unit="GBP")
    compared = dataframes.compare_with_peers("me-001", own, peers, "revenue")
    assert not compared.comparable
    assert "no other tenant reports revenue in GBP" in compared.note
    assert "7 other tenants report it in another unit" in compared.note


def test_the_peer_chart_draws_the_tenant_the_median_and_a_band_and_names_no_one(peers):
    own = frame("me-001", {"2025-Q1": 250.0, "2025-Q2": 260.0, "2025-Q3": 270.0})
    compared = dataframes.compare_with_peers("me-001", own, peers, "revenue")
    figure = plots.plot_peer_comparison(compared, "me-001", "revenue", "USD")
    axis = figure.axes[0]
    labels = [text.get_text() for text in axis.get_legend().get_texts()]
    assert labels == ["peers, middle half", PEER_MEDIAN, "me-001"]
    assert [line.get_label() for line in axis.get_lines()] == [PEER_MEDIAN, "me-001"]
    assert axis.get_ylim()[0] == 0  # drawn from zero
