"""Real `salestalk ingest` processes: killed mid-run, cut off from the endpoint, or racing.

Each scenario ends by comparing the table with a clean run's (items minus per-run
bookkeeping): nothing lost, nothing stored twice.
"""

from __future__ import annotations

import json
import signal
import time
from urllib.parse import urlsplit

from ingestion.records.items import METRIC
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.tables import all_table_specs
from tests.ingestion.conftest import ACME, as_source, make_metric
from tests.reliability.conftest import contents, item_count, salestalk, write_jsonl
from tests.support import figures
from tests.support.proxy import VanishingProxy

TABLE = f"tenant-{ACME}-metrics"


def clean_contents(client, settings, records) -> list[str]:
    """The table after a clean run; the table is emptied again afterwards."""
    TenantWriter(client, settings, ACME, METRIC, mode=WriteMode.BATCH).ingest(as_source(records))
    expected = contents(client, TABLE)
    client.delete_table(TableName=TABLE)
    Provisioner(client).apply(all_table_specs(settings))
    assert item_count(client, TABLE) == 0
    return expected


def wait_for(condition, timeout: float = 120.0, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)


def settled_count(client, table: str = TABLE) -> int:
    """The item count once the server has finished what a killed client had already sent."""
    counts = [item_count(client, table)]
    while True:
        time.sleep(0.3)
        counts.append(item_count(client, table))
        if counts[-1] == counts[-2]:
            return counts[-1]


def finish(process, timeout: float = 300.0) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_sigkill_at_several_points_then_resume(tables, settings, endpoint_url, tmp_path):
    records = [make_metric(n) for n in range(8_000)]
    expected = clean_contents(tables, settings, records)
    path = write_jsonl(tmp_path / "metrics.jsonl", records)
    args = ("ingest", "metrics", "--tenant", ACME, str(path), "--json")

    kills = []
    for target in (1_500, 4_000, 6_500):
        process = salestalk(*args, endpoint=endpoint_url)
        wait_for(lambda t=target, p=process: item_count(tables, TABLE) >= t or p.poll() is not None)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, "the ingest finished before the kill"
        kills.append(settled_count(tables))

    status, out, err = finish(salestalk(*args, endpoint=endpoint_url))
    assert status == 0, err
    report = json.loads(out)
    assert report["written"] + report["duplicates"] == 8_000
    assert report["duplicates"] == kills[-1]  # what the killed runs stored is recognised
    assert contents(tables, TABLE) == expected
    figures.record(
        "crash and resume (SIGKILL)",
        records=8_000,
        killed_at_items=kills,
        final_run_written=report["written"],
        final_run_duplicates=report["duplicates"],
        lost=0,
        doubled=0,
    )


def test_endpoint_goes_away_mid_run_then_a_rerun_completes(
    tables, settings, endpoint_url, tmp_path
):
    records = [make_metric(n) for n in range(6_000)]
    expected = clean_contents(tables, settings, records)
    path = write_jsonl(tmp_path / "metrics.jsonl", records)
    server = urlsplit(endpoint_url)
    proxy = VanishingProxy(server.hostname, server.port).start()
    args = ("ingest", "metrics", "--tenant", ACME, str(path))

    process = salestalk(*args, endpoint=proxy.url)
    wait_for(lambda: item_count(tables, TABLE) >= 2_000 or process.poll() is not None)
    proxy.stop()
    stopped_at = item_count(tables, TABLE)
    started = time.monotonic()
    status, out, err = finish(process)
    gave_up_after = time.monotonic() - started

    assert status == 2, (out, err)
    assert f"cannot reach DynamoDB at {proxy.url}" in err
    assert "Run the same command again to resume" in err
    assert "Traceback" not in err
    assert stopped_at < 6_000

    proxy.start()  # the endpoint is back, on the same port
    status, out, err = finish(salestalk(*args, "--json", endpoint=proxy.url))
    proxy.stop()
    assert status == 0, err
    report = json.loads(out)
    assert report["written"] + report["duplicates"] == 6_000
    assert contents(tables, TABLE) == expected
    figures.record(
        "endpoint goes away",
        records=6_000,
        stored_when_cut=stopped_at,
        exit_status=2,
        seconds_until_giving_up=round(gave_up_after, 1),
        rerun_written=report["written"],
        rerun_duplicates=report["duplicates"],
        lost=0,
    )


