"""A nightly load: every tenant's files in one folder, several tenants at once, one summary.

The folder holds one sub-folder per tenant, named by its tenant id, with a file per kind of
record (`metrics.jsonl`, `messages.json`, ...: the layout of `seed_data/`). Each tenant is
ingested by the same idempotent writer as `salestalk ingest`, under its own writer lease, in a
worker process of its own: the client's CPU (reading, contracts, fingerprints, encoding) is
what limits one process, so tenants are spread over processes, a bounded number at once.

Which tenant a file is written to is decided by its folder's name and nothing else, and every
record in it must name that tenant (`TenantWriter` rejects any other): a file cannot write
another tenant's data, whatever it holds. A folder that names no tenant of the roster, a file
this load does not read, a tenant that takes no data: each is reported in the summary, and
every other tenant is still loaded. A tenant whose ingest stops part-way (endpoint gone,
Ctrl-C) says exactly what it wrote; the same load run again resumes, as every ingest does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ingestion.records.items import TENANT_DATA_KINDS, RecordKind
from ingestion.records.sources import Quarantine, new_quarantine_path, open_input, read_records
from ingestion.writing.ingest_report import IngestReport
from ingestion.writing.strategies import WriteMode
from ingestion.writing.writer import (
    IngestInterruptedError,
    TenantChangedError,
    TenantNotWritableError,
    TenantWriter,
)
from tenancy.connection import Target, dynamodb_client
from tenancy.errors import Refused, SalesTalkError
from tenancy.roster import RosterError
from tenancy.settings import StackConfigError, StackSettings
from tenancy.stack_file import StackFile, StackFileError

# The file names a tenant's folder may hold, per kind (a JSON array or JSON Lines).
LOAD_FILES: dict[str, RecordKind] = {
    f"{kind.plural}{suffix}": kind for kind in TENANT_DATA_KINDS for suffix in (".json", ".jsonl")
}
# Tenants loaded at once when not told: one per core, each in its own process.
DEFAULT_WORKERS = max(1, min(4, os.cpu_count() or 1))


class LoadFolderError(Refused, ValueError):
    """The folder cannot be loaded at all (missing, not a folder, no tenant folders)."""


class Status(StrEnum):
    LOADED = "loaded"  # every file ingested (its records may include rejected ones)
    SKIPPED = "skipped"  # nothing ingested, and why (unknown tenant, takes no data, bad file)
    STOPPED = "stopped"  # an ingest stopped part-way: its report says what it wrote


@dataclass(frozen=True)
class TenantFiles:
    """One tenant's folder: the files to ingest, in kind order, and the problems found."""

    tenant_id: str
    files: tuple[tuple[str, Path], ...]  # (kind name, path)
    problems: tuple[str, ...] = ()  # what keeps the tenant from being loaded
    ignored: tuple[str, ...] = ()  # entries of its folder that are no file a load reads


@dataclass
class TenantLoad:
    """What loading one tenant did: a report per kind ingested, and how it ended."""

    tenant_id: str
    status: Status
    reports: dict[str, IngestReport] = field(default_factory=dict)
    reason: str | None = None  # why it was skipped or stopped
    quarantines: list[Path] = field(default_factory=list)
    ignored: tuple[str, ...] = ()  # entries of its folder left alone, each saying why


@dataclass
class LoadSummary:
    tenants: list[TenantLoad]
    interrupted: bool = False  # Ctrl-C: tenants not yet started were left out

    def total(self) -> IngestReport:
        total = IngestReport(kind="all", tenant_id="all")
        for load in self.tenants:
            for report in load.reports.values():
                total.merge(report)
        return total

    def by_status(self, status: Status) -> list[TenantLoad]:
        return [load for load in self.tenants if load.status is status]

    @property
    def clean(self) -> bool:
        """Every tenant loaded and every record stored or already there."""
        return all(
            load.status is Status.LOADED and all(r.clean for r in load.reports.values())
            for load in self.tenants
        )


