"""Data contracts: what a message, a metric and a tenant record must be to be stored, and how
each kind is keyed and stored (`KindContract`, one per kind in `RECORD_CONTRACTS`).

Records arrive as JSON objects with camelCase names. The models refuse unknown fields, empty
strings, implausible timestamps, unreal periods and non-finite numbers, and keep every number
an exact Decimal from parsing to DynamoDB (JSON is parsed with `parse_float=Decimal`, floats
handed in from Python are converted through their shortest text form). The tenant record is
the roster's own model: the roster and the metadata table share one contract.

Nothing a record says is silently changed: identifiers are refused, not trimmed, when they
carry surrounding whitespace or characters that do not print (two ids that print alike must
be one id), and message content is kept character for character. A number is kept as sent;
it is checked, and written to DynamoDB, in the canonical form DynamoDB stores (`1.50` is
`1.5`), so any number the contract accepts can be stored exactly.
"""

from __future__ import annotations

import calendar
import decimal
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from boto3.dynamodb.types import DYNAMODB_CONTEXT
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

from tenancy.roster import Tenant as TenantRecord
from tenancy.roster import TenantId
from tenancy.safe_text import identifier_problem, label_problem
from tenancy.tables import MESSAGES_LAYOUT, METADATA_LAYOUT, METRICS_LAYOUT, TableLayout

SCHEMA_VERSION = 1

# A reference whose source is the platform's own metrics table: its sourceId is the metric's
# idempotency key, so the figure a message cites can be looked up and checked.
METRICS_REFERENCE_SOURCE = "salestalk-metrics"

# Unix seconds from 2000-01-01: anything earlier is not a SalesTalk conversation, and a value
# above 10^11 is almost surely milliseconds. The future is allowed a day of clock skew.
EARLIEST_TIMESTAMP = 946_684_800
MILLISECONDS_THRESHOLD = 100_000_000_000
FUTURE_SKEW_SECONDS = 86_400

# DynamoDB numbers: up to 38 significant digits, magnitude within 1e-130 .. 1e126.
MAX_NUMBER_DIGITS = 38
MAX_NUMBER_MAGNITUDE = Decimal("1e126")
MIN_NUMBER_MAGNITUDE = Decimal("1e-130")


def _exact_number(value: Any) -> Any:
    """Accept JSON numbers only (int, Decimal, float via its text); refuse text and booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number (not text, boolean or null)")
    if isinstance(value, float):
        value = Decimal(repr(value))  # 0.1 -> Decimal('0.1'), never 0.1000000000000000055...
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("must be a finite number (NaN and infinity are refused)")
    return number


# Wide enough that checking a number never rounds it (the default context keeps 28 digits).
_EXACT = Context(prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN)


def canonical_number(value: Decimal) -> Decimal:
    """The number as DynamoDB stores it: no trailing zeros (`1.50` -> `1.5`, `1.000…0` -> `1`),
    whole numbers written without an exponent while they fit 38 digits. Exact: the context is
    wide enough that nothing is ever rounded (the default one keeps 28 digits)."""
    if value.is_zero():
        return Decimal(0)  # 0E-200 is zero; DynamoDB would refuse its exponent
    number = value.normalize(_EXACT)
    if number.as_tuple().exponent > 0 and number.adjusted() < MAX_NUMBER_DIGITS:
        number = number.quantize(Decimal(1), context=_EXACT)
    return number


def significant_digits(value: Decimal) -> int:
    """Digits DynamoDB keeps of a number: leading and trailing zeros are not stored."""
    return 1 if value.is_zero() else len(value.normalize(_EXACT).as_tuple().digits)


# What boto3's serializer refuses: the very rule a number must pass to be sent to DynamoDB.
_SERIALIZER_SIGNALS = (decimal.Inexact, decimal.Rounded, decimal.Overflow, decimal.Underflow)


def _dynamodb_number(value: Decimal) -> Decimal:
    number = canonical_number(value)
    if number.is_zero():
        return number
    if significant_digits(number) > MAX_NUMBER_DIGITS:
        raise ValueError(f"has more than {MAX_NUMBER_DIGITS} significant digits (DynamoDB's limit)")
    magnitude = number.copy_abs()
    if not (MIN_NUMBER_MAGNITUDE <= magnitude < MAX_NUMBER_MAGNITUDE):
        raise ValueError("is outside DynamoDB's number range (1e-130 to 1e126)")
    try:
        DYNAMODB_CONTEXT.create_decimal(number)
    except (*_SERIALIZER_SIGNALS, decimal.Clamped):
        # e.g. 38 digits at the very bottom of the range: DynamoDB's precision cannot hold them
        raise ValueError(
            f"cannot be stored exactly (DynamoDB keeps {MAX_NUMBER_DIGITS} digits down to 1e-130)"
        ) from None
    return value  # as sent (34.0 stays 34.0); items are written in canonical form


Number = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    AfterValidator(_dynamodb_number),
    WithJsonSchema({"type": "number"}),
]
Confidence = Annotated[
    Decimal,
    BeforeValidator(_exact_number),
    AfterValidator(_dynamodb_number),
    Field(ge=0, le=1),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]


def _identifier(value: str) -> str:
    problem = identifier_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _label(value: str) -> str:
    problem = label_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _not_blank(value: str) -> str:
    if value.isspace():
        raise ValueError("must hold more than whitespace")
    return value


# pydantic refuses text that is not valid Unicode (a lone surrogate) before these rules run.
# Content: any text, kept exactly as sent (a code block's indentation is content).
Text = Annotated[str, StringConstraints(strict=True, min_length=1), AfterValidator(_not_blank)]
# Ids, sources and codes: compared exactly, so refused rather than trimmed.
Identifier = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=256), AfterValidator(_identifier)
]
# A title: printable text on one line, kept as sent.
Label = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=256), AfterValidator(_label)
]
Slug = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9_]{0,63}$")
]  # revenue, renewal_rate: no '#' or ':' so keys built from them stay unambiguous
Dimension = Annotated[
    str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9_]{0,31}:[A-Za-z0-9_.-]{1,64}$")
]
# Units: a currency by its ISO 4217 code (from pycountry's copy of the standard, kept current
# by its maintainers), or one of these.
NON_CURRENCY_UNITS = ("percent", "count", "ratio", "score", "days", "hours", "minutes")
# Codes of the standard that name no money a metric can be in: testing, and "no currency".
NOT_MONEY_CODES = frozenset({"XTS", "XXX"})


@functools.cache
def currency_codes() -> frozenset[str]:
    """Every ISO 4217 alphabetic code a metric may be measured in."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY_CODES


