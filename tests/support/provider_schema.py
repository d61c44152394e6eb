"""A vendored slice of pulumi-aws's package schema, and a validator for registered inputs.

The slice (tests/data/pulumi-aws-schema-slice.json) is shaped like pulumi-aws's own
`provider/cmd/pulumi-resource-aws/schema.json`: `resources` with `inputProperties` and
`requiredInputs`, `types` with object `properties`/`required` and string `enum`s, property
specs with `type`/`items`/`additionalProperties`/`$ref`/`oneOf` and `deprecationMessage`. It
holds only the resource types the program registers (RESOURCE_TOKENS) and every type they
reference, transitively.

Where it comes from: the installed `pulumi_aws` Python SDK, which is generated from that schema.
The wheel ships no schema (only `pulumi-plugin.json`), so `build_slice()` reads the facts the
code generator wrote into the SDK: wire names from `@pulumi.getter(name=...)`, types from the
getters' annotations, required inputs from the `*Args.__init__` signatures (no default),
deprecations from `@_utilities.deprecated(...)`, enums and resource tokens from
`@pulumi.type_token(...)`. The SDK records no token for object types; those are rebuilt with
the SDK's naming rule, `aws:<module>/<Name>:<Name>` for the class `<Name>Args`.

    .venv/bin/python -m tests.support.provider_schema --write   # regenerate the slice
    .venv/bin/python -m tests.support.provider_schema --check   # exit 1 and a diff if stale
"""

from __future__ import annotations

import argparse
import collections.abc
import difflib
import enum
import importlib
import importlib.metadata
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.type_token import get_type_token

PROJECT_DIR = Path(__file__).resolve().parents[2]
SLICE_PATH = PROJECT_DIR / "tests" / "data" / "pulumi-aws-schema-slice.json"
PACKAGE = "aws"
DISTRIBUTION = "pulumi-aws"
REGENERATE = ".venv/bin/python -m tests.support.provider_schema --write"

# Every resource type the program registers (the contract test fails on one missing here).
RESOURCE_TOKENS = (
    "aws:dynamodb/table:Table",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
)

ANY_REF = "pulumi.json#/Any"
TYPE_REF = "#/types/"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's wire value for "not known yet"
_PRIMITIVES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def installed_version() -> str:
    return importlib.metadata.version(DISTRIBUTION)


# --- Reading the installed SDK ----------------------------------------------------------------


def resource_class(token: str) -> type:
    """The SDK class of a resource token, e.g. pulumi_aws.dynamodb.Table for
    aws:dynamodb/table:Table; the class must carry exactly that token."""
    package, rest = token.split(":", 1)
    module_name, name = rest.split("/", 1)[0], rest.rsplit(":", 1)[1]
    module = importlib.import_module(f"pulumi_{package}.{module_name}")
    cls = getattr(module, name, None)
    if cls is None or get_type_token(cls) != token:
        raise LookupError(f"pulumi_{package}.{module_name} has no resource {token}")
    return cls


def args_class(token: str) -> type:
    cls = resource_class(token)
    args = getattr(sys.modules[cls.__module__], f"{cls.__name__}Args")
    if not pulumi._types.is_input_type(args):
        raise LookupError(f"{args.__qualname__} is not a Pulumi input type")
    return args


def object_token(cls: type) -> str:
    module = cls.__module__.split(".")[1]  # pulumi_aws.dynamodb._inputs -> dynamodb
    name = cls.__name__.removesuffix("Args")
    return f"{PACKAGE}:{module}/{name}:{name}"


def _getters(cls: type) -> Iterator[tuple[str, str, property]]:
    """(python name, wire name, property) of each Pulumi getter of an input type."""
    seen: dict[str, tuple[str, str, property]] = {}
    for base in reversed(cls.__mro__):
        for python_name, value in vars(base).items():
            if isinstance(value, property) and hasattr(value.fget, "_pulumi_name"):
                seen[python_name] = (python_name, value.fget._pulumi_name, value)
    yield from seen.values()


def wire_names(cls: type) -> set[str]:
    """The wire names of an SDK input or output type's properties."""
    return {wire_name for _, wire_name, _ in _getters(cls)}


def _globals(cls: type) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if base.__module__ in sys.modules:
            namespace.update(vars(sys.modules[base.__module__]))
    return namespace


def _deprecation(fget: Any) -> str | None:
    """The message of `@_utilities.deprecated(message)` on a getter, or None."""
    if "_pulumi_deprecated_callable" not in getattr(fget, "__dict__", {}):
        return None
    return str(inspect.getclosurevars(fget).nonlocals["message"])


