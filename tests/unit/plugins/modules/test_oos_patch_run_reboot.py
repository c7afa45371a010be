"""oos_patch_run with reboot=always against the simulator, through the real SDK: every instance a batch patched is
rebooted once inside the batch (by the execution when its patches needed it, else by RebootInstance), before the
post-hook; an unchanged instance is not; an instance that does not come back is failed at the deadline."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run as module
from unit_helpers import mutating, sim_args

PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important"),
           dict(kb_id="curl.x86_64", classification="Security", severity="Important", installed=True)]
REBOOT_PATCHES = PATCHES + [dict(kb_id="kernel.x86_64", classification="Security", severity="Critical",
                                 needs_reboot=True)]
DONE = [dict(kb_id="curl.x86_64", classification="Security", severity="Important", installed=True)]


def linux(name, count, patches, **extra):
    return dict({"name": name, "count": count, "os_type": "linux", "patches": patches,
                 "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit"}, **extra)


FLEET = {"regions": {"cn-hangzhou": {"instances": [
    linux("kernel", 2, REBOOT_PATCHES), linux("plain", 2, PATCHES), linux("done", 1, DONE),
    linux("slow", 1, PATCHES, durations={"reboot": 100000})]}}}
HOOK = dict(command='echo "$ALICLOUD_SIM_BOOT_ID"', timeout=30)


@pytest.fixture
def fleet(sim_server_factory):
    return sim_server_factory(fleet=FLEET, time_scale=0.01)


def args(server, **extra):
    return sim_args(server, **dict(dict(action="install", poll_interval=0.1, wait_timeout=120), **extra))


def ids(server, name):
    return [i.id for i in server.sim.instances("cn-hangzhou") if i.name.rstrip("-0123456789") == name]


def boots(server, instance_ids):
    return {i.id: i.boots for i in server.sim.instances("cn-hangzhou") if i.id in instance_ids}


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


def test_always_reboots_each_patched_instance_once_before_the_post_hook(fleet, run_module):
    kernel, plain, done = ids(fleet, "kernel"), ids(fleet, "plain"), ids(fleet, "done")
    targets = kernel + plain + done
    rc, scan = run_module(module.main, args(fleet, action="scan", instance_ids=done))
    assert rc == 0, scan.get("msg")
    task = args(fleet, instance_ids=targets, reboot="always", post_hook=HOOK)

    seq = last_seq(fleet)
    rc, check = run_module(module.main, task, check_mode=True)
    assert rc == 0 and mutating(fleet, seq) == [], check.get("msg")
    assert all("would reboot it after installing (reboot=always)" in check["instances"][i]["message"]
               for i in kernel + plain)
    assert check["instances"][done[0]]["result"] == "unchanged"

    rc, result = run_module(module.main, task)
    assert rc == 0 and result["changed"], result.get("msg")
    assert '"rebootIfNeed":true' in fleet.calls(product="oos", action="StartExecution")[-1]["params"]["Parameters"]
    # Exactly one reboot each: the execution rebooted the kernel instances, the module the others, once.
    assert boots(fleet, targets) == dict({i: 1 for i in kernel + plain}, **{done[0]: 0})
    reboots = sorted(c["params"]["InstanceId"] for c in fleet.calls(product="ecs", action="RebootInstance"))
    assert reboots == sorted(plain)
    for instance_id in kernel + plain:
        entry = result["instances"][instance_id]
        assert entry["result"] == "succeeded" and entry["rebooted"] is True, entry
        by = "the execution" if instance_id in kernel else "RebootInstance (reboot=always)"
        assert "rebooted by %s" % by in entry["message"]
        # The post-hook ran on the new boot.
        now = next(i for i in fleet.sim.instances("cn-hangzhou") if i.id == instance_id).boot_id
        assert entry["hooks"]["post"]["passed"] and entry["hooks"]["post"]["output"].strip() == now
    assert result["instances"][done[0]]["rebooted"] is False and "post" not in result["instances"][done[0]]["hooks"]
    assert result["reboot_pending"] == {} and result["summary"]["compliant"] == 5

    seq = last_seq(fleet)
    rc, again = run_module(module.main, task)
    assert rc == 0 and not again["changed"] and mutating(fleet, seq) == [], again.get("msg")
    assert again["summary"]["unchanged"] == 5 and boots(fleet, targets)[plain[0]] == 1


def test_an_instance_not_back_by_wait_timeout_is_failed_and_gets_no_post_hook(fleet, run_module):
    slow = ids(fleet, "slow")
    began = time.monotonic()
    rc, result = run_module(module.main, args(fleet, instance_ids=slow, reboot="always", post_hook=HOOK,
                                              wait_timeout=8))
    assert rc == 1 and time.monotonic() - began < 20, result.get("msg")
    entry = result["instances"][slow[0]]
    assert entry["result"] == "failed" and not entry["rebooted"] and "post" not in entry["hooks"], entry
    assert "the reboot failed: rebooted, not back: wait_timeout passed while waiting for the instance" in entry["message"]
    assert len(fleet.calls(product="ecs", action="RebootInstance")) == 1


def test_a_failed_reboot_fails_the_instance_and_counts_in_the_failure_budget(fleet, run_module):
    plain = ids(fleet, "plain")
    fleet.admin("POST", "faults", [{"action": "RebootInstance", "code": "IncorrectInstanceStatus", "http_status": 403,
                                    "count": 1}])
    rc, result = run_module(module.main, args(fleet, instance_ids=plain, reboot="always", post_hook=HOOK, batch_size=1,
                                              max_concurrent_executions=1, max_failure_percent=0))
    assert rc == 1 and result["msg"].startswith("Failure budget exceeded: 1 of 2 instance(s) failed"), result["msg"]
    first, second = sorted(result["instances"].values(), key=lambda e: e["result"] != "failed")
    assert first["result"] == "failed" and "the reboot failed: RebootInstance: " in first["message"], first
    assert "IncorrectInstanceStatus" in first["message"] and "post" not in first["hooks"] and not first["rebooted"]
    assert second["result"] == "cancelled" and "failure budget" in second["message"], second
    assert len(fleet.calls(product="oos", action="StartExecution")) == 1
    assert boots(fleet, plain) == {i: 0 for i in plain}


def test_the_reboot_reads_are_bulk_one_call_per_poll_for_the_whole_batch(fleet, run_module):
    """reboot=always reads in bulk: one ListTaskExecutions per child execution (the API filters by one execution), one
    DescribeInstances for all the instances to reboot before RebootInstance, and per poll one DescribeInstances and at
    most one DescribeCloudAssistantStatus for all the instances not yet back (never one instance at a time)."""
    kernel, plain = ids(fleet, "kernel"), ids(fleet, "plain")
    seq = last_seq(fleet)
    rc, result = run_module(module.main, args(fleet, instance_ids=kernel + plain, reboot="always"))
    assert rc == 0, result.get("msg")
    calls = [c for c in fleet.calls() if c["seq"] > seq]
    listed = [c for c in calls if c["action"] == "ListTaskExecutions"]
    assert len(listed) == 4, "one ListTaskExecutions per child execution"
    first_reboot = min(c["seq"] for c in calls if c["action"] == "RebootInstance")
    phase = [c for c in calls if c["seq"] > listed[-1]["seq"] and c["action"] in (
        "DescribeInstances", "DescribeCloudAssistantStatus", "RebootInstance")]
    phase = phase[:max(i for i, c in enumerate(phase) if c["action"] in ("DescribeInstances", "DescribeCloudAssistantStatus")
                       and c["seq"] > first_reboot) + 1]

    def asked(call):
        value = call["params"].get("InstanceIds")
        if value is not None:
            return frozenset(json.loads(value))
        return frozenset(v for k, v in call["params"].items() if k == "InstanceId" or k.startswith("InstanceId."))

    reads = [asked(c) for c in phase if c["action"] == "DescribeInstances"]
    assert reads[0] == frozenset(plain), "the StartTimes before the reboot are read in one call"
    polls = reads[1:]
    assert polls and polls[0] == frozenset(plain), "the first poll reads every instance rebooting at once"
    assert all(later <= earlier for earlier, later in zip(polls, polls[1:])), \
        "each poll reads the instances not yet back together (%s)" % polls
    agents = [c for c in phase if c["action"] == "DescribeCloudAssistantStatus"]
    assert len(agents) <= len(polls), "at most one agent read per poll"
    assert all(len(asked(c)) >= 1 for c in agents)


def tag(server, instance_id, value):
    server.sim.components["instances"].change(instance_id, {"tags": {"ecs-ops-patch-steps": value}})


def steps_tag(server, instance_id):
    return next(i for i in server.sim.instances("cn-hangzhou") if i.id == instance_id).tags.get("ecs-ops-patch-steps")


def test_a_previous_rounds_pending_steps_are_finished_or_left_as_their_tag_says(fleet, run_module):
    done = ids(fleet, "done")[0]
    rc, scan = run_module(module.main, args(fleet, action="scan", instance_ids=[done]))
    assert rc == 0, scan.get("msg")
    past, future = "pending reboot+post_hook until 2000-01-01T00:00:00Z", "pending reboot+post_hook until 2999-01-01T00:00:00Z"
    failing = dict(command="echo unhealthy; exit 7", timeout=30)

    # A task that may still be running (its until is ahead): nothing is done twice.
    tag(fleet, done, future)
    seq = last_seq(fleet)
    rc, left = run_module(module.main, args(fleet, instance_ids=[done], reboot="always", post_hook=HOOK))
    entry = left["instances"][done]
    assert rc == 0 and not left["changed"] and mutating(fleet, seq) == [], left.get("msg")
    assert entry["result"] == "unchanged" and "may still be running them (until 2999-01-01T00:00:00Z)" in entry["message"]

    # Gone (until passed), and this run has neither step: it needs attention, nothing is done.
    tag(fleet, done, past)
    seq = last_seq(fleet)
    rc, plain = run_module(module.main, args(fleet, instance_ids=[done]))
    assert rc == 0 and not plain["changed"] and mutating(fleet, seq) == [], plain.get("msg")
    assert "needs attention: run with reboot=always and/or post_hook" in plain["instances"][done]["message"]
    assert steps_tag(fleet, done) == past

    # Gone, with a post-hook that fails: the instance is failed with the reason, the steps are recorded done.
    rc, result = run_module(module.main, args(fleet, instance_ids=[done], post_hook=failing))
    entry = result["instances"][done]
    assert rc == 1 and entry["result"] == "failed" and "the post-hook failed: exit code 7" in entry["message"], entry
    assert not entry["rebooted"] and boots(fleet, [done])[done] == 0 and steps_tag(fleet, done) == "done"

    # Gone, reboot=always and a post-hook: rebooted, then the hook on the new boot; a second run changes nothing.
    tag(fleet, done, past)
    seq = last_seq(fleet)
    rc, result = run_module(module.main, args(fleet, instance_ids=[done], reboot="always", post_hook=HOOK))
    entry = result["instances"][done]
    assert rc == 0 and result["changed"] and entry["result"] == "succeeded" and entry["rebooted"], entry
    now = next(i for i in fleet.sim.instances("cn-hangzhou") if i.id == done).boot_id
    assert entry["hooks"]["post"]["output"].strip() == now and boots(fleet, [done])[done] == 1
    assert mutating(fleet, seq) == ["RebootInstance", "RunCommand", "TagResources"], "nothing installed"
    seq = last_seq(fleet)
    rc, again = run_module(module.main, args(fleet, instance_ids=[done], reboot="always", post_hook=HOOK))
    assert rc == 0 and not again["changed"] and mutating(fleet, seq) == [], again.get("msg")
