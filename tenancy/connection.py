"""Where a stack's DynamoDB lives and how to talk to it safely.

The endpoint comes from the stack file's `aws:endpoints` (the same one `pulumi up` uses), and
the standard AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL variables override it. An endpoint is
local only when its host is this machine's loopback or a host the user names as local
(`salestalk:localHosts`, SALESTALK_LOCAL_HOSTS). Anything else is real AWS: commands refuse it
unless explicitly allowed, then use the user's own credentials and never plain HTTP; the stack
file's test credentials are only ever sent to a local endpoint.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config

from tenancy.budgets import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, RETRY_POLICY, RetryPolicy
from tenancy.errors import Refused
from tenancy.settings import LOCAL_HOSTS_KEY, NAMESPACE, local_host, parse_local_hosts
from tenancy.stack_file import StackFile

ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL")
LOCAL_HOSTS_ENV_VAR = "SALESTALK_LOCAL_HOSTS"
# scheme://host[:port][/path], nothing else: no userinfo (`localhost@evil.example`), and no
# character on which Python's urlsplit and urllib3 (which makes the connection) could disagree
# about the host (a backslash, a tab, a percent-encoded or non-ASCII host).
_AUTHORITY = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")
_URL_CHARACTERS = re.compile(r"[!#-\[\]-~]+")  # printable ASCII without space, quote, backslash


def is_loopback_host(host: str | None) -> bool:
    """True only for this machine's loopback: `localhost` (any case), any 127.0.0.0/8 address
    and ::1 (brackets allowed). The one rule for both which endpoints are local and where the
    embedded endpoint can be served. `localhost.` is not: glibc skips /etc/hosts for it and
    asks DNS, which may answer anything; neither is any other name (`localhost.evil.example`,
    `127.0.0.1.nip.io`) nor a non-canonical address (`127.1`), which only DNS could resolve."""
    name = (host or "").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def loopback_port(url: str | None) -> int | None:
    """The port of an endpoint URL on this machine's loopback, or None if it is elsewhere:
    only there can this project serve the embedded endpoint itself (hosts named local in
    `salestalk:localHosts` or SALESTALK_LOCAL_HOSTS never count here)."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:  # not a port number
        return None
    return port if is_loopback_host(parts.hostname) else None


class RealAwsRefusedError(Refused, RuntimeError):
    """A command meant for a local endpoint was pointed at real AWS without being allowed to."""


class EndpointSettingError(Refused, ValueError):
    """The stack's endpoint, region or local hosts cannot be used as they are set."""


class InsecureEndpointError(RealAwsRefusedError):
    """A non-local endpoint given with plain http://: credentials and data would go unencrypted."""


def endpoint_host(url: str) -> str:
    """The host an endpoint URL connects to (lowercase, IPv6 without brackets); ValueError for
    anything but scheme://host[:port][/path], so that the host judged here is the host dialled."""
    if not _URL_CHARACTERS.fullmatch(url):
        raise ValueError("it holds a space, a quote, a backslash or a non-ASCII character")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValueError("it must start with http:// or https://")
    if not _AUTHORITY.fullmatch(parts.netloc):
        raise ValueError("expected http(s)://HOST[:PORT], without user name or password")
    try:
        parts.port  # noqa: B018 - raises for a port outside 0-65535
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    host = parts.hostname or ""
    if not host.strip("."):
        raise ValueError("it names no host")
    return host


@dataclass(frozen=True)
class Target:
    """A resolved DynamoDB target: endpoint (None = real AWS), region and where it came from.

    `local_hosts` are the hosts the user named as local (normalised by `settings.local_host`)."""

    endpoint_url: str | None
    region: str
    source: str
    local_access_key: str | None = None
    local_secret_key: str | None = None
    local_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.endpoint_url:
            try:
                endpoint_host(self.endpoint_url)
            except ValueError as exc:
                raise EndpointSettingError(
                    f"endpoint {self.endpoint_url!r} (from {self.source}) is not usable: {exc}"
                ) from None

    @property
    def host(self) -> str | None:
        return endpoint_host(self.endpoint_url) if self.endpoint_url else None

    @property
    def is_local(self) -> bool:
        """The endpoint's host is this machine's loopback or a host named as local."""
        host = self.host
        if host is None:
            return False
        return is_loopback_host(host) or _comparable(host) in self.local_hosts

    def describe(self) -> str:
        where = self.endpoint_url or f"real AWS DynamoDB in {self.region}"
        return f"{where} (from {self.source})"


def _comparable(host: str) -> str:
    """An endpoint's host in the form `settings.local_host` gives the named hosts."""
    try:
        return local_host(host)
    except ValueError:
        return host


def env_local_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """The hosts named local by SALESTALK_LOCAL_HOSTS (comma-separated), validated."""
    hosts = []
    for entry in env.get(LOCAL_HOSTS_ENV_VAR, "").split(","):
        if entry.strip():
            try:
                hosts.append(local_host(entry.strip()))
            except ValueError as exc:
                raise EndpointSettingError(f"{LOCAL_HOSTS_ENV_VAR}: {exc}") from None
    return tuple(hosts)


