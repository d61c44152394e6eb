"""Endpoint resolution and the refusal to touch real AWS by accident.

Local is a rule, not a guess: the endpoint's host is this machine's loopback (`localhost`,
127.0.0.0/8, ::1) or a host the user names as local (`salestalk:localHosts`,
SALESTALK_LOCAL_HOSTS). Everything else is real AWS: refused without --allow-aws, never sent the
stack file's keys, never reached over plain http://.
"""

from __future__ import annotations

import pytest

from tenancy.connection import (
    AwsProfileError,
    InsecureEndpointError,
    RealAwsRefusedError,
    Target,
    dynamodb_client,
    is_loopback_host,
    local_iam_client,
    loopback_port,
    resolve_target,
)
from tenancy.settings import StackConfigError
from tenancy.stack_file import StackFile

STACK_KEY = "stack-file-key"  # the stack file's keys, so that a leak cannot hide behind "test"
USERS_KEY = "users-own-key"


@pytest.fixture
def stack_file():
    return StackFile.load("local")


@pytest.fixture
def users_credentials(monkeypatch, stack_file):
    """The user's own AWS credentials in the environment, distinct keys in the stack file."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", USERS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "users-own-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = stack_file.document["config"]
    config["aws:accessKey"], config["aws:secretKey"] = STACK_KEY, "stack-file-secret"


def at(stack_file, url: str, **environ: str):
    return resolve_target(stack_file, environ={"AWS_ENDPOINT_URL_DYNAMODB": url, **environ})


def access_key(client) -> str:
    return client._request_signer._credentials.access_key


def test_the_stack_file_endpoint_is_used_by_default(stack_file):
    target = resolve_target(stack_file, environ={})
    assert target.endpoint_url == "http://localhost:4566"
    assert target.region == "us-east-1" and target.is_local
    assert target.source == "Pulumi.local.yaml"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"])
def test_standard_variables_override_the_stack_file(stack_file, variable):
    target = resolve_target(stack_file, environ={variable: "http://127.0.0.1:9999"})
    assert (target.endpoint_url, target.source) == ("http://127.0.0.1:9999", variable)


def test_service_specific_variable_wins(stack_file):
    target = resolve_target(
        stack_file,
        environ={"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://b:2"},
    )
    assert target.endpoint_url == "http://b:2"


def test_a_stack_without_endpoint_is_real_aws_and_refused(stack_file):
    config = stack_file.document["config"]
    del config["aws:endpoints"]
    target = resolve_target(stack_file, environ={})
    assert target.endpoint_url is None and not target.is_local
    with pytest.raises(RealAwsRefusedError, match="refusing to touch real AWS DynamoDB"):
        dynamodb_client(target)


def test_an_aws_hostname_is_not_local(stack_file):
    environ = {"AWS_ENDPOINT_URL_DYNAMODB": "https://dynamodb.us-east-1.amazonaws.com"}
    target = resolve_target(stack_file, environ=environ)
    assert not target.is_local
    with pytest.raises(RealAwsRefusedError):
        dynamodb_client(target)


def test_test_credentials_go_only_to_the_local_endpoint(stack_file, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "users-own-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "users-own-secret")
    local = dynamodb_client(resolve_target(stack_file))
    assert local.meta.endpoint_url == "http://localhost:4566"
    assert local._request_signer._credentials.access_key == "test"

    del stack_file.document["config"]["aws:endpoints"]
    remote = dynamodb_client(resolve_target(stack_file), allow_aws=True)
    assert remote.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"
    assert remote._request_signer._credentials.access_key == "users-own-key"


def test_a_missing_aws_profile_never_stops_a_local_command(stack_file, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))  # no profile at all
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    target = resolve_target(stack_file)
    for client in (dynamodb_client(target), local_iam_client(target, environ={})):
        assert client._request_signer._credentials.access_key == "test"  # the stack's

    del stack_file.document["config"]["aws:endpoints"]
    with pytest.raises(AwsProfileError) as refused:
        dynamodb_client(resolve_target(stack_file), allow_aws=True)
    assert str(refused.value) == (
        "AWS profile 'no-such-profile' (AWS_PROFILE) is in neither ~/.aws/config nor "
        "~/.aws/credentials: name one of them, or unset AWS_PROFILE"
    )
    assert refused.value.exit_status == 2


def test_a_missing_aws_profile_is_one_line_on_the_command_line(tmp_path):
    """Against real AWS, as a person would meet it (no traceback), through a real pipe."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    for name in ("Pulumi.yaml", "Pulumi.local.yaml"):
        shutil.copy(project / name, tmp_path / name)
    text = (tmp_path / "Pulumi.local.yaml").read_text()
    start, end = text.index("  aws:endpoints:"), text.index("  # Local data")
    (tmp_path / "Pulumi.local.yaml").write_text(text[:start] + text[end:])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
        "SALESTALK_PROJECT_DIR": str(tmp_path),
        "AWS_PROFILE": "no-such-profile",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tenancy.cli", "tables", "--allow-aws"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("salestalk: error: AWS profile 'no-such-profile'")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_retries_are_botocore_standard_mode(stack_file):
    client = dynamodb_client(resolve_target(stack_file, environ={}))
    assert client.meta.config.retries["mode"] == "standard"


