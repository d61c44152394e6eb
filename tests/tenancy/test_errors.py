"""One error hierarchy: every error the platform raises on purpose has one root and says the
exit status it means, and the command line turns any of them into one line and that status."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import ingestion
import tenancy
from tenancy.cli import main
from tenancy.errors import EXIT_FAILED, EXIT_USAGE, Failed, Refused, SalesTalkError

# Raised and caught inside one module, never seen by a user: not part of the hierarchy.
INTERNAL = {
    "ingestion.records.sources.DuplicateKeyError",  # becomes a rejected record naming the key
    "ingestion.writing.writer.ChunkStoppedError",  # carries a chunk's cause out of its thread
}


def _error_classes() -> dict[str, type[BaseException]]:
    found = {}
    for package in (tenancy, ingestion):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module_info.name.endswith(".__main__"):  # running it is what importing does
                continue
            module = importlib.import_module(module_info.name)
            for name, value in vars(module).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, Exception)
                    and value.__module__ == module.__name__
                ):
                    found[f"{module.__name__}.{name}"] = value
    return found


def test_every_error_of_the_platform_has_the_one_root_and_an_exit_status():
    errors = _error_classes()
    assert len(errors) > 25  # the walk found the packages' errors
    outside = sorted(
        name
        for name, error in errors.items()
        if not issubclass(error, SalesTalkError) and name not in INTERNAL
    )
    assert outside == []
    for name, error in errors.items():
        if issubclass(error, SalesTalkError):
            assert error.exit_status in (EXIT_FAILED, EXIT_USAGE), name


def test_refused_means_2_and_failed_means_1_whatever_builtin_base_it_keeps():
    from ingestion.lifecycle.errors import OperationFailed, OperationRefused
    from tenancy.provisioner import OwnershipError, ProvisionError
    from tenancy.roster import RosterError

    assert issubclass(RosterError, ValueError) and RosterError.exit_status == EXIT_USAGE
    assert OwnershipError.exit_status == EXIT_USAGE  # refused, though a ProvisionError
    assert ProvisionError.exit_status == EXIT_FAILED
    assert (OperationRefused.exit_status, OperationFailed.exit_status) == (2, 1)
    assert issubclass(Refused, SalesTalkError) and issubclass(Failed, SalesTalkError)


@pytest.mark.parametrize("error", [Refused, Failed])
def test_the_command_line_maps_any_of_them_once_to_one_line(error, monkeypatch, capsys):
    import tenancy.cli.local as local_commands

    def raising(args):
        raise error("the tenant's table is owned by another stack")

    monkeypatch.setattr(local_commands, "cmd_local_status", raising)  # bound as it is built
    assert main(["local", "status", "--port", "4566"]) == error.exit_status
    err = capsys.readouterr().err
    assert err == "salestalk: error: the tenant's table is owned by another stack\n"
