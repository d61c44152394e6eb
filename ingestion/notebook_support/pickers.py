"""Picking the tenant and the metric in JupyterLab, without editing code (ipywidgets).

A notebook builds one picker from its papermill parameters and draws every section through
it (`picker.show(section)`). In JupyterLab the picker shows dropdowns and each section sits in
an output area that is redrawn when the analyst picks another tenant or metric. Run headless
(papermill, `salestalk up`), nothing is interactive: the picker shows nothing and each section
is drawn once into the cell, from the parameters, as plain outputs a report can hold (widget
outputs would need the widget library's JavaScript, which a static report does not load).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ingestion.notebook_support.conversation_sections import ConversationsChoice
from ingestion.notebook_support.metric_sections import MetricsChoice
from ingestion.notebook_support.workspace import Workspace

# Set by Jupyter's server in the environment of every kernel it starts (papermill and
# nbclient do not): the sign that someone is there to pick.
JUPYTER_SESSION_ENV = "JPY_SESSION_NAME"
PICKABLE_SESSIONS = 500  # sessions a list offers: the newest the bounded read found


def interactive_default(interactive: bool | None) -> bool:
    """The notebooks' `interactive` parameter: None means "when run in Jupyter"."""
    if interactive is not None:
        return interactive
    if not os.environ.get(JUPYTER_SESSION_ENV):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class Picker:
    """Controls and the sections they redraw. `choose` turns the controls' values into a
    choice; `controls` are the widgets, None when headless."""

    def __init__(self, choice: Any, controls: Sequence[Any] | None = None) -> None:
        self.choice = choice
        self.controls = list(controls or [])
        self._sections: list[tuple[Callable[[Any], None], Any]] = []

    @property
    def interactive(self) -> bool:
        return bool(self.controls)

    def show(self, section: Callable[[Any], None]) -> None:
        """Draw a section for the current choice, and again at every pick."""
        if not self.interactive:
            section(self.choice)
            return
        import ipywidgets
        from IPython.display import display

        area = ipywidgets.Output()
        self._sections.append((section, area))
        self._draw(section, area)
        display(area)

    def redraw(self, choice: Any) -> None:
        self.choice = choice
        for section, area in self._sections:
            self._draw(section, area)

    def _draw(self, section: Callable[[Any], None], area: Any) -> None:
        area.clear_output(wait=True)
        with area:
            try:
                section(self.choice)
            except Exception:  # shown where the analyst looks, not in the browser console
                traceback.print_exc()

    def _ipython_display_(self) -> None:
        if self.interactive:
            import ipywidgets
            from IPython.display import display

            display(ipywidgets.HBox(self.controls))


def metrics_picker(
    workspace: Workspace,
    tenant_id: str,
    metric: str | None = None,
    subjects: Sequence[str] | None = None,
    interactive: bool | None = None,
    name_peers: bool = False,
) -> Picker:
    """Tenant, metric and the series shown, starting from the notebook's parameters."""
    choice = MetricsChoice(workspace, tenant_id, metric, subjects, name_peers=name_peers)
    if not interactive_default(interactive):
        return Picker(choice)
    import ipywidgets

    tenant = ipywidgets.Dropdown(
        options=list(workspace.settings.roster.ids), value=tenant_id, description="tenant"
    )
    focus = ipywidgets.Dropdown(description="metric")
    shown = ipywidgets.SelectMultiple(description="series", rows=6)
    picker = Picker(choice, [tenant, focus, shown])
    updating = []  # set while the controls are refilled, so that refilling is not a pick

    def refill(current: MetricsChoice) -> None:
        updating.append(True)
        try:
            focus.options = current.known_subjects
            focus.value = current.focus if current.focus in current.known_subjects else None
            shown.options = current.known_subjects
            shown.value = tuple(current.shown)
        finally:
            updating.pop()

    def on_tenant(change) -> None:
        current = MetricsChoice(workspace, change["new"], name_peers=name_peers)
        refill(current)
        picker.redraw(current)

    def on_focus(change) -> None:
        if not updating and change["new"] is not None:
            current = picker.choice.refocus(change["new"])
            refill(current)
            picker.redraw(current)

    def on_shown(change) -> None:
        if not updating and change["new"]:
            picker.redraw(picker.choice.refocus(picker.choice.metric, list(change["new"])))

    refill(choice)
    tenant.observe(on_tenant, names="value")
    focus.observe(on_focus, names="value")
    shown.observe(on_shown, names="value")
    return picker


def conversations_picker(
    workspace: Workspace,
    tenant_id: str,
    sessions: Sequence[str] | None = None,
    interactive: bool | None = None,
) -> Picker:
    """Tenant and sessions, starting from the notebook's parameters: the newest sessions a
    bounded read finds, or the ones `sessions` names; in JupyterLab, any of those found."""
    choice = ConversationsChoice(workspace, tenant_id, sessions)
    if not interactive_default(interactive):
        return Picker(choice)
    import ipywidgets

    tenant = ipywidgets.Dropdown(
        options=list(workspace.settings.roster.ids), value=tenant_id, description="tenant"
    )
    shown = ipywidgets.SelectMultiple(description="sessions", rows=8)
    picker = Picker(choice, [tenant, shown])
    updating = []  # set while the list is refilled, so that refilling is not a pick

    def refill(current: ConversationsChoice) -> None:
        updating.append(True)
        try:
            found = current.sample.sessions[:PICKABLE_SESSIONS]
            shown.options = list(dict.fromkeys([*current.sessions, *found]))
            shown.value = tuple(current.sessions)
        finally:
            updating.pop()

    def on_tenant(change) -> None:
        current = ConversationsChoice(workspace, change["new"])
        refill(current)
        picker.redraw(current)

    def on_sessions(change) -> None:
        if not updating and change["new"]:
            current = ConversationsChoice(workspace, picker.choice.tenant_id, list(change["new"]))
            current.__dict__["sample"] = picker.choice.sample  # the same read, not again
            picker.redraw(current)

    refill(choice)
    tenant.observe(on_tenant, names="value")
    shown.observe(on_sessions, names="value")
    return picker


def tenant_picker(
    workspace: Workspace,
    tenant_id: str,
    make_choice: Callable[[Workspace, str], Any],
    interactive: bool | None = None,
) -> Picker:
    """Just the tenant, for notebooks about one tenant at a time (conversations)."""
    choice = make_choice(workspace, tenant_id)
    if not interactive_default(interactive):
        return Picker(choice)
    import ipywidgets

    tenant = ipywidgets.Dropdown(
        options=list(workspace.settings.roster.ids), value=tenant_id, description="tenant"
    )
    picker = Picker(choice, [tenant])
    tenant.observe(lambda change: picker.redraw(make_choice(workspace, change["new"])), "value")
    return picker
