"""The notebooks' figures: one function per chart, drawn from the frames of `dataframes`.

Kept apart from the frames so that a script or test that only needs tables never imports
matplotlib; every figure labels its axes with the metric's unit and never shows an offset.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ingestion.notebook_support.dataframes import (
    PEER_HIGH,
    PEER_LOW,
    PEER_MEDIAN,
    Comparison,
    unit_label,
)


def _readable_numbers(axis) -> None:
    """Plain numbers with thousands separators (14,100,000), never an offset like 1e7."""
    from matplotlib.ticker import FuncFormatter

    axis.yaxis.set_major_formatter(
        FuncFormatter(lambda x, _: f"{x:,.0f}" if abs(x) >= 1000 else f"{x:g}")
    )


def _from_zero(axis, values: pd.Series) -> None:
    """A series of one sign is drawn from zero: a fall from 2.1 to 1.8 then looks like the
    14% it is, not like a collapse to the bottom of an auto-scaled panel."""
    if len(values) and values.min() >= 0:
        axis.set_ylim(bottom=0, top=values.max() * 1.1 or 1)
    elif len(values) and values.max() <= 0:
        axis.set_ylim(top=0, bottom=values.min() * 1.1)


def plot_series(frame: pd.DataFrame, subjects: Sequence[str], title: str):
    """One panel per subject with a total (units differ between subjects), periods on the x
    axis; a subject kept only per dimension is drawn by `plot_breakdown` instead."""
    import matplotlib.pyplot as plt

    totals = frame[frame["dimension"] == ""]
    subjects = [s for s in subjects if not totals[totals["subject"] == s].empty]
    figure, axes = plt.subplots(
        1, max(1, len(subjects)), figsize=(4.5 * max(1, len(subjects)), 3.6), squeeze=False
    )
    for axis, subject in zip(axes[0], subjects, strict=False):
        rows = frame[(frame["subject"] == subject) & (frame["dimension"] == "")]
        unit = unit_label(rows["unit"].iloc[0])
        axis.plot(rows["period"], rows["value"], marker="o")
        axis.set_title(f"{subject.replace('_', ' ')}")
        axis.set_xlabel("period")
        axis.set_ylabel(f"{subject.replace('_', ' ')} ({unit})")
        axis.grid(alpha=0.3)
        _from_zero(axis, rows["value"])
        _readable_numbers(axis)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_comparison(comparison: Comparison, subject: str, unit: str):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6))
    comparison.table.plot(ax=axis, marker="o")
    axis.set_title(f"{subject.replace('_', ' ')} by tenant")
    axis.set_xlabel("period")
    axis.set_ylabel(f"{subject.replace('_', ' ')} ({unit_label(unit)})")
    axis.grid(alpha=0.3)
    _from_zero(axis, comparison.table.stack())
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


def plot_peer_comparison(comparison: Comparison, tenant_id: str, subject: str, unit: str):
    """The tenant's series as a line, its anonymous peers as their median (dashed) and middle
    half (a band): no other tenant's own series is drawn."""
    import matplotlib.pyplot as plt

    table = comparison.table
    positions = range(len(table.index))
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.fill_between(
        positions,
        table[PEER_LOW].astype(float),
        table[PEER_HIGH].astype(float),
        alpha=0.2,
        label="peers, middle half",
    )
    axis.plot(positions, table[PEER_MEDIAN].astype(float), linestyle="--", label=PEER_MEDIAN)
    axis.plot(positions, table[tenant_id], marker="o", label=tenant_id)
    axis.set_xticks(list(positions), list(table.index))
    axis.set_title(f"{subject.replace('_', ' ')}: {tenant_id} and its peers")
    axis.set_xlabel("period")
    axis.set_ylabel(f"{subject.replace('_', ' ')} ({unit_label(unit)})")
    axis.grid(alpha=0.3)
    axis.legend()
    _from_zero(axis, table[[tenant_id, PEER_LOW, PEER_HIGH]].stack())
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


def plot_breakdown(frame: pd.DataFrame, subject: str, period: str):
    import matplotlib.pyplot as plt

    rows = frame[(frame["subject"] == subject) & (frame["period"] == period)]
    rows = rows[rows["dimension"] != ""]
    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.bar(rows["dimension"], rows["value"])
    unit = unit_label(rows["unit"].iloc[0]) if not rows.empty else ""
    axis.set_title(f"{subject.replace('_', ' ')} by dimension, {period}")
    axis.set_xlabel("dimension")
    axis.set_ylabel(f"{subject.replace('_', ' ')} ({unit})")
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


def plot_confidence(frame: pd.DataFrame, title: str):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axis = plt.subplots(figsize=(6, 3.6))
    axis.hist(frame["confidence"], bins=[i / 10 for i in range(11)], edgecolor="white")
    axis.set_title(title)
    axis.set_xlabel("classification confidence (0-1)")
    axis.set_ylabel("messages (count)")
    axis.set_xlim(0, 1)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole messages, never 0.25
    figure.tight_layout()
    return figure
