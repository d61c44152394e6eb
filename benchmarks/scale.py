"""The sizes users have: a tenant with a million messages, a limited query on a large
tenant, a pooled tenant's whole read beside a thousand others, and the main job with a large
tenant in its roster.

    python -m benchmarks --only scale [--engine dynamodb-local]

Each ingest runs in a fresh interpreter (`python -m benchmarks.scale ingest URL COUNT`), so
that its peak resident memory is its own.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    PROJECT_DIR,
    RequestCounter,
    Result,
    Target,
    client,
    endpoint,
    in_subprocess,
    peak_rss_bytes,
    per_second,
)
from benchmarks.pulumi_scale import roster
from ingestion.lifecycle.tenant_data import TenantData
from ingestion.reading.ownership import Refusals
from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE
from ingestion.records.sources import SourceRecord
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.local.dynamodb_local import HEAP_ENV
from tenancy.provisioner import Provisioner
from tenancy.settings import StackSettings
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs, tenant_tables

SIZES = (100_000, 1_000_000)  # messages into one tenant
QUICK_SIZES = (1_000, 5_000)
POOLED = 1_000  # other pooled tenants beside the one read whole
POOLED_ITEMS = 100  # messages each of them holds, and the one read
QUICK_POOLED = 20
LARGE_TENANT = 100_000  # in the roster of the main job
QUICK_LARGE_TENANT = 6_000  # past the 5,000 messages 03 reads to find sessions
TENANT = "acme-corp-001"
SENDER = "user-3"


def message(n: int, tenant_id: str) -> dict[str, Any]:
    return {
        "tenantId": tenant_id,
        "messageId": f"msg-{n:08d}",
        "sessionId": f"sess-{n // 20:07d}",
        "senderId": f"user-{n % 7}",
        "timestamp": 1_700_000_000 + n,
        "content": f"message number {n} of a long conversation history",
        "classification": {"intent": "smalltalk", "confidence": 0.5},
        "references": [{"source": "crm", "sourceId": f"c-{n}"}],
    }


def messages(count: int, tenant_id: str) -> Iterator[SourceRecord]:
    """Generated as they are read: what a file of that many lines holds at a time."""
    for n in range(count):
        yield SourceRecord(f"line {n + 1}", data=message(n, tenant_id))


def local_settings() -> StackSettings:
    return StackFile.load("local", PROJECT_DIR).settings()


def ingest_in_this_process(url: str, count: int) -> dict[str, Any]:
    """One ingest of `count` generated messages into the local stack's siloed tenant."""
    settings = local_settings()
    dynamodb = client(url)
    Provisioner(dynamodb).apply(all_table_specs(settings))
    writer = TenantWriter(dynamodb, settings, TENANT, MESSAGE)
    started = time.perf_counter()
    report = writer.ingest(messages(count, TENANT))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "written": report.written, "peak_rss": peak_rss_bytes()}


def _ingests(quick: bool) -> tuple[list[list[Any]], list[Target]]:
    small, large = QUICK_SIZES if quick else SIZES
    rows, measured = [], {}
    for count in (small, large):
        with endpoint() as url:
            done = in_subprocess("benchmarks.scale", "ingest", url, str(count), timeout=7200)
        assert done["written"] == count, done
        per_record = done["seconds"] / count * 1e6
        measured[count] = (per_record, done["peak_rss"])
        what = f"ingest {count:,} messages into one tenant"
        rows += [
            [what, "seconds", round(done["seconds"], 1)],
            [what, "records per second", round(per_second(count, done["seconds"]))],
            [what, "µs per record", round(per_record)],
            [what, "peak memory of the process, MB", round(done["peak_rss"] / 1e6)],
        ]
    time_ratio = measured[large][0] / measured[small][0]
    memory_ratio = measured[large][1] / measured[small][1]
    targets = [
        Target(
            f"time per record, {large:,} / {small:,} messages", round(time_ratio, 2), 1.2, True, "x"
        ),
        Target(
            f"peak memory, {large:,} / {small:,} messages", round(memory_ratio, 2), 1.2, True, "x"
        ),
    ]
    return rows, targets


