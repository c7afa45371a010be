"""The /_sim/ admin API and injected faults."""

import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from conftest import instance_ids
from darabonba.exceptions import UnretryableException

from alicloud_sim.core import admin
from alicloud_sim.core.registry import COMPONENTS
from alicloud_sim.testing import AdminClient, AdminError

SMALL_FLEET = {"regions": {"cn-beijing": {"instances": [
    {"id": "i-2zeadmin0000000001", "name": "a", "os_type": "linux", "tags": {"team": "x"}},
    {"name": "b", "os_type": "windows", "count": 2}]}}}


def _describe(server, region="cn-hangzhou", **kw):
    return server.ecs().describe_instances(ecs_models.DescribeInstancesRequest(region_id=region, **kw)).body


def test_health_and_state(sim_server):
    health = sim_server.admin("GET", "health")
    assert health["status"] == "ok" and health["instances"] == 9 and health["time_scale"] == 0.001
    state = sim_server.admin("GET", "state")
    assert len(state["instances"]) == 9 and "commands" in state


def test_reset_with_fleet_and_time_scale(sim_server):
    result = sim_server.admin("POST", "reset", {**SMALL_FLEET, "time_scale": 0.5})
    assert result["instances"] == 3 and result["time_scale"] == 0.5
    assert [i.instance_id for i in _describe(sim_server, "cn-beijing").instances.instance][0] == "i-2zeadmin0000000001"
    assert _describe(sim_server).total_count == 0
    assert sim_server.reset()["instances"] == 9
    with pytest.raises(AdminError) as info:
        sim_server.reset({"regions": {"atlantis-1": {"instances": []}}})
    assert info.value.status == 400


def test_add_instances(sim_server):
    ids = sim_server.admin("POST", "instances", SMALL_FLEET)["instance_ids"]
    assert len(ids) == 3 and ids[0] == "i-2zeadmin0000000001"
    assert _describe(sim_server, "cn-beijing").total_count == 3
    with pytest.raises(AdminError) as info:
        sim_server.admin("POST", "instances", SMALL_FLEET)
    assert info.value.status == 400 and "duplicate" in info.value.body["error"]


def test_patch_instance(sim_server):
    iid = instance_ids(sim_server, "web")[0]
    change = {"status": "Stopped", "agent": "offline", "tags": {"env": "prod"}, "fail": ["command"]}
    view = sim_server.admin("PATCH", f"instances/{iid}", change)
    assert (view["status"], view["agent"], view["tags"]) == ("Stopped", "offline", {"env": "prod"})
    assert sim_server.sim.instance(iid).fail == {"command"}
    assert _describe(sim_server, status="Stopped").total_count == 2
    sim_server.admin("POST", f"instances/{iid}", {"released": True})
    assert iid not in [i.instance_id for i in _describe(sim_server).instances.instance]
    for path, body, status in ((f"instances/{iid}", {"colour": "red"}, 400),
                               (f"instances/{iid}", {"status": "Exploded"}, 400),
                               ("instances/i-nothere", {"status": "Running"}, 404)):
        with pytest.raises(AdminError) as info:
            sim_server.admin("PATCH", path, body)
        assert info.value.status == status


def test_calls_filters(sim_server):
    client = sim_server.ecs()
    client.describe_regions(ecs_models.DescribeRegionsRequest())
    first = sim_server.calls()[-1]["seq"]
    client.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    client.describe_regions(ecs_models.DescribeRegionsRequest())
    since = sim_server.admin("GET", f"calls?since={first}")["calls"]
    assert [c["action"] for c in since] == ["DescribeInstances", "DescribeRegions"]
    entry = sim_server.calls(product="ecs", action="DescribeInstances")[0]
    assert entry["params"] == {"RegionId": "cn-hangzhou"} and entry["mutating"] is False
    assert entry["region"] == "cn-hangzhou" and entry["sim_time"] > 0 and entry["duration_ms"] >= 0
    assert sim_server.calls(product="oos") == []


def test_clock_advance(sim_server):
    before = sim_server.admin("GET", "health")["now"]
    after = sim_server.admin("POST", "clock", {"advance": 3600})["now"]
    assert after - before >= 3600
    assert sim_server.admin("POST", "clock", {"time_scale": 2})["time_scale"] == 2
    with pytest.raises(AdminError):
        sim_server.admin("POST", "clock", {"advance": -1})


def test_unknown_endpoints_and_remote_clients(sim_server):
    with pytest.raises(AdminError) as info:
        sim_server.admin("GET", "nothing")
    assert info.value.status == 404
    with pytest.raises(AdminError) as info:
        sim_server.admin("POST", "commands/explode", {})
    assert info.value.status == 404
    status, body = admin.handle(sim_server.httpd, "GET", "/_sim/health", b"", "10.1.2.3")
    assert status == 403 and "loopback" in body["error"]


def test_component_hook(sim_server_factory, monkeypatch):
    class Probe:
        def __init__(self, sim):
            self.sim = sim

        def admin_echo(self, body):
            return {"echo": body, "locked": self.sim.lock._is_owned()}   # pylint: disable=protected-access

    monkeypatch.setitem(COMPONENTS, "probe", Probe)
    server = sim_server_factory()
    assert server.admin("POST", "probe/echo", {"x": 1}) == {"echo": {"x": 1}, "locked": True}


