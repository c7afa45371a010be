"""oos_execution_info against the simulator, through the real SDK."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from alibabacloud_oos20190601 import models as oos_models

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import MASK, SECRET_TAG, Redactor, secret_tags
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_execution_info as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_extension_install as install
from unit_helpers import instance_ids as ids_by_name, sim_args as args

BT = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"
PACKAGE_TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"
AGENT = "acme-secret-agent"
TOKEN = "Tok-3b7e-secret-value"
VERSION = "Ver-91c2-secret-value"
WRONG = "Wrong-5d0f-secret-value"
FILLER = ["filler-parameter-name-%02d" % n for n in range(10)]     # the secret names land in the third tag
FINAL = ("Success", "Failed", "Cancelled")


def test_follows_an_install_started_without_waiting(sim_server_factory, run_module):
    server = sim_server_factory(time_scale=0.02)
    ids = ids_by_name(server)
    web = [ids["web-1"], ids["web-2"]]
    secret = "Very-Secret-123"
    rc, started = run_module(install.main, args(server, name=BT, instance_ids=web, wait=False,
                                                secret_parameters=dict(password=secret)))
    assert rc == 0, started["msg"]
    execution_ids = [e["execution_id"] for e in started["executions"]]

    rc, first = run_module(module.main, args(server, execution_ids=execution_ids + ["exec-doesnotexist"],
                                             include_instances=True))
    assert rc == 0 and first["all_done"] is False
    assert first["missing_execution_ids"] == ["exec-doesnotexist"]
    deadline = time.monotonic() + 30
    result = first
    while not result["all_done"] and time.monotonic() < deadline:
        time.sleep(0.2)
        rc, result = run_module(module.main, args(server, execution_ids=execution_ids, include_instances=True,
                                                  include_tasks=True, include_logs=True))
    assert result["all_done"] and result["summary"] == {"Success": 1}
    execution = result["executions"][0]
    assert execution["status"] == "Success" and execution["done"] and execution["is_parent"]
    assert set(execution["instances"]) == set(web)
    assert {i["status"] for i in execution["instances"].values()} == {"Success"}
    assert execution["parameters"]["parameters"]["password"] == "********"
    assert execution["parameters"]["packageName"] == BT
    assert {o["InstanceId"] for o in execution["outputs"]["commandOutput"]} == set(web)
    assert any(t["task_name"] == "configurePackage" for t in execution["tasks"])
    assert execution["logs"] and all("message" in entry for entry in execution["logs"])
    assert secret not in str(result)


def test_filters(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, done = run_module(install.main, args(sim_server, name="node", instance_ids=[ids["web-1"]],
                                             poll_interval=0.1, tags={"team": "web"}))
    assert rc == 0, done["msg"]
    rc, result = run_module(module.main, args(sim_server, template_name="BulkyConfigureOOSPackage", status="Success"))
    assert [e["execution_id"] for e in result["executions"]] == [done["executions"][0]["execution_id"]]
    rc, tagged = run_module(module.main, args(sim_server, tags={"team": "web"}))
    assert len(tagged["executions"]) == 1
    rc, none = run_module(module.main, args(sim_server, status="Failed"))
    assert none["executions"] == [] and none["all_done"] is True
    rc, later = run_module(module.main, args(sim_server, started_after="2099-01-01T00:00:00Z"))
    assert later["executions"] == []


@pytest.mark.parametrize("extra, fragment", [
    (dict(execution_ids=["exec-1", "bad"]), "execution_ids[1]"),
    (dict(execution_ids=["exec-1"], status="Failed"), "cannot be combined with status"),
    (dict(started_after="yesterday"), "started_after must be a UTC time"),
    (dict(max_results=0), "max_results"),
])
def test_bad_input(sim_server, run_module, extra, fragment):
    rc, result = run_module(module.main, args(sim_server, **extra))
    assert rc == 1 and fragment in result["msg"]
    assert sim_server.calls() == []


def test_queued_is_matched_by_the_module_not_sent_as_a_filter(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, done = run_module(install.main, args(sim_server, name="node", instance_ids=[ids["web-1"]], poll_interval=0.1))
    assert rc == 0, done["msg"]
    rc, queued = run_module(module.main, args(sim_server, status="Queued"))
    assert rc == 0 and queued["executions"] == [], queued.get("msg")
    rc, success = run_module(module.main, args(sim_server, status="Success"))
    assert rc == 0 and len(success["executions"]) == 1
    sent = [c["params"].get("Status") for c in sim_server.calls() if c["action"] == "ListExecutions"
            and "ansible-collection/" in c["user_agent"] and "ParentExecutionId" not in c["params"]]
    assert sent[-2:] == [None, "Success"]


def execution(n, status):
    return {"ExecutionId": "exec-%04d" % n, "Status": status, "TemplateName": "ACS-ECS-BulkyApplyPatchBaseline",
            "Parameters": {}, "StartDate": "2026-11-21T11:%02d:00Z" % (59 - n)}


def test_queued_executions_are_kept_from_every_page_until_max_results(scripted_server, run_module):
    """The simulator never queues an execution, so the listing is scripted (the SDK path is real)."""
    scripted_server.script(
        {"body": {"RequestId": "R1", "NextToken": "t1",
                  "Executions": [execution(1, "Running"), execution(2, "Queued"), execution(3, "Success")]}},
        {"body": {"RequestId": "R2", "NextToken": "t2",
                  "Executions": [execution(4, "Queued"), execution(5, "Queued"), execution(6, "Failed")]}},
        {"body": {"RequestId": "R3", "NextToken": "", "Executions": [execution(7, "Queued")]}})
    task = dict(region="cn-hangzhou", access_key="sim-access-key", secret_key="sim-secret-key",
                oos_endpoint=scripted_server.endpoint, status="Queued", max_results=2)
    rc, result = run_module(module.main, task)
    assert rc == 0 and [e["execution_id"] for e in result["executions"]] == ["exec-0002", "exec-0004"], result
    assert result["summary"] == {"Queued": 2}
    queries = [parse_qs(urlsplit(r["path"]).query) for r in scripted_server.requests]
    assert len(queries) == 2 and all("Status" not in q and q["MaxResults"] == ["100"] for q in queries)


def publish_agent(server):
    """A private extension that marks no parameter secret (no NoEcho): only the tags can mask them."""
    server.admin("POST", "templates/publish", {"name": AGENT, "parameters": {
        "version": {"Type": "String", "Default": "1.0"},
        "token": {"Type": "String", "AllowedValues": [TOKEN]}}})


def start_tagged(server, instance_ids, parameters, package=AGENT):
    """Start an extension execution as oos_extension_install does: the values in clear in the
    parameters, their names in the ecs-ops-secret-parameters tags. Returns its id once it has ended."""
    oos = server.oos()
    request = oos_models.StartExecutionRequest(
        region_id="cn-hangzhou", template_name=PACKAGE_TEMPLATE, mode="Automatic", safety_check="Skip",
        tags=secret_tags(list(parameters) + FILLER),
        parameters=json.dumps({"action": "install", "packageName": package, "parameters": parameters, "targets": {
            "Type": "ResourceIds", "ResourceIds": instance_ids, "RegionId": "cn-hangzhou"}}))
    execution_id = oos.start_execution(request).body.execution.execution_id
    deadline = time.monotonic() + 30
    while oos.list_executions(oos_models.ListExecutionsRequest(
            region_id="cn-hangzhou", execution_id=execution_id)).body.executions[0].status not in FINAL:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return execution_id


def test_tagged_secrets_are_masked_and_their_values_redacted_everywhere(sim_server, run_module):
    publish_agent(sim_server)
    ids = ids_by_name(sim_server)
    succeeded = start_tagged(sim_server, [ids["web-1"]], {"version": VERSION, "token": TOKEN})
    failed = start_tagged(sim_server, [ids["web-2"]], {"version": VERSION, "token": WRONG})
    rc, result = run_module(module.main, args(sim_server, execution_ids=[succeeded, failed], include_instances=True,
                                              include_tasks=True, include_logs=True), verbosity=4)
    assert rc == 0
    good, bad = result["executions"]
    assert good["parameters"]["parameters"] == {"version": MASK, "token": MASK}
    assert good["parameters"]["packageName"] == AGENT and good["status"] == "Success"
    assert good["outputs"]["commandOutput"][0]["InstanceResult"][0]["PackageResult"] == "install %s %s success" % (
        AGENT, MASK)
    assert bad["status"] == "Failed" and "is not one of the allowed values: %s" % MASK in bad["status_message"]
    assert "value '%s' is not one of" % MASK in bad["instances"][ids["web-2"]]["status_message"]
    assert any(MASK in task["status_message"] for task in bad["tasks"])
    assert any(MASK in entry["message"] for entry in bad["logs"])
    text = json.dumps(result)
    assert not [s for s in (TOKEN, VERSION, WRONG) if s in text]


def test_a_secret_in_json_text_of_the_outputs_is_redacted_in_its_escaped_form(sim_server, run_module):
    secret = 'Bt"Pass\\7f3a-word'            # a quote and a backslash: JSON text holds it escaped
    ids = ids_by_name(sim_server)
    execution_id = start_tagged(sim_server, [ids["web-1"]], {"password": secret}, package=BT)
    rc, result = run_module(module.main, args(sim_server, execution_ids=[execution_id]), verbosity=4)
    assert rc == 0 and result["executions"][0]["parameters"]["parameters"] == {"password": MASK}
    config = result["executions"][0]["outputs"]["configurationOutput"][0]["InstanceResult"][0]["PackageResult"]
    assert json.loads(config)["password"] == MASK
    assert secret not in config and json.dumps(secret)[1:-1] not in config


def test_a_child_without_tags_is_masked_with_its_parents_tags(sim_server_factory, run_module):
    server = sim_server_factory(fleet={"child_execution_tags": False, "regions": {"cn-hangzhou": {"instances": [
        {"name": "web", "os_type": "linux"}]}}})
    publish_agent(server)
    parent = start_tagged(server, [server.sim.instances()[0].id], {"version": VERSION, "token": TOKEN})
    child = server.oos().list_executions(oos_models.ListExecutionsRequest(
        region_id="cn-hangzhou", parent_execution_id=parent)).body.executions[0]
    assert child.tags == {} and child.parameters["parameters"]["token"] == TOKEN
    rc, direct = run_module(module.main, args(server, execution_ids=[child.execution_id]), verbosity=4)
    assert rc == 0 and direct["executions"][0]["parameters"]["parameters"] == {"version": MASK, "token": MASK}
    assert direct["executions"][0]["outputs"]["commandOutput"] == "install %s %s success" % (AGENT, MASK)
    rc, through_parent = run_module(module.main, args(server, execution_ids=[parent], include_instances=True))
    assert rc == 0 and len(through_parent["executions"][0]["instances"]) == 1
    for result in (direct, through_parent):
        assert TOKEN not in json.dumps(result) and VERSION not in json.dumps(result)


class ChildListing:
    """ListExecutions(ParentExecutionId) answering children the simulator cannot produce: their secret values
    are not in the parent's parameters."""

    def __init__(self, children):
        self.children = children

    def call(self, action, params=None, deadline=None):
        assert action == "ListExecutions" and params["ParentExecutionId"] == "exec-parent"
        return {"Executions": self.children, "NextToken": ""}


def test_child_secrets_named_by_their_own_tags_or_the_parents_are_redacted():
    children = [
        {"ExecutionId": "exec-child1", "Status": "Failed", "Tags": {SECRET_TAG: "childOnly"},
         "Parameters": {"instanceId": "i-1", "childOnly": "Child-Only-Secret"},
         "StatusMessage": "rejected Child-Only-Secret", "Outputs": "{}"},
        {"ExecutionId": "exec-child2", "Status": "Success", "Tags": {},
         "Parameters": {"instanceId": "i-2", "token": "Parent-Named-Secret"},
         "Outputs": '{"out": "uses Parent-Named-Secret"}'},
    ]
    redactor = Redactor()
    results = module.instance_results(ChildListing(children), {"execution_id": "exec-parent"}, redactor, {"token"})
    assert redactor.redact(results) == {
        "i-1": dict(status="Failed", status_message="rejected ********", execution_id="exec-child1", outputs={}),
        "i-2": dict(status="Success", status_message="", execution_id="exec-child2", outputs={"out": "uses ********"}),
    }
