"""The client factory, retry policy and error mapper together, against a scripted HTTP server."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import (
    ApiClient,
    Clients,
    EndpointError,
    default_endpoint,
    parse_endpoint,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import resolve_credential_source
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import (
    ErrorInfo,
    describe,
    has_error_code,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._version import COLLECTION_VERSION
from unit_helpers import connection_params


@pytest.mark.parametrize("value,expected", [
    ("oos.cn-hangzhou.aliyuncs.com", ("oos.cn-hangzhou.aliyuncs.com", "https")),
    ("127.0.0.1:18080", ("127.0.0.1:18080", "https")),
    ("http://127.0.0.1:18080", ("127.0.0.1:18080", "http")),
    ("https://oos-vpc.cn-shanghai.aliyuncs.com/", ("oos-vpc.cn-shanghai.aliyuncs.com", "https")),
    ("HTTP://localhost:80", ("localhost:80", "http")),
    ("http://[::1]:8080", ("[::1]:8080", "http")),
])
def test_parse_endpoint(value, expected):
    assert parse_endpoint(value) == expected


@pytest.mark.parametrize("value", ["ftp://host", "http://host/path", "host:99999", "host name", "", "http://", "h:p"])
def test_parse_endpoint_rejects(value):
    with pytest.raises(EndpointError):
        parse_endpoint(value)


def test_default_endpoints():
    assert default_endpoint("oos", "cn-shanghai") == "oos.cn-shanghai.aliyuncs.com"
    assert default_endpoint("ecs", "cn-shanghai") == "ecs.cn-shanghai.aliyuncs.com"
    assert default_endpoint("ecs", "cn-hangzhou") == "ecs-cn-hangzhou.aliyuncs.com"


def make_clients(server, retries=3, timeout=5, retry_events=None, **options):
    params = connection_params(access_key="test-ak", secret_key="test-secret", oos_endpoint=server.endpoint,
                               ecs_endpoint=server.endpoint, api_retries=retries, api_timeout=timeout, **options)
    clients = Clients(params, resolve_credential_source(params, environ={}),
                      on_retry=(retry_events.append if retry_events is not None else None))
    for product in ("oos", "ecs"):
        clients.get(product, "cn-hangzhou")._retry.base_delay = 0.01
    return clients


def query_of(request):
    return {k: v[0] for k, v in parse_qs(urlsplit(request["path"]).query, keep_blank_values=True).items()}


def test_request_is_signed_v3_with_the_sdk_wire_format(scripted_server):
    scripted_server.script({"body": {"RequestId": "R1", "Executions": []}})
    body = make_clients(scripted_server).ecs("cn-hangzhou").call(
        "RunCommand", {"InstanceId": ["i-aaaa0001", "i-aaaa0002"], "EnableParameter": True, "Timeout": 60,
                       "Tag": [{"Key": "env", "Value": "dev"}], "Skipped": None})
    assert body == {"RequestId": "R1", "Executions": []}
    request = scripted_server.requests[0]
    assert request["method"] == "POST" and request["body"] == b""
    assert request["headers"]["x-acs-action"] == "RunCommand"
    assert request["headers"]["x-acs-version"] == "2014-05-26"
    assert request["headers"]["authorization"].startswith("ACS3-HMAC-SHA256 Credential=test-ak,")
    assert "ansible-collection/alibabacloud.ecs_ops/%s" % COLLECTION_VERSION in request["headers"]["user-agent"]
    query = query_of(request)
    assert query == {"InstanceId.1": "i-aaaa0001", "InstanceId.2": "i-aaaa0002", "EnableParameter": "True",
                     "Timeout": "60", "Tag.1.Key": "env", "Tag.1.Value": "dev", "RegionId": "cn-hangzhou"}


def test_clients_are_cached_per_product_and_region(scripted_server):
    clients = make_clients(scripted_server)
    assert clients.oos("cn-hangzhou") is clients.oos("cn-hangzhou")
    assert clients.oos("cn-hangzhou") is not clients.oos("cn-beijing")
    assert clients.oos("cn-hangzhou") is not clients.ecs("cn-hangzhou")
    clients.oos("cn-beijing").call("ListTemplates")
    assert query_of(scripted_server.requests[0])["RegionId"] == "cn-beijing"
    assert scripted_server.requests[0]["headers"]["x-acs-version"] == "2019-06-01"


THROTTLED = {"status": 400, "body": {"RequestId": "T", "Code": "Throttling.User",
                                     "Message": "Request was denied due to user flow control."}}


@pytest.mark.parametrize("failure", [
    THROTTLED,
    {"status": 503, "body": {"RequestId": "U", "Code": "ServiceUnavailable", "Message": "temporary failure"}},
    {"status": 500, "body": {"RequestId": "I", "Code": "InternalError", "Message": "oops"}},
    {"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html"},
    {"drop": True},
], ids=["throttling", "unavailable", "internal", "html-502", "dropped"])
def test_transient_failures_are_retried(scripted_server, failure):
    events = []
    scripted_server.script(failure, failure, {"body": {"RequestId": "OK"}})
    assert make_clients(scripted_server, retry_events=events).oos("cn-hangzhou").call("ListTemplates") == {"RequestId": "OK"}
    assert len(scripted_server.requests) == 3
    assert len(events) == 2 and events[0].startswith("OOS ListTemplates: ")


def test_retry_after_header_is_honoured(scripted_server):
    events = []
    scripted_server.script(dict(THROTTLED, headers={"x-acs-retry-after": "200"}), {})
    make_clients(scripted_server, retry_events=events).oos("cn-hangzhou").call("ListTemplates")
    assert "in 0.2s" in events[0]


def test_client_errors_are_not_retried_and_are_described(scripted_server):
    scripted_server.script({"status": 400, "body": {
        "RequestId": "REQ-1", "HostId": "oos.cn-hangzhou.aliyuncs.com", "Code": "InvalidParameter",
        "Message": 'The specified parameter "Parameters" is not valid.',
        "Recommend": "https://api.aliyun.com/troubleshoot?q=InvalidParameter"}})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server).oos("cn-hangzhou").call("StartExecution")
    assert len(scripted_server.requests) == 1
    msg, error = describe(info.value, operation="OOS StartExecution", denied_action="oos:StartExecution")
    assert msg == ('OOS StartExecution failed: InvalidParameter: The specified parameter "Parameters" is not valid. '
                   "(HTTP 400, request id REQ-1)")
    assert error["code"] == "InvalidParameter" and error["http_status"] == 400 and error["request_id"] == "REQ-1"
    assert error["recommend"].startswith("https://api.aliyun.com/troubleshoot")
    assert "denied_action" not in error


def test_permission_error_names_the_ram_action_from_access_denied_detail(scripted_server):
    detail = {"AuthAction": "ecs:RunCommand", "NoPermissionType": "ImplicitDeny", "EncodedDiagnosticMessage": "xyz"}
    scripted_server.script({"status": 403, "body": {"RequestId": "R", "Code": "NoPermission",
                                                    "Message": "You are not authorized.", "AccessDeniedDetail": detail}})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server).ecs("cn-hangzhou").call("RunCommand")
    msg, error = describe(info.value, operation="ECS RunCommand", denied_action="ecs:RunCommand")
    assert "The RAM action ecs:RunCommand was denied (ImplicitDeny)" in msg
    assert error["denied_action"] == "ecs:RunCommand"
    assert "EncodedDiagnosticMessage" not in error["access_denied_detail"]


def test_permission_error_without_detail_names_the_action_called(scripted_server):
    scripted_server.script({"status": 403, "body": {"RequestId": "R", "Code": "Forbidden.RAM",
                                                    "Message": "User not authorized to operate on the specified resource."}})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server).oos("cn-hangzhou").call("ListTemplates")
    msg, error = describe(info.value, operation="OOS ListTemplates", denied_action="oos:ListTemplates")
    assert error["denied_action"] == "oos:ListTemplates" and "oos:ListTemplates was denied" in msg


def test_signature_error_never_echoes_the_request(scripted_server):
    scripted_server.script({"status": 400, "body": {
        "RequestId": "R", "Code": "SignatureDoesNotMatch",
        "Message": "Specified signature does not match our calculation. server string to sign is:POST&%2F&Secret%3Dhunter2"}})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server).oos("cn-hangzhou").call("ListTemplates")
    msg, error = describe(info.value)
    assert "hunter2" not in msg and "hunter2" not in str(error)
    assert "string to sign omitted" in msg


def test_exhausted_retries_are_reported(scripted_server):
    scripted_server.script(*[THROTTLED] * 3)
    with pytest.raises(Exception) as info:
        make_clients(scripted_server, retries=2).oos("cn-hangzhou").call("ListTemplates")
    msg, error = describe(info.value, operation="OOS ListTemplates")
    assert msg.startswith("OOS ListTemplates failed: Throttling.User")
    assert re.search(r"\[gave up after 3 attempts in \d+\.\d s\]$", msg), msg
    assert error["attempts"] == 3 and len(scripted_server.requests) == 3
    assert 0 < error["elapsed"] < 10


def test_read_timeout_is_a_retryable_transport_error(scripted_server):
    scripted_server.script({"delay": 2.5}, {"delay": 2.5})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server, retries=1, timeout=1).oos("cn-hangzhou").call("ListTemplates")
    described = ErrorInfo(info.value)
    assert described.kind == "transport" and described.retryable
    assert len(scripted_server.requests) == 2
    assert "no usable answer from the endpoint" in describe(info.value)[0]


def test_an_attempt_under_way_ends_at_the_callers_deadline(scripted_server):
    """api_timeout is 30 s and the answer takes 6 s: with a deadline 1.2 s away the attempt is cut there (its
    read timeout is the time left), not carried to the answer; no retry starts past the deadline."""
    scripted_server.script({"delay": 6}, {"delay": 6})
    client = make_clients(scripted_server, retries=1, timeout=30).oos("cn-hangzhou")
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        client.call("ListTemplates", deadline=started + 1.2)
    assert time.monotonic() - started < 4.5, "the attempt ran to the answer, past the deadline"
    assert ErrorInfo(info.value).kind == "transport"
    assert len(scripted_server.requests) == 1


def test_attempt_timeouts_follow_the_deadline_with_a_floor():
    client = ApiClient("oos", "cn-hangzhou", None, None, {}, None, timeouts=(30000, 10000))
    assert client.runtime_timeouts(None) == (30000, 10000)
    assert client.runtime_timeouts(100.0, clock=lambda: 95.0) == (5000, 5000)
    assert client.runtime_timeouts(100.0, clock=lambda: 40.0) == (30000, 10000)
    assert client.runtime_timeouts(100.0, clock=lambda: 100.5) == (1000, 1000)


def test_connection_refused_is_a_transport_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    params = connection_params(access_key="a", secret_key="s", oos_endpoint="http://127.0.0.1:%d" % port, api_retries=0)
    clients = Clients(params, resolve_credential_source(params, environ={}))
    with pytest.raises(Exception) as info:
        clients.oos("cn-hangzhou").call("ListTemplates")
    assert ErrorInfo(info.value).kind == "transport"


def test_has_error_code(scripted_server):
    scripted_server.script({"status": 404, "body": {"RequestId": "R", "Code": "EntityNotExists.Template", "Message": "x"}})
    client = make_clients(scripted_server).oos("cn-hangzhou")
    with pytest.raises(Exception) as info:
        client.call("GetTemplate", {"TemplateName": "nope"})
    assert has_error_code(info.value, "EntityNotExists.Template") and has_error_code(info.value, "EntityNotExists.")
    assert not has_error_code(info.value, "EntityNotExists.PatchBaseline")
    assert not has_error_code(ValueError("not an API error"), "EntityNotExists.")


def test_no_credentials_anywhere_fails_fast_without_the_metadata_service(tmp_path, monkeypatch):
    from alibabacloud_credentials.utils import auth_constant

    monkeypatch.setattr(auth_constant, "HOME", str(tmp_path))
    params = connection_params(oos_endpoint="http://127.0.0.1:9", api_retries=5)
    clients = Clients(params, resolve_credential_source(params, environ={}))
    with pytest.raises(Exception) as info:
        clients.oos("cn-hangzhou").call("ListTemplates")
    described = ErrorInfo(info.value)
    assert described.kind == "credentials" and not described.retryable
    msg = describe(info.value, operation="OOS ListTemplates")[0]
    assert "could not obtain credentials" in msg and "ALIBABA_CLOUD_ACCESS_KEY_ID" in msg
    assert "EcsRamRole" not in msg and "100.100.100.200" not in msg


def test_failed_calls_carry_their_operation_and_ram_action(scripted_server):
    scripted_server.script({"status": 403, "body": {"RequestId": "R", "Code": "Forbidden.RAM", "Message": "no"}})
    with pytest.raises(Exception) as info:
        make_clients(scripted_server).ecs("cn-hangzhou").call("DescribeInstances")
    msg, error = describe(info.value)
    assert msg.startswith("ECS DescribeInstances failed: Forbidden.RAM")
    assert error["denied_action"] == "ecs:DescribeInstances"


DEFERRED_CHECK = r"""
import sys
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _client
_client.defer_unused_imports()
from alibabacloud_tea_openapi.client import Client  # noqa: F401  the SDK loads without them
assert type(sys.modules["aiohttp"]) is _client._DeferredModule
assert type(sys.modules["apscheduler.schedulers.background"]) is _client._DeferredModule
assert "aiohttp.client" not in sys.modules and "apscheduler.schedulers.base" not in sys.modules
# A placeholder works as an annotation and, instantiated, gives the real class's instance.
from alibabacloud_credentials.provider import ecs_ram_role
scheduler = ecs_ram_role.BackgroundScheduler()
assert type(scheduler).__module__ == "apscheduler.schedulers.background", type(scheduler)
assert type(sys.modules["apscheduler.schedulers.background"]) is not _client._DeferredModule
# Any other attribute loads the real package, everywhere it was imported.
import darabonba.core
assert darabonba.core.aiohttp.ClientTimeout.__module__.startswith("aiohttp")
import aiohttp
assert type(aiohttp) is not _client._DeferredModule and "aiohttp.client" in sys.modules
print("ok")
"""


def test_unused_sdk_imports_are_deferred_until_used():
    """In a fresh interpreter (the module process): the SDK imports without aiohttp and APScheduler,
    and both still work when something really uses them."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", DEFERRED_CHECK], capture_output=True, text=True, check=False,
                            env=dict(os.environ))
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_a_forked_process_does_not_share_the_sdks_connections():
    """Ansible forks its workers after the inventory plugin has called the API: a child that kept the parent's
    pooled connections would write requests to the same sockets and read the parent's answers."""
    import os

    from darabonba.core import DaraCore

    DaraCore._sessions["probe"] = object()  # pylint: disable=protected-access
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports what it sees, then leaves at once
        os.write(writer, b"1" if "probe" in DaraCore._sessions else b"0")  # pylint: disable=protected-access
        os._exit(0)  # pylint: disable=protected-access
    os.waitpid(pid, 0)
    assert os.read(reader, 1) == b"0", "the child starts without the parent's sessions"
    assert "probe" in DaraCore._sessions, "the parent keeps its own"  # pylint: disable=protected-access
    DaraCore._sessions.pop("probe")  # pylint: disable=protected-access
