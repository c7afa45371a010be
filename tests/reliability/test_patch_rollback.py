"""R: a failed instance of a patch round is rolled back to the snapshot the round took before installing on it.

A round installs with snapshots on four instances, one of which fails its install. ``oos_patch_rollback`` in
check mode plans without a mutating call; for real it stops the failed instance, resets its system disk to that
snapshot, tags it and starts it, after which the instance shows its missing patches again (the simulator's
ResetDisk restores the patch state the snapshot recorded). A second run is ``unchanged`` with no mutating call;
an instance the round never patched has ``no_snapshot``; and an instance that takes longer to stop than
``wait_timeout`` fails at the deadline instead of holding the task.
"""

from __future__ import annotations

import os
import tempfile
import time

from harness import names_to_ids, run_module, run_module_async, wait_until

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]
FAST = dict(region=R, poll_interval=0.2, wait_timeout=300)
ROLLBACK_CALLS = ["StopInstance", "ResetDisk", "TagResources", "StartInstance"]


def group(name, count, **extra):
    return dict(dict(name=name, count=count, os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit",
                     patches=PATCHES, durations={"patch_install": 100, "snapshot": 10}), **extra)


def patch_state(sim, instance_id):
    return sim.state()["patching"]["patch_states"][instance_id]


def patch_round(sim, ids):
    """Scan, then install with snapshots; returns (patch states after the scan, the install's result)."""
    rc, scan, _out, err = run_module(sim, "oos_patch_run", dict(FAST, action="scan", instance_ids=ids))
    assert rc == 0, (scan.get("msg"), err[-2000:])
    before = {i: patch_state(sim, i) for i in ids}
    install_args = dict(FAST, action="install", instance_ids=ids, create_snapshot=True,
                        rate_control={"max_errors": "100%"})
    rc, install, _out, err = run_module(sim, "oos_patch_run", install_args)
    assert rc == 1 and install["summary"]["failed"] == 1, (install.get("msg"), err[-2000:])
    return before, install


