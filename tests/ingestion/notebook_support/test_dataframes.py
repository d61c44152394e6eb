"""The analysis behind the notebooks, on the seeded demo tenants."""

from __future__ import annotations

from datetime import date

import pytest

from ingestion.lifecycle.seeding import seed
from ingestion.notebook_support import dataframes, plots
from ingestion.records.contracts import Message
from tests.ingestion.conftest import ACME, SEED_DIR, TECHSTART, make_message


@pytest.fixture
def readers(tables, settings):
    from ingestion.reading.queries import TenantReader

    seed(tables, settings, SEED_DIR)
    return {t: TenantReader(tables, settings, t) for t in (ACME, TECHSTART)}


@pytest.mark.parametrize(
    ("period", "start"),
    [("2025", date(2025, 1, 1)), ("2025-Q3", date(2025, 7, 1)), ("2025-11", date(2025, 11, 1)),
     ("2024-02-29", date(2024, 2, 29))],
)  # fmt: skip
def test_period_start(period, start):
    assert dataframes.period_start(period) == start


def test_series_table_and_provenance(readers):
    frame = dataframes.metrics_frame(readers[ACME].all_metrics())
    assert len(frame) == 10
    table = dataframes.series_table(frame)
    assert list(table.columns) == [
        "margin (%)", "products (count)", "renewal_rate (%)", "revenue (USD)",
    ]  # fmt: skip
    assert table.loc["2025-Q4", "revenue (USD)"] == 14_100_000
    source = dataframes.provenance(frame)
    assert set(source["source"]) == {"netsuite", "salesforce", "pim"}
    assert source["confidence"].between(0, 1).all()


def test_comparison_says_when_units_differ(readers):
    frames = {t: dataframes.metrics_frame(r.all_metrics()) for t, r in readers.items()}
    revenue = dataframes.compare_tenants(frames, "revenue")
    assert not revenue.comparable
    assert "acme-corp-001: USD vs techstart-inc-002: EUR" in revenue.note
    assert revenue.table.empty  # USD and EUR are never put side by side
    margin = dataframes.compare_tenants(frames, "margin")
    assert margin.comparable and list(margin.table.columns) == [ACME, TECHSTART]
    assert margin.table.loc["2025-Q3", TECHSTART] == pytest.approx(71.2)
    arr = dataframes.compare_tenants(frames, "arr")
    assert not arr.comparable and "only techstart-inc-002" in arr.note


def test_a_report_leads_with_the_tenants_headline_and_its_latest_change(readers):
    techstart = dataframes.metrics_frame(readers[TECHSTART].all_metrics())
    assert dataframes.headline_subject(techstart) == "arr"  # a SaaS tenant: ARR first
    acme = dataframes.metrics_frame(readers[ACME].all_metrics())
    assert dataframes.headline_subject(acme) == "revenue"
    summary = dataframes.headline_summary(acme).set_index("metric")
    assert summary.loc["revenue", "period"] == "2025-Q4"
    assert summary.loc["revenue", "value"] == "14,100,000 USD"
    assert summary.loc["revenue", "change"] == "+900,000 USD (+6.8%)"
    assert summary.loc["revenue", "since"] == "2025-Q3"
    assert summary.loc["margin", "change"].endswith(" pts")
    assert "nan" not in summary.to_string().lower() and ".0 " not in summary.to_string()


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(12_500_000.0, "USD", "12,500,000 USD"), (94.5, "percent", "94.5%"),
     (1204.0, "count", "1,204"), (2.15, "ratio", "2.15")],
)  # fmt: skip
def test_figures_read_as_people_write_them(value, unit, text):
    assert dataframes.format_value(value, unit) == text


def test_dimension_breakdown(readers):
    frame = dataframes.metrics_frame(readers[TECHSTART].all_metrics())
    breakdown = dataframes.dimension_breakdown(frame)
    assert breakdown.loc[("customers", "2025-Q4", "count"), "region:dach"] == 180


def test_plots_have_titles_labelled_axes_and_units(readers):
    frame = dataframes.metrics_frame(readers[ACME].all_metrics())
    figure = plots.plot_series(frame, ["revenue", "margin"], "ACME")
    axes = figure.axes
    assert figure._suptitle.get_text() == "ACME"
    assert [a.get_title(loc="left") for a in axes] == ["revenue", "margin"]  # once each
    assert [a.get_ylabel() for a in axes] == ["USD", "%"]
    assert all(a.get_xlabel() == "period" for a in axes)
    assert figure.get_size_inches()[0] * figure.dpi >= 1000  # sized for the report's page
    one = plots.plot_series(frame, ["revenue"], "ACME: revenue")
    assert one.axes[0].get_title(loc="left") == ""  # the figure's title says it
    bars = plots.plot_breakdown(frame, "customers", "2025-Q4")
    axis = bars.axes[0]
    assert axis.get_ylabel() == "count" and axis.get_xlabel() == "region"
    assert [t.get_text() for t in axis.get_xticklabels()] == ["Canada", "US"]


