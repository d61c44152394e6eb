"""The one root of every error the platform raises on purpose, and the exit status each means.

Each error class of the platform derives from `SalesTalkError` (beside the built-in base it
always had, so `except ValueError` code keeps working) and says what it means for a command
with `exit_status`: 2 when the request was refused before anything changed (bad input, a
usage or configuration problem: fix and run again), 1 when the work ran and failed part-way
or found something wrong (run again once the cause is gone). The command line
(`tenancy.cli.app`) turns any of them into one line on stderr and that status, once.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# `salestalk local status` when nothing runs, as `systemctl status` and `pg_ctl status` say it
EXIT_NOT_RUNNING = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports `cat big | head`


class SalesTalkError(Exception):
    """An error the platform raises on purpose: its message is for the user, as it stands."""

    exit_status = EXIT_FAILED


class Refused(SalesTalkError):
    """Refused before anything changed: bad input, usage or configuration (exit 2)."""

    exit_status = EXIT_USAGE


class Failed(SalesTalkError):
    """The work ran and stopped part-way, or found something wrong (exit 1)."""

    exit_status = EXIT_FAILED
