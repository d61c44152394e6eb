"""A tenant's whole journey silo -> pool -> silo, as an operator runs it on a live stack: its
ingests keep coming (some before a move, some while it holds the tenant's writes, some after
the switch), other tenants have planted items naming it on both sides, and every step is
killed (SIGKILL, at a named failpoint) and run again. It ends with exactly the tenant's
records in one tier, every ingest's "written" reachable, and every other tenant's items as
they were, byte for byte.
"""

from __future__ import annotations

import json
import signal

from ingestion.lifecycle.failpoints import FAILPOINT_ENV
from ingestion.lifecycle.seeding import seed
from ingestion.lifecycle.tenant_data import TenantData
from ingestion.reading.ownership import Refusals
from ingestion.reading.queries import MetadataReader
from ingestion.records.items import MESSAGE, METRIC, content_hash
from tenancy.roster import Tier
from tenancy.stack_file import StackFile
from tenancy.tables import tenant_shard, tier_tables
from tests.ingestion.conftest import ACME, SEED_DIR, TECHSTART, make_message, make_metric
from tests.ingestion.lifecycle.conftest import add_trial, ingest, provision
from tests.reliability.conftest import salestalk, write_jsonl
from tests.reliability.test_lifecycle_attacks import keyed_under, plant, snapshot
from tests.reliability.test_processes import finish, wait_for
from tests.support import figures

OTHER = "acme"  # pooled; its id begins the moving tenant's
FILE_RECORDS = 1_500


def records_of(client, tenant_id: str, tier: Tier) -> dict[str, str]:
    """The tenant's valid records in one tier: record key -> content hash recomputed."""
    settings = StackFile.load("local").settings()
    found = {}
    for kind in (METRIC, MESSAGE):
        table = tier_tables(settings, tenant_id, tier)[kind.layout.kind]
        data = TenantData.of(client, table, kind, Refusals(tenant_id))
        if data.exists():
            for _, record in data.records():
                found[data.kind.record_key(record)] = content_hash(data.kind.record_fields(record))
    return found


def expected_records(batches: list[list[dict]]) -> dict[str, str]:
    """The moving tenant's records as its seed files and every ingested batch give them."""
    expected = {}

    def add(kind, raw: dict) -> None:
        record = kind.model.model_validate(raw)
        expected[kind.record_key(record)] = content_hash(kind.record_fields(record))

    for kind in (METRIC, MESSAGE):
        for raw in json.loads((SEED_DIR / ACME / f"{kind.plural}.json").read_text()):
            add(kind, raw)
    for batch in batches:
        for raw in batch:
            add(METRIC, raw)
    return expected


def lease_owner(client, table: str) -> str:
    from ingestion.writing.lease import LEASE_KEY, OWNER_ATTR

    key = client.describe_table(TableName=table)["Table"]["KeySchema"]
    names = [k["AttributeName"] for k in key]
    value = f"{ACME}#{LEASE_KEY}" if table.startswith("pool-") else LEASE_KEY
    item = client.get_item(
        TableName=table,
        Key={name: {"S": value if n == 0 else LEASE_KEY} for n, name in enumerate(names)},
        ConsistentRead=True,
    ).get("Item")
    return item[OWNER_ATTR]["S"] if item else ""


class Journey:
    """The operator's commands, each a real process; what they reported, kept."""

    def __init__(self, client, endpoint: str, tmp_path):
        self.client = client
        self.endpoint = endpoint
        self.tmp_path = tmp_path
        self.batches: list[list[dict]] = []
        self.written = 0
        self.kills = 0
        self.fenced = 0

    def batch(self) -> str:
        start = 10_000 + len(self.batches) * FILE_RECORDS
        records = [make_metric(n, ACME) for n in range(start, start + FILE_RECORDS)]
        self.batches.append(records)
        return str(write_jsonl(self.tmp_path / f"batch-{len(self.batches)}.jsonl", records))

    def ingest(self, path: str):
        return salestalk(
            "ingest", "metrics", "--tenant", ACME, path, "--json", endpoint=self.endpoint
        )

    def reported(self, process, *, fenced: bool = False) -> None:
        status, out, err = finish(process)
        report = json.loads(out.splitlines()[-1])
        self.written += report["written"]
        if fenced:
            assert status == 2 and "fenced" in err, (status, err)
            assert report["written"] == 0
            self.fenced += 1
        else:
            assert status == 0, err

    def run(self, *argv: str, killed_at: str | None = None) -> str:
        env = {FAILPOINT_ENV: killed_at} if killed_at else None
        process = salestalk(*argv, endpoint=self.endpoint, env=env)
        status, out, err = finish(process)
        if killed_at:
            assert status == -signal.SIGKILL, f"{argv} was not killed at {killed_at}: {out}{err}"
            self.kills += 1
        else:
            assert status == 0, out + err
        return out + err

    def move(self, to: Tier, killed_at: str | None = None) -> str:
        return self.run("tenant", "move", ACME, "--to", str(to), killed_at=killed_at)

    def drop_copy(self, killed_at: str | None = None) -> str:
        return self.run("tenant", "drop-copy", ACME, "--yes", killed_at=killed_at)

    def move_fencing_a_late_ingest(self, to: Tier, source_metrics: str) -> None:
        """A move killed just after it fenced the source, with an ingest started while it
        held the tenant's writes: that ingest meets the fence and writes nothing."""
        env = {FAILPOINT_ENV: "move:fenced"}
        before = lease_owner(self.client, source_metrics)  # a killed move's, perhaps
        mover = salestalk("tenant", "move", ACME, "--to", str(to), endpoint=self.endpoint, env=env)

        def held_by_this_move() -> bool:
            owner = lease_owner(self.client, source_metrics)
            return owner != before and owner.startswith(("move-", "fence:"))

        wait_for(held_by_this_move)
        late = self.ingest(self.batch())
        assert finish(mover)[0] == -signal.SIGKILL
        self.kills += 1
        self.reported(late, fenced=True)


