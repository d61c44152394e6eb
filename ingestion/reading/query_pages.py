"""A query that reads only what is asked: its records streamed page by page, or one page of
at most N with a token that continues after it.

A page of N is one Query request of `Limit` N + 1 (more when a filter or a skipped item
leaves it short): the extra record says that more remain, without counting them. The token
is the DynamoDB key of the last record shown (the table's key and the index's), so a record
stored meanwhile never shifts a page; it is opaque to the user (base64 of JSON) and checked
when it comes back: it must be a key of this very query's partition. Hand-written rather than
botocore's paginator tokens, which resume by skipping a count of items within a page (so
records stored meanwhile would shift a page) and fail with a traceback on a bad token.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ingestion.records.items import RecordKind, deserialize
from tenancy.errors import Refused


class PageTokenError(Refused, ValueError):
    """An `--after` token that is not one this query gave."""


@dataclass(frozen=True)
class Page:
    records: list[Any]
    next_token: str | None  # None: nothing more


@dataclass
class Query:
    """One DynamoDB Query of a reader, ready to run: streamed whole, or a page at a time."""

    reader: Any  # the reader whose `_record` checks and converts each item
    table: str
    kind: RecordKind
    params: dict[str, Any]  # the Query request, paging aside
    key_names: tuple[str, ...]  # what a key of this query holds: the table's and the index's
    partition: tuple[str, Any]  # the attribute and (wire) value every record of it has

    def __iter__(self) -> Iterator[Any]:
        return self.records()

    def records(self, after: str | None = None) -> Iterator[Any]:
        """Every record, page by page as DynamoDB returns them (after `after`'s record)."""
        for record, _ in self._items(self._start(after), None):
            yield record

    def page(self, limit: int, after: str | None = None) -> Page:
        """At most `limit` records (after `after`'s record) and the token of the next page."""
        shown = []
        for found in self._items(self._start(after), limit + 1):
            shown.append(found)
            if len(shown) > limit:
                break
        more = len(shown) > limit
        shown = shown[:limit]
        token = self._token(shown[-1][1]) if more and shown else None
        return Page([record for record, _ in shown], token)

    def _items(self, start: dict | None, wanted: int | None) -> Iterator[tuple[Any, dict]]:
        request = dict(self.params)
        if start:
            request["ExclusiveStartKey"] = start
        page_size = wanted or self.reader.page_size
        taken = 0
        while True:
            if page_size:
                request["Limit"] = max(1, page_size - taken) if wanted else page_size
            response = self.reader.client.query(**request)
            for wire in response.get("Items", []):
                record = self.reader._record(self.table, self.kind, deserialize(wire))
                if record is not None:
                    taken += 1
                    yield record, wire
            start = response.get("LastEvaluatedKey")
            if not start:
                return
            request["ExclusiveStartKey"] = start

    def _token(self, wire: dict[str, Any]) -> str:
        key = {name: wire[name] for name in self.key_names}
        text = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def _start(self, token: str | None) -> dict[str, Any] | None:
        if token is None:
            return None
        wrong = PageTokenError(
            f"--after {token!r}: not a page token of this query (take the one the last page "
            "printed, with the same query)"
        )
        try:
            padded = token + "=" * (-len(token) % 4)
            key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise wrong from None
        if not isinstance(key, dict) or set(key) != set(self.key_names):
            raise wrong
        if not all(_is_scalar_value(value) for value in key.values()):
            raise wrong
        name, value = self.partition
        if key[name] != value:
            raise wrong  # another partition: another tenant's, or another series
        return key


def _is_scalar_value(value: Any) -> bool:
    """A DynamoDB key attribute value as the wire writes it: {"S": text} or {"N": text}."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("S", "N")
        and isinstance(next(iter(value.values())), str)
    )
