"""Stack configs for tests, derived from the real Pulumi.local.yaml."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tenancy.roster import Roster, Tier
from tenancy.settings import StackSettings
from tenancy.stack_file import StackFile

THIRD_TENANT = {
    "tenantId": "globex-003",
    "name": "Globex Corporation",
    "industry": "Logistics",
    "region": "Asia Pacific",
    "plan": "professional",
    "ownerEmail": "data@globex.example",
    "status": "onboarding",
}


def local_config() -> dict[str, str]:
    """The config `pulumi up -s local` would hand the program, read from the stack file."""
    return StackFile.load("local").pulumi_config_values()


def local_roster() -> list[dict[str, Any]]:
    return json.loads(local_config()["salestalk:tenants"])


def with_roster(tenants: Any, **settings: str) -> dict[str, str]:
    config = local_config()
    config["salestalk:tenants"] = json.dumps(tenants)
    config.update({f"salestalk:{key}": value for key, value in settings.items()})
    return config


def in_tier(settings: StackSettings, tier: Tier | str) -> StackSettings:
    """The same stack with every tenant in one tier: the tests that read and write through
    the platform's API run once per tier, to show that both tiers serve it alike."""
    tenants = [t.model_copy(update={"tier": Tier(tier)}) for t in settings.roster]
    return dataclasses.replace(settings, roster=Roster(tenants))
