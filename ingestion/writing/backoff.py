"""Full-jitter exponential backoff for what botocore does not retry (item-level throttling)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenancy.budgets import RETRY_POLICY, RetryPolicy
from tenancy.errors import Failed


class RetryBudgetExhaustedError(Failed, RuntimeError):
    """Items were still unprocessed when the throttling budget ran out."""

    def __init__(self, operation: str, table: str, pending: int, retries: int, slept: float):
        self.operation = operation
        self.table = table
        self.pending = pending
        self.retries = retries
        self.slept = slept
        super().__init__(
            f"{operation} on {table}: {pending} items still unprocessed after {retries} "
            f"retries ({slept:.1f} s of backoff); DynamoDB kept throttling"
        )


@dataclass
class Backoff:
    """One retry sequence: call `wait()` before each retry; it raises when the budget is spent.

    Full jitter: sleep = random(0, min(cap, base * 2**attempt)), which spreads retrying clients
    apart instead of letting them retry in step.
    """

    operation: str
    table: str
    policy: RetryPolicy = RETRY_POLICY
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0
    slept: float = 0.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.policy.cap_seconds, self.policy.base_seconds * 2**attempt)
        return self.rng.uniform(0, ceiling)

    def wait(self, pending: int) -> None:
        if self.retries >= self.policy.throttle_retries:
            raise RetryBudgetExhaustedError(
                self.operation, self.table, pending, self.retries, self.slept
            )
        seconds = self.delay(self.retries)
        self.retries += 1
        self.slept += seconds
        self.sleep(seconds)
