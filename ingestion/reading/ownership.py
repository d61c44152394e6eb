"""Whose an item is: the one check every read of a tenant's data applies before it serves,
copies, exports or verifies an item as that tenant's.

What IAM guards is an item's primary key: a siloed tenant's role reaches only its own tables,
a pooled tenant's role only pool keys that lead with `{tenantId}#` (`dynamodb:LeadingKeys`).
Everything else about an item, its `tenantId`, its index keys, its bookkeeping, is whatever
the writer put there, and any tenant's role can write any fields. So an item is a tenant's
only when it was found under the tenant's keys (its tables, or pool keys leading with its id)
and its fields agree: it names the tenant, and in a pool table every composed key (the
table's, each index's, the tenant index's shard) is what the fields give. Anything else is
skipped and reported, never served, copied or counted, and never fatal: one item another
tenant planted must not cost the victim its own data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ingestion.records.items import TENANT_ID_ATTR, RecordKind
from tenancy.tables import POOL_KEY_SEPARATOR
from tenancy.validation_errors import dotted, field_errors

SHOWN = 10  # keys a report lists; the count covers the rest


@dataclass(frozen=True)
class Refused:
    """An item found where a tenant's items are, and not taken as the tenant's."""

    table: str
    key: Mapping[str, Any]
    why: str

    def describe(self) -> str:
        key = ", ".join(f"{name}={value!r}" for name, value in self.key.items())
        return f"{self.table} ({key}): {self.why}"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "key": {k: str(v) for k, v in self.key.items()},
                "why": self.why}  # fmt: skip


@dataclass
class Refusals:
    """The items a read skipped: how many, and the first few by key, for its report. An item
    met again (an operation reads a tier more than once) is counted once."""

    tenant_id: str
    shown: list[Refused] = field(default_factory=list)
    by_table: Counter[str] = field(default_factory=Counter)
    _seen: set[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=set, repr=False)

    @property
    def count(self) -> int:
        return len(self._seen)

    def add(self, refused: Refused) -> None:
        identity = (refused.table, tuple((k, str(v)) for k, v in sorted(refused.key.items())))
        if identity in self._seen:
            return
        self._seen.add(identity)
        self.by_table[refused.table] += 1
        if len(self.shown) < SHOWN:
            self.shown.append(refused)

    def __bool__(self) -> bool:
        return self.count > 0

    def summary(self) -> str:
        """One line: `skipped 2 items that are not tenant V's records: t (k='x'): why; ...`."""
        items = "item that is" if self.count == 1 else "items that are"
        listed = "; ".join(refused.describe() for refused in self.shown)
        rest = self.count - len(self.shown)
        more = f"; and {rest:,} more" if rest else ""
        return (
            f"skipped {self.count:,} {items} not tenant {self.tenant_id!r}'s records "
            f"(never served, copied or counted): {listed}{more}"
        )

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "shown": [refused.to_json() for refused in self.shown]}


def ownership_problem(item: Mapping[str, Any], kind: RecordKind, tenant_id: str) -> str | None:
    """Why an item found under a tenant's keys is not the tenant's (None when it is): it
    names another tenant, or (in a pool table) a key of it is not what its fields compose."""
    named = item.get(TENANT_ID_ATTR)
    if named != tenant_id:
        return f"it names tenant {named!r}" if named is not None else "it names no tenant"
    if kind.layout.pooled:
        names = kind.layout.composed_names()
        stored = {name: item[name] for name in names if name in item}
        if stored != kind.layout.compose(item):
            return "its keys do not lead with the tenant id its fields name"
    return None


def leads_with(tenant_id: str, value: Any) -> bool:
    """Whether a pool partition key value is under the tenant's leading key (`{id}#...`):
    what only the tenant's own role (or the platform) can have written."""
    return isinstance(value, str) and value.startswith(f"{tenant_id}{POOL_KEY_SEPARATOR}")


def record_of(
    item: Mapping[str, Any], kind: RecordKind, tenant_id: str, table: str
) -> BaseModel | Refused:
    """The tenant's record an item holds, or why it holds none (the check above, then the
    contract: an item its own tenant wrote by hand may be no valid record at all)."""
    problem = ownership_problem(item, kind, tenant_id)
    if problem is None:
        try:
            return kind.from_item(item)
        except ValidationError as exc:
            problem = f"not a valid {kind.name}: " + "; ".join(
                f"{dotted(loc) or '(record)'}: {why}" for loc, why in field_errors(exc)
            )
    return Refused(table, kind.key_dict(item), problem)
