"""The notebooks' tables: pandas frames of metrics and messages, comparisons and provenance.

Notebooks stay thin: every table they show comes from a function here and every figure from
`plots`, so the logic is tested once and reused by any notebook or script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from ingestion.notebook_support.readable_tables import readable
from ingestion.reading.queries import CrossTenantAccessError, TenantReader
from ingestion.records.contracts import (
    METRICS_REFERENCE_SOURCE,
    Message,
    Metric,
    period_granularity,
)

UNIT_LABELS = {"percent": "%", "count": "count", "ratio": "ratio", "score": "score"}


def period_start(period: str) -> date:
    """The first day of a period: 2025-Q3 -> 2025-07-01."""
    granularity = period_granularity(period)
    year = int(period[:4])
    if granularity == "year":
        return date(year, 1, 1)
    if granularity == "quarter":
        return date(year, 3 * (int(period[-1]) - 1) + 1, 1)
    if granularity == "month":
        return date(year, int(period[5:7]), 1)
    return date.fromisoformat(period)


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def metrics_frame(metrics: Iterable[Metric]) -> pd.DataFrame:
    """Metrics as rows; `value` is a float for analysis, `exact` keeps the stored Decimal."""
    rows = [
        {
            "tenant": m.tenant_id,
            "subject": m.subject,
            "period": m.period,
            "period_start": pd.Timestamp(period_start(m.period)),
            "granularity": m.granularity,
            "metric_type": m.metric_type,
            "dimension": m.dimension or "",
            "value": float(m.value),
            "exact": m.value,
            "unit": m.unit,
            "confidence": float(m.confidence),
            "source": m.source,
            "source_id": m.source_id,
        }
        for m in metrics
    ]
    columns = [
        "tenant", "subject", "period", "period_start", "granularity", "metric_type",
        "dimension", "value", "exact", "unit", "confidence", "source", "source_id",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["subject", "dimension", "period_start"], ignore_index=True)


def series_table(frame: pd.DataFrame, subjects: Sequence[str] | None = None) -> pd.DataFrame:
    """Period x subject for the undimensioned series (totals), labelled with their units."""
    totals = frame[frame["dimension"] == ""]
    if subjects:
        totals = totals[totals["subject"].isin(subjects)]
    totals = totals.assign(series=totals["subject"] + " (" + totals["unit"].map(unit_label) + ")")
    table = totals.pivot_table(index="period", columns="series", values="value", aggfunc="first")
    return table.reindex(sorted(table.index, key=lambda p: (period_start(p), p)))  # in time


# The subjects a report leads with, most telling first: a subscription business is read by its
# ARR before its revenue. A tenant's headline is the first of these it reports.
HEADLINE_SUBJECTS = ("arr", "revenue", "margin", "churn", "renewal_rate", "customers")


def headline_subject(frame: pd.DataFrame) -> str | None:
    """The subject a tenant's report centres on: its first headline subject, else any."""
    subjects = set(frame["subject"])
    return next((s for s in HEADLINE_SUBJECTS if s in subjects), min(subjects, default=None))


def headline_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """The latest value of each headline metric (its total, at its finest granularity) and
    its change since the period before: what a report says first."""
    rows = []
    totals = frame[frame["dimension"] == ""]
    for subject in [s for s in HEADLINE_SUBJECTS if s in set(totals["subject"])]:
        series = totals[totals["subject"] == subject]
        finest = series[series["granularity"] == _finest(series["granularity"])]
        finest = finest.sort_values("period_start")
        latest = finest.iloc[-1]
        previous = finest.iloc[-2] if len(finest) > 1 else None
        change = None if previous is None else latest["value"] - previous["value"]
        relative = None
        if previous is not None and previous["value"]:
            relative = change / abs(previous["value"])
        rows.append(
            {
                "metric": subject,
                "period": latest["period"],
                "value": format_value(latest["value"], latest["unit"]),
                "change": "" if change is None else _signed(change, latest["unit"], relative),
                "since": "" if previous is None else previous["period"],
            }
        )
    return pd.DataFrame(rows, columns=["metric", "period", "value", "change", "since"])


