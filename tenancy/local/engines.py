"""The local engines `salestalk local` can run, by the name `--engine` takes; the first is the
default. Each is described by its module's `KIND` (`tenancy.local.engine_kind.EngineKind`).

The default was chosen on the figures of `python -m benchmarks --only engines` (README:
Engines): MiniStack is the one engine that passes every engine check, installs with pip alone
and ingests faster than the moto server it replaced.
"""

from __future__ import annotations

from enum import StrEnum

from tenancy.local import dynamodb_local, localstack, ministack
from tenancy.local.engine_kind import EngineKind


class Engine(StrEnum):
    MINISTACK = "ministack"  # the default: pure Python (pip alone), DynamoDB, IAM, STS, KMS
    DYNAMODB_LOCAL = "dynamodb-local"  # Amazon's own engine (Java): the reference
    LOCALSTACK = "localstack"  # LocalStack's runtime: DynamoDB Local plus IAM, STS and KMS


KINDS: dict[Engine, EngineKind] = {
    Engine.MINISTACK: ministack.KIND,
    Engine.DYNAMODB_LOCAL: dynamodb_local.KIND,
    Engine.LOCALSTACK: localstack.KIND,
}
DEFAULT_ENGINE = Engine.MINISTACK


def kind(engine: Engine | str) -> EngineKind:
    return KINDS[Engine(engine)]
