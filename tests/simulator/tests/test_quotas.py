"""API quotas: token buckets per (access key, product, action), the real throttling error, the call log,
the admin API, the fleet file and the command line."""

import json

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_oos20190601 import models as oos_models
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException
from test_cli import _health, _start, _stop

from alicloud_sim.cli import load_quotas
from alicloud_sim.core.quotas import QuotaBook, parse_quota, published
from alicloud_sim.simulator import default_fleet
from alicloud_sim.testing import AdminError


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def regions(server, **config):
    return server.ecs(**config).describe_regions(ecs_models.DescribeRegionsRequest())


def throttle_of(call):
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def test_quotas_are_off_by_default(sim_server):
    for _ in range(40):
        regions(sim_server)
    view = sim_server.client.quotas()
    assert view["enabled"] is False and view["buckets"] == [] and view["throttled"] == 0
    assert sim_server.client.health()["quotas_enabled"] is False
    assert not sim_server.client.calls(throttled=True)


def test_over_quota_is_the_real_throttling_error(sim_server):
    sim_server.client.set_quotas(enabled=True, actions={"ecs": {"DescribeRegions": "3/60"}})
    for _ in range(3):
        assert regions(sim_server).status_code == 200
    err = throttle_of(lambda: regions(sim_server))
    assert (err.code, err.status_code) == ("Throttling.User", 400)
    assert err.data["Message"] == "Request was denied due to user flow control."
    assert err.data["HostId"] == "ecs-cn-hangzhou.aliyuncs.com"
    assert err.data["Recommend"] == (f"https://api.aliyun.com/troubleshoot?q=Throttling.User&product=Ecs"
                                     f"&requestId={err.request_id}")
    calls = sim_server.calls(action="DescribeRegions")
    assert [c["throttled"] for c in calls] == [False, False, False, True]
    assert calls[-1]["error_code"] == "Throttling.User" and calls[-1]["http_status"] == 400
    assert [c["seq"] for c in sim_server.client.calls(throttled=True)] == [calls[-1]["seq"]]
    bucket, = sim_server.client.quotas()["buckets"]
    assert bucket == {"access_key": "sim-access-key", "product": "ecs", "action": "DescribeRegions",
                      "quota": "3/60", "tokens": pytest.approx(0, abs=0.01), "allowed": 3, "throttled": 1}


def test_buckets_are_per_access_key_product_and_action(sim_server):
    sim_server.client.set_quotas(enabled=True, default="1/60")
    regions(sim_server)
    assert throttle_of(lambda: regions(sim_server)).code == "Throttling.User"
    # another action, another product, another access key: each has its own bucket
    sim_server.ecs().describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    sim_server.oos().describe_regions(oos_models.DescribeRegionsRequest())
    sts = {"access_key_id": "STS.sim-access-key", "access_key_secret": "sim-sts-secret",
           "security_token": "sim-sts-token"}
    assert regions(sim_server, **sts).status_code == 200
    keys = {(b["access_key"], b["product"], b["action"]) for b in sim_server.client.quotas()["buckets"]}
    assert keys == {("sim-access-key", "ecs", "DescribeRegions"), ("sim-access-key", "ecs", "DescribeInstances"),
                    ("sim-access-key", "oos", "DescribeRegions"), ("STS.sim-access-key", "ecs", "DescribeRegions")}


def test_throttled_calls_change_nothing(sim_server):
    sim_server.client.set_quotas(enabled=True, actions={"ecs": {"CreateCommand": "1/60"}})
    client = sim_server.ecs()

    def create(name):
        return client.create_command(ecs_models.CreateCommandRequest(
            region_id="cn-hangzhou", name=name, type="RunShellScript", command_content="ZWNobyBoaQ=="))
    create("first")
    assert throttle_of(lambda: create("second")).code == "Throttling.User"
    names = {c.name for c in client.describe_commands(ecs_models.DescribeCommandsRequest(
        region_id="cn-hangzhou", provider="")).body.commands.command}
    assert "first" in names and "second" not in names