def _unit(value: str) -> str:
    if value in NON_CURRENCY_UNITS or value in currency_codes():
        return value
    if re.fullmatch("[A-Z]{3}", value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    raise ValueError(
        "must be an ISO 4217 currency code (USD, EUR, ...) or one of "
        + ", ".join(NON_CURRENCY_UNITS)
    )


Unit = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_unit),
    WithJsonSchema({"type": "string", "enum": sorted(currency_codes()) + list(NON_CURRENCY_UNITS)}),
]


# Validation context of a record read back from a table (`RecordKind.from_item`): it was
# checked when it was written, and what depends on the clock of the host reading it (the
# future, a day of skew allowed) must not turn a stored record into an invalid one.
STORED = "stored"


def _plausible_timestamp(value: int, info: ValidationInfo) -> int:
    if value >= MILLISECONDS_THRESHOLD:
        raise ValueError("looks like milliseconds: timestamps are Unix epoch seconds")
    if value < EARLIEST_TIMESTAMP:
        raise ValueError("is before 2000-01-01: timestamps are Unix epoch seconds")
    stored = bool(info.context and info.context.get(STORED))
    if not stored and value > time.time() + FUTURE_SKEW_SECONDS:
        raise ValueError("is in the future")
    return value


UnixSeconds = Annotated[int, Field(strict=True), AfterValidator(_plausible_timestamp)]

PERIOD_PATTERN = re.compile(
    r"(?P<year>[0-9]{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2}))?)?"
)
# The same shape for JSON Schema users, in the portable regex dialect (no named groups).
PERIOD_SCHEMA_PATTERN = "^[0-9]{4}(-Q[1-4]|-[0-9]{2}(-[0-9]{2})?)?$"


@functools.lru_cache(maxsize=4096)  # asked twice per metric, and periods repeat
def period_granularity(period: str) -> str:
    """`year`, `quarter`, `month` or `day`; ValueError if the period is not a real one."""
    match = PERIOD_PATTERN.fullmatch(period)
    if not match:
        raise ValueError("must be YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD")
    year = int(match["year"])
    if not 1900 <= year <= 2100:
        raise ValueError("year must be between 1900 and 2100")
    if match["quarter"]:
        return "quarter"
    if match["month"] is None:
        return "year"
    month = int(match["month"])
    if not 1 <= month <= 12:
        raise ValueError(f"month {match['month']} does not exist")
    if match["day"] is None:
        return "month"
    day = int(match["day"])
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"{date(year, month, 1):%B %Y} has no day {match['day']}")
    return "day"


def _real_period(value: str) -> str:
    period_granularity(value)
    return value


Period = Annotated[
    str,
    StringConstraints(strict=True),
    AfterValidator(_real_period),
    WithJsonSchema({"type": "string", "pattern": PERIOD_SCHEMA_PATTERN}),
]


class MetricType(StrEnum):
    """A closed vocabulary: it keeps "every metric of a tenant" one query per type, no Scan."""

    FINANCIAL = "financial"
    CUSTOMER = "customer"
    OPERATIONAL = "operational"
    SALES = "sales"
    MARKETING = "marketing"
    PRODUCT = "product"


class Contract(BaseModel):
    """Shared rules: camelCase names on the wire, unknown fields refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", frozen=True, use_enum_values=True
    )
    kind: ClassVar[str]

    def to_record(self) -> dict[str, Any]:
        """The record as JSON-ready data with camelCase names (Decimals kept exact)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Reference(Contract):
    """Where a fact came from: the system of record and the id in it."""

    source: Identifier
    source_id: Identifier
    title: Label | None = None
    url: Identifier | None = None


