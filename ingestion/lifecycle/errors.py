"""The errors of tenant operations, each saying what to do next; the command line maps them
to exit statuses once (`tenancy.cli.tenants`)."""

from __future__ import annotations

from tenancy.errors import Failed, Refused, SalesTalkError


class LifecycleError(SalesTalkError, RuntimeError):
    """A tenant operation that cannot go on as asked; the message says what to do."""


class OperationRefused(Refused, LifecycleError):
    """Refused before anything changed (a usage problem: exit 2)."""


class OperationFailed(Failed, LifecycleError):
    """The operation ran and stopped part-way or found a difference; running it again (after
    what the message says) finishes it (exit 1)."""
