"""Reading while acting: oos_extension_install starts a region's batches while the package states of the rest of
that region are still read (docs/architecture.md, "Reading while acting"), without giving up a fleet-safety rule.

- batches start before the reads end (the simulator's call log: a ``StartExecution`` before the region's last
  ``ListInstancePackageStates``);
- a run killed (SIGKILL) while it still reads and its first executions run is adopted by the re-run: no instance
  is ever in two executions at once, each is in exactly one, and the re-run starts only what was never started;
- a read that fails for good after the first start stops the starts and is reported per instance (the executions
  already started are waited for and reported, the others ``cancelled`` with the reason);
- ``unreachable: fail`` and ``busy: fail`` still fail before any ``StartExecution``, even when the instances they
  fail on are the last of the fleet;
- check mode reads the whole plan and makes no mutating call.

``ListInstancePackageStates`` is slowed with injected latency so that the reads last seconds, as they last
minutes under a real account's quota on a large fleet.
"""

from __future__ import annotations

import json
import signal

from harness import fleet, instance_ids, overlapping_children, run_module, run_module_async, wait_until

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
NGINX = "ACS-Extension-nginx-1853370294850618"
TIME_SCALE = 0.01
FROZEN = 1.0
HUNG = 1e6
STATES = "ListInstancePackageStates"
SLOW_READS = {"action": STATES, "latency_ms": 400}   # 16 reads at a time: about 40 a second


def args(ids, **extra):
    return dict(dict(region=R, name="node", instance_ids=ids, batch_size=10, max_concurrent_executions=3,
                     poll_interval=0.5, wait_timeout=300), **extra)


def started_targets(calls):
    return [i for c in calls for i in json.loads(c["params"]["Parameters"])["targets"]["ResourceIds"]]


def children_by_instance(state):
    found = {}
    for parent_id, execution in state["executions"].items():
        for child in execution["children"]:
            found.setdefault(child["instance"], []).append(dict(child, parent=parent_id))
    return found


def assert_no_overlap(state):
    overlaps = overlapping_children(state)
    assert not overlaps, "instances were in two executions at the same time: %s" % overlaps[:5]


def test_batches_start_while_their_region_is_still_read(sim):
    """With 120 instances read at about 40 a second, the first batch of 10 starts long before the last package
    state is read; every batch is full but the last, in input order, and the run succeeds."""
    sim.reset(fleet([R], 120, durations={"install": 100}), time_scale=TIME_SCALE)
    sim.faults(SLOW_READS)
    ids = instance_ids(sim, R)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "oos_extension_install", args(ids, max_concurrent_executions=12),
                                       timeout=240)
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    calls = sim.calls(mark)
    starts = [c["seq"] for c in calls if c["action"] == "StartExecution"]
    reads = [c["seq"] for c in calls if c["action"] == STATES]
    assert len(reads) == len(ids) and len(starts) == 12
    assert min(starts) < max(reads), "no batch started before the last package state was read"
    started_while_reading = [s for s in starts if s < max(reads)]
    assert len(started_while_reading) >= 6, "only %d of 12 batches started while the region was read" % len(
        started_while_reading)
    # The lookup (three listings) came before the first start; every start round was followed by a listing.
    listings = [c["seq"] for c in calls if c["action"] == "ListExecutions"]
    assert len([s for s in listings if s < min(starts)]) >= 3
    for seq in starts:
        assert any(s > seq for s in listings), "a start without the tie-break listing after it"
    batches = [e["instance_ids"] for e in result["executions"]]
    assert [i for b in batches for i in b] == ids and all(len(b) == 10 for b in batches)
    assert all(e["result"] == "succeeded" for e in result["instances"].values())
    assert list(result["instances"]) == ids