def test_silo_to_pool_to_silo_under_ingests_planted_items_and_kills(
    project_copy, dynamodb, endpoint_url, tmp_path
):
    client = dynamodb
    add_trial(client, OTHER)
    provision(client)
    seed(client, StackFile.load("local").settings(), SEED_DIR)
    ingest(client, OTHER, 20, 8)
    # Planted: in the moving tenant's own table, an item naming the other tenant (all its
    # role needs); in the pool, under the other tenant's keys, items naming the moving one.
    plant(client, f"tenant-{ACME}-messages", make_message(2, OTHER, content="forged"))
    forged = make_message(900, ACME, content="planted by acme")
    plant(client, "pool-messages", {
        **forged, "tenantMessageId": f"{OTHER}#{forged['messageId']}",
        "tenantSessionId": f"{ACME}#{forged['sessionId']}",
        "tenantSenderId": f"{ACME}#{forged['senderId']}", "recordKey": forged["messageId"],
        "tenantShard": tenant_shard(ACME, forged["messageId"]),
    })  # fmt: skip
    metric = make_metric(10_001, ACME, value=666)
    key = f"{ACME}:{metric['subject']}:{metric['period']}:{metric['dimension']}"
    plant(client, "pool-metrics", {
        **metric, "tenantSeriesId": f"{OTHER}#{metric['subject']}#{metric['dimension']}",
        "tenantMetricType": f"{ACME}#operational", "tenantDimension": f"{ACME}#x",
        "seriesId": f"{metric['subject']}#{metric['dimension']}", "granularity": "month",
        "recordKey": key, "tenantShard": tenant_shard(ACME, key),
    })  # fmt: skip
    others = (
        keyed_under(client, OTHER),
        snapshot(client, f"tenant-{TECHSTART}-metrics"),
        snapshot(client, f"tenant-{TECHSTART}-messages"),
    )
    journey = Journey(client, endpoint_url, tmp_path)
    silo_metrics = f"tenant-{ACME}-metrics"

    # silo -> pool
    running = journey.ingest(journey.batch())  # under way when the move starts: it waits
    journey.move(Tier.POOL, killed_at="copy:chunk")
    journey.reported(running)
    running = journey.ingest(journey.batch())
    journey.move(Tier.POOL, killed_at="move:verified")
    journey.reported(running)
    journey.move_fencing_a_late_ingest(Tier.POOL, silo_metrics)
    journey.move(Tier.POOL, killed_at="move:switched")  # roster switched, metadata not
    journey.reported(journey.ingest(str(tmp_path / "batch-3.jsonl")))  # the fenced one, again
    assert "is served from pool (the move had switched)" in journey.move(Tier.POOL)
    assert MetadataReader(client, StackFile.load("local").settings()).tenant(ACME).tier == "pool"
    journey.drop_copy(killed_at="drop-copy:table-deleted")
    journey.drop_copy()
    assert silo_metrics not in client.list_tables()["TableNames"]

    # pool -> silo
    journey.move(Tier.SILO)  # marks the move: its tables do not exist yet
    provision(client)
    running = journey.ingest(journey.batch())
    journey.move(Tier.SILO, killed_at="copy:chunk")
    journey.reported(running)
    journey.move_fencing_a_late_ingest(Tier.SILO, "pool-metrics")
    journey.move(Tier.SILO, killed_at="move:fenced")
    journey.move(Tier.SILO)
    journey.reported(journey.ingest(str(tmp_path / "batch-5.jsonl")))  # the fenced one, again
    journey.drop_copy(killed_at="delete:chunk")
    journey.drop_copy()

    # exactly the tenant's records, in one tier
    settings = StackFile.load("local").settings()
    tenant = settings.roster.get(ACME)
    assert (settings.tier(tenant), tenant.move_to, tenant.copy_left_in) == (Tier.SILO, None, None)
    expected = expected_records(journey.batches)
    assert records_of(client, ACME, Tier.SILO) == expected
    assert records_of(client, ACME, Tier.POOL) == {}
    assert keyed_under(client, ACME) == []
    # each ingested record reported written once, and each reachable (above)
    assert journey.written == FILE_RECORDS * len(journey.batches)
    # every other tenant's items as they were, planted ones included
    after = (
        keyed_under(client, OTHER),
        snapshot(client, f"tenant-{TECHSTART}-metrics"),
        snapshot(client, f"tenant-{TECHSTART}-messages"),
    )
    assert after == others
    figures.record(
        "journey silo->pool->silo",
        kills=journey.kills,
        concurrent_ingests=len(journey.batches),
        fenced_ingests=journey.fenced,
        planted=3,
        records=len(expected),
        lost=0,
        doubled=0,
        foreign_copied=0,
        others_changed=0,
    )
