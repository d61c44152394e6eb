"""What every benchmark shares: a fresh embedded endpoint, counted requests, peak memory, and
the shape of a result (a table of figures plus the targets it was held to).

Each benchmark gets its own moto server process, as `salestalk local start` runs it: the
client and the server never share an interpreter (or its lock), as with a real endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tenancy.connection import Target as Endpoint
from tenancy.connection import dynamodb_client
from tenancy.local_endpoint import LocalEndpoint

REGION = "us-east-1"
PROJECT_DIR = Path(__file__).resolve().parents[1]


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_SERVER_PIDS: dict[str, int] = {}


@contextlib.contextmanager
def endpoint() -> Iterator[str]:
    """A fresh embedded moto server in its own process; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
        server = LocalEndpoint(Path(folder), port=free_port())
        _, status = server.start()
        _SERVER_PIDS[server.url] = status.pid
        try:
            yield server.url
        finally:
            server.stop()
            _SERVER_PIDS.pop(server.url, None)


def server_cpu_seconds(url: str) -> float:
    """CPU time the embedded server behind `url` has used so far (Linux; 0 elsewhere): with the
    client's own CPU time it tells which side a measurement waited for."""
    try:
        fields = Path(f"/proc/{_SERVER_PIDS[url]}/stat").read_text().rsplit(")", 1)[1].split()
    except (KeyError, OSError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset(url: str) -> None:
    """Empty the embedded server: every table and item gone, as after a fresh start."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


def client(url: str):
    """A DynamoDB client configured exactly as the platform's commands configure theirs."""
    return dynamodb_client(Endpoint(url, REGION, "the benchmark's embedded server"))


def resource_(url: str):
    """A boto3 resource over such a client, for the baseline that uses `batch_writer()`."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    dynamodb.meta.client = client(url)
    return dynamodb


class RequestCounter:
    """Counts the HTTP requests a client sends, retries included, by operation.

    Hooks botocore's `before-send` event, which fires once per attempt on the wire.
    """

    def __init__(self, dynamodb_client):
        self.by_operation: Counter[str] = Counter()
        self.watch(dynamodb_client)

    def watch(self, dynamodb_client) -> None:
        """Count this client's requests too (a boto3 resource's: `resource.meta.client`)."""
        dynamodb_client.meta.events.register("before-send.dynamodb", self._sent)

    def _sent(self, event_name: str, **_: Any) -> None:
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
