"""R6 unreachable: instances the work cannot reach are reported one by one with a clear status; nothing hangs.

For each fleet module that acts on instances (oos_extension_install, ecs_cloud_assistant_command,
oos_patch_run):

- **before the run** an instance without the Cloud Assistant agent, one whose agent is offline, a stopped
  one and a released one (released through the admin API, so DescribeInstances no longer lists it) sit
  next to two healthy instances. With ``unreachable=fail`` the task fails before any mutating call and
  names every unreachable instance with its reason; with ``unreachable=skip`` it reports them as unreachable
  with the reason, works on the healthy ones only (the simulator shows one execution / invocation with
  exactly those two), and leaves the others untouched;
- **during the run** one instance is released (or stopped, or loses its agent) while its work is running
  (its work would take 30 s). The task must end within seconds of the change, not when the work would
  have ended or at ``wait_timeout``, with that instance failed and a reason that says what happened, and
  the others succeeded.

Every module run has a bound (``BOUND`` seconds after the start, resp. ``AFTER_CHANGE`` after the change).
"""

from __future__ import annotations

import time

import pytest

from harness import instance_ids, run_module, run_module_async, wait_until

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
BOUND = 30            # seconds a pre-checked run may take at most
AFTER_CHANGE = 12     # seconds a run may go on after its instance was released or stopped
LONG = 3000           # simulated seconds of the victim's work: 30 s at the time scale 0.01
TIME_SCALE = 0.01
MODULES = {
    "oos_extension_install": dict(args=dict(name="node"), work="install"),
    "ecs_cloud_assistant_command": dict(args=dict(command="echo done", timeout=86400), work="command"),
    "oos_patch_run": dict(args=dict(action="scan"), work="patch_scan"),
}
REASONS = {
    "noagent": "the Cloud Assistant agent is not installed",
    "offline": "the Cloud Assistant agent is offline",
    "stopped": "the instance is Stopped, not Running",
    "released": "the instance does not exist in %s" % R,
}
LINUX = dict(os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")


def named(sim):
    return {i["name"]: i["id"] for i in sim.state()["instances"].values()}


def result_of(module, entry):
    """(result, reason) of one instance in the vocabulary every fleet module shares."""
    return entry["result"], outcome(module, entry)[1]


def outcome(module, entry):
    """(status, reason) of one instance in the module's own vocabulary."""
    if module == "ecs_cloud_assistant_command":
        return entry["status"], entry["reason"] or entry["error_code"]
    return entry["result"], entry["message"]


# --- before the run --------------------------------------------------------------------------------------------
def precheck_fleet():
    return {"run_scripts": False, "regions": {R: {"instances": [
        dict(LINUX, name="ok", count=2), dict(LINUX, name="noagent", agent="none"),
        dict(LINUX, name="offline", agent="offline"), dict(LINUX, name="stopped", status="Stopped"),
        dict(LINUX, name="released")]}}}


def precheck_run(sim, module, unreachable):
    sim.reset(precheck_fleet(), time_scale=TIME_SCALE)
    ids = named(sim)
    sim.instance(ids["released"], released=True)
    mark = sim.mark()
    args = dict(MODULES[module]["args"], region=R, instance_ids=instance_ids(sim, R), unreachable=unreachable,
                poll_interval=0.5, wait_timeout=BOUND)
    started = time.monotonic()
    rc, result, _out, err = run_module(sim, module, args, timeout=BOUND + 30)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, "%s took %.1fs with unreachable instances" % (module, elapsed)
    return ids, mark, rc, result, err


@pytest.mark.parametrize("module", list(MODULES))
def test_unreachable_fail_starts_nothing_and_names_each_instance(sim, module):
    """unreachable=fail: the task fails before any mutating call; the message and the per-instance results
    name each unreachable instance with its reason; the healthy ones carry a documented status."""
    ids, mark, rc, result, err = precheck_run(sim, module, "fail")
    assert rc != 0 and result.get("failed"), "%s did not fail: %s %s" % (module, result.get("msg"), err[-500:])
    assert not sim.mutating_calls(mark), "mutating calls although the task failed its pre-check"
    for name, reason in REASONS.items():
        instance_id = ids[name]
        assert "%s: %s" % (instance_id, reason) in result["msg"], (name, result["msg"])
        status, why = result_of(module, result["instances"][instance_id])
        assert status == "unreachable", (name, status)
        assert why.startswith(reason), (name, why)
    healthy = {result_of(module, result["instances"][ids[n]])[0] for n in ("ok-1", "ok-2")}
    documented = {"planned"}
    assert healthy <= documented, "the healthy instances are reported as %s" % healthy
    assert "" not in result["summary"], "the summary counts a result without a name: %s" % result["summary"]


@pytest.mark.parametrize("module", list(MODULES))
def test_unreachable_skip_works_on_the_others(sim, module):
    """unreachable=skip: the unreachable instances are reported unreachable with their reason and left untouched; the
    two healthy ones are worked on in one execution / invocation holding exactly them, and succeed."""
    ids, _mark, rc, result, err = precheck_run(sim, module, "skip")
    assert rc == 0 and not result.get("failed"), "%s failed: %s %s" % (module, result.get("msg"), err[-500:])
    healthy = [ids["ok-1"], ids["ok-2"]]
    unreachable = [ids[n] for n in REASONS]
    for name, reason in REASONS.items():
        status, why = result_of(module, result["instances"][ids[name]])
        assert status == "unreachable", (name, status)
        assert why.startswith(reason), (name, why)
    for instance_id in healthy:
        assert result_of(module, result["instances"][instance_id])[0] == "succeeded"

    state = sim.state()
    if module == "ecs_cloud_assistant_command":
        (invocation,) = state["commands"]["invocations"].values()
        assert invocation["instances"] == {i: "Success" for i in healthy}
    else:
        (execution,) = state["executions"].values()
        assert execution["status"] == "Success" and execution["counters"]["Total"] == 2
        assert [e["instance_ids"] for e in result["executions"]] == [healthy]
    for instance_id in unreachable:
        assert NODE not in state["instances"][instance_id]["packages"]
        assert instance_id not in state["patching"]["patch_states"]
    summary = result["summary"]
    assert summary["unreachable"] == len(REASONS) and summary["succeeded"] == 2


# --- during the run ----------------------------------------------------------------------------------------------
CHANGES = {
    "released": dict(change={"released": True}, oos="does not exist", command=("Failed", "InstanceReleased")),
    "stopped": dict(change={"status": "Stopped"}, oos="is Stopped", command=("Failed", "InstanceNotRunning")),
    "agent_lost": dict(change={"agent": "none"}, oos="Cloud Assistant is not installed", command=None),
}
CASES = [(m, c) for m in MODULES for c in CHANGES if not (m == "ecs_cloud_assistant_command" and c == "agent_lost")]


def victim_running(sim, module, victim):
    """True once the two healthy instances are done and the victim's work is running."""
    state = sim.state()
    if module == "ecs_cloud_assistant_command":
        invocations = list(state["commands"]["invocations"].values())
        return bool(invocations) and invocations[0]["instances"].get(victim) == "Running"
    executions = list(state["executions"].values())
    return bool(executions) and (executions[0]["counters"].get("Success"), executions[0]["counters"].get("Running")) \
        == (2, 1)


@pytest.mark.parametrize("module,change", CASES)
def test_instance_lost_mid_run_is_reported_and_never_hangs(sim, module, change):
    """The victim is released / stopped / loses its agent while its work runs: the task ends within
    seconds with the victim failed for that reason and the two others succeeded."""
    spec = CHANGES[change]
    sim.reset({"run_scripts": False, "regions": {R: {"instances": [
        dict(LINUX, name="ok", count=2), dict(LINUX, name="victim", durations={MODULES[module]["work"]: LONG})]}}},
        time_scale=TIME_SCALE)
    ids = named(sim)
    victim = ids["victim"]
    args = dict(MODULES[module]["args"], region=R, instance_ids=instance_ids(sim, R), poll_interval=0.5,
                wait_timeout=600)
    run = run_module_async(sim, module, args, timeout=90)
    try:
        wait_until(lambda: victim_running(sim, module, victim), timeout=30, what="the victim's work to run")
        assert not run.done(), "the module ended before the victim's work did"
        changed_at = time.monotonic()
        sim.instance(victim, **spec["change"])
        rc, result, _out, err = run.result(120)
    finally:
        run.stop()
    assert run.ended - changed_at <= AFTER_CHANGE, \
        "%s went on for %.1fs after the instance was %s" % (module, run.ended - changed_at, change)

    assert rc != 0 and result.get("failed"), "%s: %s" % (result.get("msg"), err[-500:])
    assert victim in result["msg"]
    entry = result["instances"][victim]
    if module == "ecs_cloud_assistant_command":
        assert (entry["status"], entry["error_code"]) == spec["command"], entry
        assert entry["exit_code"] == -1
    else:
        assert entry["result"] == "failed" and spec["oos"] in entry["message"], entry
    assert entry["result"] == "failed"
    for instance_id in (ids["ok-1"], ids["ok-2"]):
        assert result_of(module, result["instances"][instance_id])[0] == "succeeded"
