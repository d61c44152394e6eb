"""Run every benchmark and write BENCHMARKS.md: `python -m benchmarks [--quick] [--only NAME]`.

Each benchmark prints its figures as it finishes; the file gets them all, with the machine and
library versions they were measured on and the history of what profiling found and fixed
(`benchmarks/HISTORY.md`, kept by hand).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks import harness
from benchmarks.harness import PROJECT_DIR, Result, format_number
from tenancy.local.engines import DEFAULT_ENGINE, KINDS, Engine

BENCHMARKS = {
    "ingest": "issue items 1-3: ingestion throughput against two baselines, requests, re-ingest",
    "pulumi_scale": "item 4: the Pulumi program's resource graph for 10, 100 and 1,000 tenants",
    "provisioning": "item 5: local provisioning of 50 tenants and a no-op re-run",
    "queries": "item 6: each access pattern's requests and time on a large tenant",
    "memory": "peak memory: 200,000 records vs 20,000 (lines, array), 1 GB of bad lines",
    "pool_scale": "pooled tier: the program and provisioning at 1,000 and 10,000 tenants",
    "pool_data": "pooled tier: a pooled tenant's ingest and queries beside a siloed one's",
    "scale": "the sizes users have: 1,000,000 messages, --limit, a pooled whole read, up",
    "engines": "the local engines side by side: fidelity, speed, memory, start-up, install",
}
# Benchmarks that start every engine themselves (run once, whatever --engine says).
EVERY_ENGINE = ("engines",)
# What a full run measures on Amazon's DynamoDB Local too, beside the default engine.
ON_BOTH_ENGINES = ("ingest", "pool_data", "scale")
PACKAGES = (
    *("boto3", "botocore", "orjson", "pydantic", "pulumi", "pulumi-aws"),
    *("pydynox", "awswrangler"),  # the ingest benchmark's peers
)
HISTORY = Path(__file__).with_name("HISTORY.md")


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        memory = "unknown"
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    return [
        ("system", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("processor", f"{cpu}, {os.cpu_count()} logical cores"),
        ("memory", memory),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("libraries", versions),
        ("engines", _engine_versions()),
    ]


def _engine_versions() -> str:
    return ", ".join(f"{engine.name} {engine.version}" for engine in KINDS.values())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def render(results: list[Result], seconds: float, quick: bool, measured: datetime) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks` (see README); do not edit by hand: the history of "
        "what was profiled and fixed is kept in `benchmarks/HISTORY.md` and copied below.",
        "",
        f"Measured {measured:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes"
        + (" (**quick sizes: not the issue's figures**)" if quick else "")
        + ", over HTTP on loopback against the engine each section names (started afresh, "
        "in its own process, for each benchmark).",
        "",
        "| machine | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in machine()),
        "",
        "## Targets",
        "",
        "| benchmark | target | measured | limit | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for target in result.targets:
            sign = "≤" if target.at_most else "≥"
            met = "yes" if target.met else "**no**"
            lines.append(
                f"| {result.title} | {target.label} | {_cell(target.measured)}{target.unit} "
                f"| {sign} {_cell(target.limit)}{target.unit} | {met} |"
            )
    for result in results:
        lines += ["", f"## {result.title}", "", result.method, ""]
        lines.append("| " + " | ".join(result.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in result.columns) + " |")
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in result.rows]
        if result.notes:
            lines += ["", *(f"- {note}" for note in result.notes)]
    if HISTORY.exists():
        lines += ["", HISTORY.read_text().strip()]
    lines += [
        "",
        "## Reproduce",
        "",
        "```bash",
        "python3 -m venv .venv && .venv/bin/pip install -q -c .ci/constraints.txt "
        "-e '.[bench]' && .venv/bin/python -m benchmarks",
        "```",
        "",
        "`--only NAME` runs one benchmark (" + ", ".join(BENCHMARKS) + "); `--quick` runs "
        "tiny sizes to check the benchmarks themselves (the test suite does); either writes a "
        "report only to the file `--output FILE` names, never over this one. Each benchmark "
        "starts its own engine (MiniStack unless `--engine` says) on a free port, installing it "
        "on first use; nothing else needs to run.",
        "",
    ]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, int | float):
        return format_number(value)
    return str(value).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks, not figures)")
    parser.add_argument(
        "--output",
        type=Path,
        help="where the report goes (default BENCHMARKS.md, which only a full run replaces: "
        "a run with --only or --quick writes a report only where this says)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument(
        "--engine",
        action="append",
        choices=[str(e) for e in Engine],
        help="run on this engine (repeatable; started by the benchmark, in memory). Default: "
        f"every benchmark on {DEFAULT_ENGINE}, and {', '.join(ON_BOTH_ENGINES)} on "
        "dynamodb-local too",
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help="run on this endpoint instead (it must be empty)"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: write the report again from a --json file (after HISTORY.md "
        "changed, say); the machine described is this one",
    )
    args = parser.parse_args(argv)
    report = PROJECT_DIR / "BENCHMARKS.md"
    if args.render:
        args.output = args.output or report
        saved = json.loads(args.render.read_text())
        results = [Result.from_json(result) for result in saved["results"]]
        measured = datetime.fromisoformat(saved["measured"])
        args.output.write_text(render(results, saved["seconds"], saved["quick"], measured))
        print(f"wrote {args.output}")
        return 0
    measured = datetime.now(UTC)
    started = time.perf_counter()
    results = []
    for name, choice in _plan(args):
        harness.ENGINE = choice
        print(f"== {name} on {choice.describe()}: {BENCHMARKS[name]}", flush=True)
        result = importlib.import_module(f"benchmarks.{name}").run(quick=args.quick)
        if name not in EVERY_ENGINE:
            result.title = f"{result.title}, on {choice.describe()}"
        results.append(result)
        for row in result.rows:
            print("   " + " | ".join(_cell(value) for value in row), flush=True)
        for target in result.targets:
            print(f"   {target.describe()}", flush=True)
    seconds = time.perf_counter() - started
    if args.output is None and not (args.only or args.quick):
        args.output = report
    if args.output is not None:
        args.output.write_text(render(results, seconds, args.quick, measured))
    if args.json:
        saved = {
            "measured": measured.isoformat(),
            "seconds": seconds,
            "quick": args.quick,
            "results": [result.to_json() for result in results],
        }
        args.json.write_text(json.dumps(saved, indent=1))
    missed = [t.describe() for r in results for t in r.targets if not t.met]
    done = f"wrote {args.output}" if args.output else f"{report.name} left as it was (partial run)"
    print(done + (f"; {len(missed)} target(s) missed" if missed else ""))
    return 0


def _plan(args) -> list[tuple[str, harness.EngineChoice]]:
    names = args.only or list(BENCHMARKS)
    if args.endpoint:
        return [(name, harness.EngineChoice(url=args.endpoint)) for name in names]
    if args.engine:
        engines = [Engine(e) for e in args.engine]
        once = [(n, harness.EngineChoice()) for n in names if n in EVERY_ENGINE]
        return once + [
            (n, harness.EngineChoice(e)) for e in engines for n in names if n not in EVERY_ENGINE
        ]
    plan = [(name, harness.EngineChoice(DEFAULT_ENGINE)) for name in names]
    plan += [
        (name, harness.EngineChoice(Engine.DYNAMODB_LOCAL))
        for name in names
        if name in ON_BOTH_ENGINES
    ]
    return plan


if __name__ == "__main__":
    sys.exit(main())
