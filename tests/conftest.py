"""Shared test infrastructure: one real DynamoDB endpoint over HTTP, started for the tests
that need it.

The endpoint comes from outside when one is given (`SALESTALK_TEST_ENDPOINT`, with
`SALESTALK_TEST_ENGINE` naming the engine: `.ci/run` runs the suite again against Amazon's
DynamoDB Local and LocalStack this way), and is otherwise the default engine (MiniStack), in
memory, started as a child of pytest (installed first if it is not). It is a session fixture
(`engine`), so a run of tests that need none (`pytest -m "not engine and not browser and not
kernel"`, the README's fast command) starts nothing; the tests that use it are marked `engine`
here, and so is every test of a module that starts engines of its own.

Until the engine starts, commands under test see an endpoint that refuses connections: a test
that reaches DynamoDB without asking for the engine fails loudly, never touching real AWS or
whatever answers on the stack's port.

Tests leave the endpoint as they found it by deleting the tables they created, whatever the
engine (no engine's private reset API). A test that needs a control-plane feature the engine
lacks (`@pytest.mark.needs("point-in-time recovery")`) is skipped with a reason naming the
engine and the feature, and the skips are counted at the end of the run; nothing else skips.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenancy.connection import Target, dynamodb_client

PROJECT_DIR = Path(__file__).resolve().parents[1]
ENDPOINT_ENV = "SALESTALK_TEST_ENDPOINT"
ENGINE_ENV = "SALESTALK_TEST_ENGINE"
REGION = "us-east-1"

_server_stack = contextlib.ExitStack()
_skipped_for: Counter[str] = Counter()


# Port 9 (discard) on loopback: nothing listens there, so a connection is refused at once.
NO_ENGINE_YET = "http://127.0.0.1:9"
MARKERS = {
    "needs(feature)": "the test needs this control-plane feature of the engine",
    "engine": "needs a DynamoDB engine: the session's (the `engine` fixture) or its own",
    "browser": "drives Debian's Chromium through Playwright",
    "kernel": "executes notebooks in a Jupyter kernel",
    "slow": "takes seconds with no engine (thousands of tenants, a process killed at every step)",
}


def pytest_sessionstart(session: pytest.Session) -> None:
    from tenancy.local.engine_kind import ENGINES_DIR_ENV

    # Scratch state folders (a test's `.salestalk/`) use the engines the project installed.
    os.environ.setdefault(ENGINES_DIR_ENV, str(PROJECT_DIR / ".salestalk" / "engines"))
    # Commands under test find their endpoint the standard way, never real AWS.
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = NO_ENGINE_YET
    os.environ["AWS_ACCESS_KEY_ID"] = "test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
    os.environ["SALESTALK_PROJECT_DIR"] = str(PROJECT_DIR)


@pytest.fixture(scope="session")
def engine() -> str:
    """The session's endpoint, started (or checked, when given) on first use; its URL."""
    url = os.environ.get(ENDPOINT_ENV)
    if url:
        os.environ.setdefault(ENGINE_ENV, f"the endpoint at {url}")
        # Tests see every table on the endpoint: one that is not empty is not theirs to use.
        left = table_names(dynamodb_client(Target(url, REGION, os.environ[ENGINE_ENV])))
        if left:
            pytest.exit(
                f"{ENDPOINT_ENV}={url} holds {len(left)} tables ({', '.join(sorted(left)[:5])}"
                "...): the suite needs an empty endpoint, and never deletes tables it did not "
                "make",
                returncode=4,
            )
    else:
        from tenancy.local.endpoint import embedded
        from tenancy.local.engines import DEFAULT_ENGINE, kind

        url = _server_stack.enter_context(embedded(PROJECT_DIR / ".salestalk"))
        os.environ[ENDPOINT_ENV] = url
        os.environ[ENGINE_ENV] = f"{kind(DEFAULT_ENGINE).name} (the default engine)"
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    return url