def test_admin_client(sim_server):
    client = AdminClient(sim_server.url)
    assert client.reset(SMALL_FLEET, time_scale=0.5)["instances"] == 3 and client.health()["time_scale"] == 0.5
    added = client.add_instances({"regions": {"cn-qingdao": {"instances": [{"name": "q", "os_type": "linux"}]}}})
    assert client.instance(added[0])["region"] == "cn-qingdao"
    assert client.change_instance(added[0], status="Stopped")["status"] == "Stopped"
    assert client.faults({"action": "DescribeRegions", "code": "Throttling"})["faults"][0]["id"]
    assert len(client.faults()["faults"]) == 1 and client.clear_faults() == {"cleared": 1}
    _regions(sim_server.ecs())
    first = client.calls()[-1]["seq"]
    _describe(sim_server)
    assert [c["action"] for c in client.calls(since=first)] == ["DescribeInstances"]
    assert client.calls(product="oos") == [] and len(client.calls(action="DescribeRegions", product="ecs")) == 1
    assert client.clock(advance=60)["now"] >= client.state()["now"] - 1
    assert client.component("templates", "publish", {"name": "acme-log-shipper"})
    with pytest.raises(AdminError) as info:
        client.component("templates", "explode")
    assert info.value.status == 404 and "no admin hook" in info.value.body["error"]


# --- faults ---------------------------------------------------------------------------------------

def _regions(client):
    return client.describe_regions(ecs_models.DescribeRegionsRequest())


def test_fault_count_then_expires(sim_server):
    rules = sim_server.admin("POST", "faults", {"action": "DescribeRegions", "code": "Throttling.User", "count": 2})
    client = sim_server.ecs()
    for _ in range(2):
        with pytest.raises(ClientException) as info:
            _regions(client)
        assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
        assert info.value.data["Message"] == "Request was denied due to user flow control."
    assert _regions(client).status_code == 200
    listed = sim_server.admin("GET", "faults")["faults"]
    assert listed[0]["id"] == rules["faults"][0]["id"] and listed[0]["fired"] == 2 and not listed[0]["active"]
    codes = [c["error_code"] for c in sim_server.calls(action="DescribeRegions")]
    assert codes == ["Throttling.User", "Throttling.User", None]


def test_fault_skip_lets_the_first_calls_through(sim_server):
    sim_server.admin("POST", "faults", {"action": "DescribeRegions", "code": "Throttling.User", "skip": 2,
                                        "count": 1})
    client = sim_server.ecs()
    assert _regions(client).status_code == 200 and _regions(client).status_code == 200
    with pytest.raises(ClientException) as info:
        _regions(client)
    assert info.value.code == "Throttling.User"
    assert _regions(client).status_code == 200
    assert [c["error_code"] for c in sim_server.calls(action="DescribeRegions")] == [None, None, "Throttling.User",
                                                                                      None]


def test_fault_rate_is_reproducible(sim_server):
    def pattern():
        sim_server.admin("DELETE", "faults")
        sim_server.admin("POST", "faults", {"action": "Describe*", "product": "ecs", "code": "ServiceUnavailable",
                                            "rate": 0.5, "seed": 7})
        outcome = []
        for _ in range(12):
            try:
                _regions(sim_server.ecs())
                outcome.append("ok")
            except ServerException as err:
                assert err.status_code == 503
                outcome.append("503")
        return outcome

    first = pattern()
    assert first == pattern() and "ok" in first and "503" in first


def test_fault_retry_after_gives_throttling_exception(sim_server):
    sim_server.admin("POST", "faults", [{"action": "RunCommand", "code": "Throttling.User", "retry_after_ms": 1500},
                                        {"action": "*", "product": "oos", "code": "Throttling"}])
    with pytest.raises(ThrottlingException) as info:
        sim_server.ecs().run_command(ecs_models.RunCommandRequest(
            region_id="cn-hangzhou", type="RunShellScript", command_content="true",
            instance_id=instance_ids(sim_server, "web-1")))
    assert info.value.retry_after == 1500 and info.value.code == "Throttling.User"
    assert sim_server.admin("GET", "state")["commands"]["invocations"] == {}
    assert _regions(sim_server.ecs()).status_code == 200


def test_fault_latency(sim_server):
    sim_server.admin("POST", "faults", {"action": "DescribeRegions", "latency_ms": 150, "count": 1})
    started = time.monotonic()
    assert _regions(sim_server.ecs()).status_code == 200
    assert time.monotonic() - started >= 0.15
    assert sim_server.calls(action="DescribeRegions")[-1]["duration_ms"] >= 150


@pytest.mark.parametrize("when, invocations", [("before", 0), ("after", 1)])
def test_fault_drop_connection(sim_server, when, invocations):
    sim_server.admin("POST", "faults", {"action": "RunCommand", "drop": when, "count": 1})
    request = ecs_models.RunCommandRequest(region_id="cn-hangzhou", type="RunShellScript", command_content="true",
                                           instance_id=instance_ids(sim_server, "web-1"), client_token="tok-drop")
    with pytest.raises(UnretryableException):
        sim_server.ecs().run_command(request)
    assert len(sim_server.admin("GET", "state")["commands"]["invocations"]) == invocations
    entry = sim_server.calls(action="RunCommand")[-1]
    assert entry["dropped"] is True and entry["http_status"] is None
    retried = sim_server.ecs().run_command(request)   # the same ClientToken: no second invocation
    assert len(sim_server.admin("GET", "state")["commands"]["invocations"]) == 1
    assert retried.body.invoke_id in sim_server.admin("GET", "state")["commands"]["invocations"]


def test_bad_fault_rules(sim_server):
    for rule in ({"action": "*"}, {"code": "X", "rate": 2}, {"code": "X", "drop": "after"}, {"code": "X", "bogus": 1}):
        with pytest.raises(AdminError) as info:
            sim_server.admin("POST", "faults", rule)
        assert info.value.status == 400
    assert sim_server.admin("DELETE", "faults") == {"cleared": 0}
