"""`salestalk seed`, `salestalk ingest`, `salestalk query` and `salestalk schemas`.

Exit status: 0 when every record was written or was already stored; 1 when any record was
rejected or conflicted (the rest still written); 2 for a usage, roster, input-file or
connection problem, or an ingest that had to stop part-way (what it did is printed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.backoff import RetryBudgetExhaustedError
from ingestion.ingest_report import IngestReport
from ingestion.input_shape import mismatch
from ingestion.items import TENANT_DATA_KINDS
from ingestion.queries import CrossTenantAccessError, MetadataReader, TenantReader
from ingestion.schemas import SCHEMA_DIR, write_schemas
from ingestion.seeding import SEED_DIR_NAME, SeedResult, seed
from ingestion.sources import (
    QUARANTINE_DIR_NAME,
    InputFileError,
    Quarantine,
    QuarantineExistsError,
    dumps_exact,
    new_quarantine_path,
    open_input,
    read_records,
)
from ingestion.writer import (
    IngestInterruptedError,
    TenantNotWritableError,
    TenantWriter,
    WriteMode,
)
from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_allow_aws_argument,
    add_stack_argument,
    connect,
    connection_problem,
    is_missing_table,
    load_settings,
    missing_tables_problem,
    non_empty,
    require_tenants,
    state_dir,
)
from tenancy.connection import Target
from tenancy.settings import StackSettings
from tenancy.stack_file import find_project_dir

KINDS = {kind.plural: kind for kind in TENANT_DATA_KINDS}


def exit_status(report: IngestReport) -> int:
    return EXIT_OK if report.clean else EXIT_FAILED


def _quarantine_dir() -> Path:
    return state_dir() / QUARANTINE_DIR_NAME


def new_quarantine(path: str | None, label: str) -> Quarantine:
    """This run's quarantine: the file asked for (which must not exist yet), or a new one
    under the project's state folder."""
    quarantine = Quarantine(Path(path) if path else new_quarantine_path(_quarantine_dir(), label))
    try:
        quarantine.check_free()
    except QuarantineExistsError as exc:
        raise CommandError(str(exc)) from None
    return quarantine


def _print_details(report: IngestReport, limit: int = 20) -> None:
    for rejection in report.rejections[:limit]:
        print(f"  rejected  {rejection.describe()}", file=sys.stderr)
    for conflict in report.conflict_details[:limit]:
        print(f"  conflict  {conflict.describe()}", file=sys.stderr)
    shown = min(limit, len(report.rejections)) + min(limit, len(report.conflict_details))
    hidden = report.rejected + report.conflicts - shown
    if hidden:
        print(f"  ... and {hidden} more (see the quarantine file)", file=sys.stderr)


