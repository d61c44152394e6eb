"""The sections of the metrics notebook, each drawn for one choice of tenant and metric.

Each section displays its own tables and figures, so that the same function draws a headless
report's section once and redraws a JupyterLab section whenever the analyst picks another
tenant or metric (`pickers`). The tables come from `dataframes`, the figures from `plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from ingestion.notebook_support import dataframes, plots
from ingestion.notebook_support.readable_tables import note, show
from ingestion.notebook_support.workspace import Workspace
from ingestion.reading.queries import TenantReader
from ingestion.reading.suggestions import unknown_name


@dataclass
class MetricsChoice:
    """What the analyst is looking at: a tenant, the metric to focus on (None: the tenant's
    headline) and optionally the subjects to show (None: the headline and the series with
    most figures, `dataframes.MAX_SHOWN_SERIES` of them). `name_peers` names the other
    tenants in the comparison: for SalesTalk's own analysts, never for a report a customer
    may see (by default the peers are anonymous)."""

    workspace: Workspace
    tenant_id: str
    metric: str | None = None
    subjects: Sequence[str] | None = None
    name_peers: bool = False

    def refocus(self, metric: str | None, subjects: Sequence[str] | None = None) -> MetricsChoice:
        """The same tenant with another focus, keeping the metrics already read."""
        choice = MetricsChoice(
            self.workspace, self.tenant_id, metric, subjects, name_peers=self.name_peers
        )
        for read in ("reader", "metrics"):
            if read in self.__dict__:
                choice.__dict__[read] = self.__dict__[read]
        return choice

    @cached_property
    def reader(self) -> TenantReader:
        """The tenant's reader: it also keeps the items it skipped as not the tenant's."""
        return self.workspace.reader(self.tenant_id)

    @cached_property
    def metrics(self) -> pd.DataFrame:
        return dataframes.metrics_frame(self.reader.all_metrics())

    @cached_property
    def known_subjects(self) -> list[str]:
        return sorted(set(self.metrics["subject"]))

    @property
    def focus(self) -> str | None:
        return self.metric or dataframes.headline_subject(self.metrics)

    @cached_property
    def shown(self) -> list[str]:
        return dataframes.focus_subjects(self.metrics, self.focus, self.subjects)

    @property
    def shown_metrics(self) -> pd.DataFrame:
        return self.metrics[self.metrics["subject"].isin(self.shown)]


def overview(choice: MetricsChoice) -> None:
    metrics = choice.metrics
    if metrics.empty:
        note(f"{choice.tenant_id} has no metrics yet")
        return
    newest = metrics.sort_values("period_start")["period"].iloc[-1]
    note(
        f"{choice.tenant_id}: {len(metrics):,} figures of {len(choice.known_subjects):,} "
        f"subjects; newest period {newest}"
    )
    if choice.reader.refused:
        note(f"note: {choice.reader.refused.summary()}")
    if choice.metric and choice.metric not in choice.known_subjects:
        note(unknown_name(f"subject of {choice.tenant_id}", choice.metric, choice.known_subjects))
    missing = [s for s in choice.subjects or () if s not in choice.known_subjects]
    for subject in missing:
        note(unknown_name(f"subject of {choice.tenant_id}", subject, choice.known_subjects))
    hidden = len(choice.known_subjects) - len(choice.shown)
    note(
        f"shown: {', '.join(choice.shown)}"
        + (f" (and {hidden:,} more, listed by metric type below)" if hidden > 0 else "")
    )


def summary(choice: MetricsChoice) -> None:
    table = dataframes.headline_summary(choice.metrics)
    if table.empty:
        note(
            f"{choice.tenant_id} reports none of the headline metrics "
            f"({', '.join(dataframes.HEADLINE_SUBJECTS)})"
        )
    else:
        show(table)


def catalogue(choice: MetricsChoice) -> None:
    show(dataframes.subjects_by_type(choice.metrics))


def time_series(choice: MetricsChoice) -> None:
    table = dataframes.series_table(choice.metrics, choice.shown)
    if table.empty:
        note("none of the shown subjects has a series without a dimension")
    else:
        show(table)
    focus = choice.focus
    if focus in choice.known_subjects:
        show(plots.plot_series(choice.metrics, [focus], f"{choice.tenant_id}: {focus} by period"))
    others = [s for s in choice.shown if s != focus][: dataframes.MAX_SHOWN_SERIES // 2]
    if others:
        title = f"{choice.tenant_id}: other series by period"
        show(plots.plot_series(choice.metrics, others, title))


def comparison(choice: MetricsChoice) -> None:
    """The focused metric and the headline subjects against the other tenants of the roster,
    where they report it in the same unit: anonymous peers (median and middle half), or, with
    `name_peers`, each tenant by name."""
    others = {
        t: dataframes.metrics_frame(choice.workspace.reader(t).all_metrics())
        for t in choice.workspace.settings.roster.ids
        if t != choice.tenant_id
    }
    subjects = [choice.focus, *dataframes.HEADLINE_SUBJECTS[:3]]
    for subject in [s for s in dict.fromkeys(subjects) if s in choice.known_subjects]:
        unit = choice.metrics.loc[choice.metrics["subject"] == subject, "unit"].iloc[0]
        if choice.name_peers:
            compared = dataframes.compare_tenants(
                {choice.tenant_id: choice.metrics, **others}, subject
            )
        else:
            compared = dataframes.compare_with_peers(
                choice.tenant_id, choice.metrics, others, subject
            )
        note(compared.note)
        if not compared.comparable:
            continue
        show(compared.table)
        if choice.name_peers:
            show(plots.plot_comparison(compared, subject, unit))
        else:
            show(plots.plot_peer_comparison(compared, choice.tenant_id, subject, unit))


BREAKDOWN_PERIODS = 4


def breakdown(choice: MetricsChoice) -> None:
    """The shown subjects' dimensioned figures over their newest periods: a table, and a bar
    chart of each one's newest period (not one per period: a large tenant would get hundreds)."""
    table = dataframes.dimension_breakdown(choice.shown_metrics, newest_periods=BREAKDOWN_PERIODS)
    if table.empty:
        note("none of the shown subjects is reported per dimension")
        return
    show(table)
    for subject in dict.fromkeys(table.index.get_level_values("subject")):
        rows = choice.shown_metrics[
            (choice.shown_metrics["subject"] == subject) & (choice.shown_metrics["dimension"] != "")
        ]
        newest = rows.sort_values("period_start")["period"].iloc[-1]
        show(plots.plot_breakdown(choice.metrics, subject, newest))


def provenance(choice: MetricsChoice) -> None:
    show(dataframes.provenance(choice.shown_metrics))
