"""The tenant life cycle, attacked: tenants writing whatever their roles allow into their own
tables and pool keys, and then a move, a drop-copy, a read. No item another tenant could
have written is ever served, copied, counted or deleted as the victim's, and no planted item
costs the victim its own data.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, deserialize, serialize
from ingestion.writing.lease import LEASE_KEY
from ingestion.writing.writer import TenantWriter
from tenancy.cli.common import EXIT_FAILED, EXIT_OK
from tenancy.roster import Tier
from tenancy.stack_file import StackFile
from tenancy.tables import tenant_shard
from tests.ingestion.conftest import ACME, all_items, as_source, make_message, make_metric
from tests.ingestion.lifecycle.conftest import add_trial, everything, ingest, provision, run
from tests.support import figures

VICTIM, ATTACKER = "acme", "acme-corp"  # pooled; one id begins the other


def plant(client, table: str, item: dict) -> None:
    """Put an item by hand, as the tenant's own role may (any fields, its own keys)."""
    exact = json.loads(json.dumps(item), parse_float=Decimal)
    client.put_item(TableName=table, Item=serialize(exact))


def snapshot(client, table: str) -> list[str]:
    return sorted(str(item) for item in all_items(client, table))


def keyed_under(client, tenant_id: str) -> list[str]:
    """Every pool item whose primary key leads with the tenant's id: what only its role can
    have written (planted items included), as stored."""
    return [
        text
        for table, key in (("pool-messages", "tenantMessageId"), ("pool-metrics", "tenantSeriesId"))
        for text in snapshot(client, table)
        if f"'{key}': {{'S': '{tenant_id}#" in text
    ]


@pytest.fixture
def pool(project_copy, dynamodb):
    """Two pooled tenants whose ids begin one another, each with data, beside the siloed
    demo tenant acme-corp-001."""
    for tenant_id in (VICTIM, ATTACKER):
        add_trial(dynamodb, tenant_id)
    provision(dynamodb)
    for tenant_id in (VICTIM, ATTACKER, ACME):
        ingest(dynamodb, tenant_id, 12, 6)
    return dynamodb


def forged_message(n: int, named: str, under: str, **fields) -> dict:
    """A message item keyed under `under`'s leading key (all `under`'s role may write) whose
    fields, index keys and tenant index shard all name `named`."""
    record = make_message(n, named, **fields)
    return {
        **record,
        "tenantMessageId": f"{under}#{record['messageId']}",
        "tenantSessionId": f"{named}#{record['sessionId']}",
        "tenantSenderId": f"{named}#{record['senderId']}",
        "recordKey": record["messageId"],
        "tenantShard": tenant_shard(named, record["messageId"]),
        "contentHash": "sha256:forged",
    }


def test_a_siloed_tenant_cannot_overwrite_a_pooled_tenants_record_by_moving(pool, capsys):
    """Finding 1: acme-corp-001 (siloed) writes into its own table an item naming pooled
    tenant `acme`, with one of acme's message ids and its own record's key and hash. Moving
    acme-corp-001 into the pool copies only its own records, under its own keys."""
    table = f"tenant-{ACME}-messages"
    own = deserialize(all_items(pool, table)[0])
    forged = {
        **make_message(3, VICTIM, content="forged by acme-corp-001"),
        "recordKey": own["recordKey"],
        "contentHash": own["contentHash"],
    }
    plant(pool, table, forged)
    # and variants: its own tenant id with the victim's pool keys preset, and an item whose
    # key is not what its fields make
    plant(pool, table, {**make_message(90, ACME), "tenantMessageId": f"{VICTIM}#msg-000004"})
    metric = make_metric(91, ACME)
    plant(pool, f"tenant-{ACME}-metrics", {**metric, "seriesId": "revenue", "granularity": "month"})
    victim_before = snapshot(pool, "pool-messages")
    victim_read = everything(pool, VICTIM)

    status, out, err = run(capsys, "tenant", "move", ACME, "--to", "pool")
    assert status == EXIT_OK, out + err
    assert "skipped 3 items that are not tenant 'acme-corp-001''s records" in err
    assert "it names tenant 'acme'" in err
    assert "tenantMessageId: is not a known field" in err
    assert "stored under that key, but its fields make" in err
    # 5: the forged item took the key of acme-corp-001's own msg-000003, in its own table
    assert "verified messages: 5 records, the same in both tiers" in out
    assert "verified metrics: 12 records, the same in both tiers" in out
    read = TenantReader(pool, StackFile.load("local").settings(), VICTIM)
    assert read.message("msg-000003").content == "message number 3"  # never overwritten
    assert everything(pool, VICTIM) == victim_read
    victim_items = [i for i in snapshot(pool, "pool-messages") if f"'{VICTIM}#" in i]
    assert victim_items == [i for i in victim_before if f"'{VICTIM}#" in i]
    figures.record("silo-to-pool move with a forged item", planted=3, foreign_copied=0)


