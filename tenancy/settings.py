"""The `salestalk:*` settings of a stack, read the same way by the Pulumi program and the CLI.

Pulumi.yaml cannot declare an object-typed config schema and project-level defaults are not
applied under Pulumi's test mocks, so the defaults and the validation live here, once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from tenancy.errors import Refused
from tenancy.roster import Plan, Roster, RosterError, Tenant, Tier, parse_roster
from tenancy.validation_errors import dotted, field_errors

NAMESPACE = "salestalk"
TENANTS_KEY = "tenants"
TABLE_PREFIX_KEY = "tablePrefix"
PROTECT_DATA_KEY = "protectData"
LOCAL_HOSTS_KEY = "localHosts"
PLAN_TIERS_KEY = "planTiers"
KNOWN_KEYS = (TENANTS_KEY, TABLE_PREFIX_KEY, PROTECT_DATA_KEY, LOCAL_HOSTS_KEY, PLAN_TIERS_KEY)

# Each plan's tier when a roster entry names none: trial tenants share the pool tables, every
# paying plan gets its own tables (so every stack made before tiers existed keeps its tables).
# `salestalk:planTiers` overrides plans one by one.
DEFAULT_PLAN_TIERS: Mapping[Plan, Tier] = {
    plan: Tier.POOL if plan is Plan.TRIAL else Tier.SILO for plan in Plan
}

# A prefix is joined to every table name with PREFIX_SEPARATOR, which neither a prefix nor a
# tenant id may contain: that is what keeps two stacks sharing an account from ever naming the
# same table (`staging` + `tenant-acme-...` can never equal `staging-tenant` + `acme-...`).
# It is kept short so that every derived name stays far below DynamoDB's 255 characters.
PREFIX_SEPARATOR = "."
TABLE_PREFIX_MAX_LENGTH = 40
TABLE_PREFIX_PATTERN = (
    rf"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{TABLE_PREFIX_MAX_LENGTH - 2}}}[A-Za-z0-9])?)?$"
)
TABLE_PREFIX_RULE = (
    f"must be 1-{TABLE_PREFIX_MAX_LENGTH} letters, digits and hyphens, starting and ending with "
    f"a letter or digit (it is joined to table names with {PREFIX_SEPARATOR!r}: "
    f"staging{PREFIX_SEPARATOR}tenant-acme-messages)"
)


class StackConfigError(Refused, ValueError):
    """A `salestalk:*` setting other than the roster is wrong."""


_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def local_host(text: Any) -> str:
    """A host the user names as local (`salestalk:localHosts`, SALESTALK_LOCAL_HOSTS), checked
    and normalised for comparison with an endpoint's host: a DNS host name (lowercase, without
    a trailing dot) or an IP address (canonical form). ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a host name")
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    name = text.removesuffix(".")
    labels = name.split(".")
    if len(name) <= 253 and all(map(_DNS_LABEL.fullmatch, labels)) and not labels[-1].isdigit():
        return name.lower()
    hint = " (name the host without a port)" if ":" in text else ""
    raise ValueError(f"{text!r} is not a DNS host name or IP address{hint}")


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    table_prefix: str = Field(default="", alias=TABLE_PREFIX_KEY, pattern=TABLE_PREFIX_PATTERN)
    protect_data: bool = Field(default=True, alias=PROTECT_DATA_KEY)
    local_hosts: list[str] = Field(default_factory=list, alias=LOCAL_HOSTS_KEY)
    plan_tiers: dict[Plan, Tier] = Field(default_factory=dict, alias=PLAN_TIERS_KEY)

    @field_validator("local_hosts", "plan_tiers", mode="before")
    @classmethod
    def _list_from_json(cls, value: Any) -> Any:
        # Pulumi hands a list- or object-valued config value to the program as JSON text.
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                return json.loads(value)
            except ValueError:
                pass
        return value

    @field_validator("local_hosts")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        try:
            return [local_host(host) for host in value]
        except ValueError as exc:
            raise PydanticCustomError("local_host", "{reason}", {"reason": str(exc)}) from None

    @field_validator("protect_data", mode="before")
    @classmethod
    def _bool_from_text(cls, value: Any) -> Any:
        # Pulumi hands every scalar config value to the program as text.
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        return value


def _option_reason(error: ErrorDetails) -> str | None:
    if error["loc"][0] == TABLE_PREFIX_KEY and error["type"] == "string_pattern_mismatch":
        return f"{error['input']!r} {TABLE_PREFIX_RULE}"
    if error["loc"][0] == PLAN_TIERS_KEY and error["type"] == "enum":
        is_plan = error["loc"][-1] == "[key]"
        known = ", ".join(Plan if is_plan else Tier)
        return f"{error['input']!r} is not a {'plan' if is_plan else 'tier'} (known: {known})"
    if error["loc"][0] == PLAN_TIERS_KEY and error["type"] == "dict_type":
        return "must map plans to tiers, e.g. {trial: pool, standard: silo}"
    return None


