"""How every table a notebook shows looks to a person: one rule, installed once per kernel.

pandas' default HTML shows `12500000.0`, `NaN`, `None`, `True`, a 0..n index nobody asked for,
and cuts text at 50 characters. Rather than restyle each table in each notebook, `install()`
registers one HTML formatter for DataFrames in the running IPython: the tables' functions keep
returning plain frames (exact values, for scripts and tests), and what people see is this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import pandas as pd

TIME_FORMAT = "%Y-%m-%d %H:%M"


def format_cell(value: object) -> str:
    """One value as people write it: 17,600,000 and 72.8, never 17600000.0; nothing for a
    missing value; yes/no for a flag; a UTC time to the minute."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return value.strftime(TIME_FORMAT) + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, Real) and not isinstance(value, int):
        number = float(value)
        if number.is_integer() or abs(number) >= 1000:
            return f"{number:,.0f}"
        return f"{number:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def readable(frame: pd.DataFrame, nowrap: Sequence[str] = ()):
    """A frame as a readable table (a pandas Styler): the whole text of every cell (a line
    break in it kept), numbers right-aligned and formatted, text left-aligned, no index when
    it is only 0..n; `nowrap` columns (names, times) are never broken across lines."""
    styler = frame.style.format(format_cell).format_index(format_cell, axis=0)
    styler = styler.format_index(format_cell, axis=1)
    # the index's and the columns' own names ("field", "subject / period") are pandas' labels
    # for its axes, not headings a reader needs: they would show as an extra header row
    styler = styler.hide(names=True, axis="index").hide(names=True, axis="columns")
    if isinstance(frame.index, pd.RangeIndex):
        styler = styler.hide(axis="index")
    text = [c for c in frame.columns if not _is_numeric(frame[c])]
    if text:
        styler = styler.set_properties(
            subset=text, **{"text-align": "left", "white-space": "pre-line"}
        )
    kept = [c for c in nowrap if c in frame.columns]
    if kept:
        styler = styler.set_properties(subset=kept, **{"white-space": "pre"})
    styler = styler.set_table_styles([{"selector": "td", "props": [("vertical-align", "top")]}])
    # a text column's heading sits over its text, at the left (a number's, at the right)
    headings = {c: [{"selector": "th", "props": [("text-align", "left")]}] for c in text}
    return styler.set_table_styles(headings, overwrite=False) if headings else styler


EMPTY = "nothing to show"


def as_html(frame: pd.DataFrame) -> str:
    """What a notebook shows for a frame: the readable table, or one line when it has no
    rows (a bare header says nothing)."""
    if frame.empty:
        return f'<p class="salestalk-note">{EMPTY}</p>'
    return readable(frame).to_html()


def note(text: str) -> None:
    """A sentence for the reader (what a comparison can show, why a table is short), shown as
    prose in the page's font, not as monospace program output."""
    import html

    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is None:  # a script: plain text
        print(text)
        return
    display(HTML(f'<p class="salestalk-note">{html.escape(text)}</p>'))


def show(item) -> None:
    """Display a table (through `readable` once installed) or a figure; a figure is closed
    once shown, so that the inline backend does not draw it a second time when the cell ends."""
    from IPython.display import display

    display(item)
    if hasattr(item, "savefig"):
        import matplotlib.pyplot as plt

        plt.close(item)


def install() -> bool:
    """Show every DataFrame of this IPython session through `readable`. False outside IPython
    (a script): there the frames print as pandas prints them."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks extra
        return False
    shell = get_ipython()
    if shell is None:
        return False
    html = shell.display_formatter.formatters["text/html"]
    html.for_type(pd.DataFrame, as_html)
    return True
