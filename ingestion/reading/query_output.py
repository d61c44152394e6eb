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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

from pydantic import BaseModel

from ingestion.records.contracts import unix_seconds_fields
from ingestion.records.sources import dumps_exact

MIN_COLUMN = 8  # a column is never cut narrower than this
TIME_FIELDS = unix_seconds_fields()  # shown as UTC dates


# Rows a table is laid out on at once: a long listing is printed in blocks as it is read, each
# block aligned as the first one unless its columns differ (it then says its own header).
TABLE_BLOCK = 500


def write_records(records: Iterable[BaseModel], style: str, out: TextIO) -> int:
    """Write records as they come (`json`: one array; `jsonl`: one a line; `table`: blocks of
    TABLE_BLOCK rows that fit the terminal), so that a long read starts printing at once and
    a reader that stops early (`| head`) ends the read; how many were written."""
    written = 0
    if style == "table":
        block: list[BaseModel] = []
        layout: _Layout | None = None
        for record in records:
            block.append(record)
            written += 1
            if len(block) == TABLE_BLOCK:
                layout = _write_block(block, layout, out)
                block = []
        if block:
            _write_block(block, layout, out)
        return written
    if style == "json":
        out.write("[")
    for record in records:
        if style == "json":
            out.write(", " if written else "")
            out.write(record_json(record))
        else:
            out.write(record_json(record) + "\n")
        written += 1
    if style == "json":
        out.write("]\n")
    return written


def _write_block(block: list[BaseModel], layout: _Layout | None, out: TextIO) -> _Layout:
    rows = [_readable(record) for record in block]
    if layout is None or not layout.holds(rows):
        layout = _Layout.of(rows, shutil.get_terminal_size((120, 24)).columns)
        out.write("\n".join(layout.header()) + "\n")
    out.write("\n".join(layout.line(row) for row in rows) + "\n")
    return layout


def record_json(record: BaseModel, *, ascii_only: bool = True) -> str:
    """One record as JSON in its contract's shape, numbers exactly as stored: what `--jsonl`
    prints, a tenant export holds, and `salestalk ingest` takes back."""
    return dumps_exact(_exact(record), ascii_only=ascii_only)


def _exact(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(by_alias=True, exclude_none=True)


def as_table(records: Sequence[BaseModel], width: int | None = None) -> str:
    """An aligned table no wider than the terminal (`width` columns): the widest columns give
    way, their cells ending in `…`. Columns with one value on every row are named above it."""
    rows = [_readable(record) for record in records]
    layout = _Layout.of(rows, width or shutil.get_terminal_size((120, 24)).columns)
    return "\n".join([*layout.header(), *(layout.line(row) for row in rows)])


@dataclass
class _Layout:
    """How a block of rows is shown: the columns, their widths, and the values every row
    shares (said once, above the table)."""

    shown: list[str]
    widths: list[int]
    same: dict[str, str]
    width: int

    @classmethod
    def of(cls, rows: list[dict[str, str]], width: int) -> _Layout:
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
        return cls(shown, widths, same, width)

    def holds(self, rows: list[dict[str, str]]) -> bool:
        """Whether these rows show fully under this layout: no other columns, and the same
        values where the header says every row has one."""
        known = set(self.shown) | set(self.same)
        return all(
            set(row) <= known and all(row.get(k, "") == v for k, v in self.same.items())
            for row in rows
        )

    def header(self) -> list[str]:
        lines = []
        if self.same:
            said = "; ".join(f"{name}: {value}" for name, value in self.same.items())
            lines += textwrap.wrap(said, self.width, break_on_hyphens=False)
        lines.append(_line(self.shown, self.widths))
        return lines

    def line(self, row: dict[str, str]) -> str:
        return _line([row.get(name, "") for name in self.shown], self.widths)


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