def test_axes_read_compact_numbers():
    assert [plots.compact(v) for v in (14_100_000, 950_000, 1_500, 71.2, 0, -2_500_000)] == [
        "14.1M", "950k", "1.5k", "71.2", "0", "-2.5M",
    ]  # fmt: skip


def test_a_series_of_one_period_is_a_labelled_bar(readers):
    frame = dataframes.metrics_frame(readers[ACME].all_metrics())
    one = frame[(frame["subject"] == "revenue") & (frame["period"] == "2025-Q4")]
    axis = plots.plot_series(one, ["revenue"], "one").axes[0]
    assert len(axis.patches) == 1 and not axis.get_lines()
    assert [t.get_text() for t in axis.texts] == ["14.1M"]


def test_few_confidences_are_dots_many_a_histogram():
    import pandas as pd

    few = plots.plot_confidence(pd.DataFrame({"confidence": [0.9, 0.88, 0.95, 0.7]}), "c")
    assert len(few.axes[0].collections) == 1 and few.axes[0].get_ylabel() == "4 messages"
    many = plots.plot_confidence(pd.DataFrame({"confidence": [i / 40 for i in range(40)]}), "c")
    assert len(many.axes[0].patches) == 10 and many.axes[0].get_ylabel() == "messages"


def test_every_reference_is_traced(readers):
    messages = readers[ACME].session_messages("sess-acme-2026-01-12-a")
    traced = dataframes.trace_references(readers[ACME], messages)
    internal = traced[traced["source"] == "salestalk-metrics"]
    assert len(internal) == 3 and internal["found"].all()
    assert "revenue 2025-Q4 = 14,100,000 USD (from netsuite GL-REV-2025-Q4" in " ".join(
        internal["traced to"]
    )
    external = traced[traced["source"] == "netsuite"]
    assert external["traced to"].tolist() == ["external record in netsuite"]


def test_a_dangling_or_foreign_reference_is_flagged(readers):
    message = Message.model_validate(
        make_message(
            1,
            references=[
                {"source": "salestalk-metrics", "sourceId": "acme-corp-001:revenue:2019-Q1"},
                {"source": "salestalk-metrics", "sourceId": "techstart-inc-002:arr:2025-Q4"},
            ],
        )
    )
    traced = dataframes.trace_references(readers[ACME], [message])
    assert traced["found"].tolist() == [False, False]
    assert traced["traced to"].iloc[0] == "MISSING: no such metric is stored"
    assert traced["traced to"].iloc[1].startswith("refused: ")


def test_intent_summary_and_message_frame(readers):
    messages = readers[TECHSTART].session_messages("sess-ts-2026-01-19-a")
    frame = dataframes.messages_frame(messages)
    assert frame["time"].is_monotonic_increasing
    summary = dataframes.intent_summary(frame)
    assert summary.to_dict("records")[0] == {
        "intent": "arr_inquiry", "messages": 2, "mean confidence": pytest.approx(0.915),
        "lowest confidence": 0.9,
    }  # fmt: skip
    figure = plots.plot_confidence(frame, "x")
    assert figure.axes[0].get_xlabel() == "classification confidence (0-1)"


def test_a_session_reads_as_a_conversation(readers):
    messages = readers[TECHSTART].session_messages("sess-ts-2026-01-19-a")
    frame = dataframes.messages_frame(messages)
    html = dataframes.conversation_view(frame).to_html()
    for message in messages:
        assert message.content.replace("&", "&amp;") in html  # every word of it, not cut
    assert "text-align: left" in html and "white-space: pre-line" in html
    assert "None" not in html and "nan" not in html.lower()
    assert "2026-01-19 " in html  # a date, not an epoch


def test_the_confidence_histogram_counts_whole_messages(readers):
    messages = readers[TECHSTART].session_messages("sess-ts-2026-01-19-a")
    figure = plots.plot_confidence(dataframes.messages_frame(messages), "x")
    ticks = figure.axes[0].get_yticks()
    assert all(float(t).is_integer() for t in ticks)


def test_a_small_change_is_drawn_from_zero(readers):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "subject": ["ratio_kpi"] * 2,
            "dimension": ["", ""],
            "unit": ["ratio"] * 2,
            "period": ["2025-Q3", "2025-Q4"],
            "value": [2.1, 1.8],
        }
    )
    axis = plots.plot_series(frame, ["ratio_kpi"], "x").axes[0]
    assert axis.get_ylim()[0] == 0
