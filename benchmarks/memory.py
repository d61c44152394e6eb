"""Memory of an ingest as its input grows: streamed, the peak must not follow the file size.

Each ingest runs in a fresh interpreter (`python -m benchmarks.memory --child ...`), so its
peak resident size belongs to that ingest alone. The figure held to the target is the growth
of the peak over the process's size just before the ingest starts (interpreter, libraries and
client loaded): what reading, validating and writing the file adds.

Three inputs: JSON Lines of valid messages at two sizes; the same messages as one JSON array
at two sizes (an array is streamed too); and a file of nothing but bad lines (1 GB in the
full run), which must cost no more memory than a small valid file, since every refused record
goes to the quarantine as it is read.
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
from ingestion.records.items import KINDS
from ingestion.records.sources import Quarantine, new_quarantine_path, read_records
from ingestion.writing.writer import TenantWriter
from tenancy.provisioner import Provisioner
from tenancy.stack_file import StackFile
from tenancy.tables import all_table_specs

KIND = "message"
FULL = (20_000, 200_000)
QUICK = (200, 2_000)
BAD_BYTES = {False: 1024**3, True: 2 * 1024**2}  # full run: 1 GB of bad lines
BAD_LINE_BYTES = 1024


def write_array(path: Path, rows) -> Path:
    """The records as one JSON array, one element a line (as exports write them)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n, row in enumerate(rows):
            out.write(",\n" if n else "")
            out.write(json.dumps(row, separators=(",", ":")))
        out.write("\n]\n")
    return path


def write_bad_lines(path: Path, size: int) -> int:
    """`size` bytes of lines that each break the message contract (a missing field, text
    where a number belongs...), about BAD_LINE_BYTES each; the number of lines."""
    filler = "x" * (BAD_LINE_BYTES - 200)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < size:
            bad = {**data.message(count), "timestamp": "yesterday", "content": filler}
            line = json.dumps(bad, separators=(",", ":")) + "\n"
            out.write(line)
            written += len(line)
            count += 1
    return count


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
        "rejected": took.value.rejected,
    }


def run(quick: bool = False) -> Result:
    sizes = QUICK if quick else FULL
    bad_bytes = BAD_BYTES[quick]
    result = Result(
        title="Memory of a streamed ingest",
        method=(
            f"Files of {sizes[0]:,} and {sizes[1]:,} messages, as JSON Lines and as one JSON "
            f"array, and a file of {megabytes(bad_bytes):,.0f} MB of bad lines (about "
            f"{BAD_LINE_BYTES:,} bytes each, every one refused), each ingested (default mode) "
            "into freshly emptied tables by a fresh interpreter. *Growth* is the peak resident "
            "size (`getrusage`) minus the resident size just before the ingest began; *peak* "
            "is the whole process's."
        ),
        columns=(
            "input",
            "records",
            "file MB",
            "records/s",
            "peak MB",
            "growth MB",
            "written",
            "rejected",
        ),
    )
    growth: dict[tuple[str, int], float] = {}
    with endpoint() as url, tempfile.TemporaryDirectory(prefix="salestalk-bench-") as folder:
        inputs = []
        for count in sizes:
            rows = data.records(KIND, count)
            inputs.append(
                ("JSON Lines", count, data.write_jsonl(Path(folder) / f"{count}.jsonl", rows))
            )
        for count in sizes:
            rows = data.records(KIND, count)
            inputs.append(("JSON array", count, write_array(Path(folder) / f"{count}.json", rows)))
        bad = Path(folder) / "bad.jsonl"
        inputs.append(("bad lines", write_bad_lines(bad, bad_bytes), bad))
        for form, count, path in inputs:
            reset(url)
            figures = in_subprocess("benchmarks.memory", "--child", url, str(path))
            growth[form, count] = figures["rss_peak"] - figures["rss_before"]
            result.rows.append(
                (
                    form,
                    f"{count:,}",
                    round(megabytes(path.stat().st_size), 1),
                    round(per_second(figures["received"], figures["seconds"])),
                    round(megabytes(figures["rss_peak"]), 1),
                    round(megabytes(growth[form, count]), 1),
                    f"{figures['written']:,}",
                    f"{figures['rejected']:,}",
                )
            )
            for leftover in Path(folder).glob("memory-*.jsonl"):  # quarantines: disk, not RAM
                leftover.unlink()
    small, large = sizes
    for form in ("JSON Lines", "JSON array"):
        result.targets.append(
            Target(
                f"peak growth, {large:,} vs {small:,} records ({form})",
                growth[form, large] / max(growth[form, small], 1),
                1.5,
                True,
                "x",
            )
        )
    (bad_count,) = [count for form, count, _ in inputs if form == "bad lines"]
    result.targets.append(
        Target(
            f"peak growth, {megabytes(bad_bytes):,.0f} MB of bad lines vs {large:,} valid records",
            growth["bad lines", bad_count] / max(growth["JSON Lines", large], 1),
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
