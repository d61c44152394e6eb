"""Pulumi stack files (`Pulumi.<stack>.yaml`) read and edited without the Pulumi CLI.

The CLI commands use the very file `pulumi up` uses, so a roster edited with
`salestalk roster add` is the roster Pulumi deploys. Edits go through ruamel.yaml's round-trip
mode, which keeps the file's comments, order and layout.

A stack file cannot hang or crash a command: YAML nested deeper than MAX_DEPTH levels, or
aliases that would expand to more than MAX_VALUES values (a "billion laughs" file), are refused
with a StackFileError when the file is loaded.
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
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import YAMLError

from tenancy.roster import Tenant, parse_roster
from tenancy.settings import NAMESPACE, TENANTS_KEY, StackSettings

PROJECT_FILE = "Pulumi.yaml"
PROJECT_NAME = "salestalk"
PROJECT_DIR_ENV = "SALESTALK_PROJECT_DIR"

# Far beyond any real stack file (1,250 tenants, an account's worth, are about 12,000 values),
# far below what would take a command more than a moment.
MAX_DEPTH = 64
MAX_VALUES = 100_000


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
    yaml = YAML(typ="safe")  # builds aliases as shared objects: only `name` is read
    yaml.max_depth = MAX_DEPTH
    try:
        data = yaml.load(project_file.read_text())
    except (OSError, YAMLError, RecursionError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments and layout survive a load/dump cycle
    yaml.max_depth = MAX_DEPTH  # the composer refuses deeper nesting before it recurses
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
        except MaxDepthExceededError as exc:
            where = f", line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
            raise StackFileError(_too_deep(path.name + where)) from None
        except RecursionError:
            raise StackFileError(_too_deep(path.name)) from None
        except YAMLError as exc:
            raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
        if document is None:
            document = {}
        if not isinstance(document, Mapping) or not isinstance(document.get("config", {}), Mapping):
            raise StackFileError(f"{path.name}: expected a mapping with a `config:` mapping")
        loaded = cls(stack=stack, path=path, document=document)
        loaded.plain_config()  # refuses runaway aliases now, as a StackFileError
        return loaded

    @property
    def config(self) -> Mapping[str, Any]:
        return self.document.get("config") or {}

    def plain_config(self) -> dict[str, Any]:
        """Every config value as plain Python data (dicts, lists, str, bool, numbers)."""
        return _plain(self.config, self.path.name)

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
        current = _plain(self.config.get(key), self.path.name) or []
        parse_roster([*current, tenant.to_config()], source=self.path.name)
        config = self.document.setdefault("config", {})
        if config.get(key) is None:
            config[key] = []
        config[key].append(tenant.to_config())
        self._save()
        return self.settings()

    def update_tenant(self, tenant_id: str, changes: Mapping[str, Any]) -> StackSettings:
        """Set (or, with None, remove) fields of one roster entry and save, keeping comments
        and layout. The stack's settings are validated with the change first, so a change
        that would make the roster invalid leaves the file untouched."""
        key = f"{NAMESPACE}:{TENANTS_KEY}"
        entries = self.config.get(key) or []
        entry = next((e for e in entries if e.get("tenantId") == tenant_id), None)
        if entry is None:
            self.settings().roster.get(tenant_id)  # UnknownTenantError, naming the known ids
        plain = _plain(entries, self.path.name)
        for candidate in plain:
            if candidate.get("tenantId") == tenant_id:
                candidate.update(changes)
                for field in [f for f, value in changes.items() if value is None]:
                    del candidate[field]
        values = {**self.namespace(NAMESPACE), TENANTS_KEY: plain}
        StackSettings.from_values(self.stack, values, source=self.path.name)
        for field, value in changes.items():
            if value is None:
                entry.pop(field, None)
            else:
                entry[field] = value
        self._save()
        return self.settings()

    def _save(self) -> None:
        buffer = io.StringIO()
        _yaml().dump(self.document, buffer)
        self.path.write_text(buffer.getvalue())


def _too_deep(where: str) -> str:
    return f"{where}: values nest deeper than {MAX_DEPTH} levels; a stack file needs a handful"


def _plain(value: Any, source: str) -> Any:
    """ruamel's commented containers as plain dicts/lists/scalars, without recursion.

    An alias is a reference to its anchor's value, so a small file can stand for an enormous
    one (nine levels of nine aliases are 387 million values): the conversion counts what it
    produces and stops at MAX_VALUES, and at MAX_DEPTH (a recursive alias is infinitely deep).
    """
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]  # value, into, at, depth
    produced = 1
    while pending:
        item, into, at, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise StackFileError(_too_deep(source))
        if isinstance(item, Mapping):
            children = [(str(key), child) for key, child in item.items()]
            into[at] = dict.fromkeys(key for key, _ in children)
        elif isinstance(item, list):
            children = list(enumerate(item))
            into[at] = [None] * len(children)
        else:
            into[at] = _scalar(item)
            continue
        produced += len(children)
        if produced > MAX_VALUES:
            raise StackFileError(
                f"{source}: its YAML aliases expand to more than {MAX_VALUES:,} values "
                "(aliases of aliases?); a stack file has far fewer"
            )
        # Reversed, so that children are converted in document order (a repeated key: last wins).
        pending.extend((child, into[at], key, depth + 1) for key, child in reversed(children))
    return root[0]


def _scalar(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)