# How many series a report shows at once: a tenant with 1,000 subjects gets its headline and
# the series with most figures, not a 1,000-column table; the rest are listed by metric type
# and any of them can be chosen.
MAX_SHOWN_SERIES = 8


def focus_subjects(
    frame: pd.DataFrame,
    metric: str | None = None,
    chosen: Sequence[str] | None = None,
    limit: int = MAX_SHOWN_SERIES,
) -> list[str]:
    """The subjects a report shows: the chosen ones (those the tenant has), else the focused
    metric, the headline subjects, then the series with most figures, up to `limit`."""
    known = set(frame["subject"])
    if chosen:
        return [s for s in dict.fromkeys(chosen) if s in known]
    figures = frame["subject"].value_counts()
    ranked = [metric, *HEADLINE_SUBJECTS, *sorted(figures.index, key=lambda s: (-figures[s], s))]
    return [s for s in dict.fromkeys(ranked) if s in known][:limit]


def subjects_by_type(frame: pd.DataFrame, examples: int = 6) -> pd.DataFrame:
    """The tenant's subjects grouped by metric type: how many, how many figures, the newest
    period and the first names, so that a large tenant is an index, not a wall of names."""
    rows = []
    for metric_type, group in frame.groupby("metric_type", sort=True):
        names = sorted(set(group["subject"]))
        listed = ", ".join(names[:examples])
        if len(names) > examples:
            listed += f", \u2026 and {len(names) - examples:,} more"
        rows.append(
            {
                "metric type": metric_type,
                "subjects": len(names),
                "figures": len(group),
                "newest period": group.sort_values("period_start")["period"].iloc[-1],
                "subjects (first by name)": listed,
            }
        )
    columns = ["metric type", "subjects", "figures", "newest period", "subjects (first by name)"]
    return pd.DataFrame(rows, columns=columns)


def _finest(granularities: pd.Series) -> str:
    present = set(granularities)
    return next(g for g in ("day", "month", "quarter", "year") if g in present)


def format_value(value: float, unit: str) -> str:
    """A figure as people write it: 12,500,000 USD, 94.5%, 1,204 (never 12500000.0)."""
    if unit == "percent":
        return f"{value:,.1f}%"
    text = f"{value:,.0f}" if abs(value) >= 1000 or float(value).is_integer() else f"{value:,.2f}"
    label = unit_label(unit)
    return text if label in ("count", "score", "ratio") else f"{text} {label}"


def _signed(change: float, unit: str, relative: float | None) -> str:
    sign = "+" if change >= 0 else "\u2212"  # a minus sign, as print has it
    if unit == "percent":
        return f"{sign}{abs(change):,.1f} pts"
    text = format_value(abs(change), unit)
    return f"{sign}{text}" + (f" ({sign}{abs(relative):.1%})" if relative is not None else "")


def dimension_breakdown(frame: pd.DataFrame, newest_periods: int | None = None) -> pd.DataFrame:
    """Dimensioned metrics: one row per subject and period, one column per dimension value;
    with `newest_periods`, only each subject's newest periods (ten years of months is not a
    table anyone reads)."""
    dimensioned = frame[frame["dimension"] != ""]
    if newest_periods is not None and not dimensioned.empty:
        starts = dimensioned.groupby("subject")["period_start"].transform(
            lambda s: s.isin(sorted(set(s))[-newest_periods:])
        )
        dimensioned = dimensioned[starts.astype(bool)]
    return dimensioned.pivot_table(
        index=["subject", "period", "unit"], columns="dimension", values="value", aggfunc="first"
    )


