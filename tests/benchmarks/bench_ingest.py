"""Ingestion throughput and memory, printed as figures (a benchmark, not a test).

    .venv/bin/python -m tests.benchmarks.bench_ingest [--records 20000]

Starts the embedded moto server in its own process (as `salestalk local start` does), ingests
a JSON Lines file of metrics in each write mode (new records, then the same file again: all
duplicates), and prints records per second and the peak Python memory of the ingesting
process (tracemalloc), which stays flat as the file grows: JSON Lines are streamed 100
records at a time.
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import time
import tracemalloc
from pathlib import Path

import boto3

from ingestion.items import METRIC
from ingestion.sources import read_records
from ingestion.writer import TenantWriter, WriteMode
from tenancy.connection import client_config
from tenancy.local_endpoint import LocalEndpoint
from tenancy.provisioner import Provisioner
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs
from tests.ingestion.conftest import ACME, make_metric


def run(client, settings, path: Path, mode: WriteMode) -> tuple[float, int, int]:
    writer = TenantWriter(client, settings, ACME, METRIC, mode=mode)
    tracemalloc.start()
    started = time.perf_counter()
    with path.open("rb") as stream:
        report = writer.ingest(read_records(stream, path.name))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, report.written + report.duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    settings = StackFile.load("local").settings()
    with tempfile.TemporaryDirectory() as folder:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        endpoint = LocalEndpoint(Path(folder) / "state", port=port)
        endpoint.start()
        try:
            measure(endpoint.url, settings, Path(folder), args.records)
        finally:
            endpoint.stop()


def measure(url: str, settings, folder: Path, records: int) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
    )
    Provisioner(client).apply(all_table_specs(settings))
    print(f"{records:,} metrics over HTTP to the embedded moto server")
    for mode in WriteMode:
        path = folder / f"{mode.value}.jsonl"
        with path.open("w") as out:
            for n in range(records):
                out.write(json.dumps(make_metric(n, subject=f"{mode.value[:5]}_{n // 1000}")))
                out.write("\n")
        size = path.stat().st_size / 1e6
        for label in ("new records", "all duplicates"):
            elapsed, peak, handled = run(client, settings, path, mode)
            print(
                f"  {mode.value:<11} {label:<14} {handled / elapsed:7,.0f} records/s  "
                f"peak memory {peak / 1e6:5.1f} MB  (file {size:.1f} MB)"
            )


if __name__ == "__main__":
    main()
