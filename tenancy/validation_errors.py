"""pydantic's validation errors in this project's words: one reason per field, the same way
for a roster entry, a stack setting and an ingested record.

pydantic's messages are written for developers ("Field required", "Value error, ..."); people
fixing a stack file or a data file read the field and a reason that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

# One of `ValidationError.errors()` (pydantic_core's ErrorDetails, a typed dict).
ErrorDetails = Mapping[str, Any]

# Reasons for error types whose pydantic message would not tell a user what to change.
_REASONS: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field (unknown fields are refused)",
}

# A rule that explains an error better than pydantic can, given the error.
Rule = Callable[[ErrorDetails], str | None]


def reason(error: ErrorDetails, rules: tuple[Rule, ...] = ()) -> str:
    """The reason to print for one error: a caller's rule first, then the project's wording,
    then pydantic's own message (a validator's text without its "Value error, " prefix)."""
    for rule in rules:
        explained = rule(error)
        if explained is not None:
            return explained
    return _REASONS.get(error["type"]) or error["msg"].removeprefix("Value error, ")


def field_errors(
    exc: ValidationError, rules: tuple[Rule, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(location, reason) of every error, in pydantic's order."""
    for error in exc.errors():
        yield tuple(error["loc"]), reason(error, rules)


def dotted(location: tuple[Any, ...]) -> str:
    """A field's location as people write it: `classification.confidence`, `references.0`."""
    return ".".join(str(part) for part in location)
