"""What every benchmark shares: a fresh local engine, counted requests, peak memory, and
the shape of a result (a table of figures plus the targets it was held to).

Each benchmark gets its own engine process (the default, MiniStack, unless `--engine` names
another), as `salestalk local start` runs it: the client and the server never share an
interpreter (or its lock), as with a real endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tenancy.connection import Target as Endpoint
from tenancy.connection import dynamodb_client
from tenancy.local.endpoint import LocalEndpoint, free_port
from tenancy.local.engine_kind import engines_dir
from tenancy.local.engines import DEFAULT_ENGINE, Engine, kind

REGION = "us-east-1"
PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT_STATE = PROJECT_DIR / ".salestalk"


@dataclass(frozen=True)
class Target:
    """A promise of the issue, checked against a measured figure."""

    label: str
    measured: float
    limit: float
    at_most: bool  # True: measured <= limit; False: measured >= limit
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit

    def describe(self) -> str:
        sign = "≤" if self.at_most else "≥"
        verdict = "met" if self.met else "MISSED"
        return (
            f"{self.label}: {format_number(self.measured)}{self.unit} "
            f"(target {sign} {format_number(self.limit)}{self.unit}) {verdict}"
        )


@dataclass
class Result:
    """One benchmark's outcome: how it was measured, a table of figures, the targets."""

    title: str
    method: str
    columns: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Result:
        fields = ("label", "measured", "limit", "at_most", "unit")
        return cls(
            title=saved["title"],
            method=saved["method"],
            columns=saved["columns"],
            rows=saved["rows"],
            targets=[Target(**{k: t[k] for k in fields}) for t in saved["targets"]],
            notes=saved["notes"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "method": self.method,
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "targets": [
                {**target.__dict__, "met": target.met, "text": target.describe()}
                for target in self.targets
            ],
            "notes": self.notes,
        }


def format_number(value: float) -> str:
    """Figures as a reader wants them: thousands separated, two decimals below 100."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


_SERVER_PIDS: dict[str, int] = {}


@dataclass
class EngineChoice:
    """Which engine the benchmarks run on: one started per benchmark (any `salestalk local`
    engine, in memory, in its own process), or an endpoint given from outside."""

    engine: Engine = DEFAULT_ENGINE
    url: str | None = None  # an endpoint from outside: not started, not stopped

    def describe(self) -> str:
        return f"the endpoint at {self.url}" if self.url else kind(self.engine).name


ENGINE = EngineChoice()


@contextlib.contextmanager
def endpoint() -> Iterator[str]:
    """A fresh endpoint of the chosen engine in its own process; yields its URL."""
    if ENGINE.url:
        reset(ENGINE.url)
        yield ENGINE.url
        return
    with tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
        install_engine(ENGINE.engine)
        (Path(folder) / "engines").symlink_to(engines_dir(PROJECT_STATE))  # the project's installs
        server = LocalEndpoint(
            Path(folder), port=_port_for(ENGINE.engine), engine=ENGINE.engine, in_memory=True
        )
        _, status = server.start()
        _SERVER_PIDS[server.url] = status.pid
        try:
            yield server.url
        finally:
            server.stop()
            _SERVER_PIDS.pop(server.url, None)


def install_engine(engine: Engine) -> None:
    """Install an engine the project fetches (cached after the first time)."""
    engines_dir(PROJECT_STATE).mkdir(parents=True, exist_ok=True)
    kind(engine).install(PROJECT_STATE)


def _port_for(engine: Engine) -> int:
    port = free_port()
    while kind(engine).port_problem(port):  # LocalStack's DynamoDB Local takes the next one
        port = free_port()
    return port


def server_cpu_seconds(url: str) -> float:
    """CPU time the engine behind `url` has used so far, its children included (LocalStack's
    DynamoDB Local); Linux, 0 elsewhere. With the client's own CPU time it tells which side a
    measurement waited for."""
    if url not in _SERVER_PIDS:
        return 0.0
    total = 0
    for pid in engine_pids(_SERVER_PIDS[url]):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_rss_bytes(url: str) -> int:
    """Resident memory of the engine behind `url` now, its children included (Linux)."""
    total = 0
    for pid in engine_pids(_SERVER_PIDS.get(url, 0)):
        try:
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except OSError:
            continue
        total += pages * resource.getpagesize()
    return total


def engine_pids(pid: int) -> list[int]:
    """A process and all its descendants, from procfs."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def reset(url: str) -> None:
    """Empty the endpoint, on any engine: every table deleted (deletion protection first
    turned off), as after a fresh start."""
    dynamodb = client(url)
    names = [
        n for page in dynamodb.get_paginator("list_tables").paginate() for n in page["TableNames"]
    ]
    for name in names:
        if dynamodb.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
    for name in names:
        dynamodb.get_waiter("table_not_exists").wait(
            TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600}
        )


