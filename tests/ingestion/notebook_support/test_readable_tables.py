"""Tables as a reader sees them: no header row of pandas' axis names, and a sentence for a
table with no rows (in Chromium: `tests/notebooks/test_in_browser.py`)."""

from __future__ import annotations

import pandas as pd

from ingestion.notebook_support.readable_tables import EMPTY, as_html


def test_the_axes_own_names_make_no_header_row():
    frame = pd.DataFrame(
        {"revenue": [1.0, 2.0]}, index=pd.Index(["2025-Q1", "2025-Q2"], name="period")
    )
    frame.columns.name = "subject / period"
    page = as_html(frame)
    assert "subject / period" not in page and ">period<" not in page
    assert "2025-Q1" in page and "revenue" in page


def test_a_table_without_rows_is_a_sentence_not_a_bare_header():
    page = as_html(pd.DataFrame(columns=["session", "time"]))
    assert EMPTY in page and "<table" not in page and "session" not in page
