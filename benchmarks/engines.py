"""The local engines side by side, in one run: the evidence behind the default engine.

For each engine `salestalk local start` can run (MiniStack, the default; Amazon's DynamoDB
Local; LocalStack), each started afresh in memory:

- fidelity: the platform's own engine checks (`tests/tenancy/local/test_engine_fidelity.py`,
  the divergences an independent conformance suite found), run against it by pytest;
- start-up: from launch to serving every service the platform uses;
- first ingest and re-ingest of the same metric records through the platform's writer
  (default leased mode), records per second;
- a query on a global secondary index of a table of `QUERY_ITEMS` messages (one sender's
  first page of 100), median of 5;
- the engine's resident memory (its child processes included) once it holds them;
- what it needs installed, and the disk its installation takes.

The default must pass every engine check and install with pip alone (no Java). The run that
chose it also measured the moto server it replaced (with the project's fixes, since retired):
README, Engines, and benchmarks/HISTORY.md keep those figures.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import data, harness
from benchmarks.harness import (
    PROJECT_DIR,
    PROJECT_STATE,
    Result,
    Target,
    client,
    endpoint,
    engine_pids,
    per_second,
    server_rss_bytes,
)
from benchmarks.scale import messages
from ingestion.reading.queries import TenantReader
from ingestion.records.items import MESSAGE, METRIC
from ingestion.records.sources import SourceRecord
from ingestion.writing.writer import TenantWriter
from tenancy.local.endpoint import LocalEndpoint
from tenancy.local.engine_kind import engines_dir
from tenancy.local.engines import DEFAULT_ENGINE, Engine, kind
from tenancy.provisioner import Provisioner
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs

FULL = {"ingest": 20_000, "query_items": 100_000}
QUICK = {"ingest": 300, "query_items": 1_000}
TENANT = "acme-corp-001"
FIDELITY_TESTS = PROJECT_DIR / "tests" / "tenancy" / "local" / "test_engine_fidelity.py"


def _metrics(count: int) -> list[SourceRecord]:
    return [
        SourceRecord(f"line {n + 1}", data=row)
        for n, row in enumerate(data.records("metric", count))
    ]


def _fidelity(url: str) -> tuple[int, int]:
    """(passed, failed) of the engine checks against the endpoint (skips are neither)."""
    env = {
        **os.environ,
        "SALESTALK_TEST_ENDPOINT": url,
        "SALESTALK_TEST_ENGINE": harness.ENGINE.describe(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(FIDELITY_TESTS)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {word: 0 for word in ("passed", "failed")}
    for part in summary.replace("=", "").split(","):
        fields = part.split()
        if len(fields) >= 2 and fields[1] in counts:
            counts[fields[1]] = int(fields[0])
    return counts["passed"], counts["failed"]


def _startup(engine: Engine) -> float:
    """Seconds from launch to serving, on a port of its own (the median of 3 starts)."""
    import tempfile

    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
            (Path(folder) / "engines").symlink_to(engines_dir(PROJECT_STATE))
            server = LocalEndpoint(
                Path(folder), port=harness._port_for(engine), engine=engine, in_memory=True
            )
            started = time.perf_counter()
            server.start()
            times.append(time.perf_counter() - started)
            server.stop()
    return statistics.median(times)


def _runs_java(url: str) -> int:
    """How many Java processes the engine behind `url` runs (its children included)."""
    found = 0
    for pid in engine_pids(harness._SERVER_PIDS.get(url, 0)):
        try:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        found += Path(argv0.decode(errors="replace")).name == "java"
    return found


def _installed_mb(engine: Engine) -> float:
    total = 0
    for path in kind(engine).installed_dir(PROJECT_STATE).rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    if engine is Engine.LOCALSTACK:  # it runs the DynamoDB Local installed for that engine
        total += _installed_mb(Engine.DYNAMODB_LOCAL) * 1e6
    return total / 1e6


def _measure(engine: Engine, sizes: dict[str, int]) -> dict[str, Any]:
    harness.ENGINE = harness.EngineChoice(engine)
    harness.install_engine(engine)
    figures: dict[str, Any] = {"startup": _startup(engine), "installed": _installed_mb(engine)}
    settings = StackFile.load("local", PROJECT_DIR).settings()
    with endpoint() as url:
        figures["fidelity"] = _fidelity(url)
        dynamodb = client(url)
        Provisioner(dynamodb).apply(all_table_specs(settings))
        records = _metrics(sizes["ingest"])
        for phase in ("first", "again"):
            writer = TenantWriter(dynamodb, settings, TENANT, METRIC)
            started = time.perf_counter()
            report = writer.ingest(iter(records))
            figures[phase] = per_second(len(records), time.perf_counter() - started)
            expected = len(records) if phase == "first" else 0
            assert report.written == expected, (engine, phase, report.written)
        TenantWriter(dynamodb, settings, TENANT, MESSAGE).ingest(
            messages(sizes["query_items"], TENANT)
        )
        reader = TenantReader(dynamodb, settings, TENANT)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            page = reader.sender_query("user-3").page(100)  # one Query on the SenderIndex
            times.append(time.perf_counter() - started)
            assert len(page.records) == 100
        figures["gsi_ms"] = statistics.median(times) * 1000
        figures["rss"] = server_rss_bytes(url) / 1e6
        figures["java"] = _runs_java(url)
    return figures


def run(quick: bool = False) -> Result:
    sizes = QUICK if quick else FULL
    chosen = harness.ENGINE
    measured: dict[Engine, dict[str, Any]] = {}
    try:
        for engine in Engine:
            measured[engine] = _measure(engine, sizes)
    finally:
        harness.ENGINE = chosen
    rows = []
    for engine, f in measured.items():
        passed, failed = f["fidelity"]
        rows.append(
            [
                kind(engine).name,
                f"{passed} of {passed + failed}",
                round(f["startup"], 1),
                round(f["first"]),
                round(f["again"]),
                round(f["gsi_ms"], 1),
                round(f["rss"]),
                kind(engine).needs,
                round(f["installed"]),
            ]
        )
    default = measured[DEFAULT_ENGINE]
    name = kind(DEFAULT_ENGINE).name
    targets = [
        Target(f"the default ({name}): engine checks failed", default["fidelity"][1], 0, True),
        Target(f"the default ({name}): Java processes it runs", default["java"], 0, True),
    ]
    return Result(
        title="Local engines side by side",
        method=(
            f"Each engine started afresh in memory on loopback; its fidelity is the platform's "
            f"engine checks run against it; ingests are {sizes['ingest']:,} metric records "
            f"through the platform's writer (default leased mode), first and again; the index "
            f"query is one sender's first page of 100 on a table of {sizes['query_items']:,} "
            f"messages (median of 5); memory is the engine's resident size (children included) "
            f"holding them; start-up is the median of 3 starts."
        ),
        columns=[
            "engine",
            "engine checks passed",
            "start-up, s",
            "first ingest, records/s",
            "re-ingest, records/s",
            "index query, ms",
            "memory, MB",
            "needs",
            "installed, MB",
        ],
        rows=rows,
        targets=targets,
    )
