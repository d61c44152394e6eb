from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ingestion.records.items import INGEST_ID_ATTR, INGESTED_AT_ATTR
from tests.ingestion.conftest import all_items
from tests.ingestion.lifecycle.conftest import trial  # noqa: F401 (a fixture of these tests too)

PROJECT_DIR = Path(__file__).resolve().parents[2]


def contents(client, table: str) -> list[str]:
    """A table's items without the per-run bookkeeping (when and by which run), to compare
    a faulty run with a clean one."""
    from ingestion.records.items import deserialize

    rows = []
    for item in all_items(client, table):
        plain = deserialize(item)
        plain.pop(INGESTED_AT_ATTR)
        plain.pop(INGEST_ID_ATTR)
        rows.append(json.dumps(plain, sort_keys=True, default=str))
    return sorted(rows)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


WAIT_FOR_ENV = "SALESTALK_TEST_WAIT_FOR"  # a file the CLI process waits for, imported


def salestalk(
    *args: str, endpoint: str, env: dict[str, str] | None = None, **kwargs
) -> subprocess.Popen:
    """The CLI in its own process, pointed at `endpoint` (`env`: more variables). With
    WAIT_FOR_ENV set in `env`, the process imports the CLI, then waits for that file to exist
    before it runs the command: a start that takes no time, at the moment a test chooses."""
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint, **(env or {})}
    kwargs.setdefault("cwd", PROJECT_DIR)
    start = ["-c", _WAIT_THEN_RUN] if WAIT_FOR_ENV in env else ["-m", "tenancy.cli"]
    return subprocess.Popen(
        [sys.executable, *start, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


_WAIT_THEN_RUN = f"""
import os, pathlib, sys, time
from tenancy.cli.app import main
go = os.environ.pop({WAIT_FOR_ENV!r}, None)
deadline = time.monotonic() + 300
while go and not pathlib.Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.005)
sys.exit(main(sys.argv[1:]))
"""


def item_count(client, table: str, tenant_id: str = "acme-corp-001") -> int:
    """Records stored (a writer lease or fence of the tenant's is not a record; in a pool
    table its key leads with the tenant's id)."""
    from ingestion.writing.lease import LEASE_KEY

    described = client.describe_table(TableName=table)["Table"]
    names = [k["AttributeName"] for k in described["KeySchema"]]
    hash_value = f"{tenant_id}#{LEASE_KEY}" if table.endswith(tuple(POOL_TABLES)) else LEASE_KEY
    key = {name: {"S": hash_value if n == 0 else LEASE_KEY} for n, name in enumerate(names)}
    lease = client.get_item(TableName=table, Key=key).get("Item")
    return described["ItemCount"] - (1 if lease else 0)


POOL_TABLES = ("pool-messages", "pool-metrics")
