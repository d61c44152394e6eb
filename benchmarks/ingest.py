"""Ingestion throughput, request cost and re-ingest speed, against two baselines in one run.

For each record kind, on one engine with freshly provisioned tables per measurement:

- `salestalk ingest`: the code path of the command (a JSON Lines file read and validated,
  classified against the table, written idempotently), in its default leased mode and in
  `--mode batch`, then the same file again (all duplicates);
- baseline (a): boto3's `Table.batch_writer()` writing the same items, built before the clock
  starts (no validation, no duplicate detection);
- baseline (b): one conditional `PutItem` per record, as a per-record idempotency utility
  does, with the same pre-built items;
- the fastest ways a Python user could load the same items, as peers: pydynox's
  `SyncBatchWriter` (a Rust core) and awswrangler's `dynamodb.put_items` (threads over
  boto3), each given the very items the ingest stored.

The engine runs every writer once, untimed, before the first measured round: Amazon's
DynamoDB Local is a JVM, which runs at about half speed until its code is compiled, and the
first writer measured would otherwise pay for all of them.

Each figure is the median of `repeats` runs; HTTP requests are counted on the wire, and the
CPU time of the client process and of the server process says which side a run waited for.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from benchmarks import data
from benchmarks.harness import (
    REGION,
    RequestCounter,
    Result,
    Target,
    WriteUnits,
    baseline_client,
    client,
    endpoint,
    per_second,
    reset,
    resource_,
    server_cpu_seconds,
    timed,
)
from ingestion.records.items import KINDS, RecordKind, serialize
from ingestion.records.sources import Quarantine, new_quarantine_path, read_records
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs

# The peers: optional (the `bench` extra), and named in the table whenever they are missing.
try:
    import awswrangler
    import pydynox
except ImportError:  # pragma: no cover - the dev install has both
    awswrangler = pydynox = None

FULL = {"records": 20_000, "repeats": 3}
QUICK = {"records": 300, "repeats": 1}


@dataclass(frozen=True)
class Run:
    seconds: float
    requests: int
    writes: int
    outcome: dict[str, int]
    client_cpu: float
    server_cpu: float
    write_units: tuple[float, float | None] | None = None  # (by rule, engine's) if metered


class Bench:
    """One server, one kind: every measurement starts from freshly provisioned tables."""

    def __init__(self, url: str, kind: RecordKind, folder: Path, records: int):
        self.url = url
        self.kind = kind
        self.settings = StackFile.load("local").settings()
        self.client = client(url)
        self.baseline = baseline_client(url)
        self.counter = RequestCounter(self.client)
        self.counter.watch(self.baseline)
        self.table_name = TenantWriter(self.client, self.settings, data.TENANT, kind).table_name
        self.path = data.write_jsonl(
            folder / f"{kind.name}.jsonl", data.records(kind.name, records)
        )
        self.folder = folder
        self.table = resource_(url).Table(self.table_name)
        self.counter.watch(self.table.meta.client)
        with self.path.open("rb") as stream:
            sources = read_records(stream, self.path.name)
            writer = TenantWriter(self.client, self.settings, data.TENANT, kind)
            self.items = [writer.validate(source).item for source in sources]

    def fresh_tables(self) -> None:
        reset(self.url)
        Provisioner(self.client).apply(all_table_specs(self.settings))

    def write_units(self, work: Callable[[], dict[str, int]]) -> tuple[float, float | None]:
        """One more, untimed run on fresh tables, metered: (units by DynamoDB's rule, the
        engine's own figure or None)."""
        self.fresh_tables()
        # A boto3 resource transforms every request of its client: it gets one of its own.
        metered, for_resource = client(self.url), baseline_client(self.url)
        meters = [WriteUnits(metered), WriteUnits(for_resource)]
        saved, self.client = self.client, metered
        saved_table = self.table
        self.table = resource_(self.url, for_resource).Table(self.table_name)
        try:
            work()
        finally:
            self.client, self.table = saved, saved_table
        reporting = all(m.reporting for m in meters)
        reported = sum(m.reported for m in meters) if reporting else None
        return sum(m.by_rule for m in meters), reported

    def measure(self, work: Callable[[], dict[str, int]]) -> Run:
        self.counter.reset()
        client_before, server_before = time.process_time(), server_cpu_seconds(self.url)
        took = timed(work)
        return Run(
            took.seconds,
            self.counter.total,
            self.counter.writes(),
            took.value,
            time.process_time() - client_before,
            server_cpu_seconds(self.url) - server_before,
        )

    def ingest(self, mode: WriteMode) -> dict[str, int]:
        """What `salestalk ingest --kind K --file F [--mode M]` does once it is connected."""
        writer = TenantWriter(self.client, self.settings, data.TENANT, self.kind, mode=mode)
        quarantine = Quarantine(new_quarantine_path(self.folder, "ingest"))
        try:
            with self.path.open("rb") as stream:
                report = writer.ingest(read_records(stream, str(self.path)), quarantine=quarantine)
        finally:
            quarantine.close()
        return report.to_json()

    def batch_writer(self) -> dict[str, int]:
        with self.table.batch_writer() as batch:
            for item in self.items:
                batch.put_item(Item=item)
        return {"written": len(self.items)}

    def pydynox_writer(self) -> dict[str, int]:
        client = pydynox.DynamoDBClient(
            endpoint_url=self.url, region=REGION, access_key="test", secret_key="test"
        )
        with pydynox.SyncBatchWriter(client, self.table_name) as batch:
            for item in self.items:
                batch.put(item)
        return {"written": len(self.items)}

    def awswrangler_writer(self) -> dict[str, int]:
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
        )
        awswrangler.config.dynamodb_endpoint_url = self.url
        awswrangler.dynamodb.put_items(
            items=self.items, table_name=self.table_name, boto3_session=session, use_threads=True
        )
        return {"written": len(self.items)}

    def conditional_puts(self) -> dict[str, int]:
        key = self.kind.layout.hash_key.name
        for item in self.items:
            self.baseline.put_item(
                TableName=self.table_name,
                Item=serialize(item),
                ConditionExpression="attribute_not_exists(#key)",
                ExpressionAttributeNames={"#key": key},
            )
        return {"written": len(self.items)}