def plan_load(folder: Path, settings: StackSettings) -> list[TenantFiles]:
    """The tenants of `folder`, each with its files (or the problems that skip it), sorted by
    tenant id. Hidden entries are left alone; anything else that is not a tenant's folder of
    known files is a problem, reported, never guessed at."""
    if not folder.is_dir():
        raise LoadFolderError(f"{folder}: not a folder (a load reads <folder>/<tenantId>/<file>)")
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if not entries:
        raise LoadFolderError(f"{folder}: holds no tenant folders")
    known = set(settings.roster.ids)
    plans = []
    for entry in entries:
        if not entry.is_dir():
            plans.append(TenantFiles(entry.name, (), (f"{entry}: a file, not a tenant's folder",)))
            continue
        if entry.name not in known:
            why = f"{entry}: no tenant {entry.name!r} in the roster of stack {settings.stack!r}"
            plans.append(TenantFiles(entry.name, (), (why,)))
            continue
        plans.append(_tenant_files(entry))
    return plans


def _tenant_files(folder: Path) -> TenantFiles:
    """A tenant's files. Two files of one kind skip the tenant (which one is meant cannot be
    guessed); anything else that is not a file a load reads is left alone, and said so."""
    files: dict[str, Path] = {}
    problems, ignored = [], []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        kind = LOAD_FILES.get(path.name)
        if kind is None or not path.is_file():
            ignored.append(f"{path.name}: not a file a load reads ({', '.join(LOAD_FILES)})")
        elif kind.name in files:
            problems.append(f"{path}: {files[kind.name].name} holds {kind.plural} too; keep one")
        else:
            files[kind.name] = path
    ordered = tuple((k.name, files[k.name]) for k in TENANT_DATA_KINDS if k.name in files)
    return TenantFiles(folder.name, ordered, tuple(problems), tuple(ignored))


@dataclass(frozen=True)
class LoadJob:
    """Everything a worker process needs to load one tenant (all of it can be pickled)."""

    tenant: TenantFiles
    stack: str
    target: Target
    allow_aws: bool
    mode: WriteMode
    quarantine_dir: Path


def load_folder(
    plans: list[TenantFiles],
    *,
    stack: str,
    target: Target,
    quarantine_dir: Path,
    allow_aws: bool = False,
    mode: WriteMode = WriteMode.LEASED,
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[TenantLoad], None] | None = None,
) -> LoadSummary:
    """Load every planned tenant, `workers` at a time, each in a process of its own.

    Tenants with problems are not started. On Ctrl-C the tenants being loaded stop with an
    exact report (their processes hear it too), those not yet started are left out, and the
    summary says so; the same load run again resumes."""
    results: dict[str, TenantLoad] = {}
    interrupted = False
    due = []
    for plan in plans:
        if plan.problems or not plan.files:
            reason = "; ".join(plan.problems) or "no files to load"
            results[plan.tenant_id] = TenantLoad(
                plan.tenant_id, Status.SKIPPED, reason=reason, ignored=plan.ignored
            )
            if on_done:
                on_done(results[plan.tenant_id])
        else:
            due.append(LoadJob(plan, stack, target, allow_aws, mode, quarantine_dir))
    if due:
        interrupted = _run(due, max(1, min(workers, len(due))), results, on_done)
    order = {plan.tenant_id: n for n, plan in enumerate(plans)}
    loads = sorted(results.values(), key=lambda load: order[load.tenant_id])
    return LoadSummary(loads, interrupted)