@pytest.mark.parametrize(
    "url",
    [
        "https://dynamodb.us-east-1.amazonaws.com.",
        "https://DYNAMODB.eu-west-1.AMAZONAWS.COM",
        "https://dynamodb.us-east-1.api.aws",
    ],
)
def test_aws_hosts_in_any_spelling_are_not_local(stack_file, url):
    target = resolve_target(stack_file, environ={"AWS_ENDPOINT_URL_DYNAMODB": url})
    assert not target.is_local


LOOPBACK = [
    "http://localhost:4566",
    "http://LOCALHOST:4566",
    "http://127.0.0.1:4566",
    "http://127.5.6.7:4566",
    "http://127.255.255.254",
    "http://[::1]:4566",
    "http://[0:0:0:0:0:0:0:1]:4566",
    "http://[::ffff:127.0.0.1]:4566",
    "https://localhost:4566/",
]


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_endpoints_are_local_and_get_the_stack_files_keys(
    stack_file, users_credentials, url
):
    target = at(stack_file, url)
    assert target.is_local
    client = dynamodb_client(target)
    assert client.meta.endpoint_url == url
    assert access_key(client) == STACK_KEY


NOT_LOCAL = {
    "attacker": "http://evil.example:4566",
    "private-network": "http://10.0.0.5:4566",
    "other-interface": "http://192.168.1.20:4566",
    "any-address": "http://0.0.0.0:4566",
    "localhost-prefix": "http://localhost.evil.example:4566",
    "localhost-subdomain": "http://dynamodb.localhost:4566",
    # glibc looks `localhost.` up in DNS, not in /etc/hosts: DNS may answer anything
    "localhost-trailing-dot": "http://LOCALHOST.:4566",
    "loopback-ip-as-a-name": "http://127.0.0.1.nip.io:4566",
    "loopback-ip-trailing-dot": "http://127.0.0.1.:4566",
    "short-form-ip": "http://127.1:4566",
    "aws": "https://dynamodb.us-east-1.amazonaws.com",
    "aws-iso": "https://dynamodb.us-iso-east-1.c2s.ic.gov",
    "aws-isob": "https://dynamodb.us-isob-east-1.sc2s.sgov.gov",
    "aws-isoe": "https://dynamodb.eu-isoe-west-1.cloud.adc-e.uk",
    "aws-isof": "https://dynamodb.us-isof-south-1.csp.hci.ic.gov",
    "aws-ipv6": "https://dynamodb.us-east-1.api.aws",
}


@pytest.mark.parametrize("url", NOT_LOCAL.values(), ids=NOT_LOCAL.keys())
def test_every_other_host_is_real_aws_refused_with_the_way_forward(stack_file, url):
    target = at(stack_file, url)
    assert not target.is_local
    with pytest.raises(RealAwsRefusedError) as refused:
        dynamodb_client(target)
    message = str(refused.value)
    assert f"refusing to touch {url} (from AWS_ENDPOINT_URL_DYNAMODB)" in message
    assert "salestalk:localHosts" in message and "SALESTALK_LOCAL_HOSTS" in message
    assert "--allow-aws" in message


@pytest.mark.parametrize(
    "url", [u for u in NOT_LOCAL.values() if u.startswith("https://")], ids=str
)
def test_allowed_aws_gets_the_users_credentials_never_the_stack_files(
    stack_file, users_credentials, url
):
    client = dynamodb_client(at(stack_file, url), allow_aws=True)
    assert client.meta.endpoint_url == url
    assert access_key(client) == USERS_KEY


@pytest.mark.parametrize("url", [u for u in NOT_LOCAL.values() if u.startswith("http://")], ids=str)
def test_plain_http_to_a_host_that_is_not_local_is_refused_even_when_aws_is_allowed(
    stack_file, url
):
    with pytest.raises(InsecureEndpointError, match="unencrypted") as refused:
        dynamodb_client(at(stack_file, url), allow_aws=True)
    assert f"{url} (from AWS_ENDPOINT_URL_DYNAMODB)" in str(refused.value)


