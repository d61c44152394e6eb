"""The tenant roster: who the platform serves, validated before anything is built.

The roster is the single input of onboarding. It is checked here, in full, before the Pulumi
program or the local provisioner touches a resource, so that a typo in one entry can never
produce half a stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    RootModel,
    StringConstraints,
    ValidationError,
    model_validator,
)

from tenancy.errors import Refused
from tenancy.safe_text import label_problem
from tenancy.validation_errors import ErrorDetails, dotted, field_errors

# Longest tenant id: keeps `tenant-{id}-messages` within DynamoDB's 255 characters even with a
# long table prefix, and the per-tenant IAM role's auto-generated name within IAM's 64.
TENANT_ID_MIN_LENGTH = 3
TENANT_ID_MAX_LENGTH = 32
TENANT_ID_PATTERN = rf"^[a-z0-9](?:[a-z0-9-]{{0,{TENANT_ID_MAX_LENGTH - 2}}}[a-z0-9])?$"
TENANT_ID_RULE = (
    f"must be {TENANT_ID_MIN_LENGTH}-{TENANT_ID_MAX_LENGTH} lowercase letters, digits and "
    "hyphens, starting and ending with a letter or digit"
)

TenantId = Annotated[
    str,
    StringConstraints(
        min_length=TENANT_ID_MIN_LENGTH,
        max_length=TENANT_ID_MAX_LENGTH,
        pattern=TENANT_ID_PATTERN,
        strict=True,
    ),
]


def _label(value: str) -> str:
    problem = label_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Printable text on one line (the rule of `tenancy.safe_text`): a newline or an escape
# sequence in a name would break or hijack every listing that shows it.
NonEmptyText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_label),
]


class Plan(StrEnum):
    """Commercial plans; the plan is carried as a tag on every tenant resource for cost reports."""

    TRIAL = "trial"
    STANDARD = "standard"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class Tier(StrEnum):
    """Where a tenant's data lives. A siloed tenant has its own messages and metrics tables;
    a pooled one shares the stack's pool tables, its id leading every key it owns there, and
    IAM's `dynamodb:LeadingKeys` keeping its role to those keys (DATA_CONTRACTS.md)."""

    SILO = "silo"
    POOL = "pool"


class TenantStatus(StrEnum):
    """Lifecycle states. Tables exist for every state: offboarding is a procedure, not a flag."""

    ONBOARDING = "onboarding"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    OFFBOARDING = "offboarding"

    @property
    def accepts_writes(self) -> bool:
        """Suspended and offboarding tenants keep their data readable but take no new data:
        their role loses its write actions and ingestion refuses them."""
        return self in (TenantStatus.ONBOARDING, TenantStatus.ACTIVE)


class Tenant(BaseModel):
    """One roster entry, with the camelCase field names used in stack config and in the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: TenantId = Field(alias="tenantId")
    name: NonEmptyText
    industry: NonEmptyText
    region: NonEmptyText  # the customer's sales region (Europe), not an AWS region
    plan: Plan
    owner_email: EmailStr = Field(alias="ownerEmail")
    status: TenantStatus = TenantStatus.ACTIVE
    # None: the stack's plan default (`salestalk:planTiers`) decides; see StackSettings.tier
    tier: Tier | None = None
    # A move between tiers (`salestalk tenant move`): while `moveTo` is set, the target tier's
    # tables and access exist beside the current tier's, and the data is copied; once it is
    # switched, `copyLeftIn` keeps the old tier's copy until `salestalk tenant drop-copy`.
    move_to: Tier | None = Field(default=None, alias="moveTo")
    copy_left_in: Tier | None = Field(default=None, alias="copyLeftIn")

    def to_config(self) -> dict[str, str]:
        """The entry as it is written in a stack file (no `tier` unless the entry sets one)."""
        return self.model_dump(by_alias=True, mode="json", exclude_none=True)


class Roster(RootModel[list[Tenant]]):
    """A stack's tenants, in roster order (order is kept so outputs and listings are stable)."""

    @model_validator(mode="after")
    def _non_empty_and_unique(self) -> Roster:
        if not self.root:
            raise ValueError("the roster is empty: a stack needs at least one tenant")
        seen: set[str] = set()
        for tenant in self.root:
            if tenant.tenant_id in seen:
                raise ValueError(f"tenant id {tenant.tenant_id!r} appears more than once")
            seen.add(tenant.tenant_id)
        return self

    def __iter__(self):  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    @property
    def ids(self) -> list[str]:
        return [tenant.tenant_id for tenant in self.root]

    def get(self, tenant_id: str) -> Tenant:
        for tenant in self.root:
            if tenant.tenant_id == tenant_id:
                return tenant
        raise UnknownTenantError(tenant_id, self.ids)


class RosterError(Refused, ValueError):
    """A roster that cannot be used, with one line per problem naming the tenant and the field."""

    def __init__(self, problems: Sequence[str], source: str = "input"):
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid tenant roster in {source}:\n{lines}")


class UnknownTenantError(Refused, LookupError):
    def __init__(self, tenant_id: str, known: Iterable[str]):
        self.tenant_id = tenant_id
        known_list = ", ".join(known) or "none"
        super().__init__(f"tenant {tenant_id!r} is not in the roster (known tenants: {known_list})")


def parse_roster(raw: Any, source: str = "input") -> Roster:
    """Validate raw roster data (a list of mappings); a RosterError names every problem."""
    if raw is None:
        raise RosterError(["no tenants are configured (set `salestalk:tenants`)"], source)
    if not isinstance(raw, list):
        raise RosterError([f"expected a list of tenants, got {type(raw).__name__}"], source)
    try:
        return Roster.model_validate(raw)
    except ValidationError as exc:
        raise RosterError(describe_errors(exc, raw), source) from None


def describe_errors(exc: ValidationError, raw: list[Any]) -> list[str]:
    """Turn pydantic errors into lines like: tenant 'acme' (entry 1), field 'plan': ..."""
    problems = []
    for loc, why in field_errors(exc, (_roster_reason,)):
        if not loc:
            problems.append(why)
            continue
        index = loc[0]
        entry = raw[index] if isinstance(index, int) and index < len(raw) else None
        who = f"entry {index + 1}" if isinstance(index, int) else str(index)
        if isinstance(entry, dict) and isinstance(entry.get("tenantId"), str):
            who = f"tenant {entry['tenantId']!r} ({who})"
        problems.append(f"{who}, field {dotted(loc[1:]) or '(entry)'!r}: {why}")
    return problems


def _roster_reason(error: ErrorDetails) -> str | None:
    field = error["loc"][1:]
    if field == ("tenantId",) and error["type"].startswith("string_"):
        return TENANT_ID_RULE
    if error["type"] == "string_pattern_mismatch" and field != ("tenantId",):
        return "must be printable text on one line"
    return None
