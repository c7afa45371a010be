"""ecs_cloud_assistant_schedule and ecs_cloud_assistant_schedule_info against the simulator, through the real SDK."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta

import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_schedule as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_schedule_info as info
from unit_helpers import api_calls, instance_ids as by_name, mutating, sim_args, warnings_of


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met within %ss" % timeout
        time.sleep(0.1)


NAME = "nightly-cleanup"
NIGHTLY = "0 30 2 * * ?"         # cron: never fires in the simulator, so nothing runs behind the tests' back
SECRET = "s3cr3t-Token-value"


def args(server, **extra):
    ids = by_name(server)
    base = dict(name=NAME, command="echo cleaned {{days}}", parameters={"days": 7},
                instance_ids=[ids["web-1"], ids["web-2"]], frequency=NIGHTLY)
    return sim_args(server, **dict(base, **extra))


def schedules(server, run_module, **extra):
    _rc, result = run_module(info.main, sim_args(server, **extra))
    return result["schedules"]


def active(server, run_module, **extra):
    return [s["invoke_id"] for s in schedules(server, run_module, **extra)]


def last_seq(server):
    calls = api_calls(server)
    return calls[-1]["seq"] if calls else 0


def tag(server, names, **tags):
    ids = by_name(server)
    for name in names:
        current = server.sim.instance(ids[name]).tags
        server.admin("POST", "instances/%s" % ids[name], {"tags": dict(current, **tags)})


def modify(server, invoke_id, **changes):
    server.ecs().modify_invocation_attribute(ecs_models.ModifyInvocationAttributeRequest(
        region_id="cn-hangzhou", invoke_id=invoke_id, **changes))


# --- create, re-run, replace, stop -----------------------------------------------------------
def test_created_once_then_unchanged_without_a_mutating_call(sim_server, run_module):
    rc, first = run_module(module.main, args(sim_server))
    assert rc == 0 and first["changed"] and first["action"] == "created", first
    runs = api_calls(sim_server, "RunCommand")
    assert len(runs) == 1
    sent = runs[0]["params"]
    assert sent["RepeatMode"] == "Period" and sent["Frequency"] == NIGHTLY and sent["EnableParameter"] == "True"
    assert base64.b64decode(sent["CommandContent"]).decode() == "echo cleaned {{days}}"
    assert json.loads(sent["Parameters"]) == {"days": "7"}
    assert (sent["Tag.1.Key"], sent["Tag.1.Value"]) == (sch.NAME_TAG, NAME)
    assert (sent["Tag.2.Key"], sent["Tag.2.Value"]) == (sch.SPEC_TAG, first["schedule"]["spec_digest"])
    assert first["schedule"]["invoke_id"].startswith("t-")

    since = last_seq(sim_server)
    rc, second = run_module(module.main, args(sim_server))
    assert rc == 0 and not second["changed"] and second["action"] == "unchanged", second
    assert second["schedule"]["invoke_id"] == first["schedule"]["invoke_id"] and second["differences"] == []
    assert mutating(sim_server, since) == []
    lookups = api_calls(sim_server, "DescribeInvocations", since)
    assert [c["params"]["Timed"] for c in lookups] == ["True"] and lookups[0]["params"]["Tag.1.Value"] == NAME
    # The same schedule: ids in another order, the frequency spaced differently, the parameter as text.
    ids = by_name(sim_server)
    rc, third = run_module(module.main, args(sim_server, instance_ids=[ids["web-2"], ids["web-1"], ids["web-1"]],
                                             frequency="  0 30  2 * * ? ", parameters={"days": "7"}))
    assert not third["changed"] and mutating(sim_server, since) == []

    found = schedules(sim_server, run_module)
    assert [(s["name"], s["invoke_id"], s["active"]) for s in found] == [(NAME, first["schedule"]["invoke_id"], True)]
    assert found[0]["instance_ids"] == sorted([ids["web-1"], ids["web-2"]]) and found[0]["frequency"] == NIGHTLY
    assert found[0]["parameters"] == {"days": "7"} and found[0]["next_run"] == ""     # cron: not computed


@pytest.mark.parametrize("change, shown", [
    (dict(frequency="0 0 3 * * ?"), "frequency"),
    (dict(timezone="Asia/Shanghai"), "frequency"),
    (dict(command="echo other {{days}}"), "command"),
    (dict(parameters={"days": 8}), "parameters"),
    (dict(timeout=120), "timeout"),
    (dict(username="admin"), "username"),
    (dict(working_dir="/tmp"), "working_dir"),
    (dict(type="RunPowerShellScript", instance_ids="win"), "type"),
], ids=lambda c: next(iter(c)) if isinstance(c, dict) else None)
def test_a_change_replaces_exactly_one_schedule(sim_server, run_module, change, shown):
    _rc, first = run_module(module.main, args(sim_server))
    old = first["schedule"]["invoke_id"]
    if change.get("instance_ids") == "win":
        change = dict(change, instance_ids=[by_name(sim_server)["win"]])
    since = last_seq(sim_server)
    rc, result = run_module(module.main, dict(args(sim_server, **change), _ansible_diff=True))
    assert rc == 0 and result["changed"] and result["action"] == "replaced", result
    assert result["stopped_invoke_ids"] == [old] and result["differences"] == ["spec"]
    assert mutating(sim_server, since) == ["RunCommand", "StopInvocation"]   # the new one first
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert after[shown] != before.get(shown), result["diff"]
    expected = {"frequency": change.get("frequency") or NIGHTLY + " Asia/Shanghai", "parameters": {"days": "8"}}
    assert after[shown] == expected.get(shown, change.get(shown))
    assert active(sim_server, run_module) == [result["schedule"]["invoke_id"]] and result["schedule"]["invoke_id"] != old
    ended = {s["invoke_id"]: s["status"] for s in schedules(sim_server, run_module, include_stopped=True)}
    assert ended[old] in ("Stopped", "Stopping")
    _rc, again = run_module(module.main, args(sim_server, **change))
    assert again["action"] == "unchanged"


def test_absent_stops_it_and_a_second_absent_changes_nothing(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    rc, gone = run_module(module.main, sim_args(sim_server, name=NAME, state="absent", _ansible_diff=True))
    assert rc == 0 and gone["changed"] and gone["action"] == "stopped"
    assert gone["stopped_invoke_ids"] == [first["schedule"]["invoke_id"]] and gone["schedule"] == {}
    assert gone["diff"] == {"before": {"invoke_ids": [first["schedule"]["invoke_id"]]}, "after": {}}
    since = last_seq(sim_server)
    rc, again = run_module(module.main, sim_args(sim_server, name=NAME, state="absent"))
    assert rc == 0 and not again["changed"] and again["action"] == "unchanged"
    assert mutating(sim_server, since) == []
    assert schedules(sim_server, run_module) == []
    # The options of a present task may stay in an absent one (the same task with state flipped).
    rc, flipped = run_module(module.main, args(sim_server, state="absent", frequency="not even valid"))
    assert rc == 0 and flipped["action"] == "unchanged"
    # Present again after absent: a new invocation, not the stopped one.
    _rc, back = run_module(module.main, args(sim_server))
    assert back["action"] == "created" and back["schedule"]["invoke_id"] != first["schedule"]["invoke_id"]


def race(server, digest, **overrides):
    """Another job started the same schedule: the same tags, a younger invocation."""
    ids = by_name(server)
    request = dict(region_id="cn-hangzhou", type="RunShellScript", command_content="echo cleaned {{days}}",
                   enable_parameter=True, parameters={"days": "7"}, instance_id=[ids["web-1"], ids["web-2"]],
                   repeat_mode="Period", frequency=NIGHTLY, timeout=60,
                   tag=[ecs_models.RunCommandRequestTag(key=sch.NAME_TAG, value=NAME),
                        ecs_models.RunCommandRequestTag(key=sch.SPEC_TAG, value=digest)])
    request.update(overrides)
    return server.ecs().run_command(ecs_models.RunCommandRequest(**request)).body.invoke_id


def test_racing_duplicates_converge_to_one(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    younger = race(sim_server, first["schedule"]["spec_digest"])
    assert len(active(sim_server, run_module)) == 2
    rc, result = run_module(module.main, args(sim_server))
    assert rc == 0 and result["changed"] and result["action"] == "deduplicated"
    assert result["schedule"]["invoke_id"] == first["schedule"]["invoke_id"] and result["stopped_invoke_ids"] == [younger]
    assert any("ran under the name" in w and younger in w for w in warnings_of(result))
    assert active(sim_server, run_module) == [first["schedule"]["invoke_id"]]
    _rc, settled = run_module(module.main, args(sim_server))
    assert settled["action"] == "unchanged"


def test_of_two_differing_duplicates_the_matching_one_stays(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    run_module(module.main, sim_args(sim_server, name=NAME, state="absent"))
    stale = race(sim_server, "0" * 32, frequency="0 0 4 * * ?")
    good = race(sim_server, first["schedule"]["spec_digest"])
    _rc, result = run_module(module.main, args(sim_server))
    assert result["action"] == "deduplicated" and result["schedule"]["invoke_id"] == good
    assert result["stopped_invoke_ids"] == [stale]


# --- check mode ------------------------------------------------------------------------------
def _setup_nothing(server, run_module):
    return None


def _setup_running(server, run_module):
    run_module(module.main, args(server))


def _setup_duplicates(server, run_module):
    _rc, first = run_module(module.main, args(server))
    race(server, first["schedule"]["spec_digest"])


@pytest.mark.parametrize("setup, task, action", [
    (_setup_nothing, {}, "created"),
    (_setup_running, {}, "unchanged"),
    (_setup_running, {"frequency": "0 0 3 * * ?", "timezone": "GMT+8:00"}, "replaced"),
    (_setup_running, {"state": "absent"}, "stopped"),
    (_setup_nothing, {"state": "absent"}, "unchanged"),
    (_setup_duplicates, {}, "deduplicated"),
], ids=["create", "unchanged", "replace", "absent", "absent-nothing", "deduplicate"])
def test_check_mode_predicts_the_real_run_without_a_mutating_call(sim_server, run_module, setup, task, action):
    setup(sim_server, run_module)
    before = active(sim_server, run_module)
    since = last_seq(sim_server)
    rc, planned = run_module(module.main, dict(args(sim_server, **task), _ansible_diff=True), check_mode=True)
    assert rc == 0 and planned["action"] == action, planned
    assert mutating(sim_server, since) == [] and active(sim_server, run_module) == before
    _rc, real = run_module(module.main, dict(args(sim_server, **task), _ansible_diff=True))
    keys = ("action", "changed", "stopped_invoke_ids", "differences", "diff")
    assert {k: planned.get(k) for k in keys} == {k: real.get(k) for k in keys}
    if action in ("created", "replaced"):
        assert planned["schedule"]["invoke_id"] == "" and real["schedule"]["invoke_id"].startswith("t-")
        assert planned["schedule"]["spec_digest"] == real["schedule"]["spec_digest"]


# --- frequency forms -------------------------------------------------------------------------
@pytest.mark.parametrize("frequency, timezone, sent, other", [
    (NIGHTLY, "Asia/Shanghai", NIGHTLY + " Asia/Shanghai", dict(frequency=NIGHTLY + " Asia/Shanghai")),
    ("0 0 1 ? * MON-FRI 2099", "GMT+8:00", "0 0 1 ? * MON-FRI 2099 GMT+8:00",
     dict(frequency="0 0 1 ? * MON-FRI 2099 GMT+8:00")),
    ("at(2099-12-24 02:00:00)", "UTC", "at(2099-12-24 02:00:00 UTC)", dict(frequency="at(2099-12-24 02:00:00 UTC)")),
    ("at(2099-12-24 02:00:00 GMT-7:00)", None, "at(2099-12-24 02:00:00 GMT-7:00)",
     dict(frequency="at(2099-12-24 02:00:00)", timezone="GMT-7:00")),
    ("rate(1h)", None, "rate(1h)", None),
])
def test_the_time_zone_goes_into_the_frequency(sim_server, run_module, frequency, timezone, sent, other):
    _rc, result = run_module(module.main, args(sim_server, frequency=frequency, timezone=timezone))
    assert result["action"] == "created", result
    assert result["schedule"]["frequency"] == sent
    assert api_calls(sim_server, "RunCommand")[-1]["params"]["Frequency"] == sent
    if other:       # the time zone given the other way round is the same schedule
        _rc, again = run_module(module.main, args(sim_server, **dict(dict(timezone=None), **other)))
        assert again["action"] == "unchanged", again


def test_a_rate_schedule_reports_its_next_run(sim_server, run_module):
    """The first run of a rate is one period after the creation, the next ones keep to the creation time."""
    run_module(module.main, args(sim_server, frequency="rate(1d)"))
    found = schedules(sim_server, run_module, name=NAME)[0]
    created = datetime.strptime(found["created"], "%Y-%m-%dT%H:%M:%SZ")
    assert found["next_run"] == (created + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), found


def test_reboot_modes(sim_server, run_module):
    task = args(sim_server, repeat_mode="EveryReboot", frequency=None)
    _rc, result = run_module(module.main, task)
    assert result["action"] == "created", result
    sent = api_calls(sim_server, "RunCommand")[-1]["params"]
    assert sent["RepeatMode"] == "EveryReboot" and "Frequency" not in sent
    since = last_seq(sim_server)
    assert run_module(module.main, task)[1]["action"] == "unchanged" and mutating(sim_server, since) == []
    _rc, once = run_module(module.main, dict(task, repeat_mode="NextRebootOnly"))
    assert once["action"] == "replaced"
    found = schedules(sim_server, run_module, name=NAME)
    assert [(s["repeat_mode"], s["frequency"], s["next_run"]) for s in found] == [("NextRebootOnly", "", "")]


def test_an_at_in_the_past_without_a_run_fails_before_any_change(sim_server, run_module):
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, frequency="at(2020-01-01 00:00:00)"))
    assert rc == 1 and "is past (2020-01-01 00:00:00 UTC) and no run of this schedule is recorded" in result["msg"]
    assert mutating(sim_server, since) == []


def test_a_one_shot_that_ran_is_done(sim_server, run_module):
    """An at() schedule whose run is recorded (ended with the same spec) is not started again, even once its time
    is past; the ended invocation is read with Timed=false."""
    _rc, first = run_module(module.main, args(sim_server, frequency="at(2099-01-01 00:00:00)"))
    digest = first["schedule"]["spec_digest"]
    sim_server.admin("POST", "clock", {"advance": 80 * 365 * 86400})         # past 2099: it runs
    wait_for(lambda: [s["status"] for s in schedules(sim_server, run_module, name=NAME, include_stopped=True)]
             == ["Success"])
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, frequency="at(2099-01-01 00:00:00)"))
    assert rc == 0 and result["action"] == "unchanged" and "ran already" in result["msg"], result
    assert result["schedule"]["spec_digest"] == digest and mutating(sim_server, since) == []
    assert sorted(c["params"]["Timed"] for c in api_calls(sim_server, "DescribeInvocations", since)) == [
        "False", "True"]


# --- targets ---------------------------------------------------------------------------------
def test_saved_command_and_tag_targets_follow_the_fleet(sim_server, run_module):
    client = sim_server.ecs()
    command_id = client.create_command(ecs_models.CreateCommandRequest(
        region_id="cn-hangzhou", name="check-disk", type="RunShellScript",
        command_content=base64.b64encode(b"df -h").decode(), content_encoding="Base64")).body.command_id
    ids = by_name(sim_server)
    tag(sim_server, ["web-1", "web-2"], sched="yes")
    task = sim_args(sim_server, name="disk", command_name="check-disk", instance_tags={"sched": "yes"},
                    frequency=NIGHTLY)
    rc, result = run_module(module.main, task)
    assert rc == 0 and result["action"] == "created", result
    sent = api_calls(sim_server, "InvokeCommand")[-1]["params"]
    assert sent["CommandId"] == command_id and sent["RepeatMode"] == "Period" and "ResourceTag.1.Key" not in sent
    assert sorted([sent["InstanceId.1"], sent["InstanceId.2"]]) == sorted([ids["web-1"], ids["web-2"]])
    since = last_seq(sim_server)
    _rc, again = run_module(module.main, dict(task, command_name=None, command_id=command_id))
    assert again["action"] == "unchanged" and mutating(sim_server, since) == []
    # web-3 gains the tag: the schedule follows.
    tag(sim_server, ["web-3"], sched="yes")
    _rc, grown = run_module(module.main, dict(task, _ansible_diff=True))
    assert grown["action"] == "replaced" and grown["differences"] == ["instance_ids"], grown
    assert grown["schedule"]["instance_ids"] == sorted(ids["web-%d" % n] for n in (1, 2, 3))
    assert len(grown["diff"]["after"]["instance_ids"]) == 3 and len(grown["diff"]["before"]["instance_ids"]) == 2
    assert run_module(module.main, task)[1]["action"] == "unchanged"


def test_a_diff_of_a_tag_targeted_schedule_shows_only_what_changed(sim_server, run_module):
    """DescribeInvocations does not return the tags a schedule targets: the before side shows them when the
    running invocation's spec digest proves they are the ones asked, so a frequency change differs in frequency
    only (in check mode and for real), and other tags still show as a change."""
    tag(sim_server, ["web-1", "web-2"], sched="yes")
    task = args(sim_server, instance_ids=None, instance_tags={"sched": "yes"})
    assert run_module(module.main, task)[1]["action"] == "created"
    later = dict(task, frequency="0 0 3 * * ?", _ansible_diff=True)

    def changed_keys(diff):
        return {k for k in set(diff["before"]) | set(diff["after"]) if diff["before"].get(k) != diff["after"].get(k)}

    _rc, planned = run_module(module.main, later, check_mode=True)
    assert planned["action"] == "replaced" and changed_keys(planned["diff"]) == {"frequency"}, planned["diff"]
    assert planned["diff"]["before"]["instance_tags"] == {"sched": "yes"}
    _rc, real = run_module(module.main, later)
    assert real["action"] == "replaced" and real["diff"] == planned["diff"]
    # Other tags that select the same instances: the diff does not claim to know the old ones.
    tag(sim_server, ["web-1", "web-2"], team="a")
    _rc, retagged = run_module(module.main, dict(later, instance_tags={"team": "a"}), check_mode=True)
    assert retagged["action"] == "replaced" and "instance_tags" in changed_keys(retagged["diff"])
    assert "instance_tags" not in retagged["diff"]["before"], retagged["diff"]


def test_tagged_instances_that_cannot_run_it(sim_server, run_module):
    ids = by_name(sim_server)
    tag(sim_server, ["web-1", "web-2", "stopped"], sched="yes")
    task = args(sim_server, instance_ids=None, instance_tags={"sched": "yes"})
    since = last_seq(sim_server)
    rc, failed = run_module(module.main, task)
    assert rc == 1 and "1 instance(s) cannot run the schedule now" in failed["msg"] and ids["stopped"] in failed["msg"]
    assert "unreachable=skip" in failed["msg"] and mutating(sim_server, since) == []

    rc, skipped = run_module(module.main, dict(task, unreachable="skip"))
    assert rc == 0 and skipped["action"] == "created" and ids["stopped"] not in skipped["schedule"]["instance_ids"]
    assert any("left out of the schedule" in w for w in warnings_of(skipped))
    since = last_seq(sim_server)
    assert run_module(module.main, dict(task, unreachable="skip"))[1]["action"] == "unchanged"
    assert mutating(sim_server, since) == []
    # Under the fail policy the missing instance is a difference, and starting without it is refused.
    rc, strict = run_module(module.main, task)
    assert rc == 1 and "cannot run the schedule now" in strict["msg"]
    # Once it can run commands, it joins.
    sim_server.admin("PATCH", "instances/%s" % ids["stopped"], {"status": "Running"})
    _rc, joined = run_module(module.main, dict(task, unreachable="skip"))
    assert joined["action"] == "replaced" and ids["stopped"] in joined["schedule"]["instance_ids"], joined
    # An instance of the schedule that stops later changes nothing.
    sim_server.admin("PATCH", "instances/%s" % ids["web-2"], {"status": "Stopped"})
    assert run_module(module.main, task)[1]["action"] == "unchanged"


def test_tags_that_match_nothing_fail_clearly(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, instance_ids=None, instance_tags={"nobody": "here"}))
    assert rc == 1 and "no instance in cn-hangzhou has the tags" in result["msg"], result


def test_an_instance_that_cannot_run_it_fails_before_any_change(sim_server, run_module):
    ids = by_name(sim_server)
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"], ids["stopped"]]))
    assert rc == 1 and "cannot run the schedule now" in result["msg"] and ids["stopped"] in result["msg"]
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["win"]]))
    assert rc == 1 and "cannot run on a Windows instance" in result["msg"]
    assert mutating(sim_server, since) == []


# --- changed in place ------------------------------------------------------------------------
@pytest.mark.parametrize("changes, difference", [
    (dict(frequency="0 0 5 * * ?"), "frequency"),
    (dict(parameters={"days": "1"}, enable_parameter=True), "parameters"),
    (dict(command_content="echo tampered {{days}}", enable_parameter=True), "command"),
    (dict(instance_id=["web-3"]), "instance_ids"),
], ids=["frequency", "parameters", "command", "instances"])
def test_a_schedule_changed_in_place_is_replaced(sim_server, run_module, changes, difference):
    """ModifyInvocationAttribute keeps the tags (and so the spec digest); the fields it changes are compared with
    what DescribeInvocations returns."""
    _rc, first = run_module(module.main, args(sim_server))
    if "instance_id" in changes:
        changes = dict(changes, instance_id=[by_name(sim_server)["web-3"]])
    modify(sim_server, first["schedule"]["invoke_id"], **changes)
    since = last_seq(sim_server)
    _rc, result = run_module(module.main, dict(args(sim_server), _ansible_diff=True))
    assert result["action"] == "replaced" and result["differences"] == [difference], result
    assert result["stopped_invoke_ids"] == [first["schedule"]["invoke_id"]]
    assert mutating(sim_server, since) == ["RunCommand", "StopInvocation"]   # the new one first
    assert run_module(module.main, args(sim_server))[1]["action"] == "unchanged"


# --- secrets ---------------------------------------------------------------------------------
def test_secret_parameters_never_show_and_a_changed_one_is_detected(sim_server, run_module):
    task = args(sim_server, command="echo {{days}} {{token}}", secret_parameters={"token": SECRET})
    rc, first = run_module(module.main, dict(task, _ansible_diff=True))
    assert rc == 0 and first["action"] == "created"
    assert SECRET not in json.dumps(first)
    assert first["schedule"]["parameters"] == {"days": "7", "token": "********"}
    sent = api_calls(sim_server, "RunCommand")[-1]["params"]
    assert json.loads(sent["Parameters"]) == {"days": "7", "token": SECRET}        # Cloud Assistant needs it
    tags = {sent["Tag.%d.Key" % n]: sent["Tag.%d.Value" % n] for n in range(1, 4)}
    assert tags["ecs-ops-secret-parameters"] == "token" and SECRET not in json.dumps(tags)
    assert SECRET not in sent["ClientToken"]
    listed = schedules(sim_server, run_module, name=NAME)[0]
    assert listed["parameters"] == {"days": "7", "token": "********"} and listed["secret_parameter_names"] == ["token"]

    since = last_seq(sim_server)
    assert run_module(module.main, task)[1]["action"] == "unchanged" and mutating(sim_server, since) == []
    rotated = dict(task, secret_parameters={"token": "another-" + SECRET}, _ansible_diff=True)
    rc, replaced = run_module(module.main, rotated)
    assert rc == 0 and replaced["action"] == "replaced" and replaced["differences"] == ["secret_parameters"]
    assert replaced["schedule"]["spec_digest"] == first["schedule"]["spec_digest"]      # no value in the digest
    assert replaced["diff"]["after"]["secret_parameters"] == {"token": "******** (changed)"}
    assert replaced["diff"]["before"]["secret_parameters"] == {"token": "********"}
    assert SECRET not in json.dumps(replaced)
    assert run_module(module.main, rotated)[1]["action"] == "unchanged"


# --- failures --------------------------------------------------------------------------------
def test_a_failed_start_stops_nothing_and_says_what_still_runs(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    old = first["schedule"]["invoke_id"]
    sim_server.admin("POST", "faults", {"action": "RunCommand", "code": "InvalidParameter", "message": "no"})
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, frequency="0 0 4 * * ?"))
    assert rc == 1 and not result["changed"] and result["stopped_invoke_ids"] == []
    assert "Nothing was stopped: %s still runs the schedule as before" % old in result["msg"]
    assert "run the task again" in result["msg"] and result["error"]["code"] == "InvalidParameter"
    assert mutating(sim_server, since) == ["RunCommand"] and active(sim_server, run_module) == [old]
    sim_server.admin("DELETE", "faults")
    assert run_module(module.main, args(sim_server, frequency="0 0 4 * * ?"))[1]["action"] == "replaced"


def test_a_failed_stop_after_the_start_says_both_may_run(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    sim_server.admin("POST", "faults", {"action": "StopInvocation", "code": "Forbidden.RAM", "http_status": 403})
    rc, result = run_module(module.main, args(sim_server, frequency="0 0 4 * * ?"))
    assert rc == 1 and result["changed"] and result["msg"].startswith("Started t-")
    assert "may still run too" in result["msg"] and first["schedule"]["invoke_id"] in active(sim_server, run_module)
    sim_server.admin("DELETE", "faults")
    again = run_module(module.main, args(sim_server, frequency="0 0 4 * * ?"))[1]
    assert again["action"] == "deduplicated" and again["stopped_invoke_ids"] == [first["schedule"]["invoke_id"]]


def test_a_failed_lookup_fails_without_a_change(sim_server, run_module):
    sim_server.admin("POST", "faults", {"action": "DescribeInvocations", "code": "Forbidden.RAM", "http_status": 403})
    rc, result = run_module(module.main, args(sim_server))
    assert rc == 1 and "DescribeInvocations" in result["msg"] and not result["changed"]
    assert mutating(sim_server) == []


@pytest.mark.parametrize("extra, message", [
    (dict(frequency="rate(0m)"), "between 60 seconds"),
    (dict(frequency="0 61 2 * * ?"), "minute 61 is out of range 0-59"),
    (dict(frequency="0 30 2 * *"), "or a cron expression"),
    (dict(frequency="*/30 * * * * ?"), "two runs can be 30 second(s) apart"),
    (dict(frequency="0 0 2 * * ? 2020"), "would never run"),
    (dict(frequency="at(2026-02-30 02:00:00)"), "with a real date and time"),
    (dict(frequency="every night"), "is not rate("),
    (dict(frequency="rate(5m)", timezone="Asia/Shanghai"), "timezone is not used with a rate()"),
    (dict(timezone="Mars/Olympus"), "'Mars/Olympus' is not a known time zone"),
    (dict(timezone="GMT+08:00"), "no leading zero in the hour (GMT+8:00)"),
    (dict(timezone="CST"), "'CST' is not one the API takes"),
    (dict(frequency=NIGHTLY + " Asia/Shanghai", timezone="Asia/Shanghai"), "already names the time zone"),
    (dict(frequency=NIGHTLY + " Europe/Atlantis"), "is not a known time zone"),
    (dict(frequency=None), "repeat_mode=Period needs frequency"),
    (dict(repeat_mode="EveryReboot"), "frequency is only used with repeat_mode=Period, not EveryReboot"),
    (dict(command_id="c-123"), "exactly one of command, command_id and command_name (got command, command_id)"),
    (dict(command=None), "give exactly one of command, command_id and command_name"),
    (dict(instance_tags={"role": "web"}), "exactly one of instance_ids and instance_tags (got both)"),
    (dict(instance_ids=None), "give exactly one of instance_ids and instance_tags"),
    (dict(instance_ids=[]), "instance_ids must not be empty"),
    (dict(instance_ids=None, instance_tags={}), "instance_tags must be a non-empty dict"),
    (dict(instance_ids=["i-BAD"]), "is not an instance id"),
    (dict(name="bad name!"), "name 'bad name!'"),
    (dict(name="x" * 129), "up to 128"),
    (dict(timeout=5), "timeout must be between"),
    (dict(parameters={"other": 1}), "days"),
    (dict(parameters={"days": 1}, secret_parameters={"DAYS": "x"}), "parameter DAYS is given twice"),
    (dict(username="u" * 256), "username is longer than 255 characters"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, extra, message):
    since = last_seq(sim_server)
    rc, result = run_module(module.main, args(sim_server, **extra))
    assert rc == 1 and message in result["msg"], result["msg"]
    assert api_calls(sim_server, since=since) == []


def test_every_problem_is_named_at_once(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, name="a b", frequency="0 99 2 * * ?", timeout=3,
                                              instance_ids=[]))
    assert rc == 1 and len(result["problems"]) == 4, result["problems"]


def test_a_failed_stop_fails_once_with_what_was_stopped(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    sim_server.admin("POST", "faults", {"action": "StopInvocation", "code": "Forbidden.RAM", "http_status": 403})
    rc, result = run_module(module.main, sim_args(sim_server, name=NAME, state="absent"))
    sim_server.admin("DELETE", "faults")
    assert rc == 1 and "StopInvocation" in result["msg"] and result["error"]["code"] == "Forbidden.RAM"
    assert not result["changed"] and result["stopped_invoke_ids"] == []
    assert active(sim_server, run_module) == [first["schedule"]["invoke_id"]]


def test_a_failed_second_read_after_the_start_keeps_the_new_one_with_a_warning(sim_server, run_module):
    _rc, first = run_module(module.main, args(sim_server))
    old = first["schedule"]["invoke_id"]
    # The lookup answers; the read after the start (the check for a run that raced this one) is refused.
    sim_server.admin("POST", "faults", {"action": "DescribeInvocations", "code": "Forbidden.RAM", "http_status": 403,
                                        "skip": 1})
    rc, result = run_module(module.main, args(sim_server, frequency="0 0 4 * * ?"))
    sim_server.admin("DELETE", "faults")
    assert rc == 0 and result["action"] == "replaced" and result["stopped_invoke_ids"] == [old], result
    assert any("could not check whether another run started" in str(w) and "Forbidden.RAM" in str(w)
               for w in result.get("warnings", [])), result.get("warnings")
    assert active(sim_server, run_module) == [result["schedule"]["invoke_id"]]
