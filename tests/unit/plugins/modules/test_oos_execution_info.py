"""oos_execution_info against the simulator, through the real SDK."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_execution_info as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_extension_install as install

BT = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"


def args(server, **extra):
    base = dict(region="cn-hangzhou", access_key="sim-access-key", secret_key="sim-secret-key",
                oos_endpoint=server.url, ecs_endpoint=server.url)
    base.update(extra)
    return base


def ids_by_name(server):
    return {i.name: i.id for i in server.sim.instances()}


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
