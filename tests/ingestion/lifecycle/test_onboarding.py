"""Onboarding registers: a tenant added to the roster is in tenants-metadata, with its tier, as
soon as `salestalk provision` (or, after `pulumi up`, `salestalk tenant register`) has run."""

from __future__ import annotations

import json

from tenancy.cli.common import EXIT_OK, EXIT_USAGE
from tenancy.stack_file import StackFile
from tests.ingestion.lifecycle.conftest import run

NEW = [
    "roster", "add", "--tenant-id", "globex-003", "--name", "Globex", "--industry", "Logistics",
    "--region", "Asia Pacific", "--plan", "trial", "--owner-email", "data@globex.example",
]  # fmt: skip


def test_provision_registers_a_new_tenant_at_once(project_copy, dynamodb, capsys):
    assert run(capsys, *NEW)[0] == EXIT_OK
    status, out, err = run(capsys, "provision")
    assert status == EXIT_OK, err
    assert "tenants-metadata: 3 tenants registered (3 new, 0 updated, 0 unchanged)" in out
    status, out, _ = run(capsys, "query", "tenants", "--owner", "data@globex.example", "--json")
    assert status == EXIT_OK
    (row,) = json.loads(out)
    assert (row["tenantId"], row["tier"], row["plan"]) == ("globex-003", "pool", "trial")
    status, out, _ = run(capsys, "provision")
    assert "3 tenants registered (0 new, 0 updated, 3 unchanged)" in out


def test_with_pulumi_the_tables_come_from_pulumi_up_and_register_registers(
    project_copy, tables, capsys
):
    """`pulumi up` cannot run here: the `tables` fixture plays it (same definitions)."""
    assert run(capsys, *NEW)[0] == EXIT_OK
    status, out, err = run(capsys, "tenant", "register", "--tenant", "globex-003")
    assert status == EXIT_OK, err
    assert "1 tenants registered (1 new" in out
    status, out, _ = run(capsys, "query", "tenants", "--status", "active", "--jsonl")
    assert [json.loads(line)["tenantId"] for line in out.splitlines()] == ["globex-003"]


def test_registration_never_records_a_tier_no_move_made(project_copy, dynamodb, capsys):
    """Registering first would make a wrong tier the truth: the guard runs before it."""
    assert run(capsys, "provision")[0] == EXIT_OK
    StackFile.load("local").update_tenant("acme-corp-001", {"tier": "pool"})
    for argv in (["tenant", "register"], ["seed"], ["provision"]):
        status, _, err = run(capsys, *argv)
        assert status == EXIT_USAGE, argv
        assert "tenant 'acme-corp-001' (entry 1), field 'tier': its data is in silo" in err
