"""One call that gives a notebook a ready stack: connected, provisioned and seeded.

`open_workspace()` finds the stack file, connects to its endpoint and, when nothing answers on
the local stack's port, starts the default engine there so that "Run All" works on a fresh
machine. It starts it as `salestalk local start` does, in the background: an endpoint inside a
kernel would vanish with that kernel, under every other notebook using it. It then provisions
the roster's tables and seeds the demo data (`ingestion.lifecycle.seeding.prepare_stack`, as
`salestalk up` does); both are idempotent, so on a stack that is up they change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingestion.lifecycle.seeding import SeedResult, prepare_stack
from ingestion.reading.queries import MetadataReader, TenantReader
from tenancy.connection import Target, dynamodb_client, loopback_port, resolve_target
from tenancy.endpoint_probe import answers
from tenancy.local.endpoint import LocalEndpoint
from tenancy.provisioner import TableResult
from tenancy.settings import StackSettings
from tenancy.stack_file import STATE_DIR_NAME, StackFile, find_project_dir


@dataclass
class Workspace:
    """A connected stack: its settings, a DynamoDB client and readers."""

    stack: str
    settings: StackSettings
    target: Target
    client: object
    project_dir: Path
    started_endpoint: bool = False
    provisioned: list[TableResult] = field(default_factory=list)
    seeded: SeedResult | None = None

    def reader(self, tenant_id: str) -> TenantReader:
        return TenantReader(self.client, self.settings, tenant_id)

    @property
    def metadata(self) -> MetadataReader:
        return MetadataReader(self.client, self.settings)

    def summary(self) -> str:
        where = self.target.endpoint_url or "real AWS"
        started = (
            " (started just now, in the background: `salestalk local stop` stops it)"
            if self.started_endpoint
            else ""
        )
        lines = [f"stack {self.stack!r} at {where}{started}"]
        if self.provisioned:
            changed = [r for r in self.provisioned if r.outcome != "unchanged"]
            lines.append(
                f"tables: {len(self.provisioned)} ({len(changed)} created or updated just now)"
            )
        if self.seeded is not None:
            lines.append(f"seed data: {self.seeded.total().summary()}")
        return "\n".join(lines)


def _start_endpoint(target: Target, project_dir: Path) -> bool:
    """Start the default engine if the stack's local endpoint is silent."""
    if not target.is_local or answers(target.endpoint_url):
        return False
    port = loopback_port(target.endpoint_url)
    if port is None:
        raise ConnectionError(
            f"nothing answers at {target.endpoint_url}, and it is not a loopback address "
            "this process could serve: start that endpoint first"
        )
    LocalEndpoint(project_dir / STATE_DIR_NAME, port=port).start()
    return True


def open_workspace(
    stack: str = "local", *, prepare: bool = True, project_dir: Path | None = None
) -> Workspace:
    """Connect to a stack's local endpoint (starting one if needed), provision and seed it."""
    folder = project_dir or find_project_dir()
    stack_file = StackFile.load(stack, folder)
    settings = stack_file.settings()
    target = resolve_target(stack_file)
    client = dynamodb_client(target)  # refuses real AWS: notebooks are for local stacks
    started = _start_endpoint(target, folder)
    workspace = Workspace(stack, settings, target, client, folder, started_endpoint=started)
    if prepare:
        prepared = prepare_stack(client, settings, folder)
        workspace.provisioned, workspace.seeded = prepared.provisioned, prepared.seeded
    return workspace
