"""What a DynamoDB endpoint can do beyond the data plane, found by asking it.

Local engines implement different parts of DynamoDB's control plane: Amazon's DynamoDB Local
has no point-in-time recovery and no tagging API and reports no encryption description; moto
and MiniStack have all three. Provisioning, `salestalk tables` and the notebooks must tell the
truth on each: a feature the endpoint lacks is "not supported by this endpoint", never a
`False` that reads as drift and is "repaired" on every run.

The probe is one short-lived table, created and deleted on a local endpoint (it takes a few
milliseconds there); real AWS has every feature and is not probed.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

# What engines answer for an operation they do not implement.
UNSUPPORTED_CODES = {"UnknownOperationException", "NotImplementedError", "NotImplemented"}
PROBE_PREFIX = "salestalk-feature-probe-"
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


class Feature(StrEnum):
    POINT_IN_TIME_RECOVERY = "point-in-time recovery"
    TAGS = "tags"
    ENCRYPTION_REPORTING = "encryption reporting"
    DELETION_PROTECTION = "deletion protection"


# The table setting (a `tenancy.tables.TableShape` field) each feature carries.
SHAPE_FIELDS = {
    Feature.POINT_IN_TIME_RECOVERY: "point_in_time_recovery",
    Feature.TAGS: "tags",
    Feature.ENCRYPTION_REPORTING: "server_side_encryption",
    Feature.DELETION_PROTECTION: "deletion_protection",
}


@dataclass(frozen=True)
class EndpointFeatures:
    """The control-plane features an endpoint supports."""

    missing: frozenset[Feature] = frozenset()

    def supports(self, feature: Feature | str) -> bool:
        return Feature(feature) not in self.missing

    def unsupported_fields(self) -> frozenset[str]:
        return frozenset(SHAPE_FIELDS[feature] for feature in self.missing)


ALL_FEATURES = EndpointFeatures()


def unsupported(exc: ClientError) -> bool:
    """True when the endpoint does not implement the operation at all."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in UNSUPPORTED_CODES or status == 501


def probe_features(client) -> EndpointFeatures:
    """Create a scratch table with every feature the platform sets, see which ones the
    endpoint reports, and delete the table again."""
    name = f"{PROBE_PREFIX}{uuid.uuid4().hex[:12]}"
    missing: set[Feature] = set()
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
        DeletionProtectionEnabled=True,
    )
    try:
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
        )
        table = client.describe_table(TableName=name)["Table"]
        if "SSEDescription" not in table:
            missing.add(Feature.ENCRYPTION_REPORTING)
        if not table.get("DeletionProtectionEnabled"):
            missing.add(Feature.DELETION_PROTECTION)
        calls = {
            Feature.POINT_IN_TIME_RECOVERY: lambda: client.describe_continuous_backups(
                TableName=name
            ),
            Feature.TAGS: lambda: client.list_tags_of_resource(ResourceArn=table["TableArn"]),
        }
        for feature, call in calls.items():
            try:
                call()
            except ClientError as exc:
                if not unsupported(exc):
                    raise
                missing.add(feature)
    finally:
        with contextlib.suppress(ClientError):
            client.update_table(TableName=name, DeletionProtectionEnabled=False)
        with contextlib.suppress(ClientError):
            client.delete_table(TableName=name)
    return EndpointFeatures(frozenset(missing))


_known: dict[str, EndpointFeatures] = {}
_probing = threading.Lock()


def features_of(client) -> EndpointFeatures:
    """The features of the client's endpoint, probed once per endpoint and process. AWS's
    own endpoints have them all and are never probed (a probe table there costs seconds)."""
    url = client.meta.endpoint_url
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(AWS_HOST_SUFFIXES):
        return ALL_FEATURES
    with _probing:
        if url not in _known:
            _known[url] = probe_features(client)
        return _known[url]


NOT_SUPPORTED = "not supported by this endpoint"


def describe_setting(setting: bool | None) -> str:
    """A table setting as people read it; None is a feature the endpoint does not have."""
    return NOT_SUPPORTED if setting is None else ("on" if setting else "off")
