"""R5 deadlines: a task ends at its ``wait_timeout`` with what it knows, and cancels when asked.

Two ways a wait can go wrong, for the OOS modules (oos_extension_install, oos_patch_run) and for
Cloud Assistant commands (ecs_cloud_assistant_command):

- a **hung execution / invocation**: some instances get a simulated duration of 10^6 s for their work, so
  they never finish. The task must end at ``wait_timeout`` (not earlier, and not much later), report the
  instances that finished as finished and the others as still running / not reached, and, with
  ``cancel_on_timeout`` / ``stop_on_timeout``, cancel what is still running (the simulator then shows the
  execution ``Cancelled`` / the instances ``Terminated``);
- an **unresponsive API**: the polling read (``ListExecutions`` / ``DescribeInvocations`` and
  ``DescribeInvocationResults``) answers after 3 s while the task's ``api_timeout`` is 1 s, so every read
  times out and is retried. The task
  must still end close to ``wait_timeout`` (the retries must honour the deadline) and fail, never report
  an outcome it could not read, and keep the per-instance results it had already read.

"Close to" is ``WAIT`` plus ``SLACK`` seconds (module start-up, the reads before the wait, the last
read at the deadline, a few API timeouts). The module process is killed at ``KILL`` seconds, so a task
that overruns fails the test quickly instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from harness import instance_ids, run_module, run_module_async, wait_until

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
WAIT = 5                   # wait_timeout of every task here
SLACK = 12                 # how much later than WAIT a task may end
KILL = WAIT + SLACK + 15   # the module process is killed then (the test fails)
API_TIMEOUT = 1            # api_timeout (s) for the unresponsive-API tests
SLOW_API_MS = 3000         # the answer delay of the unresponsive API, beyond API_TIMEOUT
SLOW_DEFAULT_API_MS = 20000  # an answer delay within the default api_timeout (30 s) but far beyond WAIT + SLACK
HUNG = 1e6                 # simulated seconds: never finishes at the time scale
TIME_SCALE = 0.01
LOOKUP_LISTINGS = 3        # what an OOS module lists before it starts (unfinished executions of the template)

OOS_MODULES = {
    "oos_extension_install": dict(work="install", args=dict(name="node"), ok="succeeded"),
    "oos_patch_run": dict(work="patch_scan", args=dict(action="scan"), ok="succeeded"),
}


def timed_run(sim, module, args):
    """(rc, result, stderr, elapsed seconds); fails the test if the module is still running at KILL."""
    started = time.monotonic()
    try:
        rc, result, _out, err = run_module(sim, module, args, timeout=KILL)
    except subprocess.TimeoutExpired:
        pytest.fail("%s did not end within %ss with wait_timeout=%s (killed): the deadline is not honoured"
                    % (module, KILL, args.get("wait_timeout")))
    return rc, result, err, time.monotonic() - started


def assert_ended_at_deadline(elapsed, module):
    assert elapsed >= WAIT - 0.5, "%s gave up after %.1fs, before wait_timeout=%s" % (module, elapsed, WAIT)
    assert elapsed <= WAIT + SLACK, "%s ended %.1fs after starting, wait_timeout=%s" % (module, elapsed, WAIT)


def groups_of(sim):
    """{group name: [instance ids]} (fleet order)."""
    found = {}
    for instance in sim.state()["instances"].values():
        found.setdefault(instance["name"].rsplit("-", 1)[0], []).append(instance["id"])
    return found


# --- OOS executions: hung ------------------------------------------------------------------------------------
def oos_hung_fleet(work):
    """In fleet order: ``fast`` x2 (finish at once), ``slow`` x2 (``work`` never ends), ``late`` x2. With
    a concurrency of 2 the fast ones run and finish, the slow ones start and hang, and the late ones are
    never reached."""
    linux = dict(os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")
    return {"regions": {R: {"instances": [dict(linux, name="fast", count=2),
                                          dict(linux, name="slow", count=2, durations={work: HUNG}),
                                          dict(linux, name="late", count=2)]}}}


def oos_args(module, sim, **extra):
    args = dict(OOS_MODULES[module]["args"], region=R, instance_ids=instance_ids(sim, R), wait_timeout=WAIT,
                poll_interval=0.5, rate_control=dict(concurrency=2))
    args.update(extra)
    return args


def assert_fast_ones_done(sim, module, result, fast):
    """The instances that finished are reported as finished, and the simulator agrees."""
    state = sim.state()
    for instance_id in fast:
        entry = result["instances"][instance_id]
        assert entry["result"] == "succeeded", entry
        if module == "oos_extension_install":
            assert entry["new_version"] and state["instances"][instance_id]["packages"][NODE]["version"] == \
                entry["new_version"]
        else:
            assert state["patching"]["patch_states"][instance_id]["operation"] == "scan"


def assert_untouched(sim, module, instance_ids_):
    state = sim.state()
    for instance_id in instance_ids_:
        if module == "oos_extension_install":
            assert NODE not in state["instances"][instance_id]["packages"]
        else:
            assert instance_id not in state["patching"]["patch_states"]


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_hung_execution_ends_at_deadline_with_partial_results(sim, module):
    """The execution never finishes: the task fails at wait_timeout with timed_out=true, the two finished
    instances as succeeded, the hung and the unreached ones as pending; nothing is cancelled."""
    sim.reset(oos_hung_fleet(OOS_MODULES[module]["work"]), time_scale=TIME_SCALE)
    groups = groups_of(sim)
    rc, result, err, elapsed = timed_run(sim, module, oos_args(module, sim))

    assert rc != 0 and result.get("failed"), "a timed-out task must fail: %s %s" % (result.get("msg"), err[-500:])
    assert result["timed_out"] is True and "Timed out" in result["msg"]
    assert_ended_at_deadline(elapsed, module)
    assert_fast_ones_done(sim, module, result, groups["fast"])
    for instance_id in groups["slow"] + groups["late"]:
        assert result["instances"][instance_id]["result"] == "pending", result["instances"][instance_id]
    assert (result["summary"]["succeeded"], result["summary"]["pending"]) == (2, 4)

    (execution_id, seen), = sim.state()["executions"].items()
    assert seen["status"] == "Running" and seen["counters"]["Success"] == 2 and seen["counters"]["Running"] == 2
    assert [e["execution_id"] for e in result["executions"]] == [execution_id]
    assert not sim.calls(action="CancelExecution"), "cancelled without cancel_on_timeout"
    assert_untouched(sim, module, groups["slow"] + groups["late"])
    if module == "oos_extension_install":
        assert execution_id in result["msg"], "the message should name the unfinished execution"


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_hung_execution_cancelled_on_timeout(sim, module):
    """With cancel_on_timeout the execution still running at wait_timeout is cancelled (once): the
    simulator shows it Cancelled with nothing installed or scanned on the other four instances, and the
    task reports the two finished instances as succeeded and the other four (running or never reached)
    as cancelled, with the execution's real final status."""
    sim.reset(oos_hung_fleet(OOS_MODULES[module]["work"]), time_scale=TIME_SCALE)
    groups = groups_of(sim)
    rc, result, err, elapsed = timed_run(sim, module, oos_args(module, sim, cancel_on_timeout=True))

    assert rc != 0 and result.get("failed") and result["timed_out"] is True, (result.get("msg"), err[-500:])
    assert_ended_at_deadline(elapsed, module)
    (execution_id, seen), = sim.state()["executions"].items()
    assert seen["status"] == "Cancelled", seen
    assert (seen["counters"]["Success"], seen["counters"]["Cancelled"]) == (2, 4), seen["counters"]
    cancels = sim.calls(action="CancelExecution")
    assert [c["params"]["ExecutionId"] for c in cancels] == [execution_id]
    assert_fast_ones_done(sim, module, result, groups["fast"])
    assert_untouched(sim, module, groups["slow"] + groups["late"])

    reported = {i: result["instances"][i]["result"] for i in groups["slow"] + groups["late"]}
    assert set(reported.values()) == {"cancelled"}, \
        "instances of a cancelled execution must be reported cancelled, not still running: %s" % reported
    assert (result["summary"]["succeeded"], result["summary"]["cancelled"], result["summary"]["pending"]) == (2, 4, 0)
    assert [e["status"] for e in result["executions"]] == ["Cancelled"], \
        "the execution is reported %s, the simulator says Cancelled" % [e["status"] for e in result["executions"]]
    if module == "oos_extension_install":  # its message lists the unfinished executions
        assert execution_id in result["msg"], "the message should name the cancelled execution: %s" % result["msg"]


