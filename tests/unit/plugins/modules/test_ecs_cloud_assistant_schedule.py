"""ecs_cloud_assistant_schedule and ecs_cloud_assistant_schedule_info against the simulator, through the real SDK."""

from __future__ import annotations

import base64

import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_schedule as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_schedule_info as info
from unit_helpers import api_calls, instance_ids as by_name, mutating, sim_args, warnings_of

NAME = "nightly-cleanup"


def args(server, **extra):
    ids = by_name(server)
    base = dict(name=NAME, command="echo cleaned {{days}}", parameters={"days": 7},
                instance_ids=[ids["web-1"], ids["web-2"]], frequency="rate(10m)")
    return sim_args(server, **dict(base, **extra))


def schedules(server, run_module, **extra):
    _rc, result = run_module(info.main, sim_args(server, **extra))
    return result["schedules"]


def last_seq(server):
    calls = api_calls(server)
    return calls[-1]["seq"] if calls else 0


def test_created_once_then_unchanged_without_a_mutating_call(sim_server, run_module):
    rc, first = run_module(module.main, args(sim_server))
    assert rc == 0 and first["changed"] and first["action"] == "created", first
    runs = api_calls(sim_server, "RunCommand")
    assert len(runs) == 1
    sent = runs[0]["params"]
    assert sent["RepeatMode"] == "Period" and sent["Frequency"] == "rate(10m)"
    assert base64.b64decode(sent["CommandContent"]).decode() == "echo cleaned {{days}}"
    assert sent["Tag.1.Key"] == sch.NAME_TAG and sent["Tag.1.Value"] == NAME
    assert sent["Tag.2.Key"] == sch.SPEC_TAG and sent["Tag.2.Value"] == first["schedule"]["spec_digest"]
    assert first["schedule"]["invoke_id"].startswith("t-")

    since = last_seq(sim_server)
    rc, second = run_module(module.main, args(sim_server))
    assert rc == 0 and not second["changed"] and second["action"] == "unchanged"
    assert second["schedule"]["invoke_id"] == first["schedule"]["invoke_id"]
    assert mutating(sim_server, since) == []
    # The same schedule with the ids in another order and the frequency spaced differently is the same schedule.
    ids = by_name(sim_server)
    rc, third = run_module(module.main, args(sim_server, instance_ids=[ids["web-2"], ids["web-1"]],
                                             frequency=" rate(10m) "))
    assert not third["changed"] and mutating(sim_server, since) == []

    found = schedules(sim_server, run_module)
    assert [(s["name"], s["invoke_id"], s["active"]) for s in found] == [(NAME, first["schedule"]["invoke_id"], True)]
    assert found[0]["instance_ids"] == sorted([ids["web-1"], ids["web-2"]]) and found[0]["frequency"] == "rate(10m)"


@pytest.mark.parametrize("change", [
    dict(frequency="rate(20m)"),
    dict(command="echo other {{days}}"),
    dict(parameters={"days": 8}),
    dict(timeout=120),
    dict(username="admin"),
], ids=lambda c: next(iter(c)))
def test_a_change_replaces_exactly_one_schedule(sim_server, run_module, change):
    _rc, first = run_module(module.main, args(sim_server))
    old = first["schedule"]["invoke_id"]
    since = last_seq(sim_server)
    rc, result = run_module(module.main, dict(args(sim_server, **change), _ansible_diff=True))
    assert rc == 0 and result["changed"] and result["action"] == "replaced", result
    assert result["stopped_invoke_ids"] == [old]
    assert mutating(sim_server, since) == ["StopInvocation", "RunCommand"]
    key = next(iter(change))
    assert result["diff"]["after"][key] == (change[key] if key != "parameters" else {"days": "8"})
    assert key in result["diff"]["before"] or key == "username"
    active = [s for s in schedules(sim_server, run_module) if s["active"]]
    assert [s["invoke_id"] for s in active] == [result["schedule"]["invoke_id"]] and active[0]["invoke_id"] != old
    stopped = schedules(sim_server, run_module, include_stopped=True)
    assert {s["invoke_id"]: s["status"] for s in stopped}[old] in ("Stopped", "Stopping")


