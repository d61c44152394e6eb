"""How `salestalk query` shows records: a table that fits the terminal for people, exact JSON
(an array, or JSON Lines for streams) for scripts, and a continuation token between pages.

The human table is for reading, so it shows what a reader needs and nothing twice: times as UTC
dates, references as `source:id`, empty values as blanks, and no column that holds the same
value on every row (the tenant, a unit); what it leaves out is said above it. JSON is the
record as stored, numbers exact.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ingestion.contracts import unix_seconds_fields
from ingestion.items import KINDS, RecordKind
from ingestion.sources import dumps_exact

MIN_COLUMN = 8  # a column is never cut narrower than this
TIME_FIELDS = unix_seconds_fields()  # shown as UTC dates


class PageTokenError(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    records: list[BaseModel]
    more: int  # records after this page
    next_token: str | None  # what `--after` takes to continue


def kind_of(record: BaseModel) -> RecordKind:
    return next(kind for kind in KINDS.values() if isinstance(record, kind.model))


def page(records: Sequence[BaseModel], limit: int | None, after: str | None) -> Page:
    """At most `limit` records, starting after the record whose key is `after`. Tokens are
    record keys, not positions: records stored meanwhile do not shift a page."""
    start = 0
    if after is not None:
        keys = [kind_of(record).record_key(record) for record in records]
        try:
            start = keys.index(after) + 1
        except ValueError:
            raise PageTokenError(
                f"--after {after!r}: no such record in this query's results (was it removed?)"
            ) from None
    end = len(records) if limit is None else min(len(records), start + limit)
    shown = list(records[start:end])
    more = len(records) - end
    token = kind_of(shown[-1]).record_key(shown[-1]) if more and shown else None
    return Page(shown, more, token)


def as_json(records: Sequence[BaseModel]) -> str:
    return dumps_exact([_exact(record) for record in records])


def as_json_lines(records: Sequence[BaseModel]) -> str:
    return "\n".join(record_json(record) for record in records)


def record_json(record: BaseModel, *, ascii_only: bool = True) -> str:
    """One record as JSON in its contract's shape, numbers exactly as stored: what `--jsonl`
    prints, a tenant export holds, and `salestalk ingest` takes back."""
    return dumps_exact(_exact(record), ascii_only=ascii_only)


def _exact(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(by_alias=True, exclude_none=True)


def as_table(records: Sequence[BaseModel], width: int | None = None) -> str:
    """An aligned table no wider than the terminal (`width` columns): the widest columns give
    way, their cells ending in `…`. Columns with one value on every row are named above it."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    rows = [_readable(record) for record in records]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    same = {}
    if len(rows) > 1:
        for name in columns:
            values = {row.get(name, "") for row in rows}
            if len(values) == 1 and values != {""}:
                same[name] = values.pop()
    shown = [name for name in columns if name not in same]
    cells = [[row.get(name, "") for name in shown] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(shown)]
    _fit(widths, width)
    lines = []
    if same:
        said = "; ".join(f"{name}: {value}" for name, value in same.items())
        lines += textwrap.wrap(said, width, break_on_hyphens=False)
    lines.append(_line(shown, widths))
    lines += [_line(line, widths) for line in cells]
    return "\n".join(lines)


def _fit(widths: list[int], total: int) -> None:
    """Narrow the widest columns until the row fits `total` characters (two between)."""
    while sum(widths) + 2 * (len(widths) - 1) > total:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_COLUMN:
            return  # as narrow as is still readable: let the terminal wrap
        widths[widest] -= 1


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(_cut(cell, w).ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _readable(record: BaseModel) -> dict[str, str]:
    return flat_text(record.model_dump(by_alias=True, mode="json", exclude_none=True))


def flat_text(value: Any, prefix: str = "") -> dict[str, str]:
    """A record or stored item as one readable text per field, nested fields flattened
    (`classification.intent`): times as UTC dates, references as `source:id`, numbers as
    written, nothing for a missing value. The query table and the notebooks' item samples
    both show records this way."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(flat_text(item, f"{prefix}{key}."))
        return flat
    name = prefix.rstrip(".")
    return {name: _text(name, value)}


def _text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in TIME_FIELDS and isinstance(value, int | Decimal) and value == int(value):
        return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list):
        if all(isinstance(item, dict) and "source" in item for item in value):
            return ", ".join(f"{item['source']}:{item.get('sourceId', '')}" for item in value)
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