# What `--fast` leaves out: the tests that need more than this Python process.
NOT_FAST = ("engine", "browser", "kernel", "slow")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="only the tests that need no engine, browser or notebook kernel and are not slow "
        f"(the same as -m 'not {' and not '.join(NOT_FAST)}')",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine_mark = pytest.mark.engine
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()) or item.get_closest_marker("needs"):
            item.add_marker(engine_mark)
    if config.getoption("--fast"):
        left_out = [i for i in items if any(i.get_closest_marker(m) for m in NOT_FAST)]
        config.hook.pytest_deselected(items=left_out)
        dropped = set(left_out)
        items[:] = [i for i in items if i not in dropped]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _server_stack.close()


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def engine_name() -> str:
    return os.environ.get(ENGINE_ENV, "no engine (none of these tests needed one)")


def session_client():
    return dynamodb_client(Target(os.environ[ENDPOINT_ENV], REGION, engine_name()))


_features = []  # the session engine's features, probed once


def engine_features():
    """What the session's engine can do beyond the data plane (the platform's own probe)."""
    if not _features:
        from tenancy.endpoint_features import probe_features

        _features.append(probe_features(session_client()))
    return _features[0]


@pytest.fixture(autouse=True)
def _features_needed(request: pytest.FixtureRequest) -> None:
    """Skip a test that needs a control-plane feature the session's engine lacks."""
    needed = [mark.args[0] for mark in request.node.iter_markers("needs")]
    if not needed:
        return
    request.getfixturevalue("engine")
    for feature in needed:
        if not engine_features().supports(feature):
            _skipped_for[feature] += 1
            pytest.skip(f"{engine_name()} has no {feature} (the test needs it)")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from tests.support.figures import lines

    terminalreporter.section(f"engine: {engine_name()}")
    if _skipped_for:
        for feature, count in sorted(_skipped_for.items()):
            terminalreporter.write_line(f"skipped, the engine has no {feature}: {count} tests")
    else:
        terminalreporter.write_line("no test skipped for a missing engine feature")
    if lines():
        terminalreporter.section("reliability figures")
        for line in lines():
            terminalreporter.write_line(line)


def table_names(client) -> set[str]:
    names: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        names.update(page["TableNames"])
    return names


def delete_tables(client, names) -> None:
    """Delete tables (turning deletion protection off first) and wait until they are gone."""
    for name in names:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            if client.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
                client.update_table(TableName=name, DeletionProtectionEnabled=False)
            client.delete_table(TableName=name)
    waiter = client.get_waiter("table_not_exists")
    for name in names:
        waiter.wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


@pytest.fixture
def endpoint_url(engine: str) -> Iterator[str]:
    """The session's endpoint; the tables and roles a test creates are deleted after it."""
    client, iam = session_client(), session_iam()
    before, roles_before = table_names(client), role_names(iam)
    yield engine
    delete_tables(client, table_names(client) - before)
    delete_roles(iam, role_names(iam) - roles_before)


_iam: list = []


def session_iam():
    """The session endpoint's IAM (`provision` makes tenant roles there), or None if it
    serves none (DynamoDB Local)."""
    if not _iam:
        from tenancy.connection import local_iam_client
        from tenancy.tenant_roles import serves_iam

        iam = local_iam_client(Target(os.environ[ENDPOINT_ENV], REGION, engine_name()))
        _iam.append(iam if serves_iam(iam) else None)
    return _iam[0]


def role_names(iam) -> set[str]:
    if iam is None:
        return set()
    return {
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
    }


def delete_roles(iam, names) -> None:
    for name in names:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)


@pytest.fixture
def dynamodb(endpoint_url: str):
    """A boto3 client talking HTTP to the session's endpoint."""
    return dynamodb_client(Target(endpoint_url, REGION, engine_name()))


@pytest.fixture
def settings():
    """The local stack's settings, read from Pulumi.local.yaml."""
    from tenancy.stack_file import StackFile

    return StackFile.load("local").settings()


@pytest.fixture
def tables(dynamodb, settings):
    """The local stack's tables, freshly provisioned on the session's endpoint."""
    from tenancy.provisioner import Provisioner
    from tenancy.tables import all_table_specs

    Provisioner(dynamodb).apply(all_table_specs(settings))
    return dynamodb


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A scratch copy of the project's Pulumi files that commands may edit."""
    import shutil

    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    monkeypatch.setenv("SALESTALK_PROJECT_DIR", str(tmp_path))
    return tmp_path