def test_concurrent_writers_store_each_record_once_and_count_every_overlap(
    tables, settings, endpoint_url, tmp_path
):
    records = [make_metric(n) for n in range(10_000)]
    expected = clean_contents(tables, settings, records)
    first = write_jsonl(tmp_path / "first.jsonl", records[:6_000])
    second = write_jsonl(tmp_path / "second.jsonl", records[4_000:][::-1])  # meet in the middle

    processes = [
        salestalk("ingest", "metrics", "--tenant", ACME, str(path), "--json", endpoint=endpoint_url)
        for path in (first, second)
    ]
    reports = []
    for process in processes:
        status, out, err = finish(process)
        assert status == 0, err
        reports.append(json.loads(out))

    assert sum(r["written"] for r in reports) == 10_000
    assert sum(r["duplicates"] for r in reports) == 2_000  # the overlap, counted once
    assert all(r["conflicts"] == 0 and r["rejected"] == 0 for r in reports)
    assert contents(tables, TABLE) == expected
    figures.record(
        "concurrent writers",
        records=10_000,
        overlap=2_000,
        writer_1=f"{reports[0]['written']} written/{reports[0]['duplicates']} duplicates",
        writer_2=f"{reports[1]['written']} written/{reports[1]['duplicates']} duplicates",
        doubled=0,
    )


def test_a_move_killed_mid_copy_then_run_again_has_each_item_once(
    dynamodb, endpoint_url, project_copy
):
    """`salestalk tenant move` SIGKILLed while it copies: run again, it copies the rest, finds
    what the killed run wrote already there, verifies, and switches; each item is in the
    pool once."""
    from ingestion.lifecycle.copies import Copier
    from tenancy.roster import Tier
    from tenancy.stack_file import StackFile

    settings = StackFile.load("local").settings()
    Provisioner(dynamodb).apply(all_table_specs(settings))
    records = [make_metric(n) for n in range(6_000)]
    TenantWriter(dynamodb, settings, ACME, METRIC, mode=WriteMode.BATCH).ingest(as_source(records))
    expected = contents(dynamodb, TABLE)

    process = salestalk("tenant", "move", ACME, "--to", "pool", endpoint=endpoint_url)
    wait_for(lambda: item_count(dynamodb, "pool-metrics") >= 1_500 or process.poll() is not None)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the move finished before the kill"
    stored = settled_count(dynamodb, "pool-metrics")
    assert 0 < stored < 6_000
    assert StackFile.load("local").settings().roster.get(ACME).move_to is Tier.POOL

    status, out, err = finish(
        salestalk("tenant", "move", ACME, "--to", "pool", endpoint=endpoint_url)
    )
    assert status == 0, err
    assert f"6,000 read from {TABLE}, {6_000 - stored:,} written to pool-metrics, " in out
    assert f"{stored:,} already there" in out
    assert item_count(dynamodb, "pool-metrics") == 6_000
    moved = StackFile.load("local").settings()
    assert moved.tier(moved.roster.get(ACME)) is Tier.POOL
    checks = Copier(dynamodb, moved, ACME).compare(Tier.SILO, Tier.POOL)  # the copy left
    assert all(check.equal for check in checks)
    assert contents(dynamodb, TABLE) == expected  # the old copy untouched
    figures.record(
        "move killed mid-copy (SIGKILL)",
        records=6_000,
        killed_at_items=stored,
        rerun_copied=6_000 - stored,
        rerun_already_there=stored,
        lost=0,
        doubled=0,
    )
