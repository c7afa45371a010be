"""Scheduled invocations: the Frequency's time zone forms, DescribeInvocations' Timed filter and
ModifyInvocationAttribute (all as the ECS API reference documents them)."""

import base64

import pytest
from alibabacloud_ecs20140526 import models as m
from conftest import error_of, instance_ids, invocation, run


def _listed(server, **kw):
    body = server.ecs().describe_invocations(m.DescribeInvocationsRequest(region_id="cn-hangzhou", max_results=50,
                                                                          **kw)).body
    return {i.invoke_id for i in body.invocations.invocation}


@pytest.mark.parametrize("frequency", [
    "at(2099-06-06 13:15:30 Asia/Shanghai)", "at(2099-06-06 13:15:30 GMT+8:00)", "at(2099-06-06 13:15:30 GMT-7:00)",
    "at(2099-06-06 13:15:30 UTC)", "at(2099-06-06 13:15:30)", "0 15 10 ? * * 2099 Asia/Shanghai",
    "0 0/30 10-11 * * ? 2099 GMT+8:00", "0 0/5 14 * 10 ? UTC", "0 0 12 * * ?",
])
def test_documented_time_zone_forms_are_taken(sim_server, frequency):
    body = run(sim_server, "echo tick", frequency=frequency)
    assert invocation(sim_server, body.invoke_id, statuses={"Scheduled"}).frequency == frequency


@pytest.mark.parametrize("frequency", [
    "at(2099-06-06 13:15:30 GMT+08:00)",      # a leading zero in the hour
    "at(2099-06-06 13:15:30 EST)",            # UTC is the only abbreviation
    "at(2099-06-06 13:15:30 Mars/Olympus)",
    "0 0 12 * * ? Mars/Olympus",
    "0 0 12 * * ? 2099 CST",
])
def test_other_time_zones_are_invalid(sim_server, frequency):
    assert error_of(lambda: run(sim_server, "echo tick", frequency=frequency)) == ("InvalidParam.Frequency", 400)


def test_timed_lists_the_invocations_that_will_still_run(sim_server):
    once = run(sim_server, "true").invoke_id
    invocation(sim_server, once)
    periodic = run(sim_server, "true", frequency="rate(1h)").invoke_id
    at = run(sim_server, "true", frequency="at(2099-01-01 00:00:00)").invoke_id
    boot = run(sim_server, "true", repeat_mode="EveryReboot").invoke_id
    stopped = run(sim_server, "true", frequency="0 0 3 * * ?").invoke_id
    sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id=stopped))
    invocation(sim_server, stopped, statuses={"Stopped"})
    assert _listed(sim_server, timed=True) == {periodic, at, boot}
    assert _listed(sim_server, timed=False) == {once, stopped}
    assert _listed(sim_server) == {once, periodic, at, boot, stopped}


def test_modify_invocation_attribute_changes_it_in_place(sim_server):
    web = instance_ids(sim_server, "web")
    body = run(sim_server, "echo {{who}}", enable_parameter=True, parameters={"who": "a"}, frequency="0 0 3 * * ?",
               instance_id=web[:1], tag=[m.RunCommandRequestTag(key="team", value="ops")])
    client = sim_server.ecs()
    client.modify_invocation_attribute(m.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id=body.invoke_id, frequency="0 0 4 * * ? Asia/Shanghai",
        command_content=base64.b64encode(b"echo changed {{who}}").decode(), content_encoding="Base64",
        enable_parameter=True, parameters={"who": "b"}, instance_id=web[1:2]))
    inv = invocation(sim_server, body.invoke_id, statuses={"Scheduled"}, content_encoding="PlainText")
    assert (inv.frequency, inv.command_content, inv.parameters) == (
        "0 0 4 * * ? Asia/Shanghai", "echo changed {{who}}", '{"who": "b"}')
    assert sorted(i.instance_id for i in inv.invoke_instances.invoke_instance) == sorted(web[:2])
    assert [(t.tag_key, t.tag_value) for t in inv.tags.tag] == [("team", "ops")]
    assert _listed(sim_server, timed=True) == {body.invoke_id}


def test_modify_invocation_attribute_keeps_a_rate_on_its_creation_time(sim_server_factory):
    server = sim_server_factory(time_scale=1.0)
    body = run(server, "true", frequency="rate(1h)", instance_id=instance_ids(server, "web-1"))
    created = server.sim.components["commands"].invocations[body.invoke_id].creation_time
    server.admin("POST", "clock", {"advance": 600})
    invocation(server, body.invoke_id, statuses={"Scheduled"})       # its first run is over
    server.ecs().modify_invocation_attribute(m.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id=body.invoke_id, frequency="rate(30m)"))
    item = next(iter(server.sim.components["commands"].invocations[body.invoke_id].items.values()))
    assert item.due == pytest.approx(created + 1800)


def test_modify_invocation_attribute_errors(sim_server):
    client = sim_server.ecs()
    assert error_of(lambda: client.modify_invocation_attribute(m.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id="t-nothing", frequency="rate(1h)"))) == ("InvalidInvokeId.NotFound", 404)
    body = run(sim_server, "true", frequency="rate(1h)")
    assert error_of(lambda: client.modify_invocation_attribute(m.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id=body.invoke_id, frequency="rate(10s)"))) == ("InvalidParam.Frequency", 400)
    assert error_of(lambda: client.modify_invocation_attribute(m.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id=body.invoke_id, instance_id=instance_ids(sim_server, "stopped")))) == (
        "InvalidInstance.NotMatch", 400)