def test_tokens_come_back_at_the_quota_rate():
    clock = FakeClock()
    book = QuotaBook({"enabled": True, "actions": {"ecs": {"RunCommand": "2/1"}}}, clock=clock)
    assert book.take("ak", "ecs", "RunCommand") is None
    assert book.take("ak", "ecs", "RunCommand") is None
    assert book.take("ak", "ecs", "RunCommand") == pytest.approx(0.5)    # one token every 0.5 s
    clock.now += 0.25
    assert book.take("ak", "ecs", "RunCommand") == pytest.approx(0.25)
    clock.now += 0.25
    assert book.take("ak", "ecs", "RunCommand") is None
    clock.now += 60    # the bucket holds at most its quota
    assert [book.take("ak", "ecs", "RunCommand") is None for _ in range(3)] == [True, True, False]


def test_per_region_buckets_and_the_simulated_clock():
    real, simulated = FakeClock(), FakeClock()
    book = QuotaBook({"enabled": True, "actions": {"ecs": {"RunCommand": "1/10"}}}, clock=real, sim_clock=simulated)
    assert book.take("ak", "ecs", "RunCommand", "cn-hangzhou") is None
    assert book.take("ak", "ecs", "RunCommand", "cn-shanghai") == pytest.approx(10)   # one bucket by default
    book.update({"per_region": True, "clock": "simulated"})
    assert book.take("ak", "ecs", "RunCommand", "cn-hangzhou") is None
    assert book.take("ak", "ecs", "RunCommand", "cn-shanghai") is None                # a bucket per region
    assert book.take("ak", "ecs", "RunCommand", "cn-hangzhou") == pytest.approx(10)
    real.now += 60                      # real time does not refill a bucket on the simulated clock
    assert book.take("ak", "ecs", "RunCommand", "cn-hangzhou") == pytest.approx(10)
    simulated.now += 10
    assert book.take("ak", "ecs", "RunCommand", "cn-hangzhou") is None
    view = book.view()
    assert view["per_region"] is True and view["clock"] == "simulated"
    assert {b["region"] for b in view["buckets"]} == {"cn-hangzhou", "cn-shanghai"}
    with pytest.raises(ValueError, match="quotas.clock"):
        book.update({"clock": "wall"})


def test_retry_after_is_in_real_milliseconds_on_the_simulated_clock(sim_server):
    sim_server.client.set_quotas(enabled=True, retry_after=True, clock="simulated",
                                 actions={"ecs": {"DescribeRegions": "1/100"}})
    sim_server.client.clock(time_scale=0.01)
    try:
        regions(sim_server)
        with pytest.raises(ThrottlingException) as info:
            regions(sim_server)
        assert 500 < int(info.value.retry_after) <= 1000     # 100 simulated s at 0.01 real s each
    finally:
        sim_server.client.clock(time_scale=1.0)


def test_published_figures_are_the_defaults():
    book = QuotaBook({"enabled": True})
    assert book.quota_of("oos", "StartExecution") == published()["oos"]["StartExecution"] == "300/60"
    assert book.quota_of("oos", "ListInstancePatchStates") == "20/1"
    assert book.quota_of("ecs", "CreateCommand") == "1000/60"
    assert book.quota_of("ecs", "RunCommand") == "500/60"       # no published figure: the ECS fallback
    assert book.quota_of("oos", "ListExecutions") == "300/60"   # no published figure: the OOS fallback
    book.update({"default": "5/1", "actions": {"ecs": {"RunCommand": None}}})
    assert book.quota_of("oos", "StartExecution") == "5/1" and book.quota_of("ecs", "RunCommand") is None


@pytest.mark.parametrize("text, parsed", [("300/60", (300, 60)), ("300/60s", (300, 60)), ("20/1(s)", (20, 1)),
                                          (" 10 / 0.5 ", (10, 0.5)), ("none", None), (None, None), (7, (7, 1))])
