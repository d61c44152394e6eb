"""A tenant operation's hold on the tenant's writes: every writer lease of the tenant in the
tiers it works on, taken as an ingest takes one (waiting, bounded, for ingests to finish).

While the operation holds them, no ingest writes the tenant's data there; where the tenant no
longer lives (the old tier of a move, an erased tenant) the lease becomes a fence
(`ingestion.writing.lease.Fence`), which an ingest that started before the change meets and stops at
instead of writing where nobody reads. Leases are taken in one order (by table name), so two
operations on one tenant wait for each other and never deadlock, and every lease already held
is renewed while the next one is waited for.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from ingestion.lifecycle.errors import OperationRefused
from ingestion.records.items import TENANT_DATA_KINDS, serialize
from ingestion.writing.lease import (
    FENCE_ATTR,
    OWNER_ATTR,
    Fence,
    Holder,
    LeaseBusyError,
    WriterLease,
    lease_key,
)
from ingestion.writing.store import TableStore
from tenancy.budgets import OPERATION_WAIT_SECONDS
from tenancy.provisioner import describe
from tenancy.roster import Tier
from tenancy.settings import StackSettings
from tenancy.tables import tier_tables

_ATTEMPT_SECONDS = 2.0  # one try at a lease, before the ones held are renewed again

MOVE_FENCES = frozenset({Fence.MOVED_TO_SILO, Fence.MOVED_TO_POOL})
ALL_FENCES = frozenset(Fence)


class TenantLock:
    """The writer leases of one tenant's tables in some tiers, held by one operation."""

    def __init__(
        self,
        client,
        settings: StackSettings,
        tenant_id: str,
        tiers: Iterable[Tier],
        *,
        operation: str,
        takes_fences: frozenset[str] = MOVE_FENCES,
        wait_seconds: float = OPERATION_WAIT_SECONDS,
        on_wait: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.tenant_id = tenant_id
        self.operation = operation
        self.wait_seconds = wait_seconds
        self.on_wait = on_wait
        self.clock = clock
        self.owner = f"{operation}-{uuid.uuid4().hex}"
        self.leases: dict[tuple[Tier, str], WriterLease] = {}
        self.fenced: set[tuple[Tier, str]] = set()
        for tier in dict.fromkeys(tiers):
            for kind in TENANT_DATA_KINDS:
                table = tier_tables(settings, tenant_id, tier)[kind.layout.kind]
                if describe(client, table.name) is None:  # never made, or already dropped
                    continue
                self.leases[(tier, kind.layout.kind)] = WriterLease(
                    client,
                    table.name,
                    kind.stored_in(table.layout),
                    tenant_id,
                    owner=self.owner,
                    wait_seconds=_ATTEMPT_SECONDS,
                    takes_fences=takes_fences,
                    on_wait=self._waiting,
                )
        self._told = False

    def __enter__(self) -> TenantLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def tables(self, tier: Tier) -> list[str]:
        return [lease.table_name for (t, _), lease in self.leases.items() if t is tier]

    def acquire(self) -> None:
        """Take every lease, in table-name order, waiting at most `wait_seconds` in all."""
        deadline = self.clock() + self.wait_seconds
        for key in sorted(self.leases, key=lambda k: self.leases[k].table_name):
            lease = self.leases[key]
            while True:
                try:
                    lease.ensure()
                    break
                except LeaseBusyError:
                    if self.clock() > deadline:
                        self.release()
                        raise OperationRefused(
                            f"{self.operation} of tenant {self.tenant_id!r}: another writer "
                            f"kept {lease.table_name} for over {self.wait_seconds:.0f} s; "
                            "nothing was changed: run it again when it is done"
                        ) from None
                    self.ensure()  # keep the leases already taken while this one is awaited

    def ensure(self) -> None:
        """Renew every lease still held (a fence needs no renewal)."""
        for key, lease in self.leases.items():
            if key not in self.fenced and lease.held:
                lease.ensure()

    def fence(self, tier: Tier, why: Fence) -> None:
        """Turn this tier's leases into fences: the tenant's writes there stop for good."""
        for (t, kind), lease in self.leases.items():
            if t is tier and (t, kind) not in self.fenced:
                lease.fence(why)
                self.fenced.add((t, kind))

    def release(self) -> None:
        """Give back every lease still held (fences stay; a table dropped meanwhile holds
        nothing to give back)."""
        for key, lease in self.leases.items():
            if key in self.fenced:
                continue
            try:
                lease.release()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise

    def forget(self, tier: Tier) -> None:
        """This tier's tables were deleted by the operation: their leases went with them."""
        for key in [key for key in self.leases if key[0] is tier]:
            del self.leases[key]
            self.fenced.discard(key)

    def _waiting(self, holder: Holder) -> None:
        if self.on_wait and not self._told:
            self._told = True
            self.on_wait(
                f"waiting for the writer of tenant {self.tenant_id!r} to finish "
                f"({holder.describe()}; at most {self.wait_seconds:.0f} s)"
            )


def remove_fences(client, settings: StackSettings, tenant_id: str, tier: Tier) -> int:
    """Delete the tenant's lease and fence items in one tier's tables (the last trace of an
    erased tenant); how many tables held one."""
    removed = 0
    for kind in TENANT_DATA_KINDS:
        table = tier_tables(settings, tenant_id, tier)[kind.layout.kind]
        stored = kind.stored_in(table.layout)
        if describe(client, table.name) is None:
            continue
        TableStore(client, table.name, stored).delete_batch([lease_key(stored, tenant_id)])
        removed += 1
    return removed


def lift_fences(
    client,
    settings: StackSettings,
    tenant_id: str,
    tier: Tier,
    *,
    owner: str | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Take the move fences off the tenant's tables in one tier, where it is served: those
    one operation (`owner`) placed, or any a move left where the roster still serves the
    tenant (a move abandoned by hand after it fenced). How many were lifted."""
    lifted = 0
    for kind in TENANT_DATA_KINDS:
        table = tier_tables(settings, tenant_id, tier)[kind.layout.kind]
        if describe(client, table.name) is None:
            continue
        stored = kind.stored_in(table.layout)
        condition = "#fence IN (:silo, :pool)"
        values = {
            ":silo": {"S": str(Fence.MOVED_TO_SILO)},
            ":pool": {"S": str(Fence.MOVED_TO_POOL)},
        }
        if owner is not None:
            condition += " AND #owner = :owner"
            values[":owner"] = {"S": f"fence:{owner}"}
        try:
            client.delete_item(
                TableName=table.name,
                Key=serialize(lease_key(stored, tenant_id)),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#fence": FENCE_ATTR, "#owner": OWNER_ATTR}
                if owner is not None
                else {"#fence": FENCE_ATTR},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            continue
        lifted += 1
        if say:
            say(f"lifted the fence an unfinished move left on {table.name}: its writes go on")
    return lifted
