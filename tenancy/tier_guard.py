"""The one rule that keeps a tenant's tier where its data is.

A tenant's tier is its roster entry's `tier`, else its plan's default (`salestalk:planTiers`).
Changing either moves nothing: the data stays in the tier it was served from, the tenant
would read none of it, and under Pulumi its silo tables would leave the resource graph. The
only way data changes tier is `salestalk tenant move`, which copies it first and then sets
`tier` and `copyLeftIn` together. So every place that applies a roster (the Pulumi program,
`salestalk provision`, `salestalk roster validate`) compares each tenant's tier with the tier
the live stack last served it from, and refuses a change that no move made.

The live stack's tiers come from the program's own `tenants` output under Pulumi, and from
the `tenants-metadata` table for the commands (`deployed_tiers`, plain boto3: tenancy does not
depend on the ingestion package).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tenancy.errors import Refused
from tenancy.roster import RosterError, Tenant, Tier
from tenancy.settings import NAMESPACE, PLAN_TIERS_KEY, StackSettings
from tenancy.tables import TENANT_ID_FIELD, metadata_table_spec

if TYPE_CHECKING:
    from tenancy.budgets import RetryPolicy

# The field of a roster entry, of a `tenants-metadata` row and of a tenant's program output
# that names its tier (`Tenant.tier`, stored resolved by `register_tenants`).
TIER_FIELD = "tier"
BATCH_GET_LIMIT = 100  # keys per BatchGetItem request, DynamoDB's limit


class TierReadError(Refused, RuntimeError):
    """The deployed tiers could not be read (the metadata table kept keys unprocessed): the
    change they guard is refused before anything is written."""


def tier_problems(settings: StackSettings, deployed: Mapping[str, Tier]) -> list[str]:
    """One line per tenant whose tier changed without a move; empty when every change is
    legitimate. `deployed` maps tenant ids to the tier the live stack last served them from;
    a tenant missing from it is new, and a new tenant may start in any tier."""
    problems = []
    for n, tenant in enumerate(settings.roster, start=1):
        old = deployed.get(tenant.tenant_id)
        if old is not None and not _keeps_its_data(settings, tenant, old):
            problems.append(_problem(settings, tenant, n, old))
    return problems


def unmoved(settings: StackSettings, deployed: Mapping[str, Tier]) -> list[str]:
    """The ids of the tenants `tier_problems` names."""
    return [
        tenant.tenant_id
        for tenant in settings.roster
        if (old := deployed.get(tenant.tenant_id)) is not None
        and not _keeps_its_data(settings, tenant, old)
    ]


def check_tiers(settings: StackSettings, deployed: Mapping[str, Tier], source: str) -> None:
    """Raise a RosterError naming every tenant whose tier changed without a move, so that each
    caller reports it as it reports any other roster problem."""
    problems = tier_problems(settings, deployed)
    if problems:
        raise RosterError(problems, source)


def _keeps_its_data(settings: StackSettings, tenant: Tenant, old: Tier) -> bool:
    """A tenant stays where its data is, or a move switched it and keeps the old copy (the
    switch sets `tier` and `copyLeftIn` together)."""
    return settings.tier(tenant) == old or tenant.copy_left_in == old


def _problem(settings: StackSettings, tenant: Tenant, entry: int, old: Tier) -> str:
    new, tenant_id = settings.tier(tenant), tenant.tenant_id
    if tenant.tier is not None:
        cause = f"its entry now says `{TIER_FIELD}: {new}`"
    else:
        cause = (
            f"its entry has no `{TIER_FIELD}` and the default of its plan ({tenant.plan}) "
            f"under `{NAMESPACE}:{PLAN_TIERS_KEY}` is now {new}"
        )
    return (
        f"tenant {tenant_id!r} (entry {entry}), field {TIER_FIELD!r}: its data is in {old}, "
        f"but {cause}, so it would be served from {new} without its data. Put "
        f"`{TIER_FIELD}: {old}` in its entry to keep it in {old}; to move it, then run "
        f"`salestalk tenant move {tenant_id} --to {new}`, which copies its data first"
    )


def deployed_tier(value: Any) -> Tier | None:
    """The tier a live record names. A record written before tiers existed names none: then
    every tenant had its own tables, so it is in silo. A value that is no tier is unknown."""
    if value is None:
        return Tier.SILO
    try:
        return Tier(value)
    except ValueError:
        return None


def deployed_tiers(
    client,
    settings: StackSettings,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> dict[str, Tier]:
    """Each roster tenant's tier as `tenants-metadata` records it (the `tier` of its row);
    tenants without a row are new and left out, and a missing table means nothing is deployed.

    BatchGetItem, 100 keys a request, consistent reads (a move's switch was just written);
    UnprocessedKeys are re-sent with full-jitter backoff within the throttling budget, which
    botocore does not do."""
    # Imported here: the Pulumi program applies this module's rule and never talks to DynamoDB.
    from botocore.exceptions import ClientError

    from tenancy.budgets import RETRY_POLICY

    table, ids = metadata_table_spec(settings).name, settings.roster.ids
    retry = _Retry(policy or RETRY_POLICY, sleep, rng or random.Random())
    found: dict[str, Tier] = {}
    try:
        for start in range(0, len(ids), BATCH_GET_LIMIT):
            found.update(_read_batch(client, table, ids[start : start + BATCH_GET_LIMIT], retry))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return {}
        raise
    return found


class _Retry:
    """Full jitter: before retry n, sleep random(0, min(cap, base * 2**n)) (the platform's
    RetryPolicy; `ingestion.writing.backoff` does the same for the writers, out of tenancy's
    reach)."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None], rng: random.Random):
        self.policy, self.sleep, self.rng = policy, sleep, rng

    def attempts(self) -> range:
        return range(self.policy.throttle_retries + 1)

    def wait(self, retry: int) -> None:
        ceiling = min(self.policy.cap_seconds, self.policy.base_seconds * 2**retry)
        self.sleep(self.rng.uniform(0, ceiling))


def _read_batch(client, table: str, ids: Sequence[str], retry: _Retry) -> dict[str, Tier]:
    request: dict[str, Any] = {
        table: {
            "Keys": [{TENANT_ID_FIELD: {"S": tenant_id}} for tenant_id in ids],
            "ProjectionExpression": "#id, #tier",
            "ExpressionAttributeNames": {"#id": TENANT_ID_FIELD, "#tier": TIER_FIELD},
            "ConsistentRead": True,
        }
    }
    found: dict[str, Tier] = {}
    for attempt in retry.attempts():
        if attempt:
            retry.wait(attempt - 1)
        response = client.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(table, []):
            tier = deployed_tier(item.get(TIER_FIELD, {}).get("S"))
            if tier is not None:
                found[item[TENANT_ID_FIELD]["S"]] = tier
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
    pending = len(request.get(table, {}).get("Keys", []))
    raise TierReadError(
        f"BatchGetItem on {table}: {pending} keys still unprocessed after "
        f"{retry.policy.throttle_retries} retries; DynamoDB kept throttling"
    )


def check_deployed_tiers(client, settings: StackSettings, source: str) -> dict[str, Tier]:
    """Read the live stack's tiers from `tenants-metadata` and refuse (RosterError) a tier that
    changed without a move; the tiers read, for a caller that reports them."""
    deployed = deployed_tiers(client, settings)
    check_tiers(settings, deployed, source)
    return deployed
