"""Input files (a JSON array or JSON Lines) as a stream of records, and the quarantine file.

Both forms are read in pieces, so a file of any length ingests in memory bounded by the
largest record, and a broken record costs only that record. Every record keeps the exact text
(or, when it is not UTF-8, the exact bytes) it was received as, so a refused record can be
quarantined as received without writing the parsed value out again.

What makes one record unreadable is decided here, once, for both forms: it is not UTF-8, not
JSON, nests deeper than `MAX_NESTING`, names a key twice in one object, holds a number that
cannot be read, or is longer than `MAX_RECORD_BYTES`. Numbers are parsed as exact Decimals;
NaN and Infinity are parsed too, so the contract can name the field that holds them.
"""

from __future__ import annotations

import base64
import codecs
import io
import json
import os
import re
import secrets
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ingestion.writing.ingest_report import Conflict, FieldError
from tenancy.errors import Refused

UTF8_BOM = b"\xef\xbb\xbf"
MAX_RECORD_BYTES = 1024 * 1024  # far above DynamoDB's 400 KB item: anything longer is refused
MAX_LINE_BYTES = MAX_RECORD_BYTES  # the same limit, as JSON Lines users know it
# Records nest three levels (a message's references); deeper input is refused before it is
# parsed, so nothing recursive (the parser, a quarantine writer) ever sees a deep value.
MAX_NESTING = 32
READ_BYTES = 64 * 1024
WHOLE_RECORD = "(record)"
LINE = "(line)"


class InputFileError(Refused, ValueError):
    """The input cannot be read as records at all (not JSON, binary, broken array...)."""


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (the last copy would silently win)."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"{key!r} appears twice in one JSON object")


@dataclass(frozen=True)
class SourceRecord:
    location: str  # "line 3" (JSON Lines) or "item 3" (JSON array), 1-based
    data: Any = None
    raw: str | None = None  # the exact text received
    error: FieldError | None = None  # why it could not be parsed
    raw_bytes: bytes | None = None  # the exact bytes, when they are not UTF-8 text
    source: str | None = None  # the input it came from (a file name, `-`)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return record


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_unique_keys
)


def loads(text: str) -> Any:
    """One JSON value, parsed the way every input is: exact numbers, no repeated keys."""
    if text.startswith("\ufeff"):  # json.loads names this mistake; the bare decoder does not
        return json.loads(
            text, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_unique_keys
        )
    return _DECODER.decode(text)


def nesting(text: str) -> int:
    """How deeply `text` nests arrays and objects (brackets inside strings do not count),
    found without recursion. Cheap for the common case: if the text holds no more brackets
    than the limit, it cannot nest deeper."""
    if text.count("{") + text.count("[") <= MAX_NESTING:
        return 0
    depth = deepest = 0
    for token in _STRUCTURE.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# A JSON string (escapes included), or one structural character.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def parse_record(text: str) -> tuple[Any, FieldError | None]:
    """The value of one record's text, or why it cannot be read (naming the field)."""
    depth = nesting(text)
    if depth > MAX_NESTING:
        return None, FieldError(
            WHOLE_RECORD, f"nests {depth} levels deep; at most {MAX_NESTING} are allowed"
        )
    try:
        return loads(text), None
    except DuplicateKeyError as exc:
        return None, FieldError(exc.key, "appears more than once in the same JSON object")
    except json.JSONDecodeError as exc:
        return None, FieldError(LINE, f"is not valid JSON (column {exc.colno}: {exc.msg})")
    except RecursionError:  # cannot happen below MAX_NESTING; kept as a last line
        return None, FieldError(WHOLE_RECORD, "nests too deeply to be read")
    except (ValueError, ArithmeticError) as exc:  # a 5,000-digit integer, 1e-99999999999
        return None, FieldError(LINE, f"holds a number that cannot be read ({exc})")


def open_input(path: str) -> IO[bytes]:
    if path == "-":
        stdin = sys.stdin
        if stdin is None or _closed(stdin):
            raise InputFileError(
                "standard input is closed: pipe the records in (`... | salestalk ingest ... -`) "
                "or name a FILE"
            )
        if stdin.isatty():
            print(
                "reading records from the terminal: one JSON object per line, Ctrl-D to end",
                file=sys.stderr,
            )
        return stdin.buffer
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot open {path}: {exc.strerror}") from None