def _is_wrapper(hint: Any) -> bool:
    """Awaitable[T] and Output[T]: the halves of pulumi.Input[T] that are not T itself."""
    origin = typing.get_origin(hint)
    return hint is pulumi.Output or origin is pulumi.Output or origin is collections.abc.Awaitable


def _members(hint: Any) -> list[Any]:
    """The alternatives a hint allows on the wire, without Input's wrappers and None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found: list[Any] = []
        for arg in typing.get_args(hint):
            if arg is type(None) or _is_wrapper(arg):
                continue
            for member in _members(arg):
                if member not in found:
                    found.append(member)
        return found
    return [hint]


class _Builder:
    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def spec(self, hint: Any) -> dict[str, Any]:
        members = _members(hint)
        if len(members) > 1:
            return {"oneOf": [self.spec(member) for member in members]}
        (hint,) = members
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint in _PRIMITIVES:
            return {"type": _PRIMITIVES[hint]}
        if hint is Any:
            return {"$ref": ANY_REF}
        if origin in (collections.abc.Sequence, list):
            return {"type": "array", "items": self.spec(args[0])}
        if origin in (collections.abc.Mapping, dict):
            return {"type": "object", "additionalProperties": self.spec(args[1])}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return {"$ref": TYPE_REF + self.enum(hint)}
        if isinstance(hint, type) and pulumi._types.is_input_type(hint):
            return {"$ref": TYPE_REF + self.object(hint)}
        raise TypeError(f"no schema type for {hint!r}")

    def enum(self, cls: type[enum.Enum]) -> str:
        token = get_type_token(cls)
        if token is None:
            raise TypeError(f"enum {cls.__qualname__} carries no type token")
        if token not in self.types:
            self.types[token] = {
                "type": _PRIMITIVES[type(next(iter(cls)).value)],
                "enum": [{"value": member.value} for member in cls],
            }
        return token

    def properties(self, cls: type) -> tuple[dict[str, Any], list[str]]:
        hints_of = _globals(cls)
        local = {"Output": pulumi.Output, "T": type(None)}  # what pulumi.Input's own refs need
        props: dict[str, Any] = {}
        wire_names: dict[str, str] = {}
        for python_name, wire_name, prop in _getters(cls):
            hint = typing.get_type_hints(prop.fget, globalns=hints_of, localns=local)["return"]
            spec = self.spec(hint)
            if doc := inspect.getdoc(prop.fget):
                spec["description"] = doc
            if message := _deprecation(prop.fget):
                spec["deprecationMessage"] = message
            props[wire_name] = spec
            wire_names[python_name] = wire_name
        required = [
            wire_names[name]
            for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if name in wire_names and parameter.default is inspect.Parameter.empty
        ]
        return props, sorted(required)

    def object(self, cls: type) -> str:
        token = object_token(cls)
        if token not in self.types:
            self.types[token] = {"type": "object"}  # placed first: types may refer to themselves
            props, required = self.properties(cls)
            self.types[token]["properties"] = props
            if required:
                self.types[token]["required"] = required
        return token


def build_slice() -> dict[str, Any]:
    """The slice as the installed pulumi_aws SDK describes it."""
    builder = _Builder()
    resources = {}
    for token in RESOURCE_TOKENS:
        props, required = builder.properties(args_class(token))
        resources[token] = {"inputProperties": props, "requiredInputs": required}
    version = installed_version()
    return {
        "name": PACKAGE,
        "version": version,
        "x-slice": {
            "of": "pulumi-aws's package schema (provider/cmd/pulumi-resource-aws/schema.json): "
            "the resource types the program registers and every type they reference",
            "derivedFrom": f"the pulumi_aws {version} Python SDK, which is generated from that "
            "schema; the wheel ships no schema.json (see README-pulumi-aws-schema.md)",
            "typeTokens": "resource and enum tokens as the SDK records them "
            "(@pulumi.type_token); object-type tokens rebuilt with the SDK naming rule "
            "aws:<module>/<Name>:<Name>",
            "regenerate": REGENERATE,
        },
        "resources": resources,
        "types": dict(sorted(builder.types.items())),
    }


def dumps(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_slice(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or SLICE_PATH).read_text(encoding="utf-8"))


def diff(vendored: Mapping[str, Any], generated: Mapping[str, Any], limit: int = 60) -> str:
    lines = list(
        difflib.unified_diff(
            dumps(vendored).splitlines(),
            dumps(generated).splitlines(),
            "vendored slice",
            "installed SDK",
            lineterm="",
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more diff lines"]
    return "\n".join(lines)


# --- Validating inputs ------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _matches_primitive(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":  # wire numbers are doubles: 5.0 is an integer
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and value == int(value)
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise ValueError(f"unknown schema type {kind!r}")


class Validator:
    """Checks inputs as registered (wire names, wire values) against the slice."""

    def __init__(self, schema: Mapping[str, Any]):
        self.schema = schema

    def resource(self, token: str, inputs: Mapping[str, Any]) -> list[str]:
        spec = self.schema["resources"].get(token)
        if spec is None:
            return [f"{token}: not in the schema slice (add it to RESOURCE_TOKENS, regenerate)"]
        return self._object(spec["inputProperties"], spec.get("requiredInputs", []), inputs, "")

    def _object(
        self,
        props: Mapping[str, Any],
        required: list[str],
        value: Mapping[str, Any],
        path: str,
    ) -> list[str]:
        problems = []
        where = f"{path}: " if path else ""
        for name in required:
            if value.get(name) is None:
                problems.append(f"{where}missing required input {name!r}")
        for name, item in value.items():
            if item is None:
                continue
            spec = props.get(name)
            at = f"{path}.{name}" if path else name
            if spec is None:
                problems.append(f"{where}unknown input property {name!r}")
                continue
            if "deprecationMessage" in spec:
                problems.append(f"{at}: deprecated input property: {spec['deprecationMessage']}")
            problems += self._value(spec, item, at)
        return problems

    def _value(self, spec: Mapping[str, Any], value: Any, path: str) -> list[str]:
        if value == _UNKNOWN:
            return []
        if "oneOf" in spec:
            tries = [self._value(option, value, path) for option in spec["oneOf"]]
            if any(not problems for problems in tries):
                return []
            # An alternative of the value's own kind (an object for a document type) says
            # what is wrong inside it; otherwise the value is of none of the kinds allowed.
            near = [p for p in tries if not any(x.startswith(f"{path}: expected") for x in p)]
            if len(near) == 1:
                return near[0]
            kinds = " or ".join(_describe(option) for option in spec["oneOf"])
            return [f"{path}: expected {kinds}, got {_kind(value)}"]
        ref = spec.get("$ref")
        if ref == ANY_REF:
            return []
        if ref is not None:
            return self._typed(ref.removeprefix(TYPE_REF), value, path)
        kind = spec["type"]
        if kind == "array":
            if not isinstance(value, list | tuple):
                return [f"{path}: expected array, got {_kind(value)}"]
            problems = []
            for index, item in enumerate(value):
                problems += self._value(spec["items"], item, f"{path}[{index}]")
            return problems
        if kind == "object":
            if not isinstance(value, Mapping):
                return [f"{path}: expected object, got {_kind(value)}"]
            problems = []
            for key, item in value.items():
                problems += self._value(spec["additionalProperties"], item, f"{path}.{key}")
            return problems
        if not _matches_primitive(kind, value):
            return [f"{path}: expected {kind}, got {_kind(value)} {value!r}"]
        return []

    def _typed(self, token: str, value: Any, path: str) -> list[str]:
        spec = self.schema["types"].get(token)
        if spec is None:
            return [f"{path}: type {token} is not in the schema slice"]
        if "enum" in spec:
            allowed = [choice["value"] for choice in spec["enum"]]
            if not _matches_primitive(spec["type"], value) or value not in allowed:
                return [f"{path}: {value!r} is not one of {token}'s values {allowed}"]
            return []
        if not isinstance(value, Mapping):
            return [f"{path}: expected object ({token}), got {_kind(value)}"]
        return self._object(spec.get("properties", {}), spec.get("required", []), value, path)


def _describe(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        return spec["$ref"].removeprefix(TYPE_REF)
    if spec.get("type") == "array":
        return f"array of {_describe(spec['items'])}"
    return spec.get("type", "?")


# --- Command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.provider_schema",
        description="Regenerate or check the vendored pulumi-aws schema slice.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help=f"write {SLICE_PATH.name}")
    mode.add_argument("--check", action="store_true", help="exit 1 if the slice is stale")
    args = parser.parse_args(argv)
    generated = build_slice()
    if args.write:
        SLICE_PATH.parent.mkdir(parents=True, exist_ok=True)
        SLICE_PATH.write_text(dumps(generated), encoding="utf-8")
        size = SLICE_PATH.stat().st_size
        print(
            f"wrote {SLICE_PATH}: pulumi-aws {generated['version']}, "
            f"{len(generated['resources'])} resources, {len(generated['types'])} types, "
            f"{size:,} bytes"
        )
        return 0
    vendored = load_slice()
    if vendored == generated:
        print(f"{SLICE_PATH.name} matches pulumi-aws {generated['version']}")
        return 0
    print(diff(vendored, generated))
    print(f"stale: regenerate with `{REGENERATE}` and review the diff")
    return 1


if __name__ == "__main__":
    sys.exit(main())