def test_the_stack_files_own_remote_endpoint_is_named_in_the_refusal(stack_file):
    stack_file.document["config"]["aws:endpoints"][0]["dynamodb"] = "http://evil.example:4566"
    target = resolve_target(stack_file, environ={})
    with pytest.raises(
        InsecureEndpointError, match=r"evil\.example:4566 \(from Pulumi\.local\.yaml\)"
    ):
        dynamodb_client(target, allow_aws=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example\\@localhost:4566",  # urllib3 would dial evil.example
        "http://local\thost:4566",  # urlsplit drops the tab
        "http://localhost@evil.example:4566",  # user name `localhost`, host evil.example
        "http://localhost:4566@evil.example:4566",
        "http://user:password@localhost:4566",
        "http://%6cocalhost:4566",
        "http://l\u043ecalhost:4566",  # a Cyrillic o
        "localhost:4566",
        "ftp://localhost:4566",
        "http://:4566",
        "http://localhost:99999",
    ],
)
def test_an_endpoint_url_that_could_mean_two_hosts_is_refused(stack_file, url):
    with pytest.raises(ValueError, match=r"AWS_ENDPOINT_URL_DYNAMODB\) is not usable"):
        at(stack_file, url)


def test_a_compose_host_named_by_the_stack_setting_is_local(stack_file, users_credentials):
    stack_file.document["config"]["salestalk:localHosts"] = ["LocalStack", "10.0.0.5"]
    for url in ("http://localstack:4566", "http://10.0.0.5:4566", "http://localstack.:4566"):
        target = at(stack_file, url)
        assert target.is_local, url
        assert access_key(dynamodb_client(target)) == STACK_KEY
    assert not at(stack_file, "http://localstack.evil.example:4566").is_local


def test_a_compose_host_named_by_the_environment_is_local(stack_file, users_credentials):
    environ = {"SALESTALK_LOCAL_HOSTS": " localstack , dynamodb-local,"}
    for host in ("localstack", "dynamodb-local"):
        target = at(stack_file, f"http://{host}:4566", **environ)
        assert target.is_local
        assert access_key(dynamodb_client(target)) == STACK_KEY
    assert not at(stack_file, "http://localstack:4566").is_local  # not named: not local


def test_the_setting_and_the_variable_are_merged(stack_file):
    stack_file.document["config"]["salestalk:localHosts"] = ["localstack"]
    environ = {"SALESTALK_LOCAL_HOSTS": "moto"}
    assert at(stack_file, "http://localstack:4566", **environ).is_local
    assert at(stack_file, "http://moto:5000", **environ).is_local


def test_named_hosts_never_let_the_project_serve_its_endpoint_there(stack_file):
    target = at(stack_file, "http://localstack:4566", SALESTALK_LOCAL_HOSTS="localstack")
    assert target.is_local and loopback_port(target.endpoint_url) is None
    assert loopback_port("http://127.0.0.1:4566") == 4566
    assert loopback_port("http://[::1]:4567") == 4567
    assert loopback_port("http://localhost@evil.example:4566") is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("localstack", "Input should be a valid list"),
        (["localstack:4566"], "'localstack:4566' is not a DNS host name or IP address (name"),
        (["http://localstack"], "is not a DNS host name"),
        (["local stack"], "is not a DNS host name"),
        (["-localstack"], "is not a DNS host name"),
        (["127.1"], "is not a DNS host name"),
        ([4566], "Input should be a valid string"),
    ],
)
def test_a_bad_local_hosts_setting_is_refused(stack_file, value, reason):
    stack_file.document["config"]["salestalk:localHosts"] = value
    with pytest.raises(StackConfigError) as bad:
        resolve_target(stack_file, environ={})
    assert str(bad.value).startswith("Pulumi.local.yaml: salestalk:localHosts: ")
    assert reason in str(bad.value)


def test_the_setting_is_read_even_where_the_roster_is_invalid(stack_file):
    config = stack_file.document["config"]
    config["salestalk:tenants"] = "not a roster"
    config["salestalk:localHosts"] = ["localstack"]
    assert at(stack_file, "http://localstack:4566").is_local


def test_a_bad_local_hosts_variable_is_refused(stack_file):
    with pytest.raises(ValueError, match=r"SALESTALK_LOCAL_HOSTS: 'localstack:4566' is not"):
        at(stack_file, "http://localstack:4566", SALESTALK_LOCAL_HOSTS="localstack:4566")


def test_one_rule_decides_loopback():
    assert all(is_loopback_host(h) for h in ("localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"))
    assert not any(
        is_loopback_host(h)
        for h in ("localhost.", "localhost.evil.example", "10.0.0.5", "", None, "::2", "0.0.0.0")
    )


def test_a_target_built_in_code_keeps_the_rule():
    assert Target("http://127.0.0.1:4566", "us-east-1", "test").is_local
    assert not Target("http://localstack:4566", "us-east-1", "test").is_local
    assert Target(
        "http://localstack:4566", "us-east-1", "test", local_hosts=("localstack",)
    ).is_local