def test_a_pooled_tenant_cannot_plant_records_into_another_tenants_move(pool, capsys):
    """Finding 2: `acme-corp`, writing only under its own leading key, plants items naming
    `acme` everywhere else (fields, index keys, tenant index shard), one reusing a real
    message id of acme's. acme moves to its own tables: none of them travels, the move is not
    blocked, and acme-corp's items are left as they were."""
    plant(pool, "pool-messages", forged_message(101, VICTIM, ATTACKER, messageId="planted-1"))
    plant(pool, "pool-messages", forged_message(1, VICTIM, ATTACKER, content="impostor"))
    metric = make_metric(5, VICTIM)  # the key of one of the victim's real metrics
    record_key = f"{VICTIM}:{metric['subject']}:{metric['period']}:{metric['dimension']}"
    plant(pool, "pool-metrics", {
        **metric, "value": 666,
        "tenantSeriesId": f"{ATTACKER}#{metric['subject']}#{metric['dimension']}",
        "tenantMetricType": f"{VICTIM}#operational",
        "tenantDimension": f"{VICTIM}#{metric['dimension']}",
        "seriesId": f"{metric['subject']}#{metric['dimension']}", "granularity": "month",
        "recordKey": record_key, "tenantShard": tenant_shard(VICTIM, record_key),
    })  # fmt: skip
    attacker_before = keyed_under(pool, ATTACKER)
    attacker_read = everything(pool, ATTACKER)
    victim_read = everything(pool, VICTIM)

    assert run(capsys, "tenant", "move", VICTIM, "--to", "silo")[0] == EXIT_OK  # marks it
    provision(pool)
    status, out, err = run(capsys, "tenant", "move", VICTIM, "--to", "silo")
    assert status == EXIT_OK, out + err
    assert "verified messages: 6 records, the same in both tiers" in out
    assert "verified metrics: 12 records, the same in both tiers" in out
    assert "in the tenant's index under another tenant's key" in err
    assert everything(pool, VICTIM) == victim_read
    status, _, err = run(capsys, "query", "message", "--tenant", VICTIM, "planted-1")
    assert status == EXIT_OK and "no matching records" in err
    silo = [deserialize(i) for i in all_items(pool, f"tenant-{VICTIM}-messages")]
    assert {i["messageId"] for i in silo} == {f"msg-{n:06d}" for n in range(6)}
    assert all(i["content"] != "impostor" for i in silo)

    assert run(capsys, "tenant", "drop-copy", VICTIM, "--yes")[0] == EXIT_OK
    assert keyed_under(pool, VICTIM) == []  # the victim's old copy is gone from the pool
    # the attacker's own items, which named the victim, are not the victim's to delete
    assert keyed_under(pool, ATTACKER) == attacker_before
    assert len(attacker_before) == 12 + 6 + 1  # two planted items took its own records' keys
    assert everything(pool, ATTACKER) == attacker_read
    figures.record(
        "pool-to-silo move with planted items", planted=3, foreign_copied=0, foreign_deleted=0
    )


def test_planted_items_never_block_a_move_into_the_pool(pool, capsys):
    """An item planted with the moving tenant's tenant index shard, under another tenant's
    key, is neither an extra in the target nor a reason to refuse the switch."""
    plant(pool, "pool-messages", forged_message(7, ACME, ATTACKER))
    for _ in range(2):  # and run again: no "1 extra" for ever after
        status, out, err = run(capsys, "tenant", "move", ACME, "--to", "pool")
        assert status == EXIT_OK, out + err
    assert "is served from pool (the move had switched)" in out


def test_a_foreign_item_on_an_index_costs_the_victim_nothing(pool, capsys):
    """Finding 7: an item the attacker writes in its own key space with an index key naming
    the victim is skipped and reported on every read path; the victim's queries work."""
    plant(pool, "pool-metrics", {
        **make_metric(3, ATTACKER),
        "tenantSeriesId": f"{ATTACKER}#kpi_0#shard:s0",
        "tenantMetricType": f"{VICTIM}#operational",
        "tenantDimension": f"{VICTIM}#shard:s0",
        "seriesId": "kpi_0#shard:s0", "granularity": "month",
    })  # fmt: skip
    status, out, err = run(capsys, "query", "type", "--tenant", VICTIM, "operational", "--jsonl")
    assert status == EXIT_OK
    assert len(out.splitlines()) == 12
    assert "warning: skipped 1 item that is not tenant 'acme''s records" in err
    assert "it names tenant 'acme-corp'" in err
    status, _, err = run(capsys, "query", "series", "--tenant", VICTIM, "no_such_subject")
    assert status == EXIT_FAILED and "Traceback" not in err
    assert "no_such_subject" in err


def test_content_that_looks_like_a_lease_is_moved_like_any_record(pool, capsys):
    """Finding 8: a lease is told by its key, never by what a record says."""
    settings = StackFile.load("local").settings()
    odd = make_message(50, VICTIM, content=f"ends like a lease {LEASE_KEY}")
    TenantWriter(pool, settings, VICTIM, MESSAGE).ingest(as_source([odd]))
    assert run(capsys, "tenant", "move", VICTIM, "--to", "silo")[0] == EXIT_OK
    provision(pool)
    status, out, _ = run(capsys, "tenant", "move", VICTIM, "--to", "silo")
    assert status == EXIT_OK and "verified messages: 7 records" in out
    assert run(capsys, "tenant", "drop-copy", VICTIM, "--yes")[0] == EXIT_OK
    read = TenantReader(pool, StackFile.load("local").settings(), VICTIM)
    assert read.message("msg-000050").content.endswith(LEASE_KEY)
    assert StackFile.load("local").settings().roster.get(VICTIM).tier is Tier.SILO
