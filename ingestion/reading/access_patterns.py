"""The product's access patterns, declared once: what each reads, the values it takes, and how.

`salestalk query PATTERN` is built from this list (one subcommand per pattern, its arguments
and examples from the declaration). A pattern by index reads through `index_query`, which
works for any index of the tenant's tables or of tenants-metadata: making a new GSI queryable
is its `IndexSpec` in `tenancy/tables.py` and one `AccessPattern` here, and a test fails while
an index of the layouts has no pattern that reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ingestion.reading.query_pages import Query
from ingestion.records.contracts import MetricType
from tenancy.tables import (
    DIMENSION_INDEX,
    METRIC_TYPE_INDEX,
    OWNER_EMAIL_INDEX,
    SENDER_INDEX,
    SESSION_INDEX,
    STATUS_INDEX,
)


class Scope(StrEnum):
    TENANT = "tenant"  # one tenant's data (`TenantReader`): the pattern takes --tenant
    METADATA = "metadata"  # the global tenants-metadata table (`MetadataReader`)


@dataclass(frozen=True)
class Parameter:
    """One value a pattern takes: positional on the command line, or `--name` if `option`."""

    name: str  # the keyword the pattern's read takes
    help: str
    metavar: str | None = None
    option: bool = False


@dataclass(frozen=True)
class AccessPattern:
    name: str
    summary: str
    parameters: tuple[Parameter, ...]
    # read(reader, **values): a Query (read as taken, in pages) or a list (a record by its key)
    read: Callable[..., Query | list]
    examples: tuple[str, ...]  # as typed after `salestalk query NAME`
    scope: Scope = Scope.TENANT
    periods: bool = False  # takes a period range (--from, --to)
    one_option: bool = False  # exactly one of its options is given

    def run(self, reader, values: Mapping[str, Any]) -> Query | list:
        """The pattern's records, from the values named by its parameters (and the range)."""
        wanted = {p.name: values.get(p.name) for p in self.parameters}
        if self.periods:
            wanted.update(start=values.get("start"), end=values.get("end"))
        return self.read(reader, **wanted)


def _one(record) -> list:
    return [record] if record is not None else []


ACCESS_PATTERNS: tuple[AccessPattern, ...] = (
    AccessPattern(
        "message",
        "one message by id",
        (Parameter("message_id", "the message's id", "MESSAGE_ID"),),
        lambda reader, message_id: _one(reader.message(message_id)),
        ("--tenant acme-corp-001 msg-acme-0001",),
    ),
    AccessPattern(
        "session",
        "a session's messages in time order",
        (Parameter("session_id", "the session's id", "SESSION_ID"),),
        lambda reader, session_id: reader.index_query(SESSION_INDEX, session_id),
        (
            "--tenant acme-corp-001 sess-acme-2026-01-12-a",
            "--tenant acme-corp-001 sess-acme-2026-01-12-a --jsonl",
        ),
    ),
    AccessPattern(
        "sender",
        "a sender's messages in time order",
        (Parameter("sender_id", "who sent them (a user, the assistant)", "SENDER_ID"),),
        lambda reader, sender_id: reader.index_query(SENDER_INDEX, sender_id),
        ("--tenant acme-corp-001 user-jdoe --limit 20",),
    ),
    AccessPattern(
        "series",
        "a metric's time series (subject, optional dimension) over a period range",
        (
            Parameter("subject", "what is measured: revenue, arr, customers, ..."),
            Parameter(
                "dimension", "one breakdown of it, e.g. region:us (default: the total)", option=True
            ),
        ),
        lambda reader, subject, dimension, start, end: reader.series_query(
            subject, dimension=dimension, start=start, end=end
        ),
        (
            "--tenant techstart-inc-002 arr --from 2025-Q3 --to 2025-Q4",
            "--tenant acme-corp-001 customers --dimension region:us --json",
        ),
        periods=True,
    ),
    AccessPattern(
        "type",
        "metrics of one type (e.g. financial)",
        (Parameter("metric_type", ", ".join(str(t) for t in MetricType), "METRIC_TYPE"),),
        lambda reader, metric_type, start, end: reader.index_query(
            METRIC_TYPE_INDEX, metric_type, start=start, end=end
        ),
        ("--tenant acme-corp-001 financial --from 2025-Q4 --to 2025-Q4",),
        periods=True,
    ),
    AccessPattern(
        "dimension",
        "metrics of one dimension (e.g. region:emea)",
        (Parameter("dimension", "kind:value, e.g. region:us"),),
        lambda reader, dimension, start, end: reader.index_query(
            DIMENSION_INDEX, dimension, start=start, end=end
        ),
        ("--tenant acme-corp-001 region:canada",),
        periods=True,
    ),
    AccessPattern(
        "tenants",
        "tenants by owner email or by status",
        (
            Parameter("owner", "the owner's email", "EMAIL", option=True),
            Parameter("status", "active, trial, suspended, ...", option=True),
        ),
        lambda reader, owner, status: (
            reader.index_query(OWNER_EMAIL_INDEX, owner)
            if owner is not None
            else reader.index_query(STATUS_INDEX, status)
        ),
        ("--status active", "--owner ops@acme.example --json"),
        scope=Scope.METADATA,
        one_option=True,
    ),
)

PATTERNS = {pattern.name: pattern for pattern in ACCESS_PATTERNS}
