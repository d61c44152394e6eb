"""What answers at an endpoint: nothing, a silent listener, some other HTTP server, or DynamoDB.

One request, signed by hand (botocore's SigV4 signer over urllib): a botocore client would retry,
parse and raise for each of these answers, where one look is wanted, in a second, that tells
them apart. `salestalk local`, the commands' connection check and the notebooks' workspace ask
it before they start or use an engine.
"""

from __future__ import annotations

import errno
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class Answer(StrEnum):
    """What holds an endpoint's port, as one signed ListTables request finds out."""

    NOTHING = "nothing listens there"
    SILENT = "something holds the port but does not answer HTTP"
    NOT_DYNAMODB = "an HTTP server answers there, but not as DynamoDB"
    DYNAMODB = "DynamoDB answers there"


@dataclass(frozen=True)
class Probe:
    answer: Answer
    detail: str = ""  # what the server said, when it is not DynamoDB ("HTTP 501, text/html")

    @property
    def serves_dynamodb(self) -> bool:
        return self.answer is Answer.DYNAMODB

    def describe(self) -> str:
        return f"{self.answer} ({self.detail})" if self.detail else str(self.answer)


# Every DynamoDB engine answers this with a JSON body: the table names, or an error whose
# `__type` names it (a refused signature from AWS). It is signed: engines serving several
# services route a request by its signature.
_LIST_TABLES = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
}
PROBE_REGION = "us-east-1"


def probe(
    url: str,
    timeout: float = 1.0,
    *,
    region: str = PROBE_REGION,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Probe:
    """What answers at `url`: nothing, a listener that says nothing, some other HTTP server,
    or DynamoDB (any engine of it). Signed with the local test credentials (or the ones
    given, as a command sends them), so that an engine keeping one database per access key
    is asked about the one the commands use."""
    signed = AWSRequest(method="POST", url=url, data=b"{}", headers=dict(_LIST_TABLES))
    credentials = Credentials(access_key or "test", secret_key or "test")
    SigV4Auth(credentials, "dynamodb", region).add_auth(signed)
    prepared = signed.prepare()
    request = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, body = response.status, response.headers, response.read(4096)
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers, exc.read(4096)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ConnectionRefusedError):
            return Probe(Answer.NOTHING)
        if isinstance(reason, OSError) and reason.errno in _UNREACHABLE:
            return Probe(Answer.NOTHING, os.strerror(reason.errno))
        return Probe(Answer.SILENT, str(reason) or type(reason).__name__)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and ("TableNames" in answer or "__type" in answer):
        return Probe(Answer.DYNAMODB)
    kind = (headers.get("Content-Type") or "no content type").split(";")[0]
    return Probe(Answer.NOT_DYNAMODB, f"HTTP {status}, {kind}")


_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when DynamoDB (any engine) answers at `url`."""
    return probe(url, timeout).serves_dynamodb
