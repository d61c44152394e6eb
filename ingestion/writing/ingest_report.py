"""What an ingest did, record by record, summed up in counts a script can rely on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Outcome(StrEnum):
    WRITTEN = "written"  # stored for the first time
    UPDATED = "updated"  # replaced a different stored version, because updates were accepted
    DUPLICATE = "duplicate"  # the same record was already stored: nothing written
    CONFLICT = "conflict"  # a different record is stored under the same key: left as it was
    REJECTED = "rejected"  # the record breaks its contract: quarantined, never sent


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Rejection:
    location: str  # "line 7" / "item 7" of the input
    errors: tuple[FieldError, ...]

    def describe(self) -> str:
        return f"{self.location}: " + "; ".join(f"{e.field}: {e.reason}" for e in self.errors)


@dataclass(frozen=True)
class Conflict:
    location: str
    record_key: str
    fields: tuple[str, ...]  # the fields whose stored value differs
    # Another writer changed (or removed) the item between this run's read and its write of an
    # accepted update: the other writer's version is kept.
    concurrent: bool = False

    def describe(self) -> str:
        what = ", ".join(self.fields) or "content"
        if self.concurrent:
            return (
                f"{self.location}: {self.record_key} was changed by another writer during this "
                f"run (now different {what}); kept their version, not this update"
            )
        return (
            f"{self.location}: {self.record_key} is stored with different {what}; "
            "kept the stored version"
        )


# Details kept in memory for the summary; the counts stay exact and every refused record is in
# the quarantine file, so a file of a million bad lines does not fill memory with reasons.
DETAILS_KEPT = 1_000


@dataclass
class IngestReport:
    kind: str
    tenant_id: str
    received: int = 0
    written: int = 0
    updated: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    conflict_details: list[Conflict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    quarantine: Path | None = None
    throttle_retries: int = 0

    def add_rejection(self, rejection: Rejection) -> None:
        self.count(Outcome.REJECTED)
        if len(self.rejections) < DETAILS_KEPT:
            self.rejections.append(rejection)

    def add_conflict(self, conflict: Conflict) -> None:
        self.count(Outcome.CONFLICT)
        if len(self.conflict_details) < DETAILS_KEPT:
            self.conflict_details.append(conflict)

    def count(self, outcome: Outcome) -> None:
        attribute = {
            Outcome.WRITTEN: "written",
            Outcome.UPDATED: "updated",
            Outcome.DUPLICATE: "duplicates",
            Outcome.CONFLICT: "conflicts",
            Outcome.REJECTED: "rejected",
        }[outcome]
        setattr(self, attribute, getattr(self, attribute) + 1)

    @property
    def handled(self) -> int:
        return self.written + self.updated + self.duplicates + self.conflicts + self.rejected

    @property
    def clean(self) -> bool:
        """Every record was written or was already there."""
        return not (self.rejected or self.conflicts)

    def merge(self, other: IngestReport) -> None:
        for name in ("received", "written", "updated", "duplicates", "conflicts", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.throttle_retries += other.throttle_retries
        room = DETAILS_KEPT - len(self.conflict_details)
        self.conflict_details += other.conflict_details[: max(0, room)]
        self.rejections += other.rejections[: max(0, DETAILS_KEPT - len(self.rejections))]
        self.quarantine = self.quarantine or other.quarantine

    def summary(self) -> str:
        text = (
            f"{self.received} received: {self.written} written, {self.duplicates} duplicates, "
            f"{self.conflicts} conflicts, {self.rejected} rejected"
        )
        return text + (f", {self.updated} updated" if self.updated else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "written": self.written,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "updated": self.updated,
            "quarantine": str(self.quarantine) if self.quarantine else None,
        }