def client(url: str):
    """A DynamoDB client configured exactly as the platform's commands configure theirs."""
    return dynamodb_client(Endpoint(url, REGION, ENGINE.describe()))


def baseline_client(url: str):
    """A client for the baselines: the platform's timeouts and retries, and boto3's own
    default of validating every request's parameters, as code written with boto3 has it
    (the platform's clients leave that to DynamoDB: `tenancy.connection.client_config`)."""
    made = client(url)
    config = made.meta.config.merge(Config(parameter_validation=True))
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )


def resource_(url: str, over=None):
    """A boto3 resource over a baseline client (or `over`), for the `batch_writer()` baseline."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    dynamodb.meta.client = over or baseline_client(url)
    return dynamodb


class RequestCounter:
    """Counts the HTTP requests a client sends, retries included, by operation.

    Hooks botocore's `before-send` event, which fires once per attempt on the wire.
    """

    def __init__(self, dynamodb_client):
        self.by_operation: Counter[str] = Counter()
        self._counting = threading.Lock()  # an ingest sends from several threads at once
        self.watch(dynamodb_client)

    def watch(self, dynamodb_client) -> None:
        """Count this client's requests too (a boto3 resource's: `resource.meta.client`)."""
        dynamodb_client.meta.events.register("before-send.dynamodb", self._sent)

    def _sent(self, event_name: str, **_: Any) -> None:
        with self._counting:
            self.by_operation[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def reset(self) -> None:
        self.by_operation.clear()

    def writes(self) -> int:
        return sum(n for op, n in self.by_operation.items() if op in WRITE_OPERATIONS)


WRITE_OPERATIONS = {
    "PutItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "UpdateItem",
    "DeleteItem",
}


@dataclass(frozen=True)
class Timed:
    seconds: float
    value: Any


def timed(work: Callable[[], Any]) -> Timed:
    started = time.perf_counter()
    value = work()
    return Timed(time.perf_counter() - started, value)


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return peak_rss_bytes()
    return pages * resource.getpagesize()


def in_subprocess(module: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run `python -m module args` in a fresh interpreter and return the JSON it prints last.

    Memory is measured this way: a fresh process's peak resident size belongs to one
    measurement only.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def megabytes(count: int) -> float:
    return count / 1e6


WRITE_OPERATIONS = ("BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems")


class WriteUnits:
    """Write capacity units a client's requests cost, by DynamoDB's published rule: one unit
    per 1 KB (rounded up) of each item written, twice that inside a transaction. Worked out
    from the requests themselves, so it is the same on every engine (DynamoDB Local sums a
    transaction's units wrongly: 2 for a transaction of 100 items). The engine's own figure
    (`ReturnConsumedCapacity`) is kept beside it where the engine reports one.

    It parses every request: meter an untimed run, never a timed one."""

    def __init__(self, dynamodb_client):
        self.by_rule = 0.0
        self.reported = 0.0
        self.reporting = True
        self._adding = threading.Lock()  # an ingest sends from several threads at once
        events = dynamodb_client.meta.events
        for operation in WRITE_OPERATIONS:
            # the request as it goes on the wire: the platform encodes its batches' bodies
            # itself, so parameters are not what is sent (`ingestion.records.boto_internals`)
            events.register(f"before-call.dynamodb.{operation}", self._ask)
            events.register(f"after-call.dynamodb.{operation}", self._read)

    def _ask(self, params, model, **_):
        from ingestion.records.items import deserialize, item_size

        def units(item, factor=1):
            return factor * -(-item_size(deserialize(item)) // 1024)

        body = json.loads(params["body"])
        body["ReturnConsumedCapacity"] = "TOTAL"
        params["body"] = json.dumps(body).encode()
        name = model.name
        cost = 0
        if name == "BatchWriteItem":
            for requests in body["RequestItems"].values():
                for request in requests:
                    put = request.get("PutRequest")
                    cost += units(put["Item"]) if put else 1
        elif name == "TransactWriteItems":
            for action in body["TransactItems"]:
                item = action.get("Put", {}).get("Item")
                cost += units(item, 2) if item else 2
        elif name == "PutItem":
            cost += units(body["Item"])
        else:
            cost += 1
        with self._adding:
            self.by_rule += cost

    def _read(self, parsed, **_):
        consumed = parsed.get("ConsumedCapacity")
        if consumed is None:
            self.reporting = False
            return
        entries = consumed if isinstance(consumed, list) else [consumed]
        with self._adding:
            self.reported += sum(float(entry.get("CapacityUnits", 0)) for entry in entries)
