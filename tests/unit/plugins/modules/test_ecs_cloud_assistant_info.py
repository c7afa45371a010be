"""ecs_cloud_assistant_info against the simulator, through the real SDK."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_info as module
from unit_helpers import api_calls, instance_ids as by_name, sim_args as args, warnings_of

MISSING = "i-bpmissing0000000001"


@pytest.mark.parametrize("check_mode", [False, True])
def test_reports_each_instance_with_a_reason(sim_server, run_module, check_mode):
    ids = by_name(sim_server)
    wanted = [ids["web-1"], ids["noagent"], ids["stopped"], ids["win"], MISSING]
    rc, result = run_module(module.main, args(sim_server, instance_ids=wanted + [ids["web-1"]]), check_mode=check_mode)
    assert rc == 0 and result["changed"] is False
    instances = result["instances"]
    assert list(instances) == wanted
    web = instances[ids["web-1"]]
    assert web["ready"] and web["agent_online"] and web["agent_installed"] and web["reason"] == ""
    assert web["os_type"] == "linux" and web["status"] == "Running" and web["name"] == "web-1" and web["agent_version"]
    assert web["region"] == "cn-hangzhou" and web["exists"] is True
    assert instances[ids["win"]]["os_type"] == "windows" and instances[ids["win"]]["ready"]
    assert not instances[ids["noagent"]]["agent_installed"]
    assert "not installed" in instances[ids["noagent"]]["reason"]
    assert "Stopped" in instances[ids["stopped"]]["reason"]
    assert instances[MISSING]["exists"] is False and "does not exist" in instances[MISSING]["reason"]
    assert result["ready_instance_ids"] == [ids["web-1"], ids["win"]]
    assert result["summary"] == dict(total=5, ready=2, agent_offline=0, agent_not_installed=1, not_running=1, not_found=1)
    assert any("1 duplicate" in w for w in warnings_of(result))
    assert all(not c["mutating"] for c in api_calls(sim_server))


def test_offline_agent(sim_server, run_module):
    ids = by_name(sim_server)
    sim_server.admin("POST", "instances/%s" % ids["web-2"], {"agent": "offline"})
    _rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-2"]]))
    entry = result["instances"][ids["web-2"]]
    assert entry["agent_installed"] and not entry["agent_online"] and "offline" in entry["reason"]
    assert result["summary"]["agent_offline"] == 1


def test_whole_region_and_os_filter(sim_server, run_module):
    _rc, result = run_module(module.main, args(sim_server))
    hangzhou = {i.id for i in sim_server.sim.instances("cn-hangzhou")}
    assert set(result["instances"]) == hangzhou
    _rc, windows = run_module(module.main, args(sim_server, os_type="windows"))
    assert [e["name"] for e in windows["instances"].values()] == ["win"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_selects_instances_by_tag(sim_server, run_module, check_mode):
    rc, result = run_module(module.main, args(sim_server, instance_tags={"role": "web", "env": "dev"}), check_mode=check_mode)
    assert rc == 0 and result["changed"] is False
    assert sorted(e["name"] for e in result["instances"].values()) == ["web-1", "web-2", "web-3"]
    assert all(e["tags"] == {"env": "dev", "role": "web"} for e in result["instances"].values())
    # An empty value matches any value of the key; the agentless and the stopped instance are reported, not ready.
    _rc, any_env = run_module(module.main, args(sim_server, instance_tags={"env": ""}))
    assert {"noagent", "stopped", "db", "win"} <= {e["name"] for e in any_env["instances"].values()}
    assert any_env["summary"]["agent_not_installed"] == 1 and any_env["summary"]["not_running"] == 1
    _rc, prod = run_module(module.main, args(sim_server, region="cn-shanghai", instance_tags={"env": "prod"}))
    assert sorted(e["name"] for e in prod["instances"].values()) == ["sh-web-1", "sh-web-2"]
    _rc, none = run_module(module.main, args(sim_server, instance_tags={"role": "nothing-has-this"}))
    assert none["instances"] == {} and none["summary"]["total"] == 0
    assert all(not c["mutating"] for c in api_calls(sim_server))


def test_pages_through_a_large_region(sim_server_factory, run_module):
    server = sim_server_factory(fleet={"regions": {"cn-beijing": {"instances": [{"name": "n", "os_type": "linux", "count": 230}]}}})
    _rc, result = run_module(module.main, args(server, region="cn-beijing"))
    assert len(result["instances"]) == 230 and result["summary"]["ready"] == 230
    actions = [c["action"] for c in api_calls(server)]
    assert actions.count("DescribeInstances") == 3
    assert actions.count("DescribeCloudAssistantStatus") == 5


@pytest.mark.parametrize("bad,fragment", [
    ({"instance_ids": ["web-1"]}, "is not an instance id"),
    ({"instance_ids": []}, "must not be empty"),
    ({"region": "Hangzhou"}, "region must be a region id"),
    ({"ecs_endpoint": "ftp://x"}, "ecs_endpoint"),
    ({"api_retries": -1}, "api_retries must be >= 0"),
    ({"access_key": "only-the-key", "secret_key": None}, "secret_key is not"),
    ({"os_type": "beos"}, "value of os_type must be one of"),
    ({"instance_tags": {}}, "instance_tags must be a non-empty dict"),
    ({"instance_tags": {" ": "x"}}, "must be a non-empty string"),
    ({"instance_tags": {"k%d" % n: "v" for n in range(21)}}, "at most 20 are allowed"),
    ({"instance_tags": {"env": "dev"}, "instance_ids": ["i-bp1"]}, "mutually exclusive"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, bad, fragment):
    rc, result = run_module(module.main, dict(args(sim_server), **bad))
    assert rc == 1 and result["failed"] and fragment in result["msg"]
    assert api_calls(sim_server) == []


def test_api_errors_are_clear_and_keep_secrets_out(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, secret_key="wrong-secret-value", instance_ids=[MISSING]))
    assert rc == 1
    assert result["msg"].startswith("ECS DescribeInstances failed: SignatureDoesNotMatch")
    assert result["error"]["code"] == "SignatureDoesNotMatch" and result["error"]["http_status"] == 400
    assert result["error"]["request_id"]
    assert "wrong-secret-value" not in repr(result)


def test_unknown_access_key(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, access_key="nobody", instance_ids=[MISSING]))
    assert rc == 1 and result["error"]["code"] == "InvalidAccessKeyId.NotFound" and result["error"]["http_status"] == 404


def test_throttling_is_retried_and_shown_at_vvv(sim_server, run_module):
    sim_server.admin("POST", "faults", {"action": "Describe*", "code": "Throttling.User", "http_status": 400, "count": 2})
    rc, result = run_module(module.main, args(sim_server), verbosity=3)
    assert rc == 0 and result["instances"]
    retries = [w for w in warnings_of(result) if w.startswith("retry: ECS Describe")]
    assert len(retries) == 2 and "Throttling.User" in retries[0]
    rc, quiet = run_module(module.main, args(sim_server))
    assert not any(w.startswith("retry:") for w in warnings_of(quiet))


def test_missing_sdk_is_reported(sim_server, run_module, monkeypatch):
    monkeypatch.setattr(_module, "sdk_available", lambda: False)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[MISSING]))
    assert rc == 1 and "alibabacloud-tea-openapi" in result["msg"]