def provenance(frame: pd.DataFrame) -> pd.DataFrame:
    """Where each figure came from and how sure the source is of it."""
    columns = ["subject", "period", "dimension", "value", "unit", "confidence", "source"]
    return frame[[*columns, "source_id"]].rename(columns={"source_id": "source id"})


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame  # period x tenant
    comparable: bool
    note: str


def compare_tenants(frames: Mapping[str, pd.DataFrame], subject: str) -> Comparison:
    """One subject side by side for several tenants, and whether the figures are comparable."""
    parts = []
    units = {}
    for tenant, frame in frames.items():
        rows = frame[(frame["subject"] == subject) & (frame["dimension"] == "")]
        if not rows.empty:
            units[tenant] = sorted(set(rows["unit"]))
            parts.append(rows.assign(tenant=tenant))
    if not parts:
        return Comparison(pd.DataFrame(), False, f"no tenant has a {subject!r} series")
    table = pd.concat(parts).pivot_table(
        index="period", columns="tenant", values="value", aggfunc="first"
    )
    distinct = {unit for tenant_units in units.values() for unit in tenant_units}
    if len(units) < 2:
        note = f"only {', '.join(units)} reports {subject!r}: nothing to compare"
        return Comparison(table, False, note)
    if len(distinct) > 1:
        listed = " vs ".join(f"{t}: {'/'.join(u)}" for t, u in units.items())
        note = (
            f"{subject} is reported in different units ({listed}); the figures are not "
            "comparable without a conversion (an exchange rate for currencies), so they are "
            "not put side by side"
        )
        return Comparison(pd.DataFrame(), False, note)
    return Comparison(table, True, f"{subject} in {distinct.pop()} for every tenant: comparable")


# A peer figure is shown only where at least this many other tenants make it: below that, a
# median or a quartile could be one tenant's own figure, or let a reader work it out.
MIN_PEERS = 3
PEER_MEDIAN, PEER_LOW, PEER_HIGH, PEER_COUNT = (
    "peer median",
    "peer 25th percentile",
    "peer 75th percentile",
    "peers",
)


def compare_with_peers(
    tenant_id: str,
    own: pd.DataFrame,
    others: Mapping[str, pd.DataFrame],
    subject: str,
    min_peers: int = MIN_PEERS,
) -> Comparison:
    """The tenant's series of `subject` beside its anonymous peers: per period, the median and
    the middle half (25th to 75th percentile) of the other tenants that report it in the same
    unit, and how many they are. No other tenant is named, and a period with fewer than
    `min_peers` of them shows no peer figure at all."""
    mine = own[(own["subject"] == subject) & (own["dimension"] == "")]
    if mine.empty:
        return Comparison(pd.DataFrame(), False, f"{tenant_id} has no {subject!r} series")
    unit = sorted(set(mine["unit"]))[0]
    peers, other_units = [], 0
    for frame in others.values():
        rows = frame[(frame["subject"] == subject) & (frame["dimension"] == "")]
        if rows.empty:
            continue
        if set(rows["unit"]) == {unit}:
            peers.append(rows)
        else:
            other_units += 1
    left_out = (
        f"; {other_units} other tenants report it in another unit and are left out (no "
        "conversion is assumed)"
        if other_units > 1
        else "; 1 other tenant reports it in another unit and is left out (no conversion is "
        "assumed)"
        if other_units
        else ""
    )
    series = mine.sort_values("period_start").set_index("period")["value"].astype(float)
    if not peers:
        note = f"no other tenant reports {subject} in {unit}: nothing to compare{left_out}"
        return Comparison(pd.DataFrame(), False, note)
    values = (
        pd.concat(peers)
        .pivot_table(index="period", columns="tenant", values="value", aggfunc="first")
        .astype(float)
    )
    values = values.reindex(series.index)
    counts = values.notna().sum(axis=1)
    enough = counts >= min_peers
    table = pd.DataFrame(
        {
            tenant_id: series,
            PEER_MEDIAN: values.median(axis=1).where(enough),
            PEER_LOW: values.quantile(0.25, axis=1).where(enough),
            PEER_HIGH: values.quantile(0.75, axis=1).where(enough),
            PEER_COUNT: counts.where(enough).astype("Int64"),
        }
    )
    if not enough.any():
        note = (
            f"fewer than {min_peers} other tenants report {subject} in {unit}: no peer figures "
            f"are shown, as they would be one tenant's own{left_out}"
        )
        return Comparison(pd.DataFrame(), False, note)
    most = int(counts[enough].max())
    note = (
        f"{subject} in {unit}: {tenant_id} beside the median and middle half of up to {most} "
        f"other tenants reporting it in {unit} (not named; a period with fewer than "
        f"{min_peers} of them shows none){left_out}"
    )
    return Comparison(table, True, note)