class Classification(Contract):
    intent: Identifier
    confidence: Confidence


class Message(Contract):
    kind: ClassVar[str] = "message"

    tenant_id: TenantId
    message_id: Identifier
    session_id: Identifier
    sender_id: Identifier
    timestamp: UnixSeconds
    content: Text
    classification: Classification
    references: list[Reference] = Field(default_factory=list)


class Metric(Contract):
    kind: ClassVar[str] = "metric"

    tenant_id: TenantId
    subject: Slug
    period: Period
    metric_type: MetricType
    value: Number
    unit: Unit
    dimension: Dimension | None = None
    confidence: Confidence
    source: Identifier
    source_id: Identifier

    @property
    def granularity(self) -> str:
        return period_granularity(self.period)


# --- each kind of record: how it is keyed and stored ------------------------------------------
# Adding a kind is its model above, its declaration here (and in RECORD_CONTRACTS), and its
# table layout in `tenancy/tables.py`; `ingestion.records.items.RecordKind` is built from this.

SERIES_ID_ATTR = "seriesId"
GRANULARITY_ATTR = "granularity"


@dataclass(frozen=True)
class KindContract:
    """A kind of record as the platform stores it: its model, the layout of its tables, its
    idempotency key, the attributes derived from it, and whether a changed record may replace
    the stored one when the caller accepts updates (a restated metric; a message is immutable
    once said)."""

    name: str
    model: type[BaseModel]
    layout: TableLayout
    record_key: Callable[[Any], str]
    derived: Callable[[Any], dict[str, Any]]
    updatable: bool
    derived_names: tuple[str, ...] = ()  # the attributes `derived` adds
    dump_mode: str = "python"  # pydantic's: "json" writes enums (the roster's) as their text

    @property
    def plural(self) -> str:
        """How commands and seed files name the kind: `salestalk ingest metrics`, metrics.json."""
        return f"{self.name}s"


def series_id(subject: str, dimension: str | None) -> str:
    """`revenue` or `revenue#region:emea`: one time series per subject and dimension."""
    return f"{subject}#{dimension}" if dimension else subject


def metric_record_key(metric: Metric) -> str:
    """The seed design's metric idempotency key, plus the dimension when there is one."""
    key = f"{metric.tenant_id}:{metric.subject}:{metric.period}"
    return f"{key}:{metric.dimension}" if metric.dimension else key


def parse_metric_record_key(record_key: str) -> tuple[str, str, str, str | None]:
    """(tenantId, subject, period, dimension) from a metric's idempotency key."""
    tenant_id, subject, period, *dimension = record_key.split(":", 3)
    return tenant_id, subject, period, (dimension[0] if dimension else None)


MESSAGE_CONTRACT = KindContract(
    name="message",
    model=Message,
    layout=MESSAGES_LAYOUT,
    record_key=lambda message: message.message_id,
    derived=lambda message: {},
    updatable=False,
)
METRIC_CONTRACT = KindContract(
    name="metric",
    model=Metric,
    layout=METRICS_LAYOUT,
    record_key=metric_record_key,
    derived=lambda metric: {
        SERIES_ID_ATTR: series_id(metric.subject, metric.dimension),
        GRANULARITY_ATTR: metric.granularity,
    },
    updatable=True,
    derived_names=(SERIES_ID_ATTR, GRANULARITY_ATTR),
)
TENANT_CONTRACT = KindContract(
    name="tenant",
    model=TenantRecord,
    layout=METADATA_LAYOUT,
    record_key=lambda tenant: tenant.tenant_id,
    derived=lambda tenant: {},
    updatable=True,  # the roster is the source of truth for tenant metadata
    dump_mode="json",  # the roster's enums as text
)
# Every kind, in the order they are seeded (metrics first: messages refer to them).
RECORD_CONTRACTS = (METRIC_CONTRACT, MESSAGE_CONTRACT, TENANT_CONTRACT)
# The kinds a tenant sends in files (the tenant record comes from the roster).
RECORD_MODELS: dict[str, type[Contract]] = {
    contract.name: contract.model
    for contract in RECORD_CONTRACTS
    if contract.layout is not METADATA_LAYOUT
}

__all__ = [
    "RECORD_CONTRACTS",
    "RECORD_MODELS",
    "SCHEMA_VERSION",
    "Classification",
    "Contract",
    "KindContract",
    "Message",
    "Metric",
    "MetricType",
    "Reference",
    "TenantRecord",
    "period_granularity",
]


def unix_seconds_fields(
    models: tuple[type[Contract], ...] = tuple(RECORD_MODELS.values()),
) -> frozenset[str]:
    """The wire names of the fields that hold Unix epoch seconds, read off the contracts: an
    inspection shows them as dates without a list of names of its own."""
    return frozenset(
        field.alias or name
        for model in models
        for name, field in model.model_fields.items()
        if any(getattr(rule, "func", None) is _plausible_timestamp for rule in field.metadata)
    )
