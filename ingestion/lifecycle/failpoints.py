"""Named points where a test may kill a tenant operation, as `kill -9` would, to prove that
running it again finishes it (the technique of FoundationDB's and etcd's failpoints).

`SALESTALK_FAILPOINT=move:fenced salestalk tenant move ...` sends the process SIGKILL when it
reaches that point: no `finally`, no lease released, exactly a crash. Unset (always, outside
the tests), a failpoint is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

FAILPOINT_ENV = "SALESTALK_FAILPOINT"


def failpoint(name: str) -> None:
    """Die here, at once, if the environment names this point."""
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
