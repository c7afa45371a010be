"""Conformance: the legacy Python SDK ``aliyun-python-sdk-core`` (RPC, V2 HMAC-SHA1 signatures) drives the
ECS and OOS actions the collection uses, over GET (parameters in the URL) and POST (parameters in a form
body), in JSON and in XML, and gets the real errors."""

import json
import warnings
import xml.etree.ElementTree as ET

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from conftest import ECS_VERSION as ECS, FINAL, OOS_VERSION as OOS, wait_for
from oos_support import NODE, PACKAGE_TEMPLATE

from alicloud_sim.testing import ACCESS_KEY, SECRET_KEY


class Legacy:
    """One ``AcsClient`` aimed at the simulator; ``call`` returns the parsed answer."""

    def __init__(self, server):
        self.server = server
        self.client = AcsClient(ACCESS_KEY, SECRET_KEY, "cn-hangzhou", port=server.port, auto_retry=False,
                                timeout=10, connect_timeout=5)

    def request(self, version, action, method="POST", query=None, body=None, fmt="JSON"):
        req = CommonRequest(domain=self.server.host, version=version, action_name=action)
        req.set_protocol_type("http")
        req.set_method(method)
        req.set_accept_format(fmt)
        for key, value in (query or {}).items():
            req.add_query_param(key, value)
        for key, value in (body or {}).items():
            req.add_body_params(key, value)
        return req

    def call(self, version, action, method="POST", query=None, body=None, fmt="JSON"):
        req = self.request(version, action, method, query, body, fmt)
        if fmt == "XML":   # do_action_with_exception always asks for JSON; do_action keeps the format
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return ET.fromstring(self.client.do_action(req))
        return json.loads(self.client.do_action_with_exception(req))

    def ecs(self, action, method="POST", **kw):
        return self.call(ECS, action, method, **kw)

    def oos(self, action, method="POST", **kw):
        return self.call(OOS, action, method, **kw)


@pytest.fixture
def legacy(sim_server):
    return Legacy(sim_server)


def linux_ids(server, count=2):
    return [i.id for i in server.sim.instances("cn-hangzhou") if i.os_type == "linux"][:count]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_describe_instances(legacy, sim_server, method):
    body = legacy.ecs("DescribeInstances", method, query={"RegionId": "cn-hangzhou", "InstanceName": "web-*"})
    names = sorted(i["InstanceName"] for i in body["Instances"]["Instance"])
    assert names and all(n.startswith("web-") for n in names)
    call = sim_server.calls(action="DescribeInstances")[-1]
    assert call["params"] == {"RegionId": "cn-hangzhou", "InstanceName": "web-*"}
    assert call["user_agent"].startswith("AlibabaCloud") or "Python" in call["user_agent"]


def test_describe_cloud_assistant_status_in_a_form_body(legacy, sim_server):
    ids = linux_ids(sim_server)
    body = legacy.ecs("DescribeCloudAssistantStatus", "POST", query={"RegionId": "cn-hangzhou"},
                      body={f"InstanceId.{n}": i for n, i in enumerate(ids, 1)})
    statuses = body["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]
    assert sorted(s["InstanceId"] for s in statuses) == sorted(ids)
    assert all(s["CloudAssistantStatus"] == "true" for s in statuses)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_run_command_and_results(legacy, sim_server, method):
    ids = linux_ids(sim_server)
    params = {"RegionId": "cn-hangzhou", "Type": "RunShellScript", "CommandContent": "echo conformance",
              "Timeout": "60", **{f"InstanceId.{n}": i for n, i in enumerate(ids, 1)}}
    split = {"query": params} if method == "GET" else {"query": {"RegionId": "cn-hangzhou"}, "body": params}
    invoke_id = legacy.ecs("RunCommand", method, **split)["InvokeId"]
    assert invoke_id.startswith("t-")

    def finished():
        body = legacy.ecs("DescribeInvocationResults", "GET",
                          query={"RegionId": "cn-hangzhou", "InvokeId": invoke_id, "IncludeHistory": "true"})
        results = body["Invocation"]["InvocationResults"]["InvocationResult"]
        done = len(results) == len(ids) and all(r["InvocationStatus"] in FINAL for r in results)
        return results if done else None
    results = wait_for(finished)
    assert {r["InstanceId"] for r in results} == set(ids)
    assert all(r["InvocationStatus"] == "Success" and r["ExitCode"] == 0 for r in results)


def test_oos_list_templates_start_and_list_executions(legacy, sim_server):
    templates = legacy.oos("ListTemplates", "GET", query={"TemplateType": "Package", "MaxResults": "20"})
    assert NODE in {t["TemplateName"] for t in templates["Templates"]}
    targets = {"Type": "ResourceIds", "ResourceIds": linux_ids(sim_server, 1), "RegionId": "cn-hangzhou"}
    started = legacy.oos("StartExecution", "POST", query={"RegionId": "cn-hangzhou"}, body={
        "TemplateName": PACKAGE_TEMPLATE, "Tags": json.dumps({"via": "legacy-sdk"}),
        "Parameters": json.dumps({"packageName": NODE, "action": "install", "targets": targets})})
    execution_id = started["Execution"]["ExecutionId"]
    assert execution_id.startswith("exec-")
    listed = legacy.oos("ListExecutions", "GET",
                        query={"ExecutionId": execution_id, "Tags": json.dumps({"via": "legacy-sdk"})})
    assert [e["ExecutionId"] for e in listed["Executions"]] == [execution_id]
    assert listed["Executions"][0]["TemplateName"] == PACKAGE_TEMPLATE


def test_xml_answers(legacy, sim_server):
    root = legacy.ecs("DescribeInstances", "GET", query={"RegionId": "cn-hangzhou", "InstanceName": "web-1"},
                      fmt="XML")
    assert root.tag == "DescribeInstancesResponse"
    assert [i.findtext("InstanceName") for i in root.find("Instances").findall("Instance")] == ["web-1"]
    root = legacy.oos("ListTemplates", "GET", query={"TemplateName": NODE}, fmt="XML")
    assert [t.findtext("TemplateName") for t in root.findall("Templates")] == [NODE]


def test_errors_are_server_exceptions_with_the_real_code(legacy):
    with pytest.raises(ServerException) as info:
        legacy.oos("StartExecution", "POST", body={"TemplateName": "no-such-template", "Parameters": "{}"})
    assert info.value.get_error_code() == "EntityNotExists.Template"
    assert info.value.get_http_status() == 404
    assert info.value.get_request_id()


def test_wrong_secret_is_signature_mismatch(sim_server):
    client = AcsClient(ACCESS_KEY, "not-the-secret", "cn-hangzhou", port=sim_server.port, auto_retry=False)
    req = Legacy(sim_server).request(ECS, "DescribeRegions", "GET")
    with pytest.raises(ServerException) as info:
        client.do_action_with_exception(req)
    assert info.value.get_error_code() == "SignatureDoesNotMatch"


def test_throttling_reaches_the_legacy_sdk(legacy, sim_server):
    sim_server.client.set_quotas(enabled=True, actions={"ecs": {"DescribeRegions": "1/60"}})
    legacy.ecs("DescribeRegions", "GET")
    with pytest.raises(ServerException) as info:
        legacy.ecs("DescribeRegions", "GET")
    assert (info.value.get_error_code(), info.value.get_http_status()) == ("Throttling.User", 400)
    assert info.value.get_error_msg() == "Request was denied due to user flow control."