def _closed(stream: IO[str]) -> bool:
    """Python sets `sys.stdin` to None when descriptor 0 is closed at start; a descriptor
    closed later, or an unusable one, shows when it is asked about."""
    if stream.closed:
        return True
    try:
        os.fstat(stream.fileno())
    except io.UnsupportedOperation:  # an in-memory stream: no descriptor to be closed
        return False
    except (OSError, ValueError):
        return True
    return False


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
        yield from _ArrayReader(buffered, name).records()
    else:
        yield from _line_records(buffered, name)


def _line_records(stream: IO[bytes], name: str) -> Iterator[SourceRecord]:
    for number, line in enumerate(_limited_lines(stream), start=1):
        location = f"line {number}"
        if isinstance(line, int):
            reason = f"is {line:,} bytes, over the {MAX_RECORD_BYTES:,} limit"
            yield SourceRecord(location, error=FieldError(LINE, reason), source=name)
            continue
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield SourceRecord(
                location,
                error=FieldError(LINE, f"is not UTF-8 text (byte {exc.start + 1})"),
                raw_bytes=line.rstrip(b"\r\n"),
                source=name,
            )
            continue
        data, error = parse_record(text)
        yield SourceRecord(location, data=data, raw=text, error=error, source=name)


def _limited_lines(stream: IO[bytes]) -> Iterator[bytes | int]:
    """Lines as bytes; an over-long line is skipped without being held in memory (its length
    is yielded instead)."""
    while True:
        line = stream.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_RECORD_BYTES or line.endswith(b"\n"):
            yield line
            continue
        length = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(MAX_RECORD_BYTES)
            if not line:
                break
            length += len(line)
        yield length


# Bytes that are not UTF-8 decode to these lone surrogates (the "surrogateescape" handler), so
# a record can be told to be not UTF-8 and still be given back byte for byte.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SPACE = re.compile(r"[ \t\r\n]*")
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*', re.DOTALL)
_NEXT_STRUCTURE = re.compile(r'["\[\]{},]')