def _run(
    jobs: list[LoadJob],
    workers: int,
    results: dict[str, TenantLoad],
    on_done: Callable[[TenantLoad], None] | None,
) -> bool:
    """Run the jobs into `results`; whether Ctrl-C was pressed. A Ctrl-C at a terminal
    reaches the workers too (one process group): each stops its ingest with an exact report.
    Sent to this process alone, it starts no more tenants and lets the running ones finish."""
    # spawn, not fork: a forked copy of a process that holds botocore's connection pools
    # and threads is not safe; each worker starts clean and makes its own client.
    context = multiprocessing.get_context("spawn")
    interrupted = False
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_between_tenants
    ) as pool:
        jobs_of: dict[Future[TenantLoad], LoadJob] = {pool.submit(load_tenant, j): j for j in jobs}
        pending = set(jobs_of)
        while pending:
            try:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                interrupted = True  # the workers heard it too: collect what they report
                for future in pending:
                    future.cancel()
                continue
            for future in done:
                load = _result(future, jobs_of[future], interrupted)
                results[load.tenant_id] = load
                if on_done:
                    on_done(load)
    return interrupted


def _result(future: Future[TenantLoad], job: LoadJob, interrupted: bool) -> TenantLoad:
    if future.cancelled():
        return TenantLoad(job.tenant.tenant_id, Status.SKIPPED, reason="not started: interrupted")
    try:
        return future.result()
    except KeyboardInterrupt:  # heard in the worker as it finished, before its count was made
        return TenantLoad(job.tenant.tenant_id, Status.STOPPED, reason="interrupted")
    except Exception as exc:  # the worker process itself died (killed, out of memory)
        why = "interrupted" if interrupted else f"its worker process ended ({type(exc).__name__})"
        return TenantLoad(job.tenant.tenant_id, Status.STOPPED, reason=why)


def _between_tenants() -> None:
    """A worker between two tenants ignores Ctrl-C: one that died of it there would break
    the pool, and the pool would end the workers still loading, losing their exact counts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def load_tenant(job: LoadJob) -> TenantLoad:
    """Load one tenant's files in kind order (a worker process's whole task), hearing Ctrl-C
    only while it does. Never raises for the tenant's own problems: they are the result, so
    that one tenant cannot end the load."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _load_tenant(job)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load_tenant(job: LoadJob) -> TenantLoad:
    tenant_id = job.tenant.tenant_id
    load = TenantLoad(tenant_id, Status.LOADED, ignored=job.tenant.ignored)
    try:
        reload = stack_reloader(job.stack)
        settings = reload()
        client = dynamodb_client(job.target, allow_aws=job.allow_aws)
        for kind_name, path in job.tenant.files:
            kind = next(k for k in TENANT_DATA_KINDS if k.name == kind_name)
            writer = TenantWriter(client, settings, tenant_id, kind, mode=job.mode, reload=reload)
            label = f"{tenant_id}-{kind_name}"
            quarantine = Quarantine(new_quarantine_path(job.quarantine_dir, label))
            try:
                with open_input(str(path)) as stream:
                    load.reports[kind_name] = writer.ingest(
                        read_records(stream, str(path)), quarantine=quarantine
                    )
            except IngestInterruptedError as exc:
                load.reports[kind_name] = exc.report
                load.status, load.reason = Status.STOPPED, f"{path.name}: {exc}"
                return load
            finally:
                quarantine.close()
                if quarantine.written:
                    load.quarantines.append(quarantine.path)
    except TenantNotWritableError as exc:
        load.status, load.reason = Status.SKIPPED, str(exc)
    except KeyboardInterrupt:
        load.status, load.reason = Status.STOPPED, "interrupted"
    except (SalesTalkError, OSError) as exc:
        load.status = Status.STOPPED if load.reports else Status.SKIPPED
        load.reason = str(exc)
    return load


def stack_reloader(stack: str) -> Callable[[], StackSettings]:
    """The stack's settings as its file says now: an ingest asks again under its lease, since
    a move or an offboarding may have changed where the tenant's data goes meanwhile."""

    def reload() -> StackSettings:
        try:
            return StackFile.load(stack).settings()
        except (StackFileError, RosterError, StackConfigError) as exc:
            raise TenantChangedError(f"the stack file can no longer be used: {exc}") from None

    return reload
