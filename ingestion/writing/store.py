"""The persistence layer of ingestion: one tenant table, batched reads and batched writes.

The one module that builds DynamoDB's requests for a tenant table: the writer and its
strategies ask it for batched reads and writes, and never build a request themselves.
Request-level retries are botocore's (see `tenancy.connection`); what is hand-written here is
only what botocore does not do: re-sending UnprocessedKeys and UnprocessedItems, and retrying
throttled items of a cancelled transaction, with full-jitter backoff within the throttling
budget.

An endpoint may refuse a whole request for one item in it (a ValidationException: an item it
measures as too large, say). Such a request is split in halves until the item is alone, so the
endpoint names the one item it refuses and every other item of the request is written.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import orjson
from botocore.exceptions import ClientError

from ingestion.records.boto_internals import EncodedBody, accept_encoded
from ingestion.records.items import CONTENT_HASH_ATTR, RecordKind, deserialize, serialize
from ingestion.writing.backoff import Backoff
from tenancy.budgets import RETRY_POLICY, RetryPolicy

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100
TRANSACTION_BYTES_LIMIT = 4 * 1024 * 1024
# What an endpoint answers when it refuses a request for what an item in it holds.
ITEM_REFUSED_CODES = {"ValidationException"}
# Cancellation reasons that mean "try this item again later", not "this item is wrong".
RETRYABLE_REASONS = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}


class PutStatus(StrEnum):
    APPLIED = "applied"
    CONDITION_FAILED = "condition_failed"  # the item exists (or changed): `stored` says how
    FAILED = "failed"  # DynamoDB refused the item itself: `reason` says why


class Writable(Protocol):
    """An item ready to be put: plain (for its key and fingerprint), already in DynamoDB's
    wire format as JSON bytes (`ingestion.records.items.encode_item`: encoded once, when it
    was validated, and joined into every request that carries it), and its size."""

    item: Mapping[str, Any]
    wire: bytes
    size: int


@dataclass(frozen=True)
class ConditionalPut:
    """Put `candidate` if no item has its key (`expected_hash` None), or if the stored item
    still has `expected_hash` (an accepted update that must not overwrite a concurrent change).
    The candidate comes back with the result, so the caller needs no map of its own."""

    candidate: Writable
    expected_hash: str | None = None

    @property
    def item(self) -> Mapping[str, Any]:
        return self.candidate.item


@dataclass(frozen=True)
class PutResult:
    put: ConditionalPut
    status: PutStatus
    stored: dict[str, Any] | None = None
    reason: str | None = None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class TableStore:
    """Batched access to one table of one record kind."""

    def __init__(
        self,
        client,
        table_name: str,
        kind: RecordKind,
        *,
        policy: RetryPolicy = RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.client = accept_encoded(client)  # batches are sent with their body encoded here
        self.table_name = table_name
        self._table_json = orjson.dumps(table_name)
        self.kind = kind
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.throttle_retries = 0  # item-level retries used, for reports and tests
        self.longest_retry_run = 0  # most retries one request needed (at most the budget)
        self._counting = threading.Lock()

    def _backoff(self, operation: str) -> Backoff:
        return Backoff(operation, self.table_name, self.policy, self.sleep, self.rng)

    def _retried(self, backoff: Backoff, pending: int) -> None:
        backoff.wait(pending)
        with self._counting:  # chunks are written from several threads at once
            self.throttle_retries += 1
            self.longest_retry_run = max(self.longest_retry_run, backoff.retries)

    def fetch(
        self, keys: Sequence[Mapping[str, Any]], *, attributes: Sequence[str] | None = None
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The stored items with these keys (strongly consistent), by key tuple; only the
        named `attributes` of each (plus its key) when given, so the response stays small."""
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        projection: dict[str, Any] = {}
        if attributes is not None:
            names = dict.fromkeys([*self.kind.key_names(), *attributes])
            aliases = {f"#a{n}": name for n, name in enumerate(names)}
            projection = {
                "ProjectionExpression": ", ".join(aliases),
                "ExpressionAttributeNames": aliases,
            }
        for chunk in _chunks(list(keys), BATCH_GET_LIMIT):
            request = {
                self.table_name: {
                    "Keys": [serialize(key) for key in chunk],
                    "ConsistentRead": True,
                    **projection,
                }
            }
            backoff = self._backoff("BatchGetItem")
            while request:
                response = self.client.batch_get_item(RequestItems=self._encoded(request))
                for item in response.get("Responses", {}).get(self.table_name, []):
                    plain = deserialize(item)
                    found[self.kind.key_of(plain)] = plain
                request = response.get("UnprocessedKeys") or {}
                if request:
                    self._retried(backoff, len(request.get(self.table_name, {}).get("Keys", [])))
        return found

    def put_batch(
        self,
        candidates: Sequence[Writable],
        before_request: Callable[[], None] | None = None,
        on_stored: Callable[[Sequence[Writable]], None] | None = None,
    ) -> list[tuple[Writable, str]]:
        """Unconditional BatchWriteItem puts, 25 a request, re-sending UnprocessedItems; the
        candidates the endpoint refused, each with its reason (every other one is written).
        `before_request` runs before every request (a lease makes sure it is still held);
        `on_stored` hears of each group as soon as it is stored, so that a failure part-way
        leaves every stored record counted."""
        refused: list[tuple[Writable, str]] = []
        groups = deque(_chunks(list(candidates), BATCH_WRITE_LIMIT))
        while groups:
            group = groups.popleft()
            try:
                self._batch_write(group, before_request)
            except ClientError as exc:
                if not _refuses_an_item(exc):
                    raise
                if len(group) == 1:
                    refused.append((group[0], _reason(exc)))
                else:
                    groups.extendleft(reversed(_halves(group)))
                continue
            if on_stored is not None:
                on_stored(group)
        return refused

    def delete_batch(self, keys: Sequence[Mapping[str, Any]]) -> None:
        """Unconditional BatchWriteItem deletes, 25 a request, re-sending UnprocessedItems."""
        for group in _chunks(list(keys), BATCH_WRITE_LIMIT):
            self._send({self.table_name: [{"DeleteRequest": {"Key": serialize(k)}} for k in group]})

    def _batch_write(self, group: Sequence[Writable], before_request=None) -> None:
        puts = b",".join(b'{"PutRequest":{"Item":%b}}' % c.wire for c in group)
        body = b'{"RequestItems":{%b:[%b]}}' % (self._table_json, puts)
        self._send({self.table_name: EncodedBody(body)}, before_request)

    def _send(self, request: dict[str, Any], before_request=None) -> None:
        """BatchWriteItem until nothing is left unprocessed; `request` is `RequestItems`,
        encoded already (a batch of puts) or as wire dicts (deletes, unprocessed items)."""
        backoff = self._backoff("BatchWriteItem")
        while request:
            if before_request is not None:
                before_request()
            response = self.client.batch_write_item(RequestItems=self._encoded(request))
            request = response.get("UnprocessedItems") or {}
            if request:
                self._retried(backoff, len(request.get(self.table_name, [])))

    def _encoded(self, request_items: dict[str, Any]) -> dict[str, EncodedBody]:
        """`RequestItems` with its body encoded here (orjson) instead of by botocore."""
        if isinstance(request_items.get(self.table_name), EncodedBody):
            return request_items
        body = EncodedBody(orjson.dumps({"RequestItems": request_items}))
        return {self.table_name: body}

    def put_conditional(self, puts: Sequence[ConditionalPut]) -> list[PutResult]:
        """Conditional puts in transactions (up to 100 items / 4 MB each).

        One failed condition cancels a whole transaction, so the cancellation reasons are read
        item by item: items whose condition failed come back with the stored item, throttled
        ones are retried with backoff, and the innocent rest are simply sent again.
        """
        results: list[PutResult] = []
        pending = list(puts)
        split: deque[list[ConditionalPut]] = deque()  # halves of a request refused for an item
        backoff = self._backoff("TransactWriteItems")
        while pending or split:
            if split:
                group = split.popleft()
            else:
                group, pending = self._take_group(pending)
            try:
                self.client.transact_write_items(TransactItems=self._transaction(group))
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    retry, throttled = self._sort_cancelled(group, reasons, results)
                    pending = retry + pending
                    if throttled:
                        self._retried(backoff, len(pending))
                    continue
                if not _refuses_an_item(exc):
                    raise
                if len(group) == 1:
                    results.append(PutResult(group[0], PutStatus.FAILED, reason=_reason(exc)))
                else:
                    split.extendleft(reversed(_halves(group)))
                continue
            results.extend(PutResult(put, PutStatus.APPLIED) for put in group)
        return results

    def _take_group(self, pending: list[ConditionalPut]):
        size, count = 0, 0
        for put in pending:
            item_bytes = put.candidate.size
            too_big = count and size + item_bytes > TRANSACTION_BYTES_LIMIT
            if count == TRANSACTION_LIMIT or too_big:
                break
            size += item_bytes
            count += 1
        return pending[:count], pending[count:]

    def _transaction(self, group: Sequence[ConditionalPut]) -> list[Any]:
        # The idempotency token botocore would fill in: a retry of this very request (after a
        # lost response) is then applied once, whatever the conditions say by then.
        transaction = {
            "TransactItems": [self._transact_put(put) for put in group],
            "ClientRequestToken": str(uuid.uuid4()),
        }
        body = orjson.dumps(transaction)
        return [EncodedBody(body), {"Put": {"TableName": self.table_name}}]

    def _transact_put(self, put: ConditionalPut) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": orjson.Fragment(put.candidate.wire),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if put.expected_hash is None:
            request["ConditionExpression"] = "attribute_not_exists(#key)"
            request["ExpressionAttributeNames"] = {"#key": self.kind.layout.hash_key.name}
        else:
            request["ConditionExpression"] = "#hash = :expected"
            request["ExpressionAttributeNames"] = {"#hash": CONTENT_HASH_ATTR}
            request["ExpressionAttributeValues"] = serialize({":expected": put.expected_hash})
        return {"Put": request}

    def _sort_cancelled(self, group, reasons, results: list[PutResult]):
        if len(reasons) != len(group):  # no per-item reasons: retry all, as throttled
            return list(group), True
        retry: list[ConditionalPut] = []
        throttled = False
        for put, reason in zip(group, reasons, strict=True):
            code = reason.get("Code") or "None"
            if code == "None":
                retry.append(put)
            elif code == "ConditionalCheckFailed":
                stored = deserialize(reason["Item"]) if reason.get("Item") else None
                results.append(PutResult(put, PutStatus.CONDITION_FAILED, stored=stored))
            elif code in RETRYABLE_REASONS:
                retry.append(put)
                throttled = True
            else:
                message = reason.get("Message") or code
                results.append(PutResult(put, PutStatus.FAILED, reason=f"{code}: {message}"))
        if retry and not throttled and len(retry) == len(group):
            throttled = True  # nothing was decided this round: back off rather than spin
        return retry, throttled


def _refuses_an_item(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ITEM_REFUSED_CODES


def _reason(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message') or 'refused'}"


def _halves(group: Sequence[Any]) -> list[list[Any]]:
    middle = len(group) // 2
    return [list(group[:middle]), list(group[middle:])]