def test_a_failed_instance_is_rolled_back_once(sim):
    sim.reset({"regions": {R: {"instances": [group("node", 3), group("fresh", 1)]}}})
    names = names_to_ids(sim)
    patched = [names["node-1"], names["node-2"], names["node-3"]]
    broken, fresh = names["node-2"], names["fresh"]
    sim.instance(broken, fail=["patch"])
    before, install = patch_round(sim, patched)
    assert install["instances"][broken]["result"] == "failed"
    assert patch_state(sim, broken) != before[broken]
    snapshot = [s for s, v in sim.state()["snapshots"].items() if v["instance_id"] == broken]
    assert len(snapshot) == 1

    args = dict(FAST, instance_ids=[broken, fresh])
    mark = sim.mark()
    rc, planned, _out, err = run_module(sim, "oos_patch_rollback", args, check=True)
    assert rc == 0 and planned["changed"], (planned.get("msg"), err[-2000:])
    assert sim.mutating_calls(since=mark) == []
    entry = planned["instances"][broken]
    assert entry["result"] == "planned" and entry["snapshot_id"] == snapshot[0]
    assert entry["steps"] == ["stop", "reset", "tag", "start"] and entry["message"].startswith("would stop it")
    assert planned["instances"][fresh]["result"] == "no_snapshot"
    assert sim.state()["instances"][broken]["status"] == "Running"

    mark = sim.mark()
    with tempfile.TemporaryDirectory() as tmp:
        progress = os.path.join(tmp, "progress")
        rc, done, _out, err = run_module(sim, "oos_patch_rollback", args, env={"ECS_OPS_PROGRESS_FILE": progress})
        with open(progress, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    assert lines[0] == "rollback: 1 instance(s) to roll back, at most 10 at a time"
    assert "rollback %s: start done (4 of 4 steps)" % broken in lines
    assert rc == 0 and done["changed"], (done.get("msg"), err[-2000:])
    entry = done["instances"][broken]
    assert entry["result"] == "succeeded" and entry["snapshot_id"] == snapshot[0] and entry["disk_id"].startswith("d-")
    assert [c["action"] for c in sim.mutating_calls(since=mark)] == ROLLBACK_CALLS
    state = sim.state()["instances"][broken]
    assert state["status"] == "Running" and state["tags"]["ecs-ops-rolled-back"] == snapshot[0]
    assert patch_state(sim, broken) == before[broken], "the reset brings back the patch state before the install"
    assert before[broken]["counts"]["Missing"] == 1
    assert done["summary"] == dict(total=2, succeeded=1, failed=0, unchanged=0, no_snapshot=1, busy=0, planned=0)

    mark = sim.mark()
    rc, again, _out, err = run_module(sim, "oos_patch_rollback", args)
    assert rc == 0 and not again["changed"], (again.get("msg"), err[-2000:])
    assert again["instances"][broken]["result"] == "unchanged"
    assert sim.mutating_calls(since=mark) == []


def test_an_instance_another_job_still_patches_is_left_alone(sim):
    """Another job's install still runs on the failed instance (the re-run of an interrupted round, or an
    overlapping job): the rollback, in check mode and for real, does nothing to it (busy, naming the execution) and
    fails; once that execution has ended, the rollback goes ahead."""
    sim.reset({"regions": {R: {"instances": [group("node", 2)]}}})
    names = names_to_ids(sim)
    broken = names["node-2"]
    sim.instance(broken, fail=["patch"])
    patch_round(sim, [names["node-1"], broken])
    sim.clock(time_scale=1.0)    # the other job's install now takes 100 real seconds
    rc, other, _out, err = run_module(sim, "oos_patch_run", dict(FAST, action="install", instance_ids=[broken],
                                                                 force=True, wait=False))
    assert rc == 0 and len(other["execution_ids"]) == 1, (other.get("msg"), err[-2000:])
    running = other["execution_ids"][0]
    args = dict(FAST, instance_ids=[broken])
    for check in (True, False):
        mark = sim.mark()
        rc, result, _out, err = run_module(sim, "oos_patch_rollback", args, check=check)
        entry = result["instances"][broken]
        assert rc == 1 and entry["result"] == "busy" and running in entry["message"], (result.get("msg"), err[-2000:])
        assert running in result["msg"] and result["summary"]["busy"] == 1
        assert sim.mutating_calls(since=mark) == [], "the rollback acted on an instance an install still works on"
    sim.clock(advance=200)       # the other install ends (it fails on that instance again)
    rc, done, _out, err = run_module(sim, "oos_patch_rollback", args)
    assert rc == 0 and done["instances"][broken]["result"] == "succeeded", (done.get("msg"), err[-2000:])


def test_a_stop_that_outlasts_wait_timeout_fails_at_the_deadline(sim):
    sim.reset({"regions": {R: {"instances": [group("node", 2), group("slow", 1, durations={
        "patch_install": 100, "snapshot": 10, "instance_stop": 100000})]}}})
    names = names_to_ids(sim)
    ids = [names["node-1"], names["node-2"], names["slow"]]
    sim.instance(names["node-2"], fail=["patch"])
    patch_round(sim, ids)

    slow = names["slow"]
    started = time.monotonic()
    rc, result, _out, err = run_module(sim, "oos_patch_rollback", dict(FAST, instance_ids=[slow], wait_timeout=4))
    elapsed = time.monotonic() - started
    assert rc == 1 and result["instances"][slow]["result"] == "failed", (result.get("msg"), err[-2000:])
    message = result["instances"][slow]["message"]
    assert message.startswith("stop: wait_timeout passed") and "Stopping" in message, message
    assert elapsed < 4 + 15, elapsed
    assert [c["action"] for c in sim.mutating_calls()][-1:] == ["StopInstance"]
    assert "ecs-ops-rolled-back" not in sim.state()["instances"][slow]["tags"]


def test_an_install_another_job_starts_during_the_rollback_is_seen_before_its_instance_is_touched(sim):
    """The rollback reads the unfinished executions again for each group of ``max_concurrent`` instances, right before
    its stops and its resets: an install another job starts on an instance while an earlier group is being rolled back
    (after the task's first look) keeps that instance from being stopped or reset (busy, naming the execution)."""
    fast = {"patch_install": 100, "snapshot": 10, "instance_stop": 4, "disk_reset": 1, "instance_start": 2}
    sim.reset({"regions": {R: {"instances": [group("first", 1, durations=fast), group("second", 1, durations=fast)]}}})
    names = names_to_ids(sim)
    first, second = names["first"], names["second"]
    for instance_id in (first, second):
        sim.instance(instance_id, fail=["patch"])
    rc, install, _out, err = run_module(sim, "oos_patch_run", dict(
        FAST, action="install", instance_ids=[first, second], create_snapshot=True, rate_control={"max_errors": "100%"}))
    assert rc == 1 and install["summary"]["failed"] == 2, (install.get("msg"), err[-2000:])
    sim.clock(time_scale=1.0)    # real seconds from now on: first's stop takes 4 s, another install 100 s

    mark = sim.mark()
    task = dict(FAST, instance_ids=[first, second], max_concurrent=1, wait_timeout=120)
    rollback = run_module_async(sim, "oos_patch_rollback", task, timeout=180)
    try:
        wait_until(lambda: sim.calls(since=mark, action="StopInstance"), 60, 0.1, "the first group's stop")
        rc, other, _out, err = run_module(sim, "oos_patch_run", dict(FAST, action="install", instance_ids=[second],
                                                                     force=True, wait=False))
        assert rc == 0 and len(other["execution_ids"]) == 1, (other.get("msg"), err[-2000:])
        running = other["execution_ids"][0]
        rc, result, _out, err = rollback.result()
    finally:
        rollback.stop()
    assert rc == 1, (result.get("msg"), err[-2000:])
    assert result["instances"][first]["result"] == "succeeded", result["instances"][first]
    entry = result["instances"][second]
    assert entry["result"] == "busy" and running in entry["message"] and entry["steps"] == [], entry
    touched = [c for c in sim.mutating_calls(since=mark) if c["action"] in ROLLBACK_CALLS]
    assert {c["params"].get("InstanceId") for c in touched if c["action"] in ("StopInstance", "StartInstance")} == {first}
    assert [c["action"] for c in touched] == ROLLBACK_CALLS, "one instance stopped, reset, tagged and started"
    assert "ecs-ops-rolled-back" not in sim.state()["instances"][second]["tags"]