def _cli_seconds(url: str, *argv: str, runs: int = 5) -> float:
    """The median wall time of a `salestalk` command, start-up included, as people run it."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": url,
        "SALESTALK_PROJECT_DIR": str(PROJECT_DIR),
    }
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tenancy.cli", *argv], env=env, check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _limited_query(quick: bool) -> tuple[list[list[Any]], list[Target]]:
    count = QUICK_SIZES[0] if quick else SIZES[0]
    with endpoint() as url:
        done = in_subprocess("benchmarks.scale", "ingest", url, str(count), timeout=7200)
        assert done["written"] == count
        dynamodb = client(url)
        counter = RequestCounter(dynamodb)
        page = TenantReader(dynamodb, local_settings(), TENANT).sender_query(SENDER).page(20)
        requests = counter.total
        limited = _cli_seconds(
            url, "query", "sender", "--tenant", TENANT, SENDER, "--limit", "20", "--jsonl"
        )
        one = _cli_seconds(url, "query", "message", "--tenant", TENANT, "msg-00000003", "--jsonl")
    limited_what = f"query sender --limit 20 on a {count:,}-message tenant"
    rows = [
        [limited_what, "records printed", len(page.records)],
        [limited_what, "Query requests", requests],
        [limited_what, "seconds, command line (median of 5)", round(limited, 2)],
        ["query message (one GetItem)", "seconds, command line (median of 5)", round(one, 2)],
    ]
    targets = [
        Target("requests of a --limit 20 query", requests, 1, True),
        Target(
            "time of --limit 20 / one GetItem, through the command line",
            round(limited / one, 2),
            2,
            True,
            "x",
        ),
    ]
    return rows, targets


def _pooled_read(quick: bool) -> tuple[list[list[Any]], list[Target]]:
    others = QUICK_POOLED if quick else POOLED
    entries = [{**entry, "status": "active"} for entry in roster(others + 1, pooled=others + 1)]
    settings = StackSettings.from_values("bench", {"tenants": entries}, source="generated")
    with endpoint() as url:
        dynamodb = client(url)
        Provisioner(dynamodb).apply(all_table_specs(settings))
        for tenant in settings.roster:
            TenantWriter(
                dynamodb, settings, tenant.tenant_id, MESSAGE, mode=WriteMode.BATCH
            ).ingest(messages(POOLED_ITEMS, tenant.tenant_id))
        read = settings.roster.ids[others // 2]
        table = tenant_tables(settings, settings.roster.get(read))[MESSAGE.layout.kind]
        counted = _ItemsRead(dynamodb)
        started = time.perf_counter()
        own = sum(1 for _ in TenantData.of(dynamodb, table, MESSAGE, Refusals(read)).records())
        seconds = time.perf_counter() - started
    pool = (others + 1) * POOLED_ITEMS
    what = f"all of one pooled tenant's messages, beside {others:,} others"
    rows = [
        [what, "the tenant's records", own],
        [what, "items in the pool table", pool],
        [what, "items read (BatchGetItem)", counted.items],
        [what, "tenant index entries read (16 Queries)", counted.entries],
        [what, "requests", counted.requests],
        [what, "seconds", round(seconds, 2)],
    ]
    targets = [
        Target(
            "items read / the tenant's own, whole-tenant pool read",
            round(counted.items / own, 2),
            1.1,
            True,
            "x",
        )
    ]
    return rows, targets


class _ItemsRead:
    """Items a client's responses carry: index entries (Query) and items (BatchGetItem)."""

    def __init__(self, dynamodb) -> None:
        self.items = self.entries = self.requests = 0
        events = dynamodb.meta.events
        events.register("after-call.dynamodb.Query", self._query)
        events.register("after-call.dynamodb.BatchGetItem", self._batch)
        events.register("after-call.dynamodb.Scan", self._scan)

    def _query(self, parsed, **_):
        self.requests += 1
        self.entries += len(parsed.get("Items", []))

    def _scan(self, parsed, **_):
        self.requests += 1
        self.items += parsed.get("ScannedCount", len(parsed.get("Items", [])))

    def _batch(self, parsed, **_):
        self.requests += 1
        self.items += sum(len(found) for found in parsed.get("Responses", {}).values())


