"""oos_patch_rollback against the simulator: only the collection's snapshots are used, a pinned run's snapshot
is, check mode and bad input make no mutating call."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_rollback as module
from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run
from unit_helpers import api_calls, console_install, mutating, sim_args

FLEET = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "web", "count": 3, "os_type": "linux", "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
     "patches": [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]}]}}}
FAST = dict(poll_interval=0.1, wait_timeout=120)


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


@pytest.fixture
def fleet(sim_server_factory, run_module):
    """Two instances patched twice by oos_patch_run with snapshots (the first install fails), one by a console
    execution."""
    server = sim_server_factory(fleet=FLEET)
    ids = [i.id for i in server.sim.instances("cn-hangzhou")]
    runs = []
    for failing in (["patch"], []):
        for instance_id in ids[:2]:
            server.sim.components["instances"].change(instance_id, {"fail": failing})
        rc, result = run_module(oos_patch_run.main, sim_args(server, action="install", instance_ids=ids[:2],
                                                             create_snapshot=True, **FAST))
        assert rc == (1 if failing else 0) and result["instances"], result.get("msg")
        runs.append(result)
    console_install(server, ids[2])
    server.ids, server.runs = ids, runs
    return server


def test_check_mode_plans_the_newest_collection_snapshot_and_mutates_nothing(fleet, run_module):
    seq = last_seq(fleet)
    rc, result = run_module(module.main, sim_args(fleet, instance_ids=fleet.ids, **FAST), check_mode=True)
    assert rc == 0 and result["changed"] and mutating(fleet, seq) == [], result.get("msg")
    newest = fleet.runs[1]["instances"]
    for instance_id in fleet.ids[:2]:
        entry = result["instances"][instance_id]
        assert entry["result"] == "planned" and entry["execution_id"] == newest[instance_id]["child_execution_id"]
        assert entry["message"] == "would stop it, reset system disk %s to %s, tag it ecs-ops-rolled-back=%s, start it" % (
            entry["disk_id"], entry["snapshot_id"], entry["snapshot_id"])
    console = result["instances"][fleet.ids[2]]
    assert console["result"] == "no_snapshot" and "was not started by oos_patch_run" in console["message"]
    assert result["summary"] == dict(total=3, succeeded=0, failed=0, unchanged=0, no_snapshot=1, busy=0, planned=2)
    assert {c["params"].get("DiskType") for c in api_calls(fleet, "DescribeDisks", seq)} == {"system"}


def test_a_pinned_run_rolls_back_to_its_snapshot_and_leaves_it_stopped(fleet, run_module):
    target = fleet.ids[0]
    first = fleet.runs[0]
    task = sim_args(fleet, instance_ids=[target], execution_id=first["execution_ids"][0], start_after=False, **FAST)
    seq = last_seq(fleet)
    rc, result = run_module(module.main, task)
    entry = result["instances"][target]
    assert rc == 0 and entry["result"] == "succeeded", result.get("msg")
    assert entry["execution_id"] == first["instances"][target]["child_execution_id"]
    assert mutating(fleet, seq) == ["StopInstance", "ResetDisk", "TagResources"]
    assert [c["params"]["StoppedMode"] for c in api_calls(fleet, "StopInstance", seq)] == ["KeepCharging"]
    inst = fleet.sim.instance(target)
    assert inst.status == "Stopped" and inst.tags["ecs-ops-rolled-back"] == entry["snapshot_id"]

    # without the pin the newest snapshot is newer than the one the tag names: a new rollback, not a repeat
    seq = last_seq(fleet)
    rc, again = run_module(module.main, dict(task, execution_id=None, start_after=True))
    assert rc == 0 and again["instances"][target]["result"] == "succeeded", again.get("msg")
    assert mutating(fleet, seq) == ["ResetDisk", "TagResources", "StartInstance"]
    assert fleet.sim.instance(target).status == "Running"


@pytest.mark.parametrize("bad,fragment", [
    ({"instance_ids": []}, "instance_ids must not be empty"),
    ({"instance_ids": ["i-bp1aaaaaaaaaaaaaaaaa"], "execution_id": "run-1"}, "execution_id must look like exec-"),
    ({"instance_ids": ["i-bp1aaaaaaaaaaaaaaaaa"], "wait_timeout": 0, "max_concurrent": 0},
     "wait_timeout must be at least 1 second; max_concurrent must be from 1 to 50"),
    ({"instance_ids": ["i-bp1aaaaaaaaaaaaaaaaa"], "region": None}, "no region given"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, bad, fragment):
    rc, result = run_module(module.main, dict(sim_args(sim_server), **bad))
    assert rc == 1 and fragment in result["msg"], result["msg"]
    assert api_calls(sim_server) == []


@pytest.mark.parametrize("found", ["busy", "unreadable"])
def test_an_instance_found_busy_right_before_its_reset_is_started_again_not_reset(fleet, run_module, monkeypatch, found):
    """The look right before the resets (after the stops) finds an execution on the instance, or cannot be read: the
    instance this task stopped is started again and its disk is not reset. (The simulator cannot start a patch on a
    stopping instance through the collection's modules, so the third look's answer is given here.)"""
    target = fleet.ids[0]
    looks = []

    def busy_instances(oos, templates, instance_ids, moment, deadline=None):
        looks.append(list(instance_ids))
        if len(looks) < 3:
            return {}
        if found == "unreadable":
            raise RuntimeError("ListExecutions failed")
        return {target: ["exec-started-meanwhile"]}

    monkeypatch.setattr(module, "busy_instances", busy_instances)
    seq = last_seq(fleet)
    rc, result = run_module(module.main, sim_args(fleet, instance_ids=[target], **FAST))
    assert rc == 1, result.get("msg")
    assert looks == [[target]] * 3, "one look when reading, one before the stop, one before the reset"
    entry = result["instances"][target]
    assert entry["result"] == ("busy" if found == "busy" else "failed"), entry
    expected = "exec-started-meanwhile still works on it" if found == "busy" else \
        "could not read the unfinished executions before resetting its disk: Alibaba Cloud API call failed: ListExecutions failed"
    assert expected in entry["message"], entry["message"]
    assert entry["message"].endswith("this task had stopped it and started it again, its disk not reset")
    assert mutating(fleet, seq) == ["StopInstance", "StartInstance"]
