"""MiniStack: a pure-Python LocalStack drop-in (MIT) serving DynamoDB, IAM, STS and KMS on one
port, installed with pip alone and needing no Java.

It pins a botocore release the platform's boto3 cannot use, so it is installed into a virtual
environment of its own under `.salestalk/engines/` from a full pinned requirements file. It
binds every interface unless told otherwise: it is started on loopback (`BIND_HOST`). Its state
is kept in memory unless its own persistence is asked for (`PERSIST_STATE`, `STATE_DIR`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tenancy.local import dynamodb_local, isolated_env
from tenancy.local.dynamodb_local import EngineUnavailableError, Launch

VERSION = "1.5.33"
REQUIREMENTS = Path(__file__).with_name("ministack-requirements.txt")  # pip freeze of a good set
SERVICES = ("dynamodb", "iam", "sts", "kms")
MARKER = b"ministack"


def installed_dir(state_dir: Path) -> Path:
    return dynamodb_local.engines_dir(state_dir) / f"ministack-{VERSION}"


def is_installed(state_dir: Path) -> bool:
    return isolated_env.is_installed(installed_dir(state_dir))


def install(state_dir: Path) -> Path:
    """Install the pinned MiniStack with this Python (idempotent; all or nothing)."""
    target = installed_dir(state_dir)
    if not is_installed(state_dir):
        isolated_env.install_env(target, Path(sys.executable), REQUIREMENTS, "MiniStack")
        isolated_env.mark_installed(target, VERSION)
    return target


def data_dir(state_dir: Path, port: int) -> Path:
    return state_dir / "ministack" / str(port)


def launch(state_dir: Path, port: int, data: Path | None, host: str) -> Launch:
    """How to start MiniStack on `host:port`; with `data`, its own persistence keeps its state
    there across a stop and start."""
    if not is_installed(state_dir):
        raise EngineUnavailableError(
            "MiniStack is not installed: run `salestalk local install --engine ministack` "
            f"(pip installs ministack {VERSION} under {installed_dir(state_dir)})"
        )
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
