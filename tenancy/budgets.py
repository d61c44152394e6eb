"""Every retry budget, timeout and wait of the platform, in one place: to change how long
something waits or how often it retries, change it here (each module that waits imports its
figure from here, under the name it always had).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- requests to DynamoDB (every client: `tenancy.connection.client_config`) -------------------
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class RetryPolicy:
    """The retry budgets of the platform (from the seed design), defined once.

    Request-level failures (a connection reset, a timeout, a whole request throttled) are
    retried by botocore's standard mode, which uses jittered exponential backoff and never
    retries validation errors or failed conditions: it gets `network_retries`. What botocore
    cannot see is item-level throttling inside a successful response (BatchWriteItem's
    UnprocessedItems, BatchGetItem's UnprocessedKeys, throttled transaction items): our own
    code retries those with full jitter, `base_seconds` doubling up to `cap_seconds`, at most
    `throttle_retries` times.
    """

    network_retries: int = 5
    throttle_retries: int = 10
    base_seconds: float = 0.1
    cap_seconds: float = 5.0

    def botocore_retries(self) -> dict[str, Any]:
        return {"mode": "standard", "total_max_attempts": self.network_retries + 1}


RETRY_POLICY = RetryPolicy()

# --- the command line ------------------------------------------------------------------------
SLOW_ANSWER_SECONDS = 5.0  # an endpoint slower than this to answer a probe is called slow

# --- provisioning (`tenancy.provisioner`) ----------------------------------------------------
TABLE_POLL_SECONDS = 2.0  # between DescribeTable calls while a table becomes ACTIVE
TABLE_WAIT_TIMEOUT_SECONDS = 600.0
# DynamoDB allows about 500 table operations in progress per account and region; a group of
# creations leaves room for everything else the account is doing meanwhile.
CONCURRENT_CREATES = 50

# --- the stack file's lock (`tenancy.stack_file`) --------------------------------------------
STACK_LOCK_TIMEOUT_SECONDS = 30.0  # a command waits this long for another to finish its edit
STACK_LOCK_POLL_SECONDS = 0.05

# --- ingest leases (`ingestion.writing.lease`) ----------------------------------------------
LEASE_SECONDS = 30.0  # a writer's lease expires this long after its last renewal
LEASE_RENEW_BELOW_SECONDS = 20.0  # renewed before writing once less than this is left
LEASE_WAIT_SECONDS = 600.0  # how long an ingest waits for another to finish before giving up
LEASE_POLL_SECONDS = 0.5
# How far ahead of this host's clock another writer's host may be: a lease whose expiry is
# further ahead than a lease lasts plus this was made by no writer, and may be taken.
MAX_CLOCK_SKEW_SECONDS = 600.0

# --- tenant operations (`ingestion.lifecycle.fencing`) ---------------------------------------
# How long a move, export or erase waits for the tenant's ingests to finish before it gives up.
OPERATION_WAIT_SECONDS = 300.0

# --- local engines (`tenancy.local.endpoint`) ------------------------------------------------
ENGINE_START_TIMEOUT_SECONDS = 90.0  # LocalStack on a busy machine; the others take seconds
ENGINE_STOP_TIMEOUT_SECONDS = 30.0  # LocalStack saves its state and stops its children first
ENGINE_REAP_SECONDS = 5.0  # after a SIGKILL: the kernel ends it at once; we wait to reap it