@dataclass(frozen=True)
class StackSettings:
    """Everything the program needs from a stack's `salestalk:*` config."""

    stack: str
    roster: Roster
    table_prefix: str = ""
    protect_data: bool = True
    local_hosts: tuple[str, ...] = ()  # used by the CLI only (tenancy.connection)
    plan_tiers: Mapping[Plan, Tier] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_PLAN_TIERS)
    )

    def tier(self, tenant: Tenant) -> Tier:
        """Where a tenant's data lives: its roster entry's `tier`, else its plan's default."""
        return tenant.tier or self.plan_tiers[tenant.plan]

    def held_tiers(self, tenant: Tenant) -> tuple[Tier, ...]:
        """Every tier holding resources of the tenant: its own, and during or after a move
        the other one (its target, or the copy left behind)."""
        other = tenant.move_to or tenant.copy_left_in
        return (self.tier(tenant), other) if other else (self.tier(tenant),)

    def pooled(self) -> list[Tenant]:
        return [tenant for tenant in self.roster if self.tier(tenant) is Tier.POOL]

    def siloed(self) -> list[Tenant]:
        """The tenants with tables of their own: siloed, or moving to or from the silo tier."""
        return [tenant for tenant in self.roster if Tier.SILO in self.held_tiers(tenant)]

    @classmethod
    def from_values(
        cls, stack: str, values: Mapping[str, Any], source: str = "stack config"
    ) -> StackSettings:
        """Build from un-namespaced values (`tenants`, `tablePrefix`, ...); None means unset."""
        present = {key: value for key, value in values.items() if value is not None}
        unknown = sorted(set(present) - set(KNOWN_KEYS))
        if unknown:
            names = ", ".join(f"{NAMESPACE}:{key}" for key in unknown)
            known = ", ".join(f"{NAMESPACE}:{key}" for key in KNOWN_KEYS)
            raise StackConfigError(f"{source}: unknown setting {names} (known: {known})")
        roster = parse_roster(present.get(TENANTS_KEY), source=source)
        options = {key: value for key, value in present.items() if key != TENANTS_KEY}
        try:
            parsed = _Options.model_validate(options)
        except ValidationError as exc:
            raise _options_error(exc, source) from None
        plan_tiers = {**DEFAULT_PLAN_TIERS, **parsed.plan_tiers}
        _check_moves(roster, plan_tiers, source)
        return cls(
            stack=stack,
            roster=roster,
            table_prefix=parsed.table_prefix,
            protect_data=parsed.protect_data,
            local_hosts=tuple(parsed.local_hosts),
            plan_tiers=plan_tiers,
        )


def _check_moves(roster: Roster, plan_tiers: Mapping[Plan, Tier], source: str) -> None:
    """A move names the other tier, and a tenant is in one move at a time."""
    problems = []
    for n, tenant in enumerate(roster, start=1):
        tier = tenant.tier or plan_tiers[tenant.plan]
        who = f"tenant {tenant.tenant_id!r} (entry {n})"
        if tenant.move_to and tenant.copy_left_in:
            problems.append(
                f"{who}, field 'moveTo': a move cannot start while the last one's copy is "
                f"kept in {tenant.copy_left_in} (`salestalk tenant drop-copy` first)"
            )
        for field, value in (("moveTo", tenant.move_to), ("copyLeftIn", tenant.copy_left_in)):
            if value is not None and value == tier:
                problems.append(f"{who}, field {field!r}: the tenant is already in {tier}")
    if problems:
        raise RosterError(problems, source)


def parse_local_hosts(value: Any, source: str = "stack config") -> tuple[str, ...]:
    """`salestalk:localHosts` alone (None: unset), validated as StackSettings does: for the
    commands that resolve an endpoint even where the rest of the settings may be invalid."""
    if value is None:
        return ()
    try:
        return tuple(_Options.model_validate({LOCAL_HOSTS_KEY: value}).local_hosts)
    except ValidationError as exc:
        raise _options_error(exc, source) from None


def _where(loc: tuple) -> str:
    """The setting, and for `planTiers` the plan: `planTiers.gold`."""
    if loc[0] == PLAN_TIERS_KEY:
        return dotted(tuple(part for part in loc if part != "[key]"))
    return str(loc[0])


def _options_error(exc: ValidationError, source: str) -> StackConfigError:
    problems = "; ".join(
        f"{NAMESPACE}:{_where(loc)}: {why}" for loc, why in field_errors(exc, (_option_reason,))
    )
    return StackConfigError(f"{source}: {problems}")


__all__ = ["NAMESPACE", "RosterError", "StackConfigError", "StackSettings"]