def resolve_target(stack_file: StackFile, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    # Only this one setting: some commands resolve the endpoint while the roster is invalid.
    named = stack_file.namespace(NAMESPACE).get(LOCAL_HOSTS_KEY)
    local_hosts = parse_local_hosts(named, source=stack_file.path.name) + env_local_hosts(env)
    aws = stack_file.namespace("aws")
    region = str(aws.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "")
    if not region:
        raise EndpointSettingError(f"{stack_file.path.name}: set `aws:region`")
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
        local_hosts=local_hosts,
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
    """How every client of the platform talks to DynamoDB.

    botocore's client-side parameter validation is off: every request the platform sends is
    built by its own code from items that boto3's TypeSerializer produced and the contracts
    checked, and DynamoDB validates each request again itself (a ValidationException, which
    the write path refuses record by record). Validating once more in the client was the
    largest single cost of an ingest: 36% of the client's CPU for 20,000 messages
    (benchmarks/HISTORY.md), on the same cores a local engine needs.
    """
    return Config(
        retries=policy.botocore_retries(),
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        parameter_validation=False,
    )


def dynamodb_client(target: Target, *, allow_aws: bool = False):
    """A boto3 DynamoDB client for the target; real AWS only when `allow_aws` is set, and
    never over plain HTTP."""
    if not target.is_local and not allow_aws:
        if not target.endpoint_url:
            how = (
                "Set `aws:endpoints` in the stack file or AWS_ENDPOINT_URL_DYNAMODB to a local "
                "endpoint, or pass --allow-aws to use real AWS with your own credentials."
            )
        else:
            how = (
                f"{target.host!r} is neither loopback nor a host named local. If it is a local "
                f"emulator, name it in `{NAMESPACE}:{LOCAL_HOSTS_KEY}` in the stack file or in "
                f"{LOCAL_HOSTS_ENV_VAR}; if it is real AWS, pass --allow-aws (your own "
                "credentials are then used)."
            )
        raise RealAwsRefusedError(
            f"refusing to touch {target.describe()}: this command is meant for a local "
            f"endpoint. {how}"
        )
    if (
        not target.is_local
        and target.endpoint_url
        and urlsplit(target.endpoint_url).scheme == "http"
    ):
        raise InsecureEndpointError(
            f"refusing plain http:// to {target.describe()}: it is not a local host, so AWS "
            "credentials and tenant data would cross the network unencrypted. Use https://, "
            f"or, if it is a local emulator, name {target.host!r} in "
            f"`{NAMESPACE}:{LOCAL_HOSTS_KEY}` or {LOCAL_HOSTS_ENV_VAR}."
        )
    kwargs: dict[str, Any] = {"region_name": target.region, "config": client_config()}
    if target.is_local:
        kwargs["endpoint_url"] = target.endpoint_url
        # Local endpoints get the stack's (test) credentials, or dummies: never the user's own.
        kwargs["aws_access_key_id"] = target.local_access_key or "test"
        kwargs["aws_secret_access_key"] = target.local_secret_key or "test"
    elif target.endpoint_url:
        kwargs["endpoint_url"] = target.endpoint_url
    return _session(target).client("dynamodb", **kwargs)


class AwsProfileError(Refused, LookupError):
    """AWS_PROFILE (or --profile's variable) names a profile the AWS config files lack."""


def _session(target: Target) -> boto3.session.Session:
    """A boto3 session for the target. A local endpoint takes the stack's test credentials,
    so the user's AWS profile is not read at all (AWS_PROFILE naming a missing profile must
    not stop a local command); for real AWS a missing profile is one clear error."""
    if target.is_local:
        # botocore's documented override of a setting's sources: `profile` read from none
        core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        return boto3.session.Session(botocore_session=core)
    try:
        return boto3.session.Session()
    except botocore.exceptions.ProfileNotFound as exc:
        raise AwsProfileError(
            f"AWS profile {exc.kwargs.get('profile')!r} (AWS_PROFILE) is in neither "
            "~/.aws/config nor ~/.aws/credentials: name one of them, or unset AWS_PROFILE"
        ) from None


IAM_ENDPOINT_ENV = "AWS_ENDPOINT_URL_IAM"


def local_iam_client(target: Target, environ: Mapping[str, str] | None = None):
    """An IAM client for a local target, or None for real AWS (where `pulumi up` makes the
    roles). A local engine serves IAM on its one port (LocalStack, MiniStack, moto), so IAM
    goes where DynamoDB goes unless AWS_ENDPOINT_URL_IAM names another local endpoint."""
    if not target.is_local:
        return None
    environ = os.environ if environ is None else environ
    url = environ.get(IAM_ENDPOINT_ENV) or target.endpoint_url
    iam_target = dataclasses.replace(target, endpoint_url=url, source=IAM_ENDPOINT_ENV)
    if not iam_target.is_local:
        raise RealAwsRefusedError(
            f"refusing to make roles at {iam_target.describe()}: {IAM_ENDPOINT_ENV} must name "
            "a local endpoint (against AWS, `pulumi up` makes the roles)"
        )
    return _session(iam_target).client(
        "iam",
        region_name=target.region,
        config=client_config(),
        endpoint_url=url,
        aws_access_key_id=target.local_access_key or "test",
        aws_secret_access_key=target.local_secret_key or "test",
    )
