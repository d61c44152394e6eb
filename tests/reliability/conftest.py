from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ingestion.items import INGEST_ID_ATTR, INGESTED_AT_ATTR
from tests.ingestion.conftest import all_items

PROJECT_DIR = Path(__file__).resolve().parents[2]


def contents(client, table: str) -> list[str]:
    """A table's items without the per-run bookkeeping (when and by which run), to compare
    a faulty run with a clean one."""
    from ingestion.items import deserialize

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


def salestalk(*args: str, endpoint: str, **kwargs) -> subprocess.Popen:
    """The CLI in its own process, pointed at `endpoint`."""
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
    return subprocess.Popen(
        [sys.executable, "-m", "tenancy.cli", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def item_count(client, table: str) -> int:
    """Records stored (a writer lease, while an ingest holds it, is not a record)."""
    from ingestion.lease import LEASE_KEY

    count = client.describe_table(TableName=table)["Table"]["ItemCount"]
    key = client.describe_table(TableName=table)["Table"]["KeySchema"]
    lease = client.get_item(
        TableName=table, Key={k["AttributeName"]: {"S": LEASE_KEY} for k in key}
    ).get("Item")
    return count - (1 if lease else 0)
