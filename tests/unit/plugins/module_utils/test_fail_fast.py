"""Endpoint mistakes end a call at the first attempt with a message that names the endpoint and the fix.

Every case is the real Tea SDK against a real socket: a closed port, a name under ``.invalid`` (which
never resolves), the simulator's plain HTTP port reached with HTTPS, a local TLS server reached with
plain HTTP or with an untrusted certificate. Each call runs with the default ``api_retries`` (10), so
a retried case would take far longer than the bound asserted (one attempt, under 10 s).
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _client
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import Clients
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import resolve_credential_source
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from tls_helpers import TlsServer, closed_port
from unit_helpers import connection_params

BOUND = 10.0


def fail_once(endpoint, region="cn-hangzhou", environ=None, **options):
    """(msg, error, seconds) of one OOS call through ``endpoint`` with the default retries."""
    params = connection_params(access_key="sim-access-key", secret_key="sim-secret-key", oos_endpoint=endpoint,
                               **options)
    clients = Clients(params, resolve_credential_source(params, environ={}), environ=environ or {})
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        clients.oos(region).call("ListTemplates")
    seconds = time.monotonic() - started
    msg, error = describe(info.value)
    assert not ErrorInfo(info.value).retryable
    assert error["attempts"] == 1 and seconds < BOUND, (msg, seconds)
    assert msg.endswith("[not retried: retrying cannot fix this]"), msg
    return msg, error


@pytest.fixture
def tls_server():
    with TlsServer() as server:
        yield server


def test_a_closed_port_is_refused_at_once():
    port = closed_port()
    msg, error = fail_once("http://127.0.0.1:%d" % port)
    assert error["problem"] == "connection_refused" and error["endpoint"] == "http://127.0.0.1:%d" % port
    assert "connection refused: nothing listens on 127.0.0.1:%d: check the port in oos_endpoint" % port in msg


def test_a_name_that_does_not_resolve_fails_at_once_and_says_both_causes():
    msg, error = fail_once("oos.cn-hangzhou.ecs-ops.invalid")
    assert error["problem"] == "name_not_resolved"
    assert error["endpoint"] == "https://oos.cn-hangzhou.ecs-ops.invalid:443"
    assert msg.startswith("OOS ListTemplates failed: oos.cn-hangzhou.ecs-ops.invalid does not resolve (")
    assert "check the host name in oos_endpoint" in msg
    assert "this machine has no working network or DNS" in msg


def test_the_default_endpoint_of_a_mistyped_region_points_at_the_region(monkeypatch):
    monkeypatch.setattr(_client, "DOMAIN", "invalid")  # the same lookup, without asking the internet's DNS
    msg, error = fail_once(None, region="cn-hangzhuo")
    assert error["endpoint"] == "https://oos.cn-hangzhuo.invalid:443"
    assert error["endpoint_origin"] == "the default OOS endpoint of region cn-hangzhuo"
    assert "oos.cn-hangzhuo.invalid does not resolve" in msg and "check the region id cn-hangzhuo" in msg


def test_https_to_a_plain_http_port_says_write_http(sim_server):
    msg, error = fail_once(sim_server.endpoint)  # 127.0.0.1:<port>: no scheme, so HTTPS
    assert error["problem"] == "tls_to_plain_http" and error["endpoint"] == "https://%s" % sim_server.endpoint
    assert ("%s was given without a scheme, so HTTPS was used; the server answered in plain HTTP: write http://%s"
            % (sim_server.endpoint, sim_server.endpoint)) in msg
    assert [c for c in sim_server.calls() if c["product"]] == []


def test_an_explicit_https_to_a_plain_http_port_says_write_http(sim_server):
    msg, _error = fail_once("https://" + sim_server.endpoint)
    assert "https://%s was asked for; the server answered in plain HTTP: write http://%s" % (
        sim_server.endpoint, sim_server.endpoint) in msg


def test_plain_http_to_a_tls_port_says_write_https(tls_server):
    address = "127.0.0.1:%d" % tls_server.port
    msg, error = fail_once("http://" + address)
    assert error["problem"] == "plain_http_to_tls"
    assert "http://%s was asked for; the server speaks HTTPS (TLS): write https://%s in oos_endpoint" % (
        address, address) in msg


def test_an_untrusted_certificate_fails_at_once(tls_server):
    msg, error = fail_once("https://localhost:%d" % tls_server.port)
    assert error["problem"] == "certificate"
    assert "the TLS certificate of localhost:%d was not accepted (self-signed certificate)" % tls_server.port in msg


def test_an_html_answer_about_plain_http_to_an_https_port_is_not_retried(scripted_server):
    page = "<html><center>The plain HTTP request was sent to HTTPS port</center><center>nginx</center></html>"
    scripted_server.script({"status": 400, "body": page, "content_type": "text/html"})
    msg, error = fail_once(scripted_server.endpoint)
    assert error["problem"] == "plain_http_to_tls" and len(scripted_server.requests) == 1
    assert "write https://%s" % scripted_server.endpoint[len("http://"):] in msg


def test_the_message_names_the_variable_an_endpoint_came_from():
    port = closed_port()
    msg, error = fail_once(None, environ={"ALIBABA_CLOUD_OOS_ENDPOINT": "http://127.0.0.1:%d" % port})
    assert error["endpoint_origin"] == "ALIBABA_CLOUD_OOS_ENDPOINT"
    assert "check the port in ALIBABA_CLOUD_OOS_ENDPOINT" in msg


def make_clients(endpoint, retries):
    params = connection_params(access_key="a", secret_key="s", oos_endpoint=endpoint, api_retries=retries)
    clients = Clients(params, resolve_credential_source(params, environ={}), environ={})
    clients.oos("cn-hangzhou")._retry.base_delay = 0.01
    return clients


def test_a_refused_connection_after_the_endpoint_answered_is_retried(scripted_server):
    """A restart while a long task waits is not a mistake in the endpoint: it keeps its retries."""
    client = make_clients(scripted_server.endpoint, retries=2).oos("cn-hangzhou")
    scripted_server.script({"headers": {"Connection": "close"}})  # no kept-alive connection to reuse
    client.call("ListTemplates")
    scripted_server.close()
    with pytest.raises(Exception) as info:
        client.call("ListTemplates")
    msg, error = describe(info.value)
    assert error["problem"] == "connection_refused" and error["attempts"] == 3
    assert "[gave up after 3 attempts in " in msg


def test_a_dropped_connection_from_a_plain_http_server_is_still_retried(scripted_server):
    scripted_server.script({"drop": True}, {"body": {"RequestId": "OK"}})
    assert make_clients(scripted_server.endpoint, retries=2).oos("cn-hangzhou").call("ListTemplates") == {
        "RequestId": "OK"}
    assert len(scripted_server.requests) == 2


@pytest.mark.parametrize("failure", [
    {"status": 400, "body": {"RequestId": "T", "Code": "Throttling.User", "Message": "flow control"}},
    {"status": 503, "body": {"RequestId": "U", "Code": "ServiceUnavailable", "Message": "busy"}},
    {"status": 500, "body": {"RequestId": "I", "Code": "InternalError", "Message": "oops"}},
], ids=["throttling", "unavailable", "internal"])
def test_throttling_and_5xx_keep_their_retries(scripted_server, failure):
    scripted_server.script(*[failure] * 3)
    with pytest.raises(Exception) as info:
        make_clients(scripted_server.endpoint, retries=2).oos("cn-hangzhou").call("ListTemplates")
    msg, error = describe(info.value)
    assert error["attempts"] == 3 and len(scripted_server.requests) == 3 and "problem" not in error
    assert "[gave up after 3 attempts in " in msg


def probe_main():
    module = AlicloudModule(argument_spec={})
    module.call("oos", "ListTemplates")
    module.exit_json(changed=False)


def test_a_module_fails_at_once_naming_the_variable(run_module, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("ALIBABA_CLOUD_OOS_ENDPOINT", "http://127.0.0.1:%d" % port)
    started = time.monotonic()
    rc, result = run_module(probe_main, dict(region="cn-hangzhou", access_key="test-ak", secret_key="test-secret"))
    assert rc == 1 and time.monotonic() - started < BOUND
    assert result["error"]["attempts"] == 1 and result["error"]["endpoint_origin"] == "ALIBABA_CLOUD_OOS_ENDPOINT"
    assert "nothing listens on 127.0.0.1:%d" % port in result["msg"]


def test_a_bad_endpoint_variable_fails_before_any_call(run_module, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_ENDPOINT", "ftp://ecs.example.com")
    rc, result = run_module(probe_main, dict(region="cn-hangzhou", access_key="test-ak", secret_key="test-secret"))
    assert rc == 1
    assert "ALIBABA_CLOUD_ECS_ENDPOINT: endpoint scheme must be http or https" in result["msg"]
