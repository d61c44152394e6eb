"""Each write strategy sends the requests its mode promises, and says what became of every put.

A recording store stands in for DynamoDB: these pin which request carries which record (the
write cost and the concurrency guarantee of each mode); the writer's tests run them on engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from ingestion.writing.store import ConditionalPut, PutResult, PutStatus
from ingestion.writing.strategies import STRATEGIES, WriteMode, strategy_for


@dataclass(frozen=True)
class Item:
    name: str
    item: dict = field(default_factory=dict)
    wire: dict = field(default_factory=dict)
    size: int = 1


class Store:
    """Records every request; a conditional put of a name in `changed` fails once."""

    def __init__(self, changed=(), refused=()):
        self.requests: list[tuple[str, list[str]]] = []
        self.changed = set(changed)
        self.refused = set(refused)

    def put_batch(self, candidates, before_request=None, on_stored=None):
        if candidates:
            if before_request:
                before_request()
            self.requests.append(("batch", [c.name for c in candidates]))
            ok = [c for c in candidates if c.name not in self.refused]
            on_stored(ok)
        return [(c, "too big") for c in candidates if c.name in self.refused]

    def put_conditional(self, puts):
        self.requests.append(("transaction", [p.candidate.name for p in puts]))
        results = []
        for put in puts:
            name = put.candidate.name
            if name in self.changed:
                self.changed.discard(name)
                results.append(PutResult(put, PutStatus.CONDITION_FAILED, stored={"h": "x"}))
            elif name in self.refused:
                results.append(PutResult(put, PutStatus.FAILED, reason="too big"))
            else:
                results.append(PutResult(put, PutStatus.APPLIED))
        return results


class Lease:
    def __init__(self, held: bool):
        self.held = held
        self.ensured = 0

    def ensure(self) -> None:
        self.ensured += 1
        self.held = True


class Outcomes:
    def __init__(self, again: bool = True):
        self.events: list[tuple[str, Any]] = []
        self.again = again

    def stored(self, candidate, *, updated):
        self.events.append(("updated" if updated else "written", candidate.name))

    def refused(self, candidate, reason):
        self.events.append(("refused", candidate.name))

    def changed(self, put, stored):
        self.events.append(("changed", put.candidate.name))
        return ConditionalPut(put.candidate) if self.again else None


NEW = ConditionalPut(Item("new"))
UPDATE = ConditionalPut(Item("update"), expected_hash="old")


def write(mode, puts, store, lease, outcomes=None):
    strategy = strategy_for(mode, store, lease)
    guarded = strategy.read_is_guarded()
    outcomes = outcomes or Outcomes()
    strategy.write(list(puts), outcomes, guarded=guarded)
    return outcomes.events


def test_every_mode_has_one_strategy():
    assert set(STRATEGIES) == set(WriteMode)


def test_the_leased_mode_needs_a_lease():
    with pytest.raises(ValueError, match="under a lease"):
        strategy_for(WriteMode.LEASED, Store(), None)


def test_leased_under_a_held_lease_puts_plainly_and_counts_updates_as_updates():
    store, lease = Store(), Lease(held=True)
    events = write(WriteMode.LEASED, [NEW, UPDATE], store, lease)
    assert store.requests == [("batch", ["new", "update"])]
    assert events == [("written", "new"), ("updated", "update")]
    assert lease.ensured == 1  # before the request


def test_leased_read_before_the_lease_was_held_takes_it_and_writes_conditionally():
    store, lease = Store(), Lease(held=False)
    events = write(WriteMode.LEASED, [NEW, UPDATE], store, lease)
    assert store.requests == [("transaction", ["new", "update"])]
    assert events == [("written", "new"), ("updated", "update")]
    assert lease.ensured >= 1


def test_only_the_leased_mode_can_guard_a_read_and_guarding_takes_its_lease():
    lease = Lease(held=False)
    assert strategy_for(WriteMode.LEASED, Store(), lease).guard() and lease.held
    for mode in (WriteMode.BATCH, WriteMode.TRANSACTIONAL):
        lease = Lease(held=False)
        assert not strategy_for(mode, Store(), lease).guard() and not lease.held


def test_leased_with_nothing_to_put_sends_nothing_and_takes_no_lease():
    store, lease = Store(), Lease(held=False)
    assert write(WriteMode.LEASED, [], store, lease) == []
    assert store.requests == [] and lease.ensured == 0


def test_batch_puts_new_records_plainly_and_updates_only_over_the_version_read():
    store, lease = Store(), Lease(held=False)
    events = write(WriteMode.BATCH, [NEW, UPDATE], store, lease)
    assert store.requests == [("batch", ["new"]), ("transaction", ["update"])]
    assert events == [("written", "new"), ("updated", "update")]


def test_transactional_puts_everything_conditionally_even_without_a_lease():
    store = Store()
    events = write(WriteMode.TRANSACTIONAL, [NEW, UPDATE], store, None)
    assert store.requests == [("transaction", ["new", "update"])]
    assert events == [("written", "new"), ("updated", "update")]


def test_a_failed_condition_is_judged_again_and_resent_only_if_still_due():
    store = Store(changed={"new"})
    events = write(WriteMode.TRANSACTIONAL, [NEW], store, None)
    assert store.requests == [("transaction", ["new"]), ("transaction", ["new"])]
    assert events == [("changed", "new"), ("written", "new")]

    store = Store(changed={"new"})
    events = write(WriteMode.TRANSACTIONAL, [NEW], store, None, Outcomes(again=False))
    assert store.requests == [("transaction", ["new"])]
    assert events == [("changed", "new")]


@pytest.mark.parametrize("mode", list(WriteMode))
def test_an_item_dynamodb_refuses_is_reported_and_the_rest_stored(mode):
    store = Store(refused={"new"})
    lease = Lease(held=True)
    other = ConditionalPut(Item("other"))
    events = write(mode, [NEW, other], store, lease)
    assert sorted(events) == [("refused", "new"), ("written", "other")]
