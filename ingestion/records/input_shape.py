"""What an input file looks like, when it is plainly not records of the kind asked for.

A CSV export, or the messages file given to `ingest metrics`, would otherwise be refused line by
line, each with a dozen field errors. Its first records are looked at before anything is
written: when none of them is a record of the kind asked for and they are recognisably
something else, the ingest stops with one line saying what the input holds. An input that has
even one valid record in its sample is ingested as always, record by record, so nothing valid
is ever refused by this look.
"""

from __future__ import annotations

import io
import json

from pydantic import ValidationError

from ingestion.records.items import TENANT_DATA_KINDS, RecordKind
from ingestion.records.sources import UTF8_BOM, InputFileError, read_records

SAMPLE_BYTES = 8192  # what a buffered input holds already: the look reads nothing more
SAMPLE_RECORDS = 50
SHOWN_CHARACTERS = 80


def mismatch(stream: io.BufferedReader, name: str, kind: RecordKind) -> str | None:
    """Why `stream` is not an input of `kind` records (one line), or None if it may be.
    Nothing is consumed: the ingest then reads the stream from its start."""
    head = stream.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
    if b"\x00" in head:
        return None  # binary: reading it says so
    if b"\n" not in head and len(head) == SAMPLE_BYTES:
        return None  # a first line longer than the look: too long to judge, read it whole
    sample = head[: head.rfind(b"\n") + 1] or head  # whole lines only
    records = []
    try:
        for source in read_records(io.BufferedReader(io.BytesIO(sample)), name):
            records.append(source)
            if len(records) == SAMPLE_RECORDS:
                break
    except InputFileError:
        pass  # the sample ends inside a JSON array, or the input is empty: the ingest says
    if not records:
        return None
    objects = [r.data for r in records if r.error is None and isinstance(r.data, dict)]
    if not objects:
        sample = sample.removeprefix(UTF8_BOM)  # as read_records skips it
        if sample.lstrip()[:1] in (b"{", b"[") or any(_is_json(r.raw) for r in records):
            # JSON that breaks a rule (a repeated key, a record of another shape): each
            # record is refused alone, naming its field
            return None
        return _not_json(name, sample, kind)
    if any(_is(kind, data) for data in objects):
        return None
    for other in TENANT_DATA_KINDS:
        if other is not kind and all(_is(other, data) for data in objects):
            return (
                f"{name} holds {other.plural}, not {kind.plural}: its first {len(objects)} "
                f"records are valid {other.plural}. Ingest it with `salestalk ingest "
                f"{other.plural} {name} --tenant ...`; nothing was written"
            )
    return None


def _not_json(name: str, sample: bytes, kind: RecordKind) -> str:
    first = sample.lstrip().split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    shown = first if len(first) <= SHOWN_CHARACTERS else first[: SHOWN_CHARACTERS - 1] + "…"
    looks = "looks like CSV" if "," in first or "\t" in first else "is not JSON"
    return (
        f"{name} {looks} (its first line is {shown!r}): `salestalk ingest` reads JSON Lines, "
        f"one {kind.name} object per line, or a JSON array of them (`salestalk schemas` "
        "writes their JSON Schemas); nothing was written"
    )


def _is_json(text: str | None) -> bool:
    """Whether `text` is JSON at all, whatever rule of ours it breaks."""
    try:
        json.loads(text or "")
    except ValueError:
        return False
    return True


def _is(kind: RecordKind, data: dict) -> bool:
    try:
        kind.model.model_validate(data)
    except ValidationError:
        return False
    return True
