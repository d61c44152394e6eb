"""Every use of the Pulumi SDK's private API, in one place (as PynamoDB keeps botocore's).

Pulumi's public `Config` answers only for keys one names; to refuse a misspelt
`salestalk:*` setting, the program must know every key the stack sets, which only the SDK's
runtime config module holds. If a Pulumi release moves it, this module is the one to change,
and `tests/tenancy/test_program.py` (a misspelt setting stops the program) shows it.
"""

from __future__ import annotations


def configured_keys(namespace: str) -> set[str]:
    """The keys of `namespace` that the stack's config sets, without the `namespace:` part."""
    from pulumi.runtime.config import CONFIG, get_config_env

    prefix = f"{namespace}:"
    return {
        key.removeprefix(prefix)
        for key in {*CONFIG.get(), *get_config_env()}
        if key.startswith(prefix)
    }