def test_killed_while_reading_is_adopted_by_the_rerun(sim):
    """SIGKILL while the package states are still read and the first executions run; then run again. The re-run
    adopts the killed run's executions, starts only the instances it never started, and succeeds; no instance
    was ever in two executions at once, and each was in exactly one."""
    sim.reset(fleet([R], 150, durations={"install": 300}), time_scale=TIME_SCALE)
    sim.faults(SLOW_READS)
    ids = instance_ids(sim, R)
    first = run_module_async(sim, "oos_extension_install", args(ids), timeout=120)
    try:
        def running():
            assert not first.done(), "the module ended before it could be killed: %s" % (first.result(0)[1].get("msg"),)
            executions = sim.state()["executions"]
            return len(executions) >= 2 and any(e["children"] for e in executions.values())

        wait_until(running, 60, what="the first executions to run")
        sim.clock(time_scale=FROZEN)
        first.send_signal(signal.SIGKILL)
        rc, _result, out, _err = first.result(30)
    finally:
        first.stop()
    assert rc == -signal.SIGKILL and not out.strip()
    read = len(sim.calls(action=STATES))
    assert read < len(ids), "the reads had ended before the kill (%d of %d)" % (read, len(ids))
    at_kill = sim.state()["executions"]
    killed_runs = set(at_kill)
    reached = set(started_targets([c for c in sim.calls(action="StartExecution") if c["http_status"] == 200]))
    assert len(reached) == 10 * len(killed_runs) < len(ids)

    sim.clear_faults()
    mark = sim.mark()
    second = run_module_async(sim, "oos_extension_install", args(ids), timeout=180)
    try:
        wait_until(lambda: len([c for c in sim.calls(mark, action="ListExecutions") if c["http_status"] == 200])
                   >= 3, 60, what="the re-run to look up what runs")
        sim.clock(time_scale=TIME_SCALE)
        rc, result, _out, err = second.result(170)
    finally:
        second.stop()

    state = sim.state()
    assert_no_overlap(state)
    children = children_by_instance(state)
    twice = {i: [c["parent"] for c in children.get(i, [])] for i in ids if len(children.get(i, [])) != 1}
    assert not twice, "instances not in exactly one child execution: %s" % dict(list(twice.items())[:5])
    assert all(children[i][0]["status"] == "Success" for i in ids)
    again = set(started_targets(sim.calls(mark, action="StartExecution")))
    assert not again & reached, "the re-run started instances the killed run had started: %s" % sorted(again & reached)[:5]
    assert again | reached == set(ids)
    assert not sim.calls(action="CancelExecution")
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    adopted = {e["execution_id"] for e in result["executions"] if e["adopted"]}
    assert adopted == killed_runs
    for instance_id in ids:
        entry = result["instances"][instance_id]
        assert entry["result"] == "succeeded" and entry["adopted"] is (instance_id in reached), entry
        assert entry["execution_id"] == children[instance_id][0]["parent"]


def test_a_read_that_fails_after_the_first_start_is_reported_per_instance(sim):
    """The package-state reads fail for good (a permission error) after the first 50 of 120: batches had started
    on the instances read before. No more batch starts; the started executions are waited for and reported with
    their instances' results; every other instance is ``cancelled`` with the read error; the task fails."""
    sim.reset(fleet([R], 120, durations={"install": 100}), time_scale=TIME_SCALE)
    sim.faults({"action": STATES, "code": "Forbidden.RAM", "http_status": 403, "skip": 50}, SLOW_READS)
    ids = instance_ids(sim, R)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "oos_extension_install", args(ids, max_concurrent_executions=12),
                                       timeout=240)
    assert rc != 0 and result.get("failed"), result.get("msg")
    assert "could not read the package states in %s" % R in result["msg"].lower(), result["msg"]
    calls = sim.calls(mark)
    denied = min(c["seq"] for c in calls if c["action"] == STATES and c.get("error_code") == "Forbidden.RAM")
    starts = [c for c in calls if c["action"] == "StartExecution"]
    assert starts and min(c["seq"] for c in starts) < denied, "no batch had started before the read failed"
    state = sim.state()
    assert_no_overlap(state)
    reported = {e["execution_id"] for e in result["executions"]}
    assert reported == set(state["executions"]), "executions nobody reports"
    started = set(started_targets(starts))
    for instance_id in ids:
        entry = result["instances"][instance_id]
        if instance_id in started:
            assert entry["result"] == "succeeded" and entry["execution_id"] in reported, entry
        else:
            assert entry["result"] == "cancelled", entry
            assert entry["message"].startswith("not started") and "Forbidden.RAM" in entry["message"], entry
    assert result["summary"]["succeeded"] == len(started) and result["changed"]