def test_absent_stops_it_and_a_second_absent_changes_nothing(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    rc, gone = run_module(module.main, sim_args(sim_server, name=NAME, state="absent"))
    assert rc == 0 and gone["changed"] and gone["action"] == "stopped"
    assert gone["stopped_invoke_ids"] == [first["schedule"]["invoke_id"]] and gone["schedule"] == {}
    since = last_seq(sim_server)
    rc, again = run_module(module.main, sim_args(sim_server, name=NAME, state="absent"))
    assert rc == 0 and not again["changed"] and again["action"] == "unchanged"
    assert mutating(sim_server, since) == []
    assert schedules(sim_server, run_module) == []
    # Present again after absent: a new invocation, not the stopped one (the ClientToken names what was seen).
    _rc, back = run_module(module.main, args(sim_server))
    assert back["action"] == "created" and back["schedule"]["invoke_id"] != first["schedule"]["invoke_id"]


def test_check_mode_predicts_the_real_run_without_a_mutating_call(sim_server, run_module):
    since = last_seq(sim_server)
    rc, planned = run_module(module.main, args(sim_server), check_mode=True)
    assert rc == 0 and planned["changed"] and planned["action"] == "created" and planned["schedule"]["invoke_id"] == ""
    assert mutating(sim_server, since) == []
    _rc, real = run_module(module.main, args(sim_server))
    assert real["action"] == planned["action"] and real["schedule"]["spec_digest"] == planned["schedule"]["spec_digest"]

    since = last_seq(sim_server)
    _rc, planned = run_module(module.main, args(sim_server, frequency="0 30 2 * * ?", timezone="Asia/Shanghai"),
                              check_mode=True)
    assert planned["action"] == "replaced" and planned["stopped_invoke_ids"] == [real["schedule"]["invoke_id"]]
    _rc, unchanged = run_module(module.main, args(sim_server), check_mode=True)
    assert unchanged["action"] == "unchanged" and not unchanged["changed"]
    _rc, absent = run_module(module.main, sim_args(sim_server, name=NAME, state="absent"), check_mode=True)
    assert absent["action"] == "stopped" and absent["changed"]
    assert mutating(sim_server, since) == []
    assert [s["active"] for s in schedules(sim_server, run_module)] == [True]


def test_time_zone_goes_into_the_frequency(sim_server, run_module):
    _rc, result = run_module(module.main, args(sim_server, frequency="0 30 2 * * ?", timezone="Asia/Shanghai"))
    assert result["schedule"]["frequency"] == "0 30 2 * * ? Asia/Shanghai"
    assert api_calls(sim_server, "RunCommand")[-1]["params"]["Frequency"] == "0 30 2 * * ? Asia/Shanghai"


def test_saved_command_and_tag_targets(sim_server, run_module):
    client = sim_server.ecs()
    created = client.create_command(ecs_models.CreateCommandRequest(
        region_id="cn-hangzhou", name="check-disk", type="RunShellScript",
        command_content=base64.b64encode(b"df -h").decode(), content_encoding="Base64"))
    command_id = created.body.command_id
    ids = by_name(sim_server)
    key, value = "schedule-test", "yes"
    for name in ("web-1", "web-2"):
        sim_server.admin("POST", "instances/%s" % ids[name], {"tags": {key: value}})
    rc, result = run_module(module.main, sim_args(sim_server, name="disk", command_name="check-disk",
                                                  instance_tags={key: value}, frequency="rate(1h)"))
    assert rc == 0 and result["action"] == "created", result
    sent = api_calls(sim_server, "InvokeCommand")[-1]["params"]
    assert sent["CommandId"] == command_id and sent["ResourceTag.1.Key"] == key and sent["RepeatMode"] == "Period"
    since = last_seq(sim_server)
    _rc, again = run_module(module.main, sim_args(sim_server, name="disk", command_id=command_id,
                                                  instance_tags={key: value}, frequency="rate(1h)"))
    assert again["action"] == "unchanged" and mutating(sim_server, since) == []


def test_racing_duplicates_converge_to_one(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    digest = first["schedule"]["spec_digest"]
    ids = by_name(sim_server)
    # Another job raced and started the same schedule: same tags, a younger invocation.
    sim_server.ecs().run_command(ecs_models.RunCommandRequest(
        region_id="cn-hangzhou", type="RunShellScript", command_content="echo cleaned 7",
        instance_id=[ids["web-1"]], repeat_mode="Period", frequency="rate(10m)",
        tag=[ecs_models.RunCommandRequestTag(key=sch.NAME_TAG, value=NAME),
             ecs_models.RunCommandRequestTag(key=sch.SPEC_TAG, value=digest)]))
    assert len([s for s in schedules(sim_server, run_module) if s["active"]]) == 2
    rc, result = run_module(module.main, args(sim_server))
    assert rc == 0 and result["changed"] and result["action"] == "deduplicated"
    assert result["schedule"]["invoke_id"] == first["schedule"]["invoke_id"]
    assert any("ran under the name" in w for w in warnings_of(result))
    assert [s["invoke_id"] for s in schedules(sim_server, run_module) if s["active"]] == [first["schedule"]["invoke_id"]]
    _rc, settled = run_module(module.main, args(sim_server))
    assert settled["action"] == "unchanged"


def test_one_shot_at_schedule_is_not_started_again_after_it_ran(sim_server, run_module):
    when = "at(2099-01-01 00:00:00)"
    _rc, first = run_module(module.main, args(sim_server, frequency=when))
    assert first["action"] == "created"
    found = sch.plan_schedule(first["schedule"]["spec_digest"], [dict(
        first["schedule"], status="Success", active=False)], "present", one_shot=True)
    assert found["start"] is False and found["reason"].startswith("ran already")


@pytest.mark.parametrize("extra,message", [
    (dict(frequency="rate(0m)"), "between 60 seconds"),
    (dict(frequency="every night"), "is not rate("),
    (dict(frequency="rate(5m)", timezone="Asia/Shanghai"), "timezone is not used with a rate()"),
    (dict(frequency="0 30 2 * * ?", timezone="Mars/Olympus"), "is not a time zone"),
    (dict(frequency="0 30 2 * * ? Asia/Shanghai", timezone="Asia/Shanghai"), "already names the time zone"),
    (dict(command_id="c-123"), "exactly one of command, command_id and command_name (got command, command_id)"),
    (dict(instance_tags={"role": "web"}), "exactly one of instance_ids and instance_tags (got both)"),
    (dict(instance_ids=["i-BAD"]), "is not an instance id"),
    (dict(frequency=None), "needs frequency"),
    (dict(name="bad name!"), "name 'bad name!'"),
    (dict(timeout=5), "timeout must be between"),
    (dict(parameters={"other": 1}), "days"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, extra, message):
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, **extra))
    assert rc == 1 and message in result["msg"], result["msg"]
    assert api_calls(sim_server, since=since) == []


def test_an_instance_that_cannot_run_it_fails_before_any_change(sim_server, run_module):
    ids = by_name(sim_server)
    stopped = next(i.id for i in sim_server.sim.instances() if i.status != "Running")
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"], stopped]))
    assert rc == 1 and "cannot run the schedule now" in result["msg"] and stopped in result["msg"]
    assert mutating(sim_server, since) == []