def _progress_bar(
    enabled: bool, description: str, stream: IO[bytes]
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A tqdm bar on a terminal; silent otherwise (logs and pipes stay clean). A regular
    file's size is known, so its bar has a total (bytes read) and an end time; a stream's
    counts records. Both show the rate and the records read."""
    if not enabled or not sys.stderr.isatty():
        return (lambda done: None), (lambda: None)
    from tqdm import tqdm

    try:
        info = os.fstat(stream.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError, AttributeError):
        size = None
    if size is None:
        bar = tqdm(desc=description, unit=" records", file=sys.stderr)

        def update(done: int) -> None:
            bar.update(done - bar.n)

        return update, bar.close

    bar = tqdm(
        desc=description, total=size, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr
    )

    def update_bytes(done: int) -> None:
        with contextlib.suppress(OSError, ValueError):  # closed at the end
            bar.update(min(stream.tell(), size) - bar.n)
        bar.set_postfix_str(f"{done:,} records")

    return update_bytes, bar.close


def cmd_ingest(args: argparse.Namespace) -> int:
    kind = KINDS[args.kind]
    if args.accept_updates and not kind.updatable:
        raise CommandError(f"--accept-updates: a stored {kind.name} is immutable, never updated")
    _, settings = load_settings(args)
    require_tenants(settings, [args.tenant])
    target, client = connect(args)
    try:
        writer = TenantWriter(
            client,
            settings,
            args.tenant,
            kind,
            accept_updates=args.accept_updates,
            mode=WriteMode(args.mode),
            on_wait=lambda holder: print(
                f"waiting for another ingest of {args.tenant} {args.kind} to finish "
                f"({holder.describe()})",
                file=sys.stderr,
            ),
        )
    except TenantNotWritableError as exc:
        raise CommandError(str(exc)) from None
    quarantine = new_quarantine(args.quarantine, f"{args.tenant}-{args.kind}")
    close = None
    try:
        with open_input(args.file) as opened:
            stream = opened if isinstance(opened, io.BufferedReader) else io.BufferedReader(opened)
            if not stream.isatty():  # a terminal's lines are typed: nothing to look ahead at
                problem = mismatch(stream, args.file, kind)
                if problem:
                    raise CommandError(problem)
            update, close = _progress_bar(not args.json, f"{args.tenant} {args.kind}", stream)
            report = writer.ingest(
                read_records(stream, args.file), quarantine=quarantine, progress=update
            )
    except InputFileError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # the quarantine file cannot be written, the input cannot be read
        raise CommandError(f"{exc.filename or args.file}: {exc.strerror or exc}") from None
    except IngestInterruptedError as exc:
        if isinstance(exc.cause, InputFileError) and not exc.report.received:
            raise CommandError(str(exc.cause)) from None  # unreadable from the start
        _report(args, exc.report, error=str(exc))
        problem = _interruption(target, exc, client, settings)
        print(f"salestalk: error: {problem}", file=sys.stderr)
        return EXIT_INTERRUPTED if isinstance(exc.cause, KeyboardInterrupt) else EXIT_USAGE
    finally:
        if close is not None:
            close()
        quarantine.close()
    _report(args, report)
    return exit_status(report)


def _interruption(target, exc: IngestInterruptedError, client, settings) -> str:
    cause = exc.cause
    if is_missing_table(cause):
        return str(missing_tables_problem(client, settings, target))
    if isinstance(cause, ClientError):
        return str(exc)
    if isinstance(cause, RetryBudgetExhaustedError | InputFileError | OSError):
        return str(exc)
    return str(connection_problem(target, exc))


def _report(args, report: IngestReport, error: str | None = None) -> None:
    if args.json:
        payload = report.to_json()
        if error:
            payload["error"] = error
        print(json.dumps(payload))
        return
    print(f"{report.tenant_id} {report.kind}s: {report.summary()}")
    if report.quarantine:
        print(f"quarantine (rejected records and conflicts, as received): {report.quarantine}")
    _print_details(report)


def cmd_seed(args: argparse.Namespace) -> int:
    _, settings = load_settings(args)
    require_tenants(settings, args.tenant)
    target, client = connect(args)
    project = find_project_dir()
    quarantine = new_quarantine(None, "seed")
    try:
        with seeding_errors(target, client, settings):
            result = seed(
                client,
                settings,
                project / SEED_DIR_NAME,
                tenant_ids=args.tenant,
                quarantine=quarantine,
                progress=None if args.json else lambda text: print(f"seeding {text}"),
            )
    finally:
        quarantine.close()
    if args.json:
        print(json.dumps(result.total().to_json()))
    else:
        print_seed_result(result)
    return exit_status(result.total())


@contextlib.contextmanager
def seeding_errors(target: Target, client, settings: StackSettings) -> Iterator[None]:
    """A seed that stops part-way, or finds no tables, as one message (exit 2)."""
    try:
        yield
    except IngestInterruptedError as exc:
        raise CommandError(_interruption(target, exc, client, settings)) from None
    except ClientError as exc:
        if is_missing_table(exc):
            raise missing_tables_problem(client, settings, target) from None
        raise
    except BotoCoreError as exc:
        raise connection_problem(target, exc) from None


def print_seed_result(result: SeedResult) -> None:
    print(f"tenants-metadata: {result.metadata.summary()}")
    for tenant_id, reports in result.tenants.items():
        for kind, report in reports.items():
            print(f"{tenant_id} {kind}s: {report.summary()}")
            _print_details(report)
    print(f"total: {result.total().summary()}")


# --- salestalk query -------------------------------------------------------------------------


def cmd_query(args: argparse.Namespace) -> int:
    _, settings = load_settings(args)
    tenant = getattr(args, "tenant", None)
    require_tenants(settings, [tenant] if tenant else [])
    target, client = connect(args)
    try:
        records = args.run(client, settings, args)
    except CrossTenantAccessError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except ClientError as exc:
        if is_missing_table(exc):
            raise missing_tables_problem(client, settings, target) from None
        raise
    except BotoCoreError as exc:
        raise connection_problem(target, exc) from None
    if args.json:
        # Numbers exactly as stored (38 digits survive), never through a float.
        print(dumps_exact([r.model_dump(by_alias=True, exclude_none=True) for r in records]))
    elif records:
        print(text_table(records))
    else:
        print("no matching records", file=sys.stderr)
    return EXIT_OK


COLUMN_WIDTH = 60


def text_table(records) -> str:
    """Records as an aligned text table (nested fields as `a.b`, long values cut with `…`):
    the command line needs no data-frame library for it."""
    rows = [
        _flat(record.model_dump(by_alias=True, mode="json", exclude_none=True))
        for record in records
    ]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    cells = [[_cell(row.get(name)) for name in columns] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(columns, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]
    return "\n".join(lines)


def _flat(value, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flat(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)
    return text if len(text) <= COLUMN_WIDTH else text[: COLUMN_WIDTH - 1] + "…"


def _one(record):
    return [record] if record is not None else []


QUERIES: dict[str, tuple[str, list[tuple[str, dict]], Callable]] = {
    "message": (
        "one message by id",
        [("message_id", {"metavar": "MESSAGE_ID"})],
        lambda c, s, a: _one(TenantReader(c, s, a.tenant).message(a.message_id)),
    ),
    "session": (
        "a session's messages in time order",
        [("session_id", {"metavar": "SESSION_ID"})],
        lambda c, s, a: TenantReader(c, s, a.tenant).session_messages(a.session_id),
    ),
    "sender": (
        "a sender's messages in time order",
        [("sender_id", {"metavar": "SENDER_ID"})],
        lambda c, s, a: TenantReader(c, s, a.tenant).sender_messages(a.sender_id),
    ),
    "series": (
        "a metric's time series (subject, optional dimension) over a period range",
        [("subject", {}), ("--dimension", {})],
        lambda c, s, a: TenantReader(c, s, a.tenant).metric_series(
            a.subject, dimension=a.dimension, start=a.start, end=a.end
        ),
    ),
    "type": (
        "metrics of one type (e.g. financial)",
        [("metric_type", {"metavar": "METRIC_TYPE"})],
        lambda c, s, a: TenantReader(c, s, a.tenant).metrics_by_type(
            a.metric_type, start=a.start, end=a.end
        ),
    ),
    "dimension": (
        "metrics of one dimension (e.g. region:emea)",
        [("dimension", {})],
        lambda c, s, a: TenantReader(c, s, a.tenant).metrics_by_dimension(
            a.dimension, start=a.start, end=a.end
        ),
    ),
}


def cmd_schemas(args: argparse.Namespace) -> int:
    try:
        written = write_schemas(Path(args.out) if args.out else SCHEMA_DIR)
    except OSError as exc:
        raise CommandError(f"cannot write the schemas to {args.out}: {exc.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register seed, ingest, query and schemas."""
    schemas = commands.add_parser("schemas", help="write the records' JSON Schemas")
    schemas.add_argument("--out", metavar="DIR", help="default: the package's schemas folder")
    schemas.set_defaults(func=cmd_schemas)

    seed_parser = commands.add_parser(
        "seed", help="register the roster's tenants and load their seed data (idempotent)"
    )
    add_stack_argument(seed_parser)
    seed_parser.add_argument("--tenant", action="append", metavar="ID", help="repeatable")
    seed_parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_allow_aws_argument(seed_parser)
    seed_parser.set_defaults(func=cmd_seed)

    ingest = commands.add_parser("ingest", help="ingest a file of messages or metrics")
    ingest.add_argument("kind", choices=sorted(KINDS))
    ingest.add_argument("file", metavar="FILE", help="JSON array or JSON Lines; - for stdin")
    ingest.add_argument("--tenant", required=True, metavar="ID")
    add_stack_argument(ingest)
    ingest.add_argument("--quarantine", metavar="PATH", help="JSON Lines file for bad records")
    ingest.add_argument("--json", action="store_true", help="print the counts as JSON")
    ingest.add_argument(
        "--accept-updates",
        action="store_true",
        help="let a restated metric replace the stored value (otherwise it is a conflict)",
    )
    ingest.add_argument(
        "--mode",
        choices=[WriteMode.LEASED.value, WriteMode.BATCH.value],
        default=WriteMode.LEASED.value,
        help="leased (default: exact with concurrent writers, which take turns through the "
        "table's writer lease) or batch (a bulk load with no other writer)",
    )
    add_allow_aws_argument(ingest)
    ingest.set_defaults(func=cmd_ingest)

    query = commands.add_parser("query", help="read a tenant's data by an access pattern")
    patterns = query.add_subparsers(dest="pattern", required=True)
    for name, (text, arguments, run) in QUERIES.items():
        sub = patterns.add_parser(name, help=text)
        sub.add_argument("--tenant", required=True, metavar="ID")
        for argument, options in arguments:
            sub.add_argument(argument, type=non_empty, **options)
        if name in ("series", "type", "dimension"):
            sub.add_argument("--from", dest="start", metavar="PERIOD")
            sub.add_argument("--to", dest="end", metavar="PERIOD")
        _query_common(sub, run)
    tenants = patterns.add_parser("tenants", help="tenants by owner email or by status")
    which = tenants.add_mutually_exclusive_group(required=True)
    which.add_argument("--owner", metavar="EMAIL", type=non_empty)
    which.add_argument("--status", type=non_empty)
    _query_common(
        tenants,
        lambda c, s, a: (
            MetadataReader(c, s).tenants_by_owner(a.owner)
            if a.owner is not None
            else MetadataReader(c, s).tenants_by_status(a.status)
        ),
    )


def _query_common(parser: argparse.ArgumentParser, run: Callable) -> None:
    add_stack_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the records as JSON")
    add_allow_aws_argument(parser)
    parser.set_defaults(func=cmd_query, run=run)