class _ArrayReader:
    """The elements of a JSON array, read a piece at a time.

    Each element is parsed by the standard decoder straight from a text buffer, which gives
    its end (and so its exact text) for free. Only when an element cannot be parsed is it
    walked by a small bracket-counting scanner that finds where it ends whatever it holds, so
    that a broken, too deep or too long element is refused alone and the next one is read.
    A break in the array itself (a missing comma) ends the input: the elements before it are
    ingested, and the error says where the file breaks.
    """

    def __init__(self, stream: IO[bytes], name: str):
        self.stream = stream
        self.name = name
        self.text = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in text already dropped from the buffer
        self.escaped_bytes = False  # the buffer may hold bytes that are not UTF-8
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    # --- buffer ---

    def _fill(self) -> bool:
        """Read more input; False at its end. Text before `pos` may be dropped meanwhile, so
        the buffer holds about one record: positions are kept relative to `pos`."""
        if self.eof:
            return False
        data = self.stream.read(READ_BYTES)
        chunk = self._decoder.decode(data, final=not data)
        if not data:
            self.eof = True
        if self.pos > READ_BYTES:
            self._drop(self.pos)
        self.text += chunk
        self.escaped_bytes = self.escaped_bytes or bool(_ESCAPED_BYTE.search(chunk))
        return bool(chunk) or not self.eof

    def _drop(self, upto: int) -> None:
        self.lines_before += self.text.count("\n", 0, upto)
        self.text = self.text[upto:]
        self.pos -= upto

    def _skip_space(self) -> None:
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self._fill():
                return

    def _peek(self) -> str:
        self._skip_space()
        return self.text[self.pos : self.pos + 1]

    def _where(self, pos: int) -> str:
        line = self.lines_before + self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}, column {column}"

    def _broken(self, what: str, pos: int | None = None) -> InputFileError:
        where = self._where(self.pos if pos is None else pos)
        return InputFileError(
            f"{self.name} is not a valid JSON array ({where}: {what}). The records before it "
            "were read; fix the file, or use JSON Lines so that a break costs one line only"
        )

    # --- elements ---

    def records(self) -> Iterator[SourceRecord]:
        self._skip_space()
        self.pos += 1  # the '[' that told this input apart
        number = 0
        if self._peek() == "]":
            self.pos += 1
        else:
            while True:
                number += 1
                yield self._element(f"item {number}")
                separator = self._peek()
                if separator == "]":
                    self.pos += 1
                    break
                if separator != ",":
                    found = f"found {separator!r}" if separator else "the input ends"
                    raise self._broken(f"expected ',' or ']' after item {number}, {found}")
                self.pos += 1
                if self._peek() == "]":
                    raise self._broken(f"a comma after the last item ({number})")
        if self._peek():
            raise self._broken("more text after the array's closing ']'")

    def _element(self, location: str) -> SourceRecord:
        if not self._peek():
            raise self._broken(f"the input ends where {location} should be")
        while True:
            start = self.pos
            try:
                data, end = _DECODER.raw_decode(self.text, start)
            except (ValueError, ArithmeticError, RecursionError):
                # Broken, too deep, a repeated key, or just not all read yet: find its end.
                length, skipped = self._value_length()
                if skipped:
                    reason = f"is {skipped:,} bytes, over the {MAX_RECORD_BYTES:,} limit"
                    error = FieldError(WHOLE_RECORD, reason)
                    return SourceRecord(location, error=error, source=self.name)
                return self._record(location, self.text[self.pos : self.pos + length])
            if end == len(self.text) and not self.eof:  # a number may go on in the next read
                self._fill()
                continue
            return self._record(location, self.text[start:end], data)

    def _record(self, location: str, text: str, data: Any = None) -> SourceRecord:
        self.pos += len(text)
        if self.escaped_bytes and _ESCAPED_BYTE.search(text):
            raw = text.encode("utf-8", "surrogateescape")
            first_bad = _ESCAPED_BYTE.search(text).start()
            byte = len(text[:first_bad].encode("utf-8", "surrogateescape")) + 1
            error = FieldError(WHOLE_RECORD, f"is not UTF-8 text (byte {byte})")
            return SourceRecord(location, error=error, raw_bytes=raw, source=self.name)
        size = len(text) if text.isascii() else len(text.encode())
        if size > MAX_RECORD_BYTES:
            reason = f"is {size:,} bytes, over the {MAX_RECORD_BYTES:,} limit"
            return SourceRecord(location, error=FieldError(WHOLE_RECORD, reason), source=self.name)
        if data is None or nesting(text) > MAX_NESTING:
            data, error = parse_record(text)  # says why (and catches a deep but valid value)
            if error is not None and error.field == LINE:
                error = FieldError(WHOLE_RECORD, error.reason)
            return SourceRecord(location, data=data, raw=text, error=error, source=self.name)
        return SourceRecord(location, data=data, raw=text, source=self.name)

    def _value_length(self) -> tuple[int, int]:
        """How long the value at `pos` is, found by counting brackets outside strings and
        reading more as needed: (length, 0). A value longer than MAX_RECORD_BYTES is skipped
        without being held: (0, its size in bytes), with `pos` after it."""
        depth, offset, in_string, skipped = 0, 0, False, 0
        while True:
            at = self.pos + offset
            if in_string:
                at = _STRING_REST.match(self.text, at).end()
                closed = at < len(self.text) and self.text[at] == '"'
                offset = at - self.pos + closed
                if closed:
                    in_string = False
                    if depth == 0:
                        return self._measured(offset, skipped)
                    continue
            else:
                found = _NEXT_STRUCTURE.search(self.text, at)
                if found is not None:
                    char, offset = found.group(), found.end() - self.pos
                    if char == '"':
                        in_string = True
                    elif char in "[{":
                        depth += 1
                    elif char in "]}" and depth > 0:
                        depth -= 1
                        if depth == 0:
                            return self._measured(offset, skipped)
                    elif depth == 0:  # a scalar ends at ',' or at the array's ']'
                        return self._measured(offset - 1, skipped)
                    continue
                offset = len(self.text) - self.pos
            if skipped or offset > MAX_RECORD_BYTES:  # too long to hold: let it go as it is read
                skipped += len(self.text[self.pos :].encode("utf-8", "surrogateescape"))
                self.pos = len(self.text)
                self._drop(self.pos)
                offset = 0
            if not self._fill():
                if in_string or depth:
                    raise self._broken("the input ends inside an item")
                return self._measured(offset, skipped)

    def _measured(self, length: int, skipped: int) -> tuple[int, int]:
        if not skipped:
            return length, 0
        skipped += len(self.text[self.pos : self.pos + length].encode("utf-8", "surrogateescape"))
        self.pos += length
        return 0, skipped


