"""Where a stack's DynamoDB lives and how to talk to it safely.

The endpoint comes from the stack file's `aws:endpoints` (the same one `pulumi up` uses), and
the standard AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL variables override it. A stack
without a local endpoint is real AWS: commands refuse it unless explicitly allowed, and the
stack file's test credentials are only ever sent to a local endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from tenancy.stack_file import StackFile

ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")

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


class RealAwsRefusedError(RuntimeError):
    """A command meant for a local endpoint was pointed at real AWS without being allowed to."""


@dataclass(frozen=True)
class Target:
    """A resolved DynamoDB target: endpoint (None = real AWS), region and where it came from."""

    endpoint_url: str | None
    region: str
    source: str
    local_access_key: str | None = None
    local_secret_key: str | None = None

    @property
    def is_local(self) -> bool:
        """Any endpoint that is not AWS's own (LocalStack may run under any host name)."""
        if not self.endpoint_url:
            return False
        host = (urlsplit(self.endpoint_url).hostname or "").lower().rstrip(".")
        aws = host.endswith(AWS_HOST_SUFFIXES) or host in {s.lstrip(".") for s in AWS_HOST_SUFFIXES}
        return bool(host) and not aws

    def describe(self) -> str:
        where = self.endpoint_url or f"real AWS DynamoDB in {self.region}"
        return f"{where} (from {self.source})"


def resolve_target(stack_file: StackFile, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    aws = stack_file.namespace("aws")
    region = str(aws.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "")
    if not region:
        raise ValueError(f"{stack_file.path.name}: set `aws:region`")
    endpoint, source = None, stack_file.path.name
    for variable in ENDPOINT_ENV_VARS:
        if env.get(variable):
            endpoint, source = env[variable], variable
            break
    else:
        endpoint = _stack_endpoint(aws.get("endpoints"))
    return Target(
        endpoint_url=endpoint,
        region=region,
        source=source,
        local_access_key=_text(aws.get("accessKey")),
        local_secret_key=_text(aws.get("secretKey")),
    )


def _stack_endpoint(endpoints: Any) -> str | None:
    if isinstance(endpoints, Mapping):
        endpoints = [endpoints]
    for entry in endpoints or []:
        if isinstance(entry, Mapping) and entry.get("dynamodb"):
            return str(entry["dynamodb"])
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def client_config(policy: RetryPolicy = RETRY_POLICY) -> Config:
    return Config(
        retries=policy.botocore_retries(),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


def dynamodb_client(target: Target, *, allow_aws: bool = False):
    """A boto3 DynamoDB client for the target; real AWS only when `allow_aws` is set."""
    if not target.is_local and not allow_aws:
        raise RealAwsRefusedError(
            f"refusing to touch {target.describe()}: this command is meant for a local "
            "endpoint. Set `aws:endpoints` in the stack file or AWS_ENDPOINT_URL_DYNAMODB, "
            "or pass --allow-aws to use real AWS with your own credentials."
        )
    kwargs: dict[str, Any] = {"region_name": target.region, "config": client_config()}
    if target.is_local:
        kwargs["endpoint_url"] = target.endpoint_url
        # Local endpoints get the stack's (test) credentials, or dummies: never the user's own.
        kwargs["aws_access_key_id"] = target.local_access_key or "test"
        kwargs["aws_secret_access_key"] = target.local_secret_key or "test"
    elif target.endpoint_url:
        kwargs["endpoint_url"] = target.endpoint_url
    return boto3.session.Session().client("dynamodb", **kwargs)
