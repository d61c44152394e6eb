"""Memory of an ingest as its input grows: streamed, the peak must not follow the file size.

Each ingest runs in a fresh interpreter (`python -m benchmarks.memory --child ...`), so its
peak resident size belongs to that ingest alone. The figure held to the target is the growth
of the peak over the process's size just before the ingest starts (interpreter, libraries and
client loaded): what reading, validating and writing the file adds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks import data
from benchmarks.harness import (
    Result,
    Target,
    client,
    current_rss_bytes,
    endpoint,
    in_subprocess,
    megabytes,
    peak_rss_bytes,
    per_second,
    reset,
    timed,
)
from ingestion.items import KINDS
from ingestion.sources import Quarantine, new_quarantine_path, read_records
from ingestion.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs

KIND = "message"
FULL = (20_000, 200_000)
QUICK = (200, 2_000)


def child(url: str, path: Path) -> dict[str, float]:
    """One ingest of `path`, as `salestalk ingest` runs it; its time and memory."""
    settings = StackFile.load("local").settings()
    dynamodb = client(url)
    Provisioner(dynamodb).apply(all_table_specs(settings))
    writer = TenantWriter(dynamodb, settings, data.TENANT, KINDS[KIND])
    quarantine = Quarantine(new_quarantine_path(path.parent, "memory"))
    before = current_rss_bytes()

    def ingest():
        with path.open("rb") as stream:
            return writer.ingest(read_records(stream, str(path)), quarantine=quarantine)

    took = timed(ingest)
    quarantine.close()
    return {
        "seconds": took.seconds,
        "rss_before": before,
        "rss_peak": peak_rss_bytes(),
        "written": took.value.written,
        "received": took.value.received,
    }


def run(quick: bool = False) -> Result:
    sizes = QUICK if quick else FULL
    result = Result(
        title="Memory of a streamed ingest",
        method=(
            f"JSON Lines files of {sizes[0]:,} and {sizes[1]:,} messages, each ingested (default "
            "mode) into freshly emptied tables by a fresh interpreter. *Growth* is the peak "
            "resident size (`getrusage`) minus the resident size just before the ingest began; "
            "*peak* is the whole process's."
        ),
        columns=("records", "file MB", "records/s", "peak MB", "growth MB", "written"),
    )
    growth: dict[int, float] = {}
    with endpoint() as url, tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
        for count in sizes:
            path = data.write_jsonl(Path(folder) / f"{count}.jsonl", data.records(KIND, count))
            reset(url)
            figures = in_subprocess("benchmarks.memory", "--child", url, str(path))
            growth[count] = figures["rss_peak"] - figures["rss_before"]
            result.rows.append(
                (
                    f"{count:,}",
                    round(megabytes(path.stat().st_size), 1),
                    round(per_second(figures["received"], figures["seconds"])),
                    round(megabytes(figures["rss_peak"]), 1),
                    round(megabytes(growth[count]), 1),
                    f"{figures['written']:,}",
                )
            )
    small, large = sizes
    result.targets.append(
        Target(
            f"peak growth, {large:,} vs {small:,} records",
            growth[large] / max(growth[small], 1),
            1.5,
            True,
            "x",
        )
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="one measured ingest (used by run())")
    parser.add_argument("--child", nargs=2, metavar=("ENDPOINT", "FILE"), required=True)
    url, path = parser.parse_args().child
    print(json.dumps(child(url, Path(path))))


if __name__ == "__main__":
    main()
