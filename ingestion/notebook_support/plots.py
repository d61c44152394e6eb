"""The notebooks' figures: one function per chart, drawn from the frames of `dataframes`.

Kept apart from the frames so that a script or test that only needs tables never imports
matplotlib; every figure labels its axes with the metric's unit and never shows an offset.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ingestion.notebook_support.dataframes import (
    PEER_HIGH,
    PEER_LOW,
    PEER_MEDIAN,
    Comparison,
    unit_label,
)

STYLE = Path(__file__).with_name("salestalk.mplstyle")


def styled(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Draw the figure with the project's style sheet (`salestalk.mplstyle`), whatever the
    kernel's own matplotlib settings."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any):
        import matplotlib.pyplot as plt

        with plt.style.context(STYLE):
            return draw(*args, **kwargs)

    return drawn


def compact(value: float) -> str:
    """An axis number as people say it: 14.1M, 950k, 2.5, never 14,100,000 or an offset."""
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _readable_numbers(axis) -> None:
    """Compact numbers on the value axis (14.1M), never an offset like 1e7."""
    from matplotlib.ticker import FuncFormatter

    axis.yaxis.set_major_formatter(FuncFormatter(lambda x, _: compact(x)))


def dimension_label(dimension: str) -> str:
    """`region:canada` as a reader says it: Canada (its kind, region, goes on the axis)."""
    value = dimension.split(":", 1)[-1].replace("_", " ")
    return value.upper() if len(value) <= 4 else value.title()


def dimension_kind(dimensions) -> str:
    kinds = {d.split(":", 1)[0] for d in dimensions if ":" in d}
    return kinds.pop() if len(kinds) == 1 else "dimension"


def _from_zero(axis, values: pd.Series) -> None:
    """A series of one sign is drawn from zero: a fall from 2.1 to 1.8 then looks like the
    14% it is, not like a collapse to the bottom of an auto-scaled panel."""
    if len(values) and values.min() >= 0:
        axis.set_ylim(bottom=0, top=values.max() * 1.1 or 1)
    elif len(values) and values.max() <= 0:
        axis.set_ylim(top=0, bottom=values.min() * 1.1)


@styled
def plot_series(frame: pd.DataFrame, subjects: Sequence[str], title: str):
    """One panel per subject with a total (units differ between subjects), periods on the x
    axis; a subject kept only per dimension is drawn by `plot_breakdown` instead. One panel
    carries the figure's title alone (never the subject twice); a series of one period is a
    labelled bar, not a lone dot in an empty chart."""
    import matplotlib.pyplot as plt

    totals = frame[frame["dimension"] == ""]
    subjects = [s for s in subjects if not totals[totals["subject"] == s].empty]
    panels = max(1, len(subjects))
    width = plt.rcParams["figure.figsize"][0]
    figure, axes = plt.subplots(
        1, panels, figsize=(max(width, 4.2 * panels), plt.rcParams["figure.figsize"][1]),
        squeeze=False,
    )  # fmt: skip
    for axis, subject in zip(axes[0], subjects, strict=False):
        rows = frame[(frame["subject"] == subject) & (frame["dimension"] == "")]
        unit = unit_label(rows["unit"].iloc[0])
        if len(rows) == 1:
            _single(axis, rows["period"].iloc[0], float(rows["value"].iloc[0]))
        else:
            axis.plot(rows["period"], rows["value"], marker="o")
        if panels > 1:
            axis.set_title(subject.replace("_", " "))
        axis.set_xlabel("period")
        axis.set_ylabel(unit)
        _from_zero(axis, rows["value"])
        _readable_numbers(axis)
    figure.suptitle(title, x=0.01, ha="left")
    figure.tight_layout()
    return figure


def _single(axis, label: str, value: float) -> None:
    axis.bar([label], [value], width=0.35)
    axis.annotate(compact(value), (0, value), ha="center", va="bottom", xytext=(0, 3),
                  textcoords="offset points")  # fmt: skip
    axis.set_xlim(-1, 1)


@styled
def plot_comparison(comparison: Comparison, subject: str, unit: str):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    comparison.table.plot(ax=axis, marker="o")
    axis.set_title(f"{subject.replace('_', ' ')} by tenant")
    axis.set_xlabel("period")
    axis.set_ylabel(unit_label(unit))
    _from_zero(axis, comparison.table.stack())
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


@styled
def plot_peer_comparison(comparison: Comparison, tenant_id: str, subject: str, unit: str):
    """The tenant's series as a line, its anonymous peers as their median (dashed) and middle
    half (a band): no other tenant's own series is drawn."""
    import matplotlib.pyplot as plt

    table = comparison.table
    positions = range(len(table.index))
    figure, axis = plt.subplots()
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
    axis.set_ylabel(unit_label(unit))
    axis.legend()
    _from_zero(axis, table[[tenant_id, PEER_LOW, PEER_HIGH]].stack())
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


@styled
def plot_breakdown(frame: pd.DataFrame, subject: str, period: str):
    import matplotlib.pyplot as plt

    rows = frame[(frame["subject"] == subject) & (frame["period"] == period)]
    rows = rows[rows["dimension"] != ""]
    figure, axis = plt.subplots()
    axis.bar([dimension_label(d) for d in rows["dimension"]], rows["value"], width=0.6)
    unit = unit_label(rows["unit"].iloc[0]) if not rows.empty else ""
    axis.set_title(f"{subject.replace('_', ' ')} by {dimension_kind(rows['dimension'])}, {period}")
    axis.set_xlabel(dimension_kind(rows["dimension"]))
    axis.set_ylabel(unit)
    _readable_numbers(axis)
    figure.tight_layout()
    return figure


# Below this many messages a histogram is a few bars of one: each message is a dot instead.
HISTOGRAM_FROM = 20


@styled
def plot_confidence(frame: pd.DataFrame, title: str):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axis = plt.subplots(figsize=(plt.rcParams["figure.figsize"][0], 3))
    values = frame["confidence"].astype(float)
    if len(values) < HISTOGRAM_FROM:
        axis.scatter(values, [0] * len(values), s=80, alpha=0.7)
        for value in values:
            axis.annotate(f"{value:.2f}", (value, 0), ha="center", va="bottom",
                          xytext=(0, 8), textcoords="offset points", fontsize=9)  # fmt: skip
        axis.set_yticks([])
        axis.grid(False)
        axis.set_ylabel(f"{len(values)} messages")
    else:
        axis.hist(values, bins=[i / 10 for i in range(11)], edgecolor="white")
        axis.set_ylabel("messages")
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole messages, never 0.25
    axis.set_title(title)
    axis.set_xlabel("classification confidence (0-1)")
    axis.set_xlim(0, 1)
    figure.tight_layout()
    return figure