def dumps_exact(value: Any, *, ascii_only: bool = True) -> str:
    """JSON text for parsed input, numbers exactly as received (Decimal text, not a float).
    Non-finite numbers, which JSON cannot hold, become text ("NaN", "Infinity"). ASCII
    escapes by default (even a lone surrogate can be written); `ascii_only=False` keeps other
    characters as they are, for text meant to be read back as UTF-8 at its own size (an
    emoji escaped is 12 bytes, not 4)."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, dict):
        fields = (
            f"{json.dumps(str(k), ensure_ascii=ascii_only)}: "
            f"{dumps_exact(v, ascii_only=ascii_only)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(fields) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps_exact(v, ascii_only=ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


QUARANTINE_DIR_NAME = "quarantine"


def new_quarantine_path(directory: Path, label: str) -> Path:
    """A quarantine file name no other run uses: the UTC second, to read by, and a random
    part, for two runs in the same second (the file is also created exclusively)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"{label}-{stamp}-{secrets.token_hex(4)}.jsonl"


class QuarantineExistsError(Refused, FileExistsError):
    """Each run writes a quarantine file of its own: an existing file is never appended to."""


class Quarantine:
    """A JSON Lines file of the records a run did not store, as received, with the reasons.

    Created only when the first entry arrives, owner-only (it holds message content), and
    never over an existing file: two runs never share one. Entries are written from the
    threads that decide them, one line at a time.

    Each entry: `source` (the input), `location` (`line 7`, `item 7`), `outcome` (`rejected`
    or `conflict`), `errors` (field and reason each) or `differs` (the fields a conflict
    differs in), and the record as received: `raw` (its exact text), or `rawBase64` (its
    exact bytes, when they are not UTF-8), or `record` (a record handed over as data).
    """

    def __init__(self, path: Path):
        self.path = path
        self._file: IO[str] | None = None
        self._created = False
        self._lock = threading.Lock()
        self.rejected = 0
        self.conflicts = 0

    def check_free(self) -> None:
        """Refuse an existing file before the run starts (not at its first bad record)."""
        if self.path.exists():
            raise QuarantineExistsError(
                f"{self.path} exists: each run writes its own quarantine file; "
                "name another or remove it"
            )

    def reject(self, record: SourceRecord, errors: list[FieldError] | tuple[FieldError, ...]):
        self._write(record, {"outcome": "rejected", "errors": [e.to_json() for e in errors]})

    def conflict(self, record: SourceRecord, conflict: Conflict) -> None:
        details: dict[str, Any] = {
            "outcome": "conflict",
            "recordKey": conflict.record_key,
            "differs": list(conflict.fields),
        }
        if conflict.concurrent:
            details["concurrent"] = True
        self._write(record, details)

    def _write(self, record: SourceRecord, details: dict[str, Any]) -> None:
        entry: dict[str, Any] = {"source": record.source, "location": record.location, **details}
        if record.raw is not None:
            entry["raw"] = record.raw
        elif record.raw_bytes is not None:
            entry["rawBase64"] = base64.b64encode(record.raw_bytes).decode("ascii")
        text = json.dumps(entry)
        if "raw" not in entry and "rawBase64" not in entry:
            try:
                text = f'{text[:-1]}, "record": {dumps_exact(record.data)}}}'
            except RecursionError:
                text = f'{text[:-1]}, "record": null, "unwritable": "nests too deeply"}}'
        with self._lock:
            if self._file is None:
                self._file = self._create()
                self._created = True
            self._file.write(text + "\n")
            self._file.flush()
            if details["outcome"] == "conflict":
                self.conflicts += 1
            else:
                self.rejected += 1

    def _create(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise QuarantineExistsError(
                f"{self.path} appeared during the run: each run writes its own quarantine file"
            ) from None
        return os.fdopen(descriptor, "w", encoding="utf-8")

    @property
    def count(self) -> int:
        return self.rejected + self.conflicts

    @property
    def written(self) -> bool:
        return self._created and self.path.exists()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
