"""MiniStack, the default local engine: a pure-Python LocalStack drop-in (MIT) serving
DynamoDB, IAM, STS and KMS on one port, installed with pip alone and needing no Java. It is
installed on first use, so a fresh clone's first `salestalk up` or test run needs no step.

It pins a botocore release the platform's boto3 cannot use, so it is installed into a virtual
environment of its own under `.salestalk/engines/` from a full pinned requirements file. It
binds every interface unless told otherwise: it is started on loopback (`BIND_HOST`). Its state
is kept in memory unless its own persistence is asked for (`PERSIST_STATE`, `STATE_DIR`),
which saves it when the engine stops (a SIGKILL loses what came since its start).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tenancy.local import isolated_env
from tenancy.local.engine_kind import EngineKind, Launch, engines_dir

VERSION = "1.5.33"
REQUIREMENTS = Path(__file__).with_name("ministack-requirements.txt")  # pip freeze of a good set
SERVICES = ("dynamodb", "iam", "sts", "kms")
# Its command line, NUL-separated as /proc shows it: `python -m ministack`, not any process that
# merely names a ministack file (an editor, `pytest tests/.../test_ministack.py`).
MARKER = b"\0-m\0ministack\0"


def installed_dir(state_dir: Path) -> Path:
    return engines_dir(state_dir) / f"ministack-{VERSION}"


def is_installed(state_dir: Path) -> bool:
    return isolated_env.is_installed(installed_dir(state_dir))


def install(state_dir: Path, log=print) -> Path:
    """Install the pinned MiniStack with this Python (idempotent; all or nothing)."""
    target = installed_dir(state_dir)
    with isolated_env.install_lock(target):
        if not is_installed(state_dir):
            log(f"installing MiniStack {VERSION} (once, with pip; about 15 s) into {target}")
            isolated_env.install_env(target, Path(sys.executable), REQUIREMENTS, "MiniStack")
            isolated_env.mark_installed(target, VERSION)
    return target


def data_dir(state_dir: Path, port: int) -> Path:
    return state_dir / "ministack" / str(port)


def launch(state_dir: Path, port: int, data: Path | None, host: str) -> Launch:
    """How to start MiniStack on `host:port`; with `data`, its own persistence keeps its state
    there across a stop and start. Installs it first if it is not (pip alone, once)."""
    if not is_installed(state_dir):
        install(state_dir, log=lambda line: print(line, file=sys.stderr))
    env = {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": host,  # loopback only: it accepts any credentials
        "SERVICES": ",".join(SERVICES),
        "LOG_LEVEL": "WARNING",  # a line per request otherwise
        "PERSIST_STATE": "1" if data else "0",
    }
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        env["STATE_DIR"] = str(data.resolve())
    python = isolated_env.python_of(installed_dir(state_dir))
    return Launch(argv=[str(python), "-m", "ministack"], cwd=state_dir, env=env)


KIND = EngineKind(
    name="MiniStack",
    version=VERSION,
    marker=MARKER,
    needs="pip alone (an environment of its own: it pins botocore)",
    installed_dir=installed_dir,
    is_installed=is_installed,
    install=install,
    launch=launch,
    data_dir=data_dir,
)