# --- conversations ---------------------------------------------------------------------------


def messages_frame(messages: Iterable[Message]) -> pd.DataFrame:
    rows = [
        {
            "session": m.session_id,
            "time": pd.Timestamp(m.timestamp, unit="s", tz="UTC"),
            "sender": m.sender_id,
            "message": m.message_id,
            "intent": m.classification.intent,
            "confidence": float(m.classification.confidence),
            "references": len(m.references),
            "content": m.content,
        }
        for m in messages
    ]
    columns = [
        "session", "time", "sender", "message", "intent", "confidence", "references", "content"
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).sort_values(["session", "time"], ignore_index=True)


def conversation_view(frame: pd.DataFrame):
    """One session's messages as a conversation to read: who said what and when (to the
    second: replies come seconds apart), the whole text, the intent with its confidence, and
    how many references a message cites (blank for none), laid out as every table is
    (`readable_tables`)."""
    rows = frame.assign(
        time=frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        intent=frame["intent"] + " (" + frame["confidence"].map("{:.0%}".format) + ")",
    )[["time", "sender", "content", "intent", "references"]]
    return readable(rows, nowrap=["time", "sender", "intent"]).format(
        lambda n: f"{n:,}" if n else "", subset=["references"]
    )


def intent_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per intent: how many messages, and their mean and lowest classification confidence."""
    summary = frame.groupby("intent")["confidence"].agg(
        **{"messages": "count", "mean confidence": "mean", "lowest confidence": "min"}
    )
    return summary.sort_values("messages", ascending=False, kind="stable").reset_index()


def trace_references(reader: TenantReader, messages: Iterable[Message]) -> pd.DataFrame:
    """Every reference of every message, traced back to its source.

    References to the platform's own metrics are looked up and shown with the figure they
    point at (or flagged when it is missing); other references name the external system of
    record and the id to look up there.
    """
    rows = []
    for message in messages:
        for reference in message.references:
            row = {
                "message": message.message_id,
                "source": reference.source,
                "source id": reference.source_id,
                "title": reference.title or "",
            }
            if reference.source == METRICS_REFERENCE_SOURCE:
                try:
                    metric = reader.metric(reference.source_id)
                except (CrossTenantAccessError, ValueError) as exc:
                    metric, row["traced to"] = None, f"refused: {exc}"
                if metric is not None:
                    row["traced to"] = (
                        f"{metric.subject} {metric.period}"
                        + (f" [{metric.dimension}]" if metric.dimension else "")
                        + f" = {format_value(float(metric.value), metric.unit)} "
                        f"(from {metric.source} {metric.source_id}, "
                        f"confidence {metric.confidence})"
                    )
                    row["found"] = True
                else:
                    row.setdefault("traced to", "MISSING: no such metric is stored")
                    row["found"] = False
            else:
                row["traced to"] = f"external record in {reference.source}"
                row["found"] = None
            rows.append(row)
    columns = ["message", "source", "source id", "title", "traced to", "found"]
    return pd.DataFrame(rows, columns=columns)