def median_run(runs: list[Run]) -> Run:
    """The run of median duration (the middle one of an odd number, as here)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def measure_kind(url: str, kind: RecordKind, records: int, repeats: int) -> dict[str, Run]:
    with tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
        bench = Bench(url, kind, Path(folder), records)
        runs: dict[str, list[Run]] = {}

        def record(label: str, work: Callable[[], dict[str, int]], fresh: bool = True) -> None:
            if fresh:
                bench.fresh_tables()
            runs.setdefault(label, []).append(bench.measure(work))

        for work in (*PEERS.values(), *METERED.values()):  # untimed: the engine warms up
            bench.fresh_tables()
            work(bench)
        for _ in range(repeats):
            for label, work in PEERS.items():
                record(label, lambda work=work: work(bench))
            record("batch_writer (a)", bench.batch_writer)
            record("ingest, leased (default)", lambda: bench.ingest(WriteMode.LEASED))
            record("re-ingest, leased", lambda: bench.ingest(WriteMode.LEASED), False)
            record("ingest, --mode batch", lambda: bench.ingest(WriteMode.BATCH))
            record("re-ingest, --mode batch", lambda: bench.ingest(WriteMode.BATCH), False)
        record("conditional PutItem (b)", bench.conditional_puts)
        measured = {label: median_run(found) for label, found in runs.items()}
        for label, work in METERED.items():
            units = bench.write_units(lambda work=work: work(bench))
            measured[label] = dataclasses.replace(measured[label], write_units=units)
        return measured


# The peers, by label, as the table names them (each writes the items the ingest stored).
PEERS: dict[str, Callable[[Bench], dict[str, int]]] = (
    {
        "pydynox SyncBatchWriter (c)": lambda bench: bench.pydynox_writer(),
        "awswrangler put_items (d)": lambda bench: bench.awswrangler_writer(),
    }
    if pydynox is not None and awswrangler is not None
    else {}
)
# The writers whose write cost is metered (in an extra, untimed run each).
METERED: dict[str, Callable[[Bench], dict[str, int]]] = {
    "batch_writer (a)": lambda bench: bench.batch_writer(),
    "ingest, leased (default)": lambda bench: bench.ingest(WriteMode.LEASED),
    "ingest, --mode batch": lambda bench: bench.ingest(WriteMode.BATCH),
}


def run(quick: bool = False) -> Result:
    sizes = QUICK if quick else FULL
    records, repeats = sizes["records"], sizes["repeats"]
    result = Result(
        title="Ingestion throughput, requests and re-ingest",
        method=(
            f"{records:,} records of each kind as a JSON Lines file, over HTTP to the engine "
            "(its own process), tables provisioned afresh before each first ingest. "
            "`salestalk ingest` is timed from opening the file to the final report (reading, "
            "contracts, classification, writes, quarantine), in-process so that interpreter "
            "start-up is not counted. Baseline (a) is boto3's `Table.batch_writer()` and "
            "baseline (b) one `PutItem` with `attribute_not_exists` per record, both given "
            "the very items the ingest stores, built before the clock starts, over a client "
            "with boto3's default parameter validation (the platform's own clients leave "
            "that check to DynamoDB). Figures are the "
            f"median of {repeats} runs ((b): one run). Requests are counted on the wire with "
            "botocore's `before-send` event, retries included. *Client CPU* is the ingesting "
            "process's CPU time (all its threads), *server CPU* the engine's: a run "
            "whose server CPU is close to its seconds waited for the server."
        ),
        columns=(
            "kind",
            "writer",
            "records/s",
            "seconds",
            "client CPU s",
            "server CPU s",
            "client CPU ms / record",
            "server CPU ms / record",
            "requests / 1,000",
            "writes",
            "write units / record",
            "engine's units / record",
            "outcome",
        ),
    )
    with endpoint() as url:
        for kind_name in ("metric", "message"):
            kind = KINDS[kind_name]
            measured = measure_kind(url, kind, records, repeats)
            for label, one in measured.items():
                result.rows.append(
                    (
                        kind_name,
                        label,
                        round(per_second(records, one.seconds)),
                        round(one.seconds, 2),
                        round(one.client_cpu, 2),
                        round(one.server_cpu, 2),
                        round(one.client_cpu * 1000 / records, 3),
                        round(one.server_cpu * 1000 / records, 3),
                        *(
                            ("not counted", "")  # their own HTTP clients: not botocore's events
                            if label in PEERS
                            else (round(one.requests * 1000 / records, 1), one.writes)
                        ),
                        round(one.write_units[0] / records, 3) if one.write_units else "",
                        _engine_units(one, records),
                        _outcome(one.outcome),
                    )
                )
            result.targets.extend(_targets(kind_name, measured, records))
    return result


def _engine_units(run: Run, records: int) -> str | float:
    if run.write_units is None:
        return ""
    reported = run.write_units[1]
    return "not reported" if reported is None else round(reported / records, 3)


def _outcome(outcome: dict[str, Any]) -> str:
    shown = ("written", "duplicates", "conflicts", "rejected")
    return ", ".join(f"{outcome[k]:,} {k}" for k in shown if outcome.get(k))


def _targets(kind: str, runs: dict[str, Run], records: int) -> list[Target]:
    ours = runs["ingest, leased (default)"]
    again = runs["re-ingest, leased"]
    batch = runs["batch_writer (a)"]
    puts = runs["conditional PutItem (b)"]
    peers = {label: runs[label] for label in (*PEERS, "batch_writer (a)")}
    fastest_label, fastest = min(peers.items(), key=lambda peer: peer[1].seconds)
    fastest_name = fastest_label.split(" (")[0]
    return [
        Target(
            f"{kind}s: ingest vs the fastest peer ({fastest_name})",
            fastest.seconds / ours.seconds,
            1.0,
            False,
            "x",
        ),
        Target(
            f"{kind}s: re-ingest vs the fastest peer writing the same items ({fastest_name})",
            fastest.seconds / again.seconds,
            1.0,
            False,
            "x",
        ),
        Target(
            f"{kind}s: client CPU per record, ingest / batch_writer (a)",
            ours.client_cpu / batch.client_cpu,
            1.0,
            True,
            "x",
        ),
        Target(
            f"{kind}s: ingest vs conditional PutItem (b)",
            puts.seconds / ours.seconds,
            5,
            False,
            "x",
        ),
        Target(
            # a BatchGetItem per 100 records, a BatchWriteItem per 25, and three per ingest
            # (the first chunk's puts read again under the lease, the lease taken and returned)
            f"{kind}s: requests per 1,000, first ingest",
            ours.requests * 1000 / records,
            50 + 3 * 1000 / records,
            True,
        ),
        Target(
            f"{kind}s: requests per 1,000, re-ingest", again.requests * 1000 / records, 12, True
        ),
        Target(f"{kind}s: writes on re-ingest", again.writes, 0, True),
        Target(
            f"{kind}s: write units per new record, default mode, the lease's two per ingest aside",
            (ours.write_units[0] - 2) / records,
            1.0,
            True,
        ),
        *(
            [
                Target(
                    f"{kind}s: the engine's write units, default mode vs batch_writer (a), "
                    "the lease's two per ingest aside",
                    (ours.write_units[1] - 2) / batch.write_units[1],
                    1.0,
                    True,
                    "x",
                )
            ]
            if ours.write_units[1] and batch.write_units[1]
            else []
        ),
        Target(
            f"{kind}s: re-ingest speed-up over first ingest",
            ours.seconds / again.seconds,
            3,
            False,
            "x",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(run(quick=False).to_json(), indent=1))
