"""Run the whole Pulumi program (`__main__.py`) under Pulumi's unit-test mocks.

Every registered resource is recorded with its inputs and its resource options (parent,
protect, retainOnDelete), which MockResourceArgs alone does not carry, and the program's
exports are captured resolved.

The program reads its own stack's last outputs through a StackReference (the tier check of
`tenancy.components`). Under the mocks that read reaches `Mocks.new_resource` with type
`pulumi:pulumi:StackReference`, the referenced stack's name as both name and id, and is
answered with the outputs a test gives as `previous` (default: none, a stack never deployed).
A program that fails raises its error from `run_program`, with what it had registered.
"""

from __future__ import annotations

import asyncio
import gc
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from pulumi.runtime.mocks import MockMonitor

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROGRAM = PROJECT_DIR / "__main__.py"
ACCOUNT = "123456789012"
TABLE_TYPE = "aws:dynamodb/table:Table"
ROLE_TYPE = "aws:iam/role:Role"
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
COMPONENT_TYPE = "salestalk:tenancy:TenantTables"
GET_TABLE_ITEM = "aws:dynamodb/getTableItem:getTableItem"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
ORGANIZATION = "organization"  # the organization of a stack on a DIY (file) backend


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProgramRun:
    resources: list[Registered]
    exports: dict[str, Any]
    collector_states: set[bool] = field(default_factory=set)  # gc.isenabled() at each resource
    # What each StackReference read asked for (type, name, inputs, id), as the mocks saw it.
    references: list[pulumi.runtime.MockResourceArgs] = field(default_factory=list)
    # Each tenants-metadata row the program read (the arguments of the provider's call).
    item_reads: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def named(self, typ: str, name: str) -> Registered:
        return next(r for r in self.resources if r.type == typ and r.name == name)


class _Mocks(pulumi.runtime.Mocks):
    """Plays the provider: physical names and ARNs like AWS would return them."""

    def __init__(
        self,
        region: str,
        previous: dict[str, Any] | None = None,
        registered: dict[str, str] | None = None,
    ):
        self.region = region
        self.previous = previous or {}
        self.registered = registered or {}  # tenants-metadata: tenant id -> its recorded tier
        self.item_reads: list[dict[str, Any]] = []
        self.collector_states: set[bool] = set()
        self.references: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE_TYPE:
            # the engine's answer to a StackReference: the referenced stack's last outputs
            self.references.append(args)
            outputs = {"name": args.name, "outputs": self.previous, "secretOutputNames": []}
            return args.resource_id, outputs
        self.collector_states.add(gc.isenabled())
        outputs = dict(args.inputs)
        if args.typ == TABLE_TYPE:
            outputs["arn"] = f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{args.inputs['name']}"
        elif args.typ == ROLE_TYPE:
            outputs["name"] = f"{args.name}-7c1e0a2"  # Pulumi auto-naming adds a random suffix
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{outputs['name']}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == GET_TABLE_ITEM:
            # the provider reading one tenants-metadata row (the tier check's doubtful cases)
            self.item_reads.append(dict(args.args))
            tenant_id = json.loads(args.args["key"])["tenantId"]["S"]
            tier = self.registered.get(tenant_id)
            return {**args.args, "item": json.dumps({"tier": {"S": tier}}) if tier else ""}
        return {}


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: _Mocks):
        super().__init__(mocks)
        self.registered: list[Registered] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            state = self.resources[response.urn].state if response.urn in self.resources else {}
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    inputs=dict(inputs),
                    outputs=dict(state or {}),
                )
            )
        return response


def run_program(
    config: dict[str, str],
    stack: str = "local",
    region: str = "us-east-1",
    previous: dict[str, Any] | None = None,
    preview: bool = False,
    registered: dict[str, str] | None = None,
):
    """Run __main__.py once, on a fresh event loop, and return what it registered.

    `previous`: the stack's outputs from its last deployment (a former run's `exports`), as
    its StackReference to itself reads them; None for a stack that never deployed.
    `registered`: the tier tenants-metadata records per tenant, as the provider's read of a
    row answers it (the tier check asks only for a tenant whose tier differs from `previous`
    with no move in sight); a tenant without one has no row. `preview`
    runs it as `pulumi preview` does (outputs of new resources unknown). A program
    that fails raises its error (a `pulumi.RunError` for the program's own refusals) with
    `registered` and `references` attached."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = _Mocks(region, previous, registered)
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks,
        project="salestalk",
        stack=stack,
        preview=preview,
        monitor=monitor,
        organization=ORGANIZATION,
    )
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        with mock.patch.object(pulumi, "export", side_effect=captured.__setitem__):
            runpy.run_path(str(PROGRAM), run_name="__main__")
        return pulumi.Output.from_input(captured).apply(exports.update)

    collecting = gc.isenabled()  # the program turns the cyclic collector off for its run
    try:
        program()
    except Exception as exc:
        exc.registered = list(monitor.registered)  # type: ignore[attr-defined]
        exc.references = list(mocks.references)  # type: ignore[attr-defined]
        raise
    finally:
        if collecting:
            gc.enable()
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)
    return ProgramRun(
        monitor.registered, exports, mocks.collector_states, mocks.references, mocks.item_reads
    )
