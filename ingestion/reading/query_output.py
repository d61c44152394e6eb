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
FREE_TEXT = frozenset({"content"})  # cut first when a table is too wide: it is read in full
# with `--jsonl` or one record's view
TIME_FIELDS = unix_seconds_fields()  # shown as UTC dates


# Rows a table is laid out on at once: a long listing is printed in blocks as it is read, each
# block aligned as the first one unless its columns differ (it then says its own header).
TABLE_BLOCK = 500


STYLES = ("table", "json", "jsonl", "csv")


def write_records(records: Iterable[BaseModel], style: str, out: TextIO) -> int:
    """Write records as they come (`json`: one array; `jsonl`: one a line; `csv`: a header
    and one row a record; `table`: blocks of TABLE_BLOCK rows that fit the terminal, or one
    record as a field-per-line view), so that a long read starts printing at once and a
    reader that stops early (`| head`) ends the read; how many were written."""
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
        if len(block) == 1 and layout is None:  # one record: a view, not a one-row table
            out.write(as_record(block[0]) + "\n")
        elif block:
            _write_block(block, layout, out)
        return written
    if style == "csv":
        return _write_csv(records, out)
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


def as_record(record: BaseModel, width: int | None = None) -> str:
    """One record, a field a line (`name: value`), names aligned; a long value (a message's
    content) wraps in the width the names leave, never cut."""
    row = _readable(record)
    width = width or shutil.get_terminal_size((120, 24)).columns
    name_width = max(map(len, row))
    room = max(width - name_width - 2, 20)
    lines = []
    for name, value in row.items():
        wrapped = textwrap.wrap(value, room, break_on_hyphens=False) or [""]
        lines.append(f"{name.rjust(name_width)}: {wrapped[0]}".rstrip())
        lines += [" " * (name_width + 2) + more for more in wrapped[1:]]
    return "\n".join(lines)


def _write_csv(records: Iterable[BaseModel], out: TextIO) -> int:
    """A header from the records' contract (every field, nested ones flattened, so that rows
    lacking an optional field keep their columns), then one row a record, each field as the
    table shows it (times as UTC dates, references as `source:id`)."""
    import csv

    writer = None
    written = 0
    for record in records:
        if writer is None:
            writer = csv.DictWriter(
                out, fieldnames=_fields(type(record)), extrasaction="ignore", lineterminator="\n"
            )
            writer.writeheader()
        writer.writerow(_readable(record))
        written += 1
    return written


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The wire names of a contract's fields, nested models flattened (`classification.intent`)."""
    names = []
    for name, field in model.model_fields.items():
        wire = f"{prefix}{field.alias or name}"
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            names += _fields(nested, f"{wire}.")
        else:
            names.append(wire)
    return names


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
        # a time is never cut (its width is its length); free text gives way first
        floors = [
            w if name in TIME_FIELDS else MIN_COLUMN for name, w in zip(shown, widths, strict=True)
        ]
        first = [i for i, name in enumerate(shown) if name in FREE_TEXT]
        _fit(widths, width, floors, first)
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


def _fit(widths: list[int], total: int, floors: list[int], first: list[int]) -> None:
    """Narrow columns until the row fits `total` characters (two between): the `first` ones
    (free text) down to their floor, then the widest of the others above theirs."""
    excess = sum(widths) + 2 * (len(widths) - 1) - total
    for i in first:
        cut = min(excess, widths[i] - floors[i])
        if cut > 0:
            widths[i] -= cut
            excess -= cut
    while excess > 0:
        wider = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not wider:
            return  # as narrow as is still readable: let the terminal wrap
        widths[max(wider, key=widths.__getitem__)] -= 1
        excess -= 1


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
