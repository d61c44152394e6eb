"""Fault injection around a real boto3 client talking to the session's engine.

No local engine throttles or returns UnprocessedItems, so the faults DynamoDB produces are
made here, at the two layers where they happen:

- item level (`FaultyClient`): a share of the items of BatchWriteItem / BatchGetItem requests
  come back unprocessed (the rest really are written or read), and transaction items are
  cancelled as throttled;
- request level (`inject_request_faults`): a botocore `before-send` hook answers a share of
  HTTP requests with a throttling error or drops the connection, before or after the server
  has processed the request, so botocore's own retry mode is exercised for real.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.endpoint
import orjson
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from botocore.httpsession import URLLib3Session

from ingestion.records.boto_internals import EncodedBody


@dataclass
class FaultLog:
    counts: Counter = field(default_factory=Counter)

    def __getitem__(self, name: str) -> int:
        return self.counts[name]


class FaultyClient:
    """Wraps a boto3 DynamoDB client; every other call passes through unchanged."""

    def __init__(
        self,
        client,
        *,
        unprocessed_share: float = 0.0,
        throttled_transaction_share: float = 0.0,
        seed: int = 7,
        log: FaultLog | None = None,
        always_unprocessed: bool = False,
        refuse_item: Callable[[dict[str, Any]], bool] | None = None,
    ):
        """`refuse_item(item)`: DynamoDB keeps returning this (wire-format) put unprocessed,
        whenever and from whichever thread it is sent."""
        self._client = client
        self._refuse = refuse_item or (lambda item: False)
        self._share = unprocessed_share
        self._tx_share = throttled_transaction_share
        self._rng = random.Random(seed)
        self._always = always_unprocessed
        self.log = log or FaultLog()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _keep(self) -> bool:
        return not self._always and self._rng.random() >= self._share

    def batch_write_item(self, RequestItems, **kwargs):
        RequestItems = plain(RequestItems, "RequestItems")
        send, unprocessed = {}, {}
        for table, requests in RequestItems.items():
            for request in requests:
                kept = self._keep() and not self._refuse(request["PutRequest"]["Item"])
                (send if kept else unprocessed).setdefault(table, []).append(request)
        self.log.counts["unprocessed_items"] += sum(len(v) for v in unprocessed.values())
        response = self._client.batch_write_item(RequestItems=send, **kwargs) if send else {}
        merged = dict(response.get("UnprocessedItems") or {})
        for table, requests in unprocessed.items():
            merged.setdefault(table, []).extend(requests)
        return {**response, "UnprocessedItems": merged}

    def batch_get_item(self, RequestItems, **kwargs):
        RequestItems = plain(RequestItems, "RequestItems")
        send, unprocessed = {}, {}
        for table, request in RequestItems.items():
            for key in request["Keys"]:
                target = send if self._keep() else unprocessed
                target.setdefault(table, {**request, "Keys": []})["Keys"].append(key)
        self.log.counts["unprocessed_keys"] += sum(len(v["Keys"]) for v in unprocessed.values())
        response = self._client.batch_get_item(RequestItems=send, **kwargs) if send else {}
        merged = dict(response.get("UnprocessedKeys") or {})
        for table, request in unprocessed.items():
            merged.setdefault(table, {**request, "Keys": []})["Keys"].extend(request["Keys"])
        return {"Responses": {}, **response, "UnprocessedKeys": merged}

    def transact_write_items(self, TransactItems, **kwargs):
        TransactItems = plain(TransactItems, "TransactItems")
        if self._tx_share and self._rng.random() < self._tx_share:
            self.log.counts["throttled_transactions"] += 1
            reasons = [{"Code": "None"} for _ in TransactItems]
            reasons[self._rng.randrange(len(reasons))] = {
                "Code": "ThrottlingError",
                "Message": "Throughput exceeds the current capacity for one or more global "
                "secondary indexes.",
            }
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(TransactItems=TransactItems, **kwargs)


def plain(value: Any, name: str) -> Any:
    """A request parameter as boto3 takes it: the store sends its batches with the body
    encoded already (`EncodedBody`), which this wrapper reads back to fault it item by item."""
    if isinstance(value, dict):
        first = next(iter(value.values()), None)
    else:
        first = value[0] if value else None
    return orjson.loads(bytes(first))[name] if isinstance(first, EncodedBody) else value


THROTTLING_BODY = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
    b'"message":"Rate of requests exceeds the allowed throughput."}'
)


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, *args, **kwargs):
        yield self._body


def inject_request_faults(
    client,
    *,
    throttle_share: float = 0.0,
    drop_before_share: float = 0.0,
    drop_after_share: float = 0.0,
    operations: tuple[str, ...] = ("BatchWriteItem", "BatchGetItem", "TransactWriteItems"),
    seed: int = 11,
    log: FaultLog | None = None,
) -> FaultLog:
    """Make a share of requests fail at the HTTP layer; botocore's retry mode handles them.

    `drop_after` sends the request for real, then loses the response: the server has applied
    it, the client does not know.
    """
    rng = random.Random(seed)
    log = log or FaultLog()
    session = URLLib3Session()

    def before_send(request, **kwargs):
        draw = rng.random()
        if draw < throttle_share:
            log.counts["throttled_requests"] += 1
            return AWSResponse(request.url, 400, {}, _Raw(THROTTLING_BODY))
        draw -= throttle_share
        if draw < drop_before_share:
            log.counts["dropped_before"] += 1
            raise ConnectionClosedError(endpoint_url=request.url)
        draw -= drop_before_share
        if draw < drop_after_share:
            log.counts["dropped_after"] += 1
            session.send(request)
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    for operation in operations:
        client.meta.events.register(f"before-send.dynamodb.{operation}", before_send)
    return log


class BotocoreSleeps:
    """Replaces the sleep botocore's retry loop does between attempts, and records it."""

    def __init__(self, monkeypatch):
        self.delays: list[float] = []
        fake = type("FakeTime", (), {"sleep": staticmethod(self.delays.append)})
        monkeypatch.setattr(botocore.endpoint, "time", fake)
