"""Pulumi stack files (`Pulumi.<stack>.yaml`) read and edited without the Pulumi CLI.

The CLI commands use the very file `pulumi up` uses, so a roster edited with
`salestalk roster add` is the roster Pulumi deploys. Edits go through ruamel.yaml's round-trip
mode, which keeps the file's comments, order and layout.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tenancy.roster import Tenant, parse_roster
from tenancy.settings import NAMESPACE, TENANTS_KEY, StackSettings

PROJECT_FILE = "Pulumi.yaml"
PROJECT_NAME = "salestalk"
PROJECT_DIR_ENV = "SALESTALK_PROJECT_DIR"


class StackFileError(ValueError):
    """The stack file is missing or is not a usable Pulumi stack file."""


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding this project's Pulumi.yaml: $SALESTALK_PROJECT_DIR, or the nearest
    folder at or above `start` (default: the current directory)."""
    if os.environ.get(PROJECT_DIR_ENV):
        candidates = [Path(os.environ[PROJECT_DIR_ENV])]
    else:
        here = (start or Path.cwd()).resolve()
        candidates = [here, *here.parents]
    for folder in candidates:
        project_file = folder / PROJECT_FILE
        if project_file.is_file() and _project_name(project_file) == PROJECT_NAME:
            return folder
    raise StackFileError(
        f"no {PROJECT_FILE} of project {PROJECT_NAME!r} found in {candidates[0]} or above; "
        f"run from the project folder or set {PROJECT_DIR_ENV}"
    )


def _project_name(project_file: Path) -> str | None:
    try:
        data = YAML(typ="safe").load(project_file.read_text())
    except (OSError, YAMLError):
        return None
    return data.get("name") if isinstance(data, dict) else None


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments and layout survive a load/dump cycle
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


@dataclass
class StackFile:
    """One stack's config file, loaded for reading and (round-trip) editing."""

    stack: str
    path: Path
    document: Any

    @classmethod
    def load(cls, stack: str, project_dir: Path | None = None) -> StackFile:
        folder = project_dir or find_project_dir()
        path = folder / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            available = sorted(p.name for p in folder.glob("Pulumi.*.yaml"))
            raise StackFileError(
                f"stack {stack!r} has no file {path.name} in {folder} "
                f"(stack files there: {', '.join(available) or 'none'})"
            )
        try:
            document = _yaml().load(path.read_text())
        except YAMLError as exc:
            raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
        if document is None:
            document = {}
        if not isinstance(document, Mapping) or not isinstance(document.get("config", {}), Mapping):
            raise StackFileError(f"{path.name}: expected a mapping with a `config:` mapping")
        return cls(stack=stack, path=path, document=document)

    @property
    def config(self) -> Mapping[str, Any]:
        return self.document.get("config") or {}

    def plain_config(self) -> dict[str, Any]:
        """Every config value as plain Python data (dicts, lists, str, bool, numbers)."""
        return {str(key): _plain(value) for key, value in self.config.items()}

    def pulumi_config_values(self) -> dict[str, str]:
        """Config as the Pulumi CLI hands it to a program: scalars as text, objects as JSON
        (what Pulumi's mocks need to run the program with this stack's settings)."""
        values = {}
        for key, plain in self.plain_config().items():
            if isinstance(plain, bool):
                values[key] = "true" if plain else "false"
            elif isinstance(plain, dict | list):
                values[key] = json.dumps(plain)
            else:
                values[key] = str(plain)
        return values

    def namespace(self, namespace: str) -> dict[str, Any]:
        """The values of one config namespace, keys without the `namespace:` prefix."""
        prefix = f"{namespace}:"
        return {
            key.removeprefix(prefix): value
            for key, value in self.plain_config().items()
            if key.startswith(prefix)
        }

    def settings(self) -> StackSettings:
        return StackSettings.from_values(
            self.stack, self.namespace(NAMESPACE), source=self.path.name
        )

    def add_tenant(self, tenant: Tenant) -> StackSettings:
        """Append a tenant to the roster and save, keeping comments and layout.

        The whole new roster is validated first, so a duplicate id or a bad entry leaves the
        file untouched.
        """
        key = f"{NAMESPACE}:{TENANTS_KEY}"
        current = _plain(self.config.get(key)) or []
        parse_roster([*current, tenant.to_config()], source=self.path.name)
        config = self.document.setdefault("config", {})
        if config.get(key) is None:
            config[key] = []
        config[key].append(tenant.to_config())
        buffer = io.StringIO()
        _yaml().dump(self.document, buffer)
        self.path.write_text(buffer.getvalue())
        return self.settings()


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts/lists/scalars."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)