def test_quota_notation(text, parsed):
    assert parse_quota(text) == parsed


@pytest.mark.parametrize("bad", ["fast", "0/60", "10/0", "-1/5", "10 per minute"])
def test_bad_quota_notation(bad):
    with pytest.raises(ValueError):
        parse_quota(bad)


def test_retry_after_header_on_request(sim_server):
    sim_server.client.set_quotas(enabled=True, retry_after=True, actions={"ecs": {"DescribeRegions": "1/2"}})
    regions(sim_server)
    with pytest.raises(ThrottlingException) as info:
        regions(sim_server)
    assert 1000 < int(info.value.retry_after) <= 2000    # milliseconds until the next token
    assert info.value.code == "Throttling.User"


def test_admin_api_refill_disable_and_validation(sim_server):
    client = sim_server.client
    client.set_quotas(enabled=True, actions={"ecs": {"DescribeRegions": "1/60"}})
    regions(sim_server)
    throttle_of(lambda: regions(sim_server))
    assert client.quotas()["throttled"] == 1
    assert client.refill_quotas() == 1
    assert regions(sim_server).status_code == 200
    client.set_quotas(enabled=False)
    for _ in range(3):
        regions(sim_server)
    with pytest.raises(AdminError) as info:
        client.set_quotas(default="lots")
    assert info.value.status == 400 and "300/60" in info.value.body["error"]
    with pytest.raises(AdminError) as info:
        client.request("POST", "quotas", {"enable": True})
    assert info.value.status == 400 and "unknown quotas fields" in info.value.body["error"]


def test_fleet_quotas_apply_on_reset_over_the_base(sim_server_factory):
    server = sim_server_factory(quotas={"enabled": True, "actions": {"ecs": {"DescribeRegions": "1/60"}}})
    regions(server)
    assert throttle_of(lambda: regions(server)).code == "Throttling.User"
    server.client.reset({**default_fleet(), "quotas": {"actions": {"ecs": {"DescribeRegions": "2/60"}}}})
    regions(server)
    regions(server)
    assert throttle_of(lambda: regions(server)).code == "Throttling.User"
    server.client.reset()    # back to the base (the command line's): 1/60, buckets full
    assert server.client.quotas()["actions"] == {"ecs": {"DescribeRegions": "1/60"}}
    regions(server)
    assert throttle_of(lambda: regions(server)).code == "Throttling.User"
    with pytest.raises(AdminError) as info:
        server.client.reset({**default_fleet(), "quotas": {"enabled": "yes"}})
    assert info.value.status == 400
    assert regions(server, access_key_id="STS.sim-access-key", access_key_secret="sim-sts-secret",
                   security_token="sim-sts-token").status_code == 200   # the failed reset tore nothing down


def test_load_quotas_from_the_command_line(tmp_path):
    assert load_quotas("on") == {"enabled": True} and load_quotas("off") == {"enabled": False}
    assert load_quotas(None) is None
    assert load_quotas('{"default": "9/1"}') == {"default": "9/1", "enabled": True}
    path = tmp_path / "quotas.yml"
    path.write_text("quotas:\n  actions:\n    oos: {StartExecution: 10/60}\n")
    assert load_quotas(str(path)) == {"actions": {"oos": {"StartExecution": "10/60"}}, "enabled": True}


def test_serve_with_quotas(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"actions": {"ecs": {"DescribeRegions": "1/60"}}}))
    proc, first = _start("--port", "0", "--quotas", str(path))
    try:
        url = first.split("listening on ", 1)[1]
        assert _health(url)["quotas_enabled"] is True
    finally:
        code, _ = _stop(proc)
    assert code == 0
    proc, first = _start("--port", "0", "--quotas", '{"default": "fast"}')
    try:
        code, err = proc.wait(timeout=10), proc.stderr.read()
    finally:
        proc.stdout.close()
        proc.stderr.close()
    assert first == "" and code == 1 and "300/60" in err
