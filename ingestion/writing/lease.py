"""A per-tenant writer lease: while one ingest holds it, no other default-mode ingest writes.

Exact counts under concurrent writers used to cost a transaction per record (two write units
each, and three times the engine's CPU on DynamoDB Local). With the lease held, what a chunk
reads is what is stored until this ingest writes it, so new and restated records can go out as
plain BatchWriteItem puts at one write unit each, and every record is still stored once and
counted once. An ingest that finds nothing to write (a re-ingest) never takes the lease, so it
writes nothing at all.

The lease is one item per tenant in the tenant's table (its own, or a pool table), under a key
no record can have (the contracts refuse ids holding characters that do not print, and a
metric's series is a slug), with no attribute any index is keyed on: readers never meet it. It
names its holder (run, host, pid) and expires `LEASE_SECONDS` after its last renewal; the
holder renews it before writing once less than `RENEW_BELOW_SECONDS` are left, and stops (the
ingest is interrupted, its report exact) if it ever finds the lease taken. A holder that died
on this host (SIGKILL) is noticed at once by its pid; one elsewhere is outlived by waiting for
its lease to expire. Expiry uses each host's clock: the hosts of concurrent writers must keep
their clocks within a few seconds.

The same slot fences a tenant's writes while its data moves or is erased: a tenant operation
(`ingestion.lifecycle`) takes the lease as any writer does, waiting for ingests to finish, and
may turn it into a *fence* that never expires (`Fence`): an ingest that finds one stops before
writing, saying why, instead of writing where the tenant no longer lives. Only the operations
named for a fence may take it over.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from ingestion.records.items import RecordKind, deserialize, serialize
from tenancy.budgets import LEASE_POLL_SECONDS as POLL_SECONDS
from tenancy.budgets import LEASE_RENEW_BELOW_SECONDS as RENEW_BELOW_SECONDS
from tenancy.budgets import LEASE_SECONDS, MAX_CLOCK_SKEW_SECONDS
from tenancy.budgets import LEASE_WAIT_SECONDS as WAIT_SECONDS
from tenancy.errors import Failed, Refused

LEASE_KEY = "\u2063salestalk:writer-lease"  # U+2063 INVISIBLE SEPARATOR: no record id holds it

OWNER_ATTR = "leaseOwner"
HOST_ATTR = "leaseHost"
PID_ATTR = "leasePid"
EXPIRES_ATTR = "leaseExpires"
FENCE_ATTR = "leaseFence"
FENCE_EXPIRES = 10**12  # seconds since 1970: a fence never expires (year 33658)


class Fence(StrEnum):
    """Why a tenant's writes to a table are fenced off for good (until an operation lifts it)."""

    MOVED_TO_SILO = "moved to silo"
    MOVED_TO_POOL = "moved to pool"
    ERASED = "erased"


class LeaseBusyError(Failed, RuntimeError):
    """Another ingest kept the lease for longer than this one would wait."""


class TenantFencedError(Refused, RuntimeError):
    """The tenant's writes to this table are fenced: it moved away or is being erased."""

    def __init__(self, table: str, fence: str, holder: Holder):
        self.table = table
        self.fence = fence
        super().__init__(
            f"tenant writes to {table} are fenced: the tenant's data {fence} "
            f"({holder.describe()}); nothing more is written there"
        )


class LeaseLostError(Failed, RuntimeError):
    """The lease was taken by another writer while this one held it (it stopped renewing in
    time, e.g. paused for longer than the lease lasts): this ingest must not write on."""


def lease_key(kind: RecordKind, tenant_id: str) -> dict[str, str]:
    """The lease item's key in a table of `kind`: one lease per tenant, so that in a pool
    table each pooled tenant's ingests wait only for that tenant's (and its role, held to its
    own leading keys, may take it)."""
    return kind.layout.primary_key(dict.fromkeys(kind.layout.key_fields(), LEASE_KEY), tenant_id)