def _main_job(quick: bool) -> tuple[list[list[Any]], list[Target]]:
    """`salestalk up` in a copy of the project, on an endpoint whose siloed tenant already
    holds a large history: it completes, and says how long each notebook took."""
    count = QUICK_LARGE_TENANT if quick else LARGE_TENANT
    with endpoint() as url, tempfile.TemporaryDirectory(prefix="salestalk-up-") as folder:
        done = in_subprocess("benchmarks.scale", "ingest", url, str(count), timeout=7200)
        assert done["written"] == count
        project = Path(folder)
        for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
            shutil.copy(PROJECT_DIR / name, project / name)
        for name in ("notebooks", "seed_data"):
            shutil.copytree(PROJECT_DIR / name, project / name)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_DYNAMODB": url,
            "SALESTALK_PROJECT_DIR": str(project),
        }
        started = time.perf_counter()
        job = subprocess.run(
            [sys.executable, "-m", "tenancy.cli", "up", "--reports", str(project / "reports")],
            env=env,
            capture_output=True,
            text=True,
            cwd=project,
            check=False,
        )
        seconds = time.perf_counter() - started
    if job.returncode != 0:
        raise RuntimeError(f"salestalk up failed ({job.returncode}):\n{job.stderr[-3000:]}")
    what = f"salestalk up, a tenant of {count:,} messages in the roster"
    rows = [[what, "seconds, whole job", round(seconds, 1)]]
    for line in job.stdout.splitlines():  # `  report: PATH (N s)`, one per notebook run
        if line.strip().startswith("report: ") and line.endswith(" s)"):
            page, _, took = line.strip().removeprefix("report: ").rpartition(" (")
            rows.append([what, f"seconds, {Path(page).stem}", float(took.removesuffix(" s)"))])
    targets = [
        Target(
            "salestalk up with the large tenant completes (exit status)", job.returncode, 0, True
        )
    ]
    return rows, targets


def run(quick: bool = False) -> Result:
    # an in-memory DynamoDB Local holds a million messages and their indexes on its heap
    os.environ.setdefault(HEAP_ENV, "8g")
    rows: list[list[Any]] = []
    targets: list[Target] = []
    for part in (_ingests, _limited_query, _pooled_read, _main_job):
        part_rows, part_targets = part(quick)
        rows += part_rows
        targets += part_targets
    small, large = QUICK_SIZES if quick else SIZES
    notes: list[str] = []
    return Result(
        title="At the sizes users have",
        method=(
            f"One siloed tenant ingests {small:,} and then {large:,} generated messages (the "
            "default leased mode, each run in a fresh interpreter on a fresh endpoint: time per "
            "record and peak resident memory of the whole process); a `--limit 20` query on a "
            f"{small:,}-message tenant through the command line against `query message` (one "
            "GetItem), median of 5 runs each, start-up included; one pooled tenant's whole read "
            f"(tenant index, then BatchGetItem) beside {POOLED:,} other pooled tenants of "
            f"{POOLED_ITEMS} messages each, counting the items the responses carry; and "
            f"`salestalk up` with a {LARGE_TENANT:,}-message tenant in the roster."
        ),
        columns=["what", "figure", "measured"],
        rows=rows,
        targets=targets,
        notes=notes,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["ingest"]:
        print(json.dumps(ingest_in_this_process(sys.argv[2], int(sys.argv[3]))))
