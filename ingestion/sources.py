"""Input files (a JSON array or JSON Lines) as a stream of records, and the quarantine file.

JSON Lines are read one line at a time, so a file of any length ingests in constant memory and
a broken line costs only that line. A JSON array is read whole (it cannot be parsed in parts);
if the array itself is broken, the file is refused before anything is written. Numbers are
parsed as exact Decimals; NaN and Infinity are parsed too, so the contract can name the field
that holds them.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ingestion.report import FieldError

UTF8_BOM = b"\xef\xbb\xbf"
MAX_LINE_BYTES = 1024 * 1024  # far above DynamoDB's 400 KB item: anything longer is refused


class InputFileError(ValueError):
    """The input cannot be read as records at all (not JSON, binary, truncated array...)."""


@dataclass(frozen=True)
class SourceRecord:
    location: str  # "line 3" (JSON Lines) or "item 3" (JSON array), 1-based
    data: Any = None
    raw: str | None = None  # the exact text, for JSON Lines
    error: FieldError | None = None  # why it could not be parsed


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)  # one, not one a line


def loads(text: str) -> Any:
    if text.startswith("\ufeff"):  # json.loads names this mistake; the bare decoder does not
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    return _DECODER.decode(text)


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot open {path}: {exc.strerror}") from None


def read_records(stream: IO[bytes], name: str = "input") -> Iterator[SourceRecord]:
    """The records of a JSON array or JSON Lines stream, told apart by the first character."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)
    if buffered.peek(3)[:3] == UTF8_BOM:  # as Excel and PowerShell write UTF-8
        buffered.read(3)
    head = buffered.peek(4096)[:4096]
    if b"\x00" in head:
        raise InputFileError(f"{name} is binary, not JSON")
    first = head.lstrip()[:1]
    if not first:
        raise InputFileError(f"{name} is empty: expected a JSON array or JSON Lines")
    if first == b"[":
        yield from _array_records(buffered, name)
    else:
        yield from _line_records(buffered, name)


def _decode(data: bytes, name: str, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name} {where} is not UTF-8 text (byte {exc.start})") from None


def _array_records(stream: IO[bytes], name: str) -> Iterator[SourceRecord]:
    text = _decode(stream.read(), name, "")
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{name} is not a valid JSON array (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); nothing was written. Fix the file, or use JSON Lines so that one "
            "bad record does not stop the others"
        ) from None
    except (ValueError, ArithmeticError) as exc:  # e.g. a 5,000-digit integer
        raise InputFileError(f"{name} holds a number that cannot be read: {exc}") from None
    if not isinstance(data, list):
        raise InputFileError(f"{name}: expected a JSON array of records")
    for number, element in enumerate(data, start=1):
        yield SourceRecord(f"item {number}", data=element)


def _line_records(stream: IO[bytes], name: str) -> Iterator[SourceRecord]:
    for number, line in enumerate(_limited_lines(stream), start=1):
        location = f"line {number}"
        if isinstance(line, int):
            yield SourceRecord(
                location,
                error=FieldError("(line)", f"is {line:,} bytes, over the {MAX_LINE_BYTES:,} limit"),
            )
            continue
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield SourceRecord(
                location, error=FieldError("(line)", f"is not UTF-8 text (byte {exc.start})")
            )
            continue
        try:
            yield SourceRecord(location, data=loads(text), raw=text)
        except json.JSONDecodeError as exc:
            reason = f"is not valid JSON (column {exc.colno}: {exc.msg})"
            yield SourceRecord(location, raw=text, error=FieldError("(line)", reason))
        except (ValueError, ArithmeticError) as exc:  # a 5,000-digit integer, 1e-99999999999
            reason = f"holds a number that cannot be read ({exc})"
            yield SourceRecord(location, raw=text, error=FieldError("(line)", reason))


def _limited_lines(stream: IO[bytes]) -> Iterator[bytes | int]:
    """Lines as bytes; an over-long line is skipped without being held in memory (its length
    is yielded instead)."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        length = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(MAX_LINE_BYTES)
            if not line:
                break
            length += len(line)
        yield length


def dumps_exact(value: Any) -> str:
    """JSON text for parsed input, numbers exactly as received (Decimal text, not a float):
    a quarantined record keeps the very digits that got it refused. Non-finite numbers, which
    JSON cannot hold, become text ("NaN", "Infinity")."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, dict):
        fields = (f"{json.dumps(str(k))}: {dumps_exact(v)}" for k, v in value.items())
        return "{" + ", ".join(fields) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps_exact(v) for v in value) + "]"
    return json.dumps(value)  # ASCII escapes: even a lone surrogate can be written


class Quarantine:
    """A JSON Lines file of refused records (as received, with their reasons), created only
    when the first refused record arrives."""

    def __init__(self, path: Path, source: str):
        self.path = path
        self.source = source
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, record: SourceRecord, errors: list[FieldError] | tuple[FieldError, ...]):
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        entry: dict[str, Any] = {
            "source": self.source,
            "location": record.location,
            "errors": [error.to_json() for error in errors],
        }
        if record.raw is not None and record.data is None:
            entry["raw"] = record.raw
        text = json.dumps(entry)
        self._file.write(f'{text[:-1]}, "record": {dumps_exact(record.data)}}}\n')
        self._file.flush()
        self.count += 1

    @property
    def written(self) -> bool:
        return self.count > 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
