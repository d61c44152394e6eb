"""What to say when a name is not known: the closest known name and the known ones, in a line.

A misspelt subject in `salestalk query` and a metric a notebook is asked for that the tenant
lacks get the same sentence, so it is written here once.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def unknown_name(what: str, name: str, known: Sequence[str], shown: int = 12) -> str:
    """'no subject of tenant X is named 'revnue'; did you mean 'revenue'? Known: ...', with
    at most `shown` of the known names listed, so a tenant of 1,000 subjects stays one line."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(known[:shown]) + (
        f" and {len(known) - shown} more" if len(known) > shown else ""
    )
    return f"no {what} is named {name!r}{hint} Known: {listed or 'none yet'}"
