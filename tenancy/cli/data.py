"""The data commands: `salestalk seed`, `ingest`, `load`, `query` and `schemas`.

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
import shlex
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.lifecycle.seeding import SEED_DIR_NAME, SeedResult, seed
from ingestion.reading.access_patterns import ACCESS_PATTERNS, AccessPattern, Scope
from ingestion.reading.queries import MetadataReader, TenantReader
from ingestion.reading.query_output import STYLES, write_records
from ingestion.reading.query_pages import PageTokenError, Query
from ingestion.reading.suggestions import unknown_name
from ingestion.records.contracts import MetricType
from ingestion.records.input_shape import mismatch
from ingestion.records.items import TENANT_DATA_KINDS
from ingestion.records.schemas import SCHEMA_DIR, write_schemas
from ingestion.records.sources import (
    QUARANTINE_DIR_NAME,
    InputFileError,
    Quarantine,
    new_quarantine_path,
    open_input,
    read_records,
)
from ingestion.writing.backoff import RetryBudgetExhaustedError
from ingestion.writing.bulk_load import (
    DEFAULT_WORKERS,
    LoadSummary,
    Status,
    TenantLoad,
    load_folder,
    plan_load,
    stack_reloader,
)
from ingestion.writing.ingest_report import IngestReport
from ingestion.writing.lease import Fence, TenantFencedError
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import IngestInterruptedError, TenantChangedError, TenantWriter
from tenancy.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_allow_aws_argument,
    add_command,
    add_json_argument,
    add_stack_argument,
    connect,
    connection_problem,
    is_missing_table,
    load_settings,
    missing_tables_problem,
    non_empty,
    require_tenants,
    roster_ids,
    state_dir,
)
from tenancy.connection import Target
from tenancy.settings import StackSettings
from tenancy.stack_file import find_project_dir

KINDS = {kind.plural: kind for kind in TENANT_DATA_KINDS}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def exit_status(report: IngestReport) -> int:
    return EXIT_OK if report.clean else EXIT_FAILED


def _quarantine_dir() -> Path:
    return state_dir() / QUARANTINE_DIR_NAME


def new_quarantine(path: str | None, label: str) -> Quarantine:
    """This run's quarantine: the file asked for (which must not exist yet), or a new one
    under the project's state folder."""
    quarantine = Quarantine(Path(path) if path else new_quarantine_path(_quarantine_dir(), label))
    quarantine.check_free()  # QuarantineExistsError: refused, exit 2
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

    # the bar draws in place with carriage returns: it writes past the terminal-safe
    # wrapper (which would show them as `\u000d`); what it writes is the command's own text
    terminal = getattr(sys.stderr, "raw", sys.stderr)

    try:
        info = os.fstat(stream.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError, AttributeError):
        size = None
    if size is None:
        bar = tqdm(desc=description, unit=" records", file=terminal)

        def update(done: int) -> None:
            bar.update(done - bar.n)

        return update, bar.close

    bar = tqdm(
        desc=description, total=size, unit="B", unit_scale=True, unit_divisor=1024, file=terminal
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
    writer = TenantWriter(
        client,
        settings,
        args.tenant,
        kind,
        accept_updates=args.accept_updates,
        mode=WriteMode(args.mode),
        on_wait=lambda holder: print(
            f"waiting for the writer of {args.tenant}'s {args.kind} to finish "
            f"({holder.describe()})",
            file=sys.stderr,
        ),
        reload=stack_reloader(args.stack),
    )
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
    except OSError as exc:  # the quarantine file cannot be written, the input cannot be read
        raise CommandError(f"{exc.filename or args.file}: {exc.strerror or exc}") from None
    except IngestInterruptedError as exc:
        if close is not None:
            close()  # the bar ends before the message, and is not drawn again after it
            close = None
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
    if isinstance(cause, KeyboardInterrupt):
        report = exc.report
        return (
            f"interrupted after {report.handled:,} records ({report.written:,} written, "
            f"{report.duplicates:,} duplicates); every record reported written is stored: "
            "run the same command again to resume"
        )
    if isinstance(cause, TenantChangedError):
        return f"{exc} The roster now says where the tenant's data goes, if anywhere."
    if isinstance(cause, TenantFencedError):
        tenant = exc.report.tenant_id
        if cause.fence == Fence.ERASED:
            return f"{cause}: tenant {tenant!r} is being erased and takes no new data"
        return (
            f"{exc} The tenant's data {cause.fence}: run it again, it writes where the roster "
            f"now says (if `salestalk roster list` still shows {tenant} moving, finish the move "
            f"first: `salestalk tenant move {tenant} --to {cause.fence.split()[-1]}`)"
        )
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
    """A seed that stops part-way, finds no tables, or meets a tenant whose tier changed
    without a move, as one message (exit 2)."""
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


# --- salestalk load --------------------------------------------------------------------------


def cmd_load(args: argparse.Namespace) -> int:
    _, settings = load_settings(args)
    plans = plan_load(Path(args.folder), settings)  # LoadFolderError: refused, exit 2
    target, _ = connect(args)  # reachable, and not AWS unless allowed: before any worker starts
    quarantine_dir = _quarantine_dir()
    summary = load_folder(
        plans,
        stack=args.stack,
        target=target,
        quarantine_dir=quarantine_dir,
        allow_aws=args.allow_aws,
        mode=WriteMode(args.mode),
        workers=args.workers,
        on_done=None if args.json else _print_tenant_load,
    )
    if args.json:
        print(json.dumps(_load_json(summary)))
    else:
        _print_load_summary(summary)
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.by_status(Status.STOPPED):
        return EXIT_USAGE
    return EXIT_OK if summary.clean else EXIT_FAILED


def _print_tenant_load(load: TenantLoad) -> None:
    counts = "; ".join(f"{kind}s: {r.summary()}" for kind, r in load.reports.items())
    line = f"{load.tenant_id}: {load.status}"
    print(line + (f", {counts}" if counts else "") + (f" ({load.reason})" if load.reason else ""))
    for note in load.ignored:
        print(f"  left alone: {note}")
    for path in load.quarantines:
        print(f"  quarantine (rejected records and conflicts, as received): {path}")
    for report in load.reports.values():
        _print_details(report, limit=5)


def _print_load_summary(summary: LoadSummary) -> None:
    counts = {status: len(summary.by_status(status)) for status in Status}
    tenants = ", ".join(f"{n:,} {status}" for status, n in counts.items() if n)
    print(f"total: {summary.total().summary()} ({len(summary.tenants):,} tenants: {tenants})")
    if summary.interrupted or summary.by_status(Status.STOPPED):
        print("every record reported written is stored: run the same load again to resume")


def _load_json(summary: LoadSummary) -> dict:
    return {
        **summary.total().to_json(),
        "interrupted": summary.interrupted,
        "tenants": [
            {
                "tenantId": load.tenant_id,
                "status": str(load.status),
                **({"reason": load.reason} if load.reason else {}),
                "kinds": {kind: r.to_json() for kind, r in load.reports.items()},
                "quarantines": [str(p) for p in load.quarantines],
                "ignored": list(load.ignored),
            }
            for load in summary.tenants
        ],
    }


# --- salestalk query -------------------------------------------------------------------------


def cmd_query(args: argparse.Namespace) -> int:
    _, settings = load_settings(args)
    tenant = getattr(args, "tenant", None)
    require_tenants(settings, [tenant] if tenant else [])
    target, client = connect(args)
    style = args.output or ("json" if args.json else "jsonl" if args.jsonl else "table")
    try:
        reader = args.reader(client, settings, args)
        found = args.run(reader, args)
        token = None
        if isinstance(found, Query) and args.limit:
            page = found.page(args.limit, args.after)
            records, token = page.records, page.next_token
        elif isinstance(found, Query):
            records = found.records(args.after)
        elif args.after:
            raise PageTokenError("--after: one record by its id has no pages")
        else:
            records = found[: args.limit]
        shown = write_records(records, style, sys.stdout)  # streamed: `| head` ends the read
    except ClientError as exc:
        if is_missing_table(exc):
            raise missing_tables_problem(client, settings, target) from None
        raise
    except BotoCoreError as exc:
        raise connection_problem(target, exc) from None
    if token:
        sys.stdout.flush()
        print(f"more records: add --after {shlex.quote(token)}", file=sys.stderr)
    refused = getattr(reader, "refused", None)
    if refused:  # another tenant's planted item: skipped, and said, never fatal
        print(f"salestalk: warning: {refused.summary()}", file=sys.stderr)
    if not shown:
        message, status = _nothing_found(args, client, settings)
        print(message, file=sys.stderr)
        return status
    return EXIT_OK


def _nothing_found(args: argparse.Namespace, client, settings) -> tuple[str, int]:
    """What a query that found nothing can tell: what does exist, and the closest name to
    a misspelt one (exit 1); a known name with nothing in the range is just that (exit 0)."""
    pattern = args.pattern
    if pattern == "type":
        known = [str(t) for t in MetricType]
        if args.metric_type not in known:
            return unknown_name("metric type", args.metric_type, known), EXIT_USAGE
    if pattern not in ("series", "dimension"):
        return "no matching records", EXIT_OK
    catalogue = TenantReader(client, settings, args.tenant).series_catalogue()
    if pattern == "dimension":
        known = sorted({d for dims in catalogue.values() for d in dims if d})
        if args.dimension not in known:
            return unknown_name(
                f"dimension of tenant {args.tenant}", args.dimension, known
            ), EXIT_FAILED
        return "no matching records in that period range", EXIT_OK
    if args.subject not in catalogue:
        return unknown_name(
            f"subject of tenant {args.tenant}", args.subject, sorted(catalogue)
        ), EXIT_FAILED
    dimensions = catalogue[args.subject]
    if args.dimension not in dimensions:
        named = sorted(d for d in dimensions if d)
        total = " and a total without one" if None in dimensions else ""
        wanted = (
            f"series of dimension {args.dimension!r}"
            if args.dimension
            else "series without a dimension"
        )
        return (
            f"{args.subject!r} has no {wanted}; its series are by dimension "
            f"{', '.join(named)}{total}: add --dimension {shlex.quote(named[0])}"
            if named
            else f"{args.subject!r} has only a series without a dimension: leave out --dimension"
        ), EXIT_FAILED
    return "no matching records in that period range", EXIT_OK


def cmd_schemas(args: argparse.Namespace) -> int:
    try:
        written = write_schemas(Path(args.out) if args.out else SCHEMA_DIR)
    except OSError as exc:
        raise CommandError(f"cannot write the schemas to {args.out}: {exc.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register seed, ingest, load, query and schemas."""
    schemas = add_command(
        commands,
        "schemas",
        help="write the records' JSON Schemas",
        examples=["salestalk schemas", "salestalk schemas --out /tmp/schemas"],
    )
    schemas.add_argument("--out", metavar="DIR", help="default: the package's schemas folder")
    schemas.set_defaults(func=cmd_schemas)

    seed_parser = add_command(
        commands,
        "seed",
        help="register the roster's tenants and load their seed data (idempotent)",
        examples=["salestalk seed", "salestalk seed --tenant acme-corp-001 --json"],
    )
    add_stack_argument(seed_parser)
    seed_parser.add_argument(
        "--tenant", action="append", metavar="ID", help="only this tenant (repeatable)"
    ).completer = roster_ids
    add_json_argument(seed_parser, "the counts as JSON")
    add_allow_aws_argument(seed_parser)
    seed_parser.set_defaults(func=cmd_seed)

    ingest = add_command(
        commands,
        "ingest",
        help="ingest a file of messages or metrics",
        description="Validate every record, quarantine the bad ones with their reasons, and "
        "write the good ones exactly once: an interrupted or repeated ingest can simply be run "
        "again.",
        examples=[
            "salestalk ingest metrics --tenant acme-corp-001 metrics.jsonl",
            "producer | salestalk ingest messages --tenant acme-corp-001 - --json",
        ],
    )
    ingest.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
    ingest.add_argument("file", metavar="FILE", help="JSON array or JSON Lines; - for stdin")
    ingest.add_argument(
        "--tenant", required=True, metavar="ID", help="the tenant it belongs to"
    ).completer = roster_ids
    add_stack_argument(ingest)
    ingest.add_argument("--quarantine", metavar="PATH", help="JSON Lines file for bad records")
    add_json_argument(ingest, "the counts as JSON")
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

    load = add_command(
        commands,
        "load",
        help="ingest a folder of many tenants' files, several tenants at once",
        description="A nightly load: FOLDER holds a folder per tenant, named by its tenant id, "
        "with metrics.json(l) and messages.json(l) in it (the layout of seed_data/). Each "
        "tenant is ingested exactly as `salestalk ingest` does it, under its own writer "
        "lease, in a worker process of its own; a folder or file that cannot be loaded is "
        "reported and every other tenant is still loaded. Run again to resume.",
        examples=["salestalk load nightly/", "salestalk load nightly/ --workers 8 --json"],
    )
    load.add_argument("folder", metavar="FOLDER", help="<FOLDER>/<tenantId>/<kind>.json(l)")
    add_stack_argument(load)
    load.add_argument(
        "--workers",
        type=_positive,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"tenants loaded at once, each in its own process (default: {DEFAULT_WORKERS})",
    )
    load.add_argument(
        "--mode",
        choices=[WriteMode.LEASED.value, WriteMode.BATCH.value],
        default=WriteMode.LEASED.value,
        help="as for ingest",
    )
    add_json_argument(load, "the counts as JSON, per tenant and in total")
    add_allow_aws_argument(load)
    load.set_defaults(func=cmd_load)

    query = add_command(
        commands,
        "query",
        help="read a tenant's data by an access pattern",
        examples=[f"salestalk query {p.name} {p.examples[0]}" for p in ACCESS_PATTERNS],
    )
    patterns = query.add_subparsers(dest="pattern", required=True, metavar="PATTERN")
    for pattern in ACCESS_PATTERNS:
        _add_pattern(patterns, pattern)


def _add_pattern(patterns: argparse._SubParsersAction, pattern: AccessPattern) -> None:
    """`salestalk query NAME`, as its declaration (`ingestion.reading.access_patterns`) says."""
    examples = [f"salestalk query {pattern.name} {example}" for example in pattern.examples]
    sub = add_command(patterns, pattern.name, help=pattern.summary, examples=examples)
    if pattern.scope is Scope.TENANT:
        tenant = sub.add_argument("--tenant", required=True, metavar="ID", help="whose data")
        tenant.completer = roster_ids
    options = sub.add_mutually_exclusive_group(required=True) if pattern.one_option else sub
    for parameter in pattern.parameters:
        named = {"help": parameter.help, "type": non_empty}
        if parameter.metavar:
            named["metavar"] = parameter.metavar
        if parameter.option:
            options.add_argument(f"--{parameter.name.replace('_', '-')}", **named)
        else:
            sub.add_argument(parameter.name, **named)
    if pattern.periods:
        sub.add_argument(
            "--from", dest="start", metavar="PERIOD", help="first period (2025-Q3, 2025-07)"
        )
        sub.add_argument("--to", dest="end", metavar="PERIOD", help="last period, included")
    reader = (
        (lambda c, s, a: TenantReader(c, s, a.tenant))
        if pattern.scope is Scope.TENANT
        else (lambda c, s, a: MetadataReader(c, s))
    )
    _query_common(sub, lambda r, a: pattern.run(r, vars(a)), reader)


def _query_common(parser: argparse.ArgumentParser, run: Callable, reader: Callable) -> None:
    """`run(reader, args)` gives the records; `reader(client, settings, args)` makes the
    reader, whose `refused` items (if it keeps any) the command reports."""
    add_stack_argument(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--output",
        "-o",
        choices=STYLES,
        metavar="FORMAT",
        help="table (the default: one record shows a field a line), json, jsonl or csv (a "
        "header, then a row a record, fields as the table shows them: times as UTC dates)",
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="print the records as one JSON array, exact as stored (times in Unix epoch "
        "seconds, as the contract has them)",
    )
    output.add_argument(
        "--jsonl", action="store_true", help="one exact JSON record per line, for streams"
    )
    parser.add_argument(
        "--limit",
        type=positive,
        metavar="N",
        help="at most N records, read as one page (the next: see --after)",
    )
    parser.add_argument(
        "--after",
        metavar="TOKEN",
        help="continue after the last record of a previous page (its token is printed when "
        "more remain)",
    )
    add_allow_aws_argument(parser)
    parser.set_defaults(func=cmd_query, run=run, reader=reader)


def positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number