def test_unreachable_fail_fails_before_any_start_even_for_the_last_instance(sim):
    """The last instance of the fleet is stopped: with unreachable=fail the task fails before any StartExecution
    (the instance views come first), and reports the whole plan."""
    sim.reset(fleet([R], 60), time_scale=TIME_SCALE)
    sim.faults(SLOW_READS)
    ids = instance_ids(sim, R)
    sim.instance(ids[-1], status="Stopped")
    mark = sim.mark()
    rc, result, _out, _err = run_module(sim, "oos_extension_install", args(ids), timeout=120)
    assert rc != 0 and ids[-1] in result["msg"] and "unreachable=skip" in result["msg"], result.get("msg")
    assert not sim.mutating_calls(mark), [c["action"] for c in sim.mutating_calls(mark)]
    assert result["instances"][ids[-1]]["result"] == "unreachable"
    assert {e["result"] for i, e in result["instances"].items() if i != ids[-1]} == {"planned"}


def test_busy_fail_fails_before_any_start_even_for_the_last_instances(sim):
    """The last three instances are in an uninstall of nginx that never ends: with busy=fail the task fails before
    any StartExecution of its own, though the first batches were full long before those instances would be
    read in order (the lookup's instances are read first)."""
    body = fleet([R], 57, durations={"uninstall": HUNG})
    body["regions"][R]["instances"].append(dict(body["regions"][R]["instances"][0], name="web", count=3,
                                                packages={NGINX: {"version": "v5", "parameters": {}}}))
    sim.reset(body, time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    busy = ids[-3:]
    rc, result, _out, err = run_module(sim, "oos_extension_install", dict(
        region=R, name="nginx", state="absent", instance_ids=busy, wait=False), timeout=60)
    assert rc == 0, (result.get("msg"), err[-500:])
    uninstall = result["executions"][0]["execution_id"]
    sim.faults(SLOW_READS)
    mark = sim.mark()
    rc, result, _out, _err = run_module(sim, "oos_extension_install", args(ids, busy="fail"), timeout=120)
    assert rc != 0 and "busy" in result["msg"] and uninstall in result["msg"], result.get("msg")
    assert not sim.mutating_calls(mark), [c["action"] for c in sim.mutating_calls(mark)]
    for instance_id in busy:
        assert result["instances"][instance_id]["result"] == "busy"
    assert list(sim.state()["executions"]) == [uninstall]


def test_check_mode_reads_the_whole_plan_and_changes_nothing(sim):
    sim.reset(fleet([R], 60), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "oos_extension_install", args(ids), check=True, timeout=120)
    assert rc == 0 and result["changed"], (result.get("msg"), err[-500:])
    assert not sim.mutating_calls(mark)
    assert len(sim.calls(mark, action=STATES)) == len(ids)
    assert [e["result"] for e in result["instances"].values()] == ["planned"] * len(ids)
    assert result["summary"]["to_install"] == len(ids) and not result["executions"]


def test_wait_timeout_bounds_the_reads_that_run_while_acting(sim):
    """After the first 20 reads, ListInstancePackageStates answers after 20 s (within the default api_timeout of
    30 s). wait_timeout counts from the lookup and bounds those reads too: the task ends close to it, timed out;
    the batches it started (at most two) are ``pending``, the instances never read ``cancelled`` with the reason."""
    sim.reset(fleet([R], 60, durations={"install": HUNG}), time_scale=TIME_SCALE)
    sim.faults({"action": STATES, "latency_ms": 20000, "skip": 20})
    ids = instance_ids(sim, R)
    mark = sim.mark()
    wait = 6
    run = run_module_async(sim, "oos_extension_install", args(ids, wait_timeout=wait), timeout=120)
    try:
        rc, result, _out, err = run.result(120)
    finally:
        run.stop()
    assert run.elapsed < wait + 12, "the task ended %.1fs after it began, wait_timeout=%s" % (run.elapsed, wait)
    assert rc != 0 and result.get("timed_out") and "Timed out" in result["msg"], (result.get("msg"), err[-500:])
    started = set(started_targets(sim.calls(mark, action="StartExecution")))
    assert started <= set(ids[:20]) and len(started) % 10 == 0   # only full batches of instances read in order
    for instance_id in ids:
        entry = result["instances"][instance_id]
        if instance_id in started:
            assert entry["result"] == "pending", entry
        else:
            assert entry["result"] == "cancelled" and entry["message"].startswith("not started"), entry
    unread = [e for e in result["instances"].values() if e["action"] == "unknown"]
    assert unread and all("wait_timeout passed" in e["message"] for e in unread), unread[:2]