# --- OOS executions: unresponsive API --------------------------------------------------------------------------
@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_unresponsive_polling_api_ends_at_deadline(sim, module):
    """Once the task has looked up what runs (three listings) and started, ListExecutions answers after 3 s
    while the read timeout is 1 s: every poll times out. The task must end close to wait_timeout (its
    retries stop at the deadline), and fail: no instance may be reported with an outcome
    (succeeded/failed) the task never read."""
    sim.reset(oos_hung_fleet(OOS_MODULES[module]["work"]), time_scale=TIME_SCALE)
    sim.faults({"action": "ListExecutions", "latency_ms": SLOW_API_MS, "skip": LOOKUP_LISTINGS})
    rc, result, err, elapsed = timed_run(sim, module, oos_args(module, sim, api_timeout=API_TIMEOUT))

    assert elapsed <= WAIT + SLACK, "%s ended after %.1fs, wait_timeout=%s" % (module, elapsed, WAIT)
    assert len(sim.calls(action="StartExecution")) == 1
    assert rc != 0 and result.get("failed"), \
        "the results could not be read, yet the task did not fail: %s" % result.get("summary")
    reported = {e["result"] for e in result.get("instances", {}).values()}
    assert reported and reported <= {"pending"}, "outcomes reported without reading them: %s" % reported


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_slow_polling_api_with_the_default_api_timeout_ends_at_deadline(sim, module):
    """The same, with the default api_timeout (30 s) and ListExecutions answering after 20 s: every answer would
    come within api_timeout, so only the deadline can cut the attempt under way. Each attempt's read timeout is
    the time left before the deadline (at least 1 s), so the task ends close to wait_timeout instead of one
    slow answer (or several, for the report's reads) later."""
    sim.reset(oos_hung_fleet(OOS_MODULES[module]["work"]), time_scale=TIME_SCALE)
    sim.faults({"action": "ListExecutions", "latency_ms": SLOW_DEFAULT_API_MS, "skip": LOOKUP_LISTINGS})
    rc, result, _err, elapsed = timed_run(sim, module, oos_args(module, sim))

    assert elapsed <= WAIT + SLACK, "%s ended after %.1fs, wait_timeout=%s: a slow answer carried it past its " \
        "deadline" % (module, elapsed, WAIT)
    assert rc != 0 and result.get("failed") and result.get("timed_out"), result.get("msg")
    reported = {e["result"] for e in result.get("instances", {}).values()}
    assert reported and reported <= {"pending"}, "outcomes reported without reading them: %s" % reported