def is_lease(item: Mapping[str, Any], key_names: Iterable[str]) -> bool:
    """Whether an item (as plain values) is a writer lease or fence rather than data: told
    by its key (`key_names`: the table's key attributes), which no record can have; what its
    other attributes say does not count (a message's content may end in anything)."""
    names = tuple(key_names)
    return bool(names) and all(
        isinstance(item.get(name), str) and item[name].endswith(LEASE_KEY) for name in names
    )


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    expires: float
    fence: str | None = None

    def describe(self) -> str:
        """`pid 12 on host h (run 1a2b3c4d)`, or for a tenant operation's lease (its owner is
        `OPERATION-RUN`, see `ingestion.lifecycle.fencing`) `salestalk tenant move, pid 12...`."""
        operation, separator, run = self.owner.rpartition("-")
        if separator and not self.fence:
            return f"`salestalk tenant {operation}`, pid {self.pid} on host {self.host}"
        return f"pid {self.pid} on host {self.host} (run {(run or self.owner)[:8]})"


class WriterLease:
    """The lease of one table, taken when the first write is due and released at the end."""

    def __init__(
        self,
        client,
        table_name: str,
        kind: RecordKind,
        tenant_id: str,
        *,
        owner: str | None = None,
        seconds: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[Holder], None] | None = None,
        takes_fences: frozenset[str] = frozenset(),
        on_acquired: Callable[[], None] | None = None,
    ):
        self.client = client
        self.takes_fences = takes_fences  # the fences this holder may take over (operations)
        # Called each time the lease is taken, before anything is written under it: an ingest
        # checks there that the tenant still lives where it is about to write.
        self.on_acquired = on_acquired
        self.table_name = table_name
        self.key = serialize(lease_key(kind, tenant_id))
        self.owner = owner or uuid.uuid4().hex
        self.seconds = seconds
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.sleep = sleep
        self.on_wait = on_wait
        self.expires: float | None = None  # None: not held
        self.lost = False  # once taken from this writer, it never writes under it again
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self.requests = 0  # lease requests sent, for reports and benchmarks

    @property
    def held(self) -> bool:
        return self.expires is not None

    def ensure(self) -> None:
        """Hold the lease with time to spare before a write: take it if it is not held (waiting
        for another holder), renew it if little time is left. Thread-safe."""
        with self._lock:
            if self.lost:
                raise self._lost()
            if self.expires is None:
                self._acquire()
                if self.on_acquired is not None:
                    self.on_acquired()
            elif self.expires - self.clock() < RENEW_BELOW_SECONDS:
                self._renew()

    def release(self) -> None:
        with self._lock:
            if self.expires is None:
                return
            self.expires = None
            try:
                self._send(
                    self.client.delete_item,
                    ConditionExpression="#owner = :me",
                    ExpressionAttributeNames={"#owner": OWNER_ATTR},
                    ExpressionAttributeValues=serialize({":me": self.owner}),
                )
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":  # already taken over
                    raise

    def fence(self, why: Fence) -> None:
        """Turn the lease this holder has into a fence that never expires: from now on no
        writer takes it (an ingest stops, saying `why`), but an operation allowed to."""
        with self._lock:
            if self.expires is None:
                raise RuntimeError(f"the lease of {self.table_name} is not held: cannot fence")
            item = {
                **deserialize(self.key),
                OWNER_ATTR: f"fence:{self.owner}",
                HOST_ATTR: self.host,
                PID_ATTR: self.pid,
                EXPIRES_ATTR: FENCE_EXPIRES,
                FENCE_ATTR: str(why),
            }
            try:
                self._send(
                    self.client.put_item,
                    key=False,
                    Item=serialize(item),
                    ConditionExpression="#owner = :me",
                    ExpressionAttributeNames={"#owner": OWNER_ATTR},
                    ExpressionAttributeValues=serialize({":me": self.owner}),
                )
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    self.expires, self.lost = None, True
                    raise self._lost() from None
                raise
            self.expires = None  # the fence is nobody's lease

    # --- the three requests ---

    def _acquire(self) -> None:
        deadline = time.monotonic() + self.wait_seconds
        waited = False
        while True:
            now = self.clock()
            expires = now + self.seconds
            item = {
                **deserialize(self.key),
                OWNER_ATTR: self.owner,
                HOST_ATTR: self.host,
                PID_ATTR: self.pid,
                EXPIRES_ATTR: _number(expires),
            }
            condition, values = self._free_condition(now)
            try:
                self._send(
                    self.client.put_item,
                    key=False,
                    Item=serialize(item),
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        "#owner": OWNER_ATTR,
                        "#expires": EXPIRES_ATTR,
                        "#fence": FENCE_ATTR,
                    },
                    ExpressionAttributeValues=serialize(values),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
                holder = _holder(exc)
                if holder is not None and holder.fence is not None:
                    raise TenantFencedError(self.table_name, holder.fence, holder) from None
                if holder is not None and self._dead_here(holder):
                    self._break(holder)
                    continue
                if time.monotonic() > deadline:
                    who = holder.describe() if holder else "a writer that did not say who"
                    raise LeaseBusyError(
                        f"another ingest into {self.table_name} ({who}) "
                        f"kept writing for over {self.wait_seconds:.0f} s; nothing was written "
                        "by this one: run it again when that ingest is done"
                    ) from None
                if not waited and self.on_wait and holder is not None:
                    self.on_wait(holder)
                waited = True
                self.sleep(POLL_SECONDS)
                continue
            self.expires = expires
            return

    def _free_condition(self, now: float) -> tuple[str, dict[str, Any]]:
        """When the lease may be taken: nobody holds it; it is ours already (a retried
        request that was applied); it expired; it is no lease any writer made (an expiry
        further ahead than a lease ever runs, or not a number: an item the tenant's own role
        planted to block its erasure or move); it is a fence no operation made; or it is a
        fence this holder may take over."""
        values: dict[str, Any] = {
            ":now": _number(now),
            ":far": _number(now + self.seconds + MAX_CLOCK_SKEW_SECONDS),
            ":me": self.owner,
            ":number": "N",
        }
        known = []
        for n, fence in enumerate(Fence):
            values[f":known{n}"] = str(fence)
            known.append(f":known{n}")
        condition = (
            "attribute_not_exists(#owner) OR #owner = :me"
            # the type first: an engine may fail comparing text with a number
            " OR (attribute_not_exists(#fence) AND (NOT attribute_type(#expires, :number)"
            " OR #expires < :now OR #expires > :far))"
            f" OR (attribute_exists(#fence) AND NOT (#fence IN ({', '.join(known)})))"
        )
        for n, fence in enumerate(sorted(self.takes_fences)):
            condition += f" OR #fence = :take{n}"
            values[f":take{n}"] = str(fence)
        return condition, values

    def _renew(self) -> None:
        expires = self.clock() + self.seconds
        try:
            self._send(
                self.client.update_item,
                UpdateExpression="SET #expires = :expires",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": OWNER_ATTR, "#expires": EXPIRES_ATTR},
                ExpressionAttributeValues=serialize(
                    {":expires": _number(expires), ":me": self.owner}
                ),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                self.expires, self.lost = None, True
                raise self._lost() from None
            raise
        self.expires = expires

    def _lost(self) -> LeaseLostError:
        return LeaseLostError(
            f"the writer lease of {self.table_name} was taken by another ingest while this one "
            "held it (it was paused for longer than the lease lasts); it stopped before "
            "writing on"
        )

    def _break(self, holder: Holder) -> None:
        """Remove the lease of a holder that is dead on this host (killed mid-ingest)."""
        try:
            self._send(
                self.client.delete_item,
                ConditionExpression="#owner = :theirs",
                ExpressionAttributeNames={"#owner": OWNER_ATTR},
                ExpressionAttributeValues=serialize({":theirs": holder.owner}),
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":  # someone else was quicker
                raise

    def _dead_here(self, holder: Holder) -> bool:
        if holder.host != self.host or holder.pid == self.pid:
            return False
        try:
            os.kill(holder.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _send(self, call, *, key: bool = True, **request) -> Any:
        self.requests += 1
        if key:
            request["Key"] = self.key
        return call(TableName=self.table_name, **request)


def _holder(exc: ClientError) -> Holder | None:
    item = exc.response.get("Item")
    if not item:
        return None
    plain = deserialize(item)
    try:
        fence = plain.get(FENCE_ATTR)
        return Holder(
            str(plain[OWNER_ATTR]),
            str(plain.get(HOST_ATTR, "?")),
            int(plain.get(PID_ATTR, 0)),
            float(plain.get(EXPIRES_ATTR, 0)),
            str(fence) if fence is not None else None,
        )
    except (KeyError, ValueError, TypeError):
        return None


def _number(seconds: float):
    from decimal import Decimal

    return Decimal(f"{seconds:.3f}")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")