# --- Cloud Assistant: hung ---------------------------------------------------------------------------------
def command_fleet():
    """``fast`` x3 (the script takes 1 s), ``slow`` x2 (it takes 10^6 s); scripts are simulated."""
    linux = dict(os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")
    return {"run_scripts": False,
            "regions": {R: {"instances": [dict(linux, name="fast", count=3),
                                          dict(linux, name="slow", count=2, durations={"command": HUNG})]}}}


def command_args(sim, **extra):
    args = dict(region=R, instance_ids=instance_ids(sim, R), command="echo done", timeout=86400,
                wait_timeout=WAIT, poll_interval=0.5)
    args.update(extra)
    return args


def assert_command_partial(result, groups):
    for instance_id in groups["fast"]:
        entry = result["instances"][instance_id]
        assert (entry["status"], entry["exit_code"], entry["stdout"]) == ("Success", 0, "done\n"), entry
    for instance_id in groups["slow"]:
        entry = result["instances"][instance_id]
        assert entry["status"] in ("Pending", "Running") and entry["exit_code"] is None, entry


def test_hung_invocation_ends_at_deadline_with_partial_results(sim):
    """Two instances never finish: the task fails at wait_timeout, the three that finished with their exit
    code and output, the two others as running; nothing is stopped."""
    sim.reset(command_fleet(), time_scale=TIME_SCALE)
    groups = groups_of(sim)
    rc, result, err, elapsed = timed_run(sim, "ecs_cloud_assistant_command", command_args(sim))

    assert rc != 0 and result.get("failed") and "Timed out" in result["msg"], (result.get("msg"), err[-500:])
    assert_ended_at_deadline(elapsed, "ecs_cloud_assistant_command")
    assert_command_partial(result, groups)
    assert (result["summary"]["succeeded"], result["summary"]["pending"]) == (3, 2)
    (invoke_id, invocation), = sim.state()["commands"]["invocations"].items()
    assert result["invoke_ids"] == [invoke_id]
    assert {invocation["instances"][i] for i in groups["slow"]} == {"Running"}
    assert not sim.calls(action="StopInvocation"), "stopped without stop_on_timeout"


def test_hung_invocation_stopped_on_timeout(sim):
    """With stop_on_timeout the invocation is stopped (once) at wait_timeout: the simulator shows the two
    hung instances terminated and the three others still successful; the message names what was stopped."""
    sim.reset(command_fleet(), time_scale=TIME_SCALE)
    groups = groups_of(sim)
    rc, result, err, elapsed = timed_run(sim, "ecs_cloud_assistant_command", command_args(sim, stop_on_timeout=True))

    assert rc != 0 and result.get("failed") and "Timed out" in result["msg"], (result.get("msg"), err[-500:])
    assert_ended_at_deadline(elapsed, "ecs_cloud_assistant_command")
    assert_command_partial(result, groups)
    (invoke_id,) = result["invoke_ids"]
    assert [c["params"]["InvokeId"] for c in sim.calls(action="StopInvocation")] == [invoke_id]
    assert "stopped %s" % invoke_id in result["msg"]

    def stopped():
        statuses = sim.state()["commands"]["invocations"][invoke_id]["instances"]
        return statuses if {statuses[i] for i in groups["slow"]} == {"Terminated"} else None

    final = wait_until(stopped, timeout=10, what="the stop to end")
    assert {final[i] for i in groups["fast"]} == {"Success"}


# --- Cloud Assistant: unresponsive API ---------------------------------------------------------------------
def test_unresponsive_results_api_ends_at_deadline(sim):
    """The reads of the invocation (DescribeInvocations, DescribeInvocationResults) answer after 3 s, the read
    timeout is 1 s, from the first poll on: the task ends close to wait_timeout and fails; no instance is
    reported finished."""
    sim.reset(command_fleet(), time_scale=TIME_SCALE)
    sim.faults({"action": "DescribeInvocation*", "latency_ms": SLOW_API_MS})
    rc, result, err, elapsed = timed_run(sim, "ecs_cloud_assistant_command", command_args(sim, api_timeout=API_TIMEOUT))

    assert elapsed <= WAIT + SLACK, "ended after %.1fs, wait_timeout=%s" % (elapsed, WAIT)
    assert rc != 0 and result.get("failed"), result.get("msg")
    assert len(sim.calls(action="RunCommand")) == 1
    statuses = {e["status"] for e in result["instances"].values()}
    assert statuses <= {"Pending", "Running"}, "outcomes reported without reading them: %s" % statuses


def test_api_unresponsive_mid_run_keeps_what_was_read(sim):
    """The API answers until the three fast instances have been seen finished (the listing of the run's
    invocations), then stops answering in time. The task ends close to wait_timeout and fails, and still
    reports those three as finished, with their exit code: what finished is reported as finished. (Their output
    comes with the invocation's results, read once it settled or at the deadline; here neither answers.)"""
    sim.reset(command_fleet(), time_scale=TIME_SCALE)
    groups = groups_of(sim)

    def fast_ones_done():
        invocations = sim.state()["commands"]["invocations"]
        return invocations and all(next(iter(invocations.values()))["instances"][i] == "Success"
                                   for i in groups["fast"])

    run = run_module_async(sim, "ecs_cloud_assistant_command", command_args(sim, api_timeout=API_TIMEOUT), timeout=KILL)
    try:
        wait_until(fast_ones_done, timeout=15, what="the fast instances to finish")
        mark = sim.mark()
        wait_until(lambda: any(c["http_status"] == 200 for c in sim.calls(mark, action="DescribeInvocations")),
                   timeout=15, what="the module to see the finished instances")
        sim.faults({"action": "DescribeInvocation*", "latency_ms": SLOW_API_MS})
        rc, result, _out, err = run.result(KILL + 5)
    except subprocess.TimeoutExpired:
        pytest.fail("the module did not end within %ss with wait_timeout=%s (killed)" % (KILL, WAIT))
    finally:
        run.stop()

    assert run.elapsed <= WAIT + SLACK, "ended after %.1fs, wait_timeout=%s" % (run.elapsed, WAIT)
    assert rc != 0 and result.get("failed"), result.get("msg")
    for instance_id in groups["slow"]:
        assert result["instances"][instance_id]["status"] in ("Pending", "Running")
    known = {i: (result["instances"][i]["status"], result["instances"][i]["exit_code"]) for i in groups["fast"]}
    assert set(known.values()) == {("Success", 0)}, \
        "results the task had read were dropped when the API stopped answering: %s" % known
