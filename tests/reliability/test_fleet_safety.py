"""R7 fleet safety: each instance is acted on at most once at a time, across killed runs, re-runs and jobs.

The mutating modules with a wait (``oos_extension_install``, ``oos_patch_run``, ``ecs_cloud_assistant_command``)
must keep an instance out of two executions at once, whatever happens to the task:

- **a killed task** (SIGTERM, what ansible-core's worker forwards to a module when a job is cancelled; SIGKILL)
  leaves its executions / invocation running in the cloud. Run again, the task adopts what still runs,
  starts only what the killed run never started, and runs no script twice;
- **two overlapping jobs** started at the same moment: for the same change, one execution survives per
  instance and both jobs report it; for different changes, they are serialised;
- **error storms during a wait**: polls that still fail after ``api_retries`` with throttling or a 5xx never end
  the wait (a permission error does, at once, without reporting an outcome that was not read);
- **throttled starts under a short deadline**: the task ends at ``wait_timeout``, not when the API's
  ``x-acs-retry-after`` would let it start, and reports the batches it never started as ``cancelled``;
- **``busy: skip`` / ``busy: fail``** against an execution of the template that does something else.

The evidence is the simulator's state and call log, not what the modules report: every child execution
with its instance and its simulated ``[start, end)`` (``harness.overlapping_children``), each instance's
packages and patch state, the invocations and each instance's status, the ``StartExecution`` /
``RunCommand`` calls with their targets, and files the Cloud Assistant scripts really wrote.

Sizes: the fast size for ``make test``; ``RELIABILITY_FULL=1`` (``harness.FULL``) makes the fleets of the
kill and overlap tests bigger. The other tests do not depend on the size.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness import FULL, fleet, instance_ids, overlapping_children, run_module, run_module_async, wait_until

R = "cn-hangzhou"
NODE = "ACS-Extension-node-1853370294850618"
NGINX = "ACS-Extension-nginx-1853370294850618"
TIME_SCALE = 0.01          # one simulated second is 10 ms
FROZEN = 1.0               # a time scale at which the slow work of these tests does not move in the seconds a step takes
HUNG = 1e6                 # simulated seconds: work that does not end during a test
LONG = 3000                # simulated seconds (30 s), within the work's own timeouts: the test ends it by advancing the clock
LOOKUP_LISTINGS = 3        # what an OOS module lists before it starts: Status=Running, Status=Waiting, the last day
SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGKILL, id="SIGKILL")]

OOS_MODULES = {
    "oos_extension_install": dict(args=dict(name="node"), work="install"),
    "oos_patch_run": dict(args=dict(action="install"), work="patch_install"),
}


# --- evidence ----------------------------------------------------------------------------------------------------
def children_by_instance(state):
    """{instance id: [child execution (with its parent id and the parent's action)]} over every execution."""
    found = collections.defaultdict(list)
    for parent_id, execution in state["executions"].items():
        for child in execution["children"]:
            found[child["instance"]].append(dict(child, parent=parent_id, action=execution["action"],
                                                 template=execution["template"]))
    return found


def assert_no_overlap(state):
    overlaps = overlapping_children(state)
    assert not overlaps, "instances were in two executions at the same time: %s" % [
        (i, a["parent"], a["start"], a["end"], b["parent"], b["start"], b["end"]) for i, a, b in overlaps[:5]]


def started_targets(calls):
    """The instance ids of every StartExecution in ``calls`` (answered or not)."""
    return [i for c in calls for i in json.loads(c["params"]["Parameters"])["targets"]["ResourceIds"]]


def assert_outcome(module, state, instance_id, entry, version=None):
    """The instance ends right in the simulator: the extension at ``version``, or patched (nothing missing)."""
    if module == "oos_extension_install":
        package = state["instances"][instance_id]["packages"].get(NODE)
        assert package and package["version"] == version == entry["new_version"], (instance_id, package, entry)
    else:
        patch = state["patching"]["patch_states"].get(instance_id)
        assert patch and patch["operation"] == "install", (instance_id, patch)
        assert patch["counts"]["Missing"] == patch["counts"]["Failed"] == 0, (instance_id, patch)


def final_children_ok(state, ids, template_action):
    """Every instance has exactly one child execution, and it succeeded: nothing ran twice."""
    children = children_by_instance(state)
    twice = {i: [(c["parent"], c["status"]) for c in children[i]] for i in ids if len(children[i]) != 1}
    assert not twice, "instances not in exactly one child execution: %s" % dict(list(twice.items())[:5])
    bad = {i: children[i][0]["status"] for i in ids if children[i][0]["status"] != "Success"}
    assert not bad, bad
    assert {children[i][0]["action"] for i in ids} == {template_action}
    return {i: children[i][0]["parent"] for i in ids}


# --- 1. kill mid-wait, then re-run ------------------------------------------------------------------------------
KILL_INSTANCES = 120 if FULL else 30
KILL_BATCH = 10 if FULL else 5
KILL_RUNNING = 3 if FULL else 2          # max_concurrent_executions
SLOW = 300                               # simulated seconds of the work: 3 s at TIME_SCALE


def kill_args(module, ids):
    return dict(OOS_MODULES[module]["args"], region=R, instance_ids=ids, batch_size=KILL_BATCH,
                max_concurrent_executions=KILL_RUNNING, poll_interval=0.5, wait_timeout=300)


def kill_mid_wait(sim, run, signum, expected_executions, children_per_execution):
    """Wait until ``expected_executions`` executions run their children and the module has polled since its last
    start (so it waits, with batches still queued in it), freeze the simulator's clock, signal the module. The
    state at the kill."""
    def running():
        assert not run.done(), "the module ended before it could be killed: %s" % (run.result(0)[1].get("msg"),)
        executions = sim.state()["executions"]
        return len(executions) == expected_executions and all(
            len(e["children"]) == children_per_execution for e in executions.values())

    wait_until(running, 60, what="the first executions to run")
    last_start = max(c["seq"] for c in sim.calls(action="StartExecution"))
    wait_until(lambda: any(c["http_status"] == 200 for c in sim.calls(last_start, action="ListExecutions")), 30,
               what="the module to poll after its last start")
    sim.clock(time_scale=FROZEN)   # the killed run's executions stay running until the re-run has looked them up
    run.send_signal(signum)
    rc, result, out, _err = run.result(30)
    assert rc == -signum and not out.strip(), "the module was not killed before it reported: rc=%s %s" % (rc, out[-300:])
    return sim.state()


def kill_and_rerun(sim, module, signum, rerun_order=None):
    """Kill the task mid-wait, then run it again (with the instances in ``rerun_order(ids)`` if given) and check
    the outcome in the simulator and the re-run's report."""
    work = OOS_MODULES[module]["work"]
    sim.reset(fleet([R], KILL_INSTANCES, durations={work: SLOW}), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    args = kill_args(module, ids)

    first = run_module_async(sim, module, args, timeout=120)
    try:
        at_kill = kill_mid_wait(sim, first, signum, KILL_RUNNING, KILL_BATCH)
    finally:
        first.stop()
    killed_runs = set(at_kill["executions"])
    reached = {c["instance"]: parent for parent, e in at_kill["executions"].items() for c in e["children"]}
    assert {e["status"] for e in at_kill["executions"].values()} == {"Running"}
    assert len(reached) == KILL_RUNNING * KILL_BATCH < len(ids), "no batch was left queued in the killed run"

    mark = sim.mark()
    rerun_args = dict(args, instance_ids=rerun_order(ids)) if rerun_order else args
    second = run_module_async(sim, module, rerun_args, timeout=180)
    try:
        wait_until(lambda: len([c for c in sim.calls(mark, action="ListExecutions") if c["http_status"] == 200])
                   >= LOOKUP_LISTINGS, 60, what="the re-run to look up what runs")
        sim.clock(time_scale=TIME_SCALE)
        rc, result, _out, err = second.result(170)
    finally:
        second.stop()

    # What happened, from the simulator: nothing twice, nothing at once, everything right.
    state = sim.state()
    assert_no_overlap(state)
    parents = final_children_ok(state, ids, "install")
    again = started_targets(sim.calls(mark, action="StartExecution"))
    assert set(again) == set(ids) - set(reached), "the re-run started instances the killed run had started: %s" % (
        sorted(set(again) & set(reached))[:5])
    assert not sim.calls(action="CancelExecution")
    # What the re-run reports.
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    version = result.get("extension", {}).get("version")
    for instance_id in ids:
        entry = result["instances"][instance_id]
        assert entry["result"] == "succeeded", entry
        assert_outcome(module, state, instance_id, entry, version)
        assert entry["execution_id"] == parents[instance_id], (entry, parents[instance_id])
        assert entry.get("adopted") is (instance_id in reached), entry
        if instance_id in reached:
            assert entry["execution_id"] == reached[instance_id]
    reported = {e["execution_id"]: e for e in result["executions"]}
    adopted = {i for i, e in reported.items() if e.get("adopted")}
    assert adopted == killed_runs, "the re-run did not adopt exactly the killed run's executions: %s vs %s" % (
        sorted(adopted), sorted(killed_runs))
    assert set(state["executions"]) == set(reported), "executions nobody reports: %s" % (
        set(state["executions"]) - set(reported))


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_killed_run_is_adopted_by_the_rerun(sim, module, signum):
    """The task is killed while its first executions run and later batches wait in it. Its executions go on in
    OOS. Run again, the task adopts them (per instance ``adopted: true``, the same execution ids), starts
    executions only for the instances the killed run never started, and succeeds. No instance was ever in two
    executions at once, each was in exactly one, and each ends right (extension at the version; patched)."""
    kill_and_rerun(sim, module, signum)


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_killed_run_is_adopted_when_the_rerun_batches_differ(sim, module):
    """The same, but the re-run gets the instances in another order (a dynamic inventory or a tag selection
    does not keep its order), so none of its batches has the content of one of the killed run's: the
    ClientToken cannot recognise them, only the lookup of what runs can."""
    kill_and_rerun(sim, module, signal.SIGKILL, rerun_order=lambda ids: list(reversed(ids)))


COMMAND_INSTANCES = 8      # the simulator runs 8 scripts at once: all of them run when the task is killed
SCRIPT_SECONDS = 4


def evidence_script(evidence, marker):
    """A script that leaves evidence of each run: a line with its directory in ``evidence`` (a file of the test)
    and a line in ``marker``, a file in its working directory on the instance."""
    return ('echo "$PWD" >> %s\n'
            'echo "run $(date +%%s.%%N)" >> %s\n'
            'sleep %d\n'
            'echo "ran in $PWD"\n') % (evidence, marker, SCRIPT_SECONDS)


def kill_and_rerun_command(sim, signum, tmp_path, rerun_order=None):
    sim.reset(fleet([R], COMMAND_INSTANCES), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    evidence = tmp_path / "runs.log"
    marker = "r7-%s.log" % uuid.uuid4().hex
    args = dict(region=R, instance_ids=ids, command=evidence_script(evidence, marker), timeout=120,
                client_token="r7-kill-%s" % uuid.uuid4().hex[:8], poll_interval=0.5, wait_timeout=120)

    first = run_module_async(sim, "ecs_cloud_assistant_command", args, timeout=120)
    try:
        def running():
            assert not first.done(), "the module ended before it could be killed"
            return evidence.exists() and len(evidence.read_text().splitlines()) == len(ids)

        wait_until(running, 60, what="the script to run on every instance")
        wait_until(lambda: [c for c in sim.calls(action="DescribeInvocations")
                            if c["params"].get("Tag.1.Key") == "ecs-ops-run"], 30, what="the module to poll")
        first.send_signal(signum)
        rc, _result, out, _err = first.result(30)
    finally:
        first.stop()
    assert rc == -signum and not out.strip()
    (invoke_id, invocation), = sim.state()["commands"]["invocations"].items()
    assert set(invocation["instances"].values()) <= {"Pending", "Running"}, invocation["instances"]

    mark = sim.mark()
    rerun_args = dict(args, instance_ids=rerun_order(ids)) if rerun_order else args
    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_command", rerun_args, timeout=120)

    # What happened on the instances: the script's own files, and the simulator's invocations.
    runs = collections.Counter(Path(line).parent.name for line in evidence.read_text().splitlines())
    assert runs == {i: 1 for i in ids}, "the script did not run exactly once per instance: %s" % dict(runs)
    for line in set(evidence.read_text().splitlines()):
        assert len((Path(line) / marker).read_text().splitlines()) == 1
    final = sim.state()["commands"]["invocations"]
    assert list(final) == [invoke_id], "the re-run started another invocation: %s" % list(final)
    assert not sim.mutating_calls(mark), "the re-run sent %s" % [c["action"] for c in sim.mutating_calls(mark)]
    # What the re-run reports.
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    assert result["invoke_ids"] == [invoke_id]
    assert [i.get("adopted") for i in result["invocations"]] == [True]
    for instance_id in ids:
        entry = result["instances"][instance_id]
        assert final[invoke_id]["instances"][instance_id] == "Success"
        assert (entry["status"], entry["exit_code"]) == ("Success", 0), entry
        assert entry["stdout"].startswith("ran in ") and instance_id in entry["stdout"], entry


@pytest.mark.parametrize("signum", SIGNALS)
def test_killed_command_is_adopted_by_the_rerun(sim, signum, tmp_path):
    """A command with a client_token is killed while its script runs on every instance. Run again with the same
    token and request, the task finds the invocation by its tag, starts nothing, reports it ``adopted`` and
    waits for it: every instance ran the script exactly once (the script's own files say so), and the results
    are the simulator's."""
    kill_and_rerun_command(sim, signum, tmp_path)


def test_killed_command_is_adopted_when_the_rerun_lists_the_instances_in_another_order(sim, tmp_path):
    """The same, but the re-run gets the same instances in another order (a dynamic inventory does not keep its
    order). It is the same task, the same token and the same change on the same instances, so it must adopt the
    invocation and not run the script a second time on every instance."""
    kill_and_rerun_command(sim, signal.SIGKILL, tmp_path, rerun_order=lambda ids: list(reversed(ids)))


# --- 2. two overlapping jobs at the same moment -----------------------------------------------------------------
# The two jobs look up what runs before either has started (the StartExecution latency below makes sure), so
# both start, and the tie-break decides: right after its start each job lists again, and the younger of two
# overlapping executions is cancelled. That happens within about one API round trip of its start. Real OOS keeps
# a new execution "Started" for seconds before it selects its targets and starts a child on any instance; the
# collection relies on that (the assumption documented in docs/architecture.md). The simulator's Started phase
# is durations.start, 1 simulated second by default, which is 10 ms here: the tests set it to 1.5 s of real time.
STARTED_PHASE = 150        # simulated seconds = 1.5 s at TIME_SCALE
OVERLAP_WORK = 200         # 2 s
START_LATENCY_MS = 2000    # the first starts of both jobs are answered after this: both lookups come first
A_RANGE, B_RANGE = ((0, 80), (40, 120)) if FULL else ((0, 20), (10, 30))
OVERLAP_BATCH = 50


def overlap_fleet(work):
    return fleet([R], B_RANGE[1], durations={"start": STARTED_PHASE, work: OVERLAP_WORK})


def start_both(sim, module, a_args, b_args):
    """Launch both jobs at the same moment; (rc, result) of each."""
    batches = sum(-(-len(args["instance_ids"]) // OVERLAP_BATCH) for args in (a_args, b_args))
    sim.faults({"action": "StartExecution", "latency_ms": START_LATENCY_MS, "count": batches})
    jobs = [run_module_async(sim, module, dict(args, batch_size=OVERLAP_BATCH, poll_interval=0.5, wait_timeout=120),
                             timeout=150) for args in (a_args, b_args)]
    try:
        results = [job.result(170) for job in jobs]
    finally:
        for job in jobs:
            job.stop()
    for (rc, result, _out, err), name in zip(results, "AB"):
        assert rc == 0 and not result.get("failed"), "job %s: %s %s" % (name, result.get("msg"), err[-1000:])
    return [r[1] for r in results]


def assert_tie_break(state, a, b):
    """Exactly the younger execution(s) were cancelled, right after their start: before any child ran."""
    cancelled = {i for i, e in state["executions"].items() if e["status"] == "Cancelled"}
    superseded = {e["execution_id"]: e["superseded_by"] for r in (a, b) for e in r["executions"]
                  if e.get("superseded_by")}
    assert cancelled and set(superseded) == cancelled, \
        "the jobs did not start at the same moment (no tie-break): cancelled %s, superseded %s" % (cancelled, superseded)
    for execution_id, older in superseded.items():
        assert state["executions"][older]["created"] <= state["executions"][execution_id]["created"] + 1
        assert not state["executions"][execution_id]["children"], \
            "%s reached instances before it was cancelled (the Started-phase assumption)" % execution_id


def ranges(ids):
    a_ids, b_ids = ids[A_RANGE[0]:A_RANGE[1]], ids[B_RANGE[0]:B_RANGE[1]]
    return a_ids, b_ids, [i for i in a_ids if i in set(b_ids)]


def overlap_same_change(sim, module, quotas=None):
    """Jobs A and B of ``module`` make the same change on the overlapping ranges at the same moment (on an account
    with ``quotas`` over the published ones); (all ids, A's, B's, shared, A's result, B's result, the final state,
    the children by instance). No instance was ever in two overlapping child executions."""
    body = overlap_fleet(OOS_MODULES[module]["work"])
    sim.reset(dict(body, quotas=quotas) if quotas else body, time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    a_ids, b_ids, shared = ranges(ids)
    base = dict(OOS_MODULES[module]["args"], region=R)
    a, b = start_both(sim, module, dict(base, instance_ids=a_ids), dict(base, instance_ids=b_ids))
    state = sim.state()
    assert_no_overlap(state)
    return ids, a_ids, b_ids, shared, a, b, state, children_by_instance(state)


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_overlapping_jobs_same_change_share_one_execution(sim, module):
    """Job A on instances 0-19 and job B on 10-29 (full size: 0-79 and 40-119), started at the same moment, make
    the same change. No instance is in two overlapping child executions, and none is changed twice; both tasks
    succeed; every shared instance is reported by both with the same execution id, adopted by exactly one."""
    ids, a_ids, b_ids, shared, a, b, state, children = overlap_same_change(sim, module)
    for instance_id in ids:
        done = [c["parent"] for c in children[instance_id] if c["status"] == "Success"]
        assert len(done) == 1, "%s changed %d times: %s" % (instance_id, len(done), done)
    version = a.get("extension", {}).get("version")
    for job, job_ids in ((a, a_ids), (b, b_ids)):
        for instance_id in job_ids:
            assert job["instances"][instance_id]["result"] == "succeeded", job["instances"][instance_id]
            assert_outcome(module, state, instance_id, job["instances"][instance_id], version)
    for instance_id in shared:
        x, y = a["instances"][instance_id], b["instances"][instance_id]
        success = next(c for c in children[instance_id] if c["status"] == "Success")
        assert x["execution_id"] == y["execution_id"] == success["parent"], (x, y)
        assert sorted([bool(x.get("adopted")), bool(y.get("adopted"))]) == [False, True], \
            "%s: adopted by A=%s, B=%s" % (instance_id, x.get("adopted"), y.get("adopted"))
    assert_tie_break(state, a, b)


TIGHT_QUOTA = "5/1"         # every OOS and ECS action: 5 calls a second, far below the published figures


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_overlapping_jobs_under_tight_quotas_change_each_instance_once(sim, module):
    """The jobs of the test above on an account where every action allows 5 calls a second. Throttling makes the
    two jobs' lookups and starts drift apart, so which safeguard decides is not fixed (the tie-break, adopting the
    other job's execution, or waiting for it); whichever does, no instance is in two overlapping child executions,
    none is changed twice, both tasks succeed, and every instance ends changed and is reported with the execution
    that changed it."""
    _ids, a_ids, b_ids, _shared, a, b, state, children = overlap_same_change(
        sim, module, quotas={"default": TIGHT_QUOTA})
    assert sim.client.quotas()["default"] == TIGHT_QUOTA
    version = a.get("extension", {}).get("version")
    for job, job_ids in ((a, a_ids), (b, b_ids)):
        for instance_id in job_ids:
            done = [c["parent"] for c in children[instance_id] if c["status"] == "Success"]
            assert len(done) == 1, "%s changed %d times: %s" % (instance_id, len(done), done)
            entry = job["instances"][instance_id]
            assert entry["result"] in ("succeeded", "unchanged"), entry
            if entry["result"] == "succeeded":
                assert entry["execution_id"] == done[0], (instance_id, entry, done)
            assert_outcome(module, state, instance_id, dict(entry, new_version=version), version)
    assert sim.client.quotas()["throttled"] > 0, "the quotas did not bite: the test proves nothing"


def test_overlapping_jobs_different_changes_are_serialised(sim):
    """A installs node on 0-19 while B installs nginx on 10-29 (same template, another change), both at the same
    moment. On a shared instance the two changes never run at the same time: the job that came second waited
    for the other's execution (``waited_for``) and acted after it ended. Both succeed, and the simulator shows
    node on A's instances and nginx on B's."""
    sim.reset(overlap_fleet("install"), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    a_ids, b_ids, shared = ranges(ids)
    a, b = start_both(sim, "oos_extension_install", dict(region=R, name="node", instance_ids=a_ids),
                      dict(region=R, name="nginx", instance_ids=b_ids))

    state = sim.state()
    assert_no_overlap(state)
    for job, job_ids, package in ((a, a_ids, NODE), (b, b_ids, NGINX)):
        for instance_id in job_ids:
            assert job["instances"][instance_id]["result"] == "succeeded", job["instances"][instance_id]
            assert package in state["instances"][instance_id]["packages"], instance_id
    children = children_by_instance(state)
    for instance_id in shared:
        done = sorted((c for c in children[instance_id] if c["status"] == "Success"), key=lambda c: c["start"])
        assert len(done) == 2, done
        first, second = done
        assert first["end"] <= second["start"]
        jobs = {a["instances"][instance_id]["execution_id"]: a, b["instances"][instance_id]["execution_id"]: b}
        waiter = jobs[second["parent"]]["instances"][instance_id]
        assert first["parent"] in waiter.get("waited_for", []), \
            "%s acted after %s without reporting it in waited_for: %s" % (instance_id, first["parent"], waiter)
    assert_tie_break(state, a, b)


def test_identical_jobs_at_the_same_moment_share_one_execution(sim):
    """The same task launched twice at the same moment (an AWX schedule and a manual launch of one template):
    both batches have the same content, so the ClientToken makes the second StartExecution return the first
    one's execution. One execution runs, once per instance, both tasks succeed and report the same execution
    for every instance. OOS does not say which of the two identical starts created it, so both tasks report it
    as their own start (documented in the module's notes)."""
    sim.reset(overlap_fleet("install"), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)[:A_RANGE[1] - A_RANGE[0]]
    args = dict(region=R, name="node", instance_ids=ids)
    a, b = start_both(sim, "oos_extension_install", args, args)

    state = sim.state()
    assert_no_overlap(state)
    final_children_ok(state, ids, "install")
    starts = sim.calls(action="StartExecution")
    batches = len(a["executions"])        # one at the fast size, two at the full size (batches of 50)
    assert batches == len(b["executions"]) == -(-len(ids) // 50)
    assert len(starts) == 2 * batches and len({c["params"]["ClientToken"] for c in starts}) == batches, \
        "the two jobs' batches were expected to share a ClientToken"
    assert len(state["executions"]) == batches
    for instance_id in ids:
        x, y = a["instances"][instance_id], b["instances"][instance_id]
        assert x["execution_id"] == y["execution_id"] and x["result"] == y["result"] == "succeeded"


def oos_client(sim):
    """A real OOS SDK client for the simulator, as another job (or a person) would use it."""
    from alibabacloud_oos20190601.client import Client
    from alibabacloud_tea_openapi.models import Config

    return Client(Config(access_key_id=sim.env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                         access_key_secret=sim.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], region_id=R,
                         endpoint=sim.url.split("://", 1)[1], protocol="http"))


FREEZE = 1000.0            # real seconds per simulated second: the clock stands still while both start


def test_an_execution_created_second_in_the_same_second_gives_way(sim):
    """Another job's execution (played through the SDK) is created while the module's own StartExecution is on
    its way, in the same ``CreateDate`` second (whole seconds: the ids would order them arbitrarily). The module's
    execution was created second, so at its listing right after the start it gives way whatever the ids: it is
    cancelled before any child runs (``superseded_by``), and the module adopts the other execution, which makes the
    same change. No instance is ever in both, and each is installed once."""
    sim.reset(fleet([R], 4, durations={"start": STARTED_PHASE, "install": OVERLAP_WORK}), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    version = "v%d" % sim.state()["templates"][NODE]["versions"]
    sim.clock(time_scale=FREEZE)     # both executions get the same CreateDate second
    sim.faults({"action": "StartExecution", "latency_ms": 3000, "count": 1})
    run = run_module_async(sim, "oos_extension_install", dict(region=R, name="node", instance_ids=ids,
                                                              wait_timeout=120), timeout=150)
    try:
        wait_until(lambda: len(sim.calls(action="ListExecutions")) >= LOOKUP_LISTINGS, 60, what="the module's lookup")
        time.sleep(0.5)              # its StartExecution is held by the fault now
        from alibabacloud_oos20190601 import models

        parameters = {"regionId": R, "action": "install", "packageName": NODE, "packageVersion": version,
                      "parameters": {}, "targets": {"Type": "ResourceIds", "ResourceIds": ids, "RegionId": R},
                      "rateControl": {"Mode": "Concurrency", "Concurrency": 10, "MaxErrors": 0}, "OOSAssumeRole": ""}
        rival = oos_client(sim).start_execution(models.StartExecutionRequest(
            region_id=R, template_name="ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL",
            parameters=json.dumps(parameters), mode="Automatic", safety_check="Skip")).body.execution.execution_id
        wait_until(lambda: len(sim.state()["executions"]) == 2, 30, what="the module's start")
        sim.clock(time_scale=TIME_SCALE)
        rc, result, _out, err = run.result(150)
    finally:
        run.stop()

    state = sim.state()
    (mine,) = [i for i in state["executions"] if i != rival]
    assert state["executions"][mine]["created"] >= state["executions"][rival]["created"]
    assert_no_overlap(state)
    assert not state["executions"][mine]["children"], "the execution created second reached instances"
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    assert {e["execution_id"]: e["superseded_by"] for e in result["executions"]}[mine] == rival
    assert {result["instances"][i]["execution_id"] for i in ids} == {rival}
    assert all(result["instances"][i]["adopted"] for i in ids)
    final_children_ok(state, ids, "install")


# --- 3. error storms during the wait -------------------------------------------------------------------------------
API_RETRIES = 1
STORM_CALLS = 3 * (API_RETRIES + 1)     # failed polls in a row the test waits for before it ends the storm
STORM_INSTANCES = 4


def faulted_streak(sim, action, code):
    """The longest run of consecutive calls of ``action`` that failed with ``code``."""
    best = current = 0
    for call in sim.calls(action=action):
        current = current + 1 if call["error_code"] == code else 0
        best = max(best, current)
    return best


def ride_out_storm(sim, run, action, code):
    """Wait until STORM_CALLS polls in a row failed while the module kept waiting; end the storm and let the
    work finish (the clock jumps past its end). The module's (rc, result, stderr)."""
    def storm_lasted():
        assert not run.done(), "the task ended during the storm: %s" % (run.result(0)[1].get("msg"),)
        return faulted_streak(sim, action, code) >= STORM_CALLS

    try:
        wait_until(storm_lasted, 60, what="%d failed %s calls in a row" % (STORM_CALLS, action))
        assert not run.done()
        sim.clear_faults()
        sim.clock(advance=LONG)
        rc, result, _out, err = run.result(60)
    finally:
        run.stop()
    streak = faulted_streak(sim, action, code)
    assert streak > API_RETRIES + 1, "no poll exhausted its retries (%d failed calls in a row)" % streak
    return rc, result, err


@pytest.mark.parametrize("code", ["Throttling.User", "ServiceUnavailable"])
@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_oos_wait_outlasts_transient_poll_failures(sim, module, code):
    """Once the task has looked up what runs and started, every ListExecutions fails with ``code`` (the
    verification listing too) for longer than api_retries=1 can absorb. The task keeps waiting, and when the
    errors stop it reads the outcome and succeeds with correct per-instance results, one execution started."""
    work = OOS_MODULES[module]["work"]
    sim.reset(fleet([R], STORM_INSTANCES, durations={work: LONG}), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    sim.faults({"action": "ListExecutions", "code": code, "skip": LOOKUP_LISTINGS})
    args = dict(OOS_MODULES[module]["args"], region=R, instance_ids=ids, api_retries=API_RETRIES, poll_interval=0.2,
                wait_timeout=120)
    run = run_module_async(sim, module, args, timeout=150)
    rc, result, err = ride_out_storm(sim, run, "ListExecutions", code)

    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    assert "failed after their retries" in json.dumps(result.get("warnings")), result.get("warnings")
    state = sim.state()
    (execution_id, execution), = state["executions"].items()
    assert execution["status"] == "Success" and len(sim.calls(action="StartExecution")) == 1
    version = result.get("extension", {}).get("version")
    for instance_id in ids:
        entry = result["instances"][instance_id]
        assert (entry["result"], entry["execution_id"]) == ("succeeded", execution_id), entry
        assert_outcome(module, state, instance_id, entry, version)


def command_storm_fleet():
    """Simulated scripts that run until the test advances the clock."""
    body = fleet([R], STORM_INSTANCES, durations={"command": LONG})
    body["run_scripts"] = False
    return body


@pytest.mark.parametrize("code", ["Throttling.User", "ServiceUnavailable"])
def test_command_wait_outlasts_transient_poll_failures(sim, code):
    """Every read of the invocation (the polls: DescribeInvocations; DescribeInvocationResults) fails with
    ``code`` for longer than api_retries=1 can absorb while the command runs. The task keeps waiting and, once
    the errors stop, reports each instance's real result."""
    sim.reset(command_storm_fleet(), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    sim.faults({"action": "DescribeInvocation*", "code": code})
    args = dict(region=R, instance_ids=ids, command="echo done", timeout=86400, api_retries=API_RETRIES,
                poll_interval=0.2, wait_timeout=120)
    run = run_module_async(sim, "ecs_cloud_assistant_command", args, timeout=150)
    rc, result, err = ride_out_storm(sim, run, "DescribeInvocations", code)

    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-1000:])
    assert "failed after their retries" in json.dumps(result.get("warnings")), result.get("warnings")
    (invoke_id, invocation), = sim.state()["commands"]["invocations"].items()
    assert result["invoke_ids"] == [invoke_id] and len(sim.calls(action="RunCommand")) == 1
    for instance_id in ids:
        entry = result["instances"][instance_id]
        assert invocation["instances"][instance_id] == "Success"
        assert (entry["status"], entry["exit_code"], entry["stdout"]) == ("Success", 0, "done\n"), entry


FORBIDDEN = {"code": "Forbidden.RAM", "http_status": 403}
FORBIDDEN_WAIT = 60


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_oos_wait_ends_at_a_permission_error(sim, module):
    """ListExecutions answers 403 Forbidden.RAM once the task has started: an error that will not go away. The task
    ends at once (well before wait_timeout) and fails, reporting the instances ``pending``: it never read an
    outcome. The execution is left running in OOS (the task did not cancel it)."""
    work = OOS_MODULES[module]["work"]
    sim.reset(fleet([R], STORM_INSTANCES, durations={work: HUNG}), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    sim.faults(dict(FORBIDDEN, action="ListExecutions", skip=LOOKUP_LISTINGS))
    args = dict(OOS_MODULES[module]["args"], region=R, instance_ids=ids, api_retries=API_RETRIES, poll_interval=0.2,
                wait_timeout=FORBIDDEN_WAIT)
    started = time.monotonic()
    rc, result, _out, err = run_module(sim, module, args, timeout=FORBIDDEN_WAIT + 30)
    elapsed = time.monotonic() - started

    assert elapsed < FORBIDDEN_WAIT / 4, "the task waited %.1fs after a permission error" % elapsed
    assert rc != 0 and result.get("failed"), result.get("msg")
    assert "Forbidden.RAM" in result["msg"], result["msg"]
    reported = {i: result["instances"][i]["result"] for i in ids}
    assert set(reported.values()) == {"pending"}, "outcomes reported without reading them: %s" % reported
    (_execution_id, execution), = sim.state()["executions"].items()
    assert execution["status"] == "Running" and not sim.calls(action="CancelExecution")


def test_command_wait_ends_at_a_permission_error(sim):
    """The reads of the invocation (DescribeInvocations, DescribeInvocationResults) answer 403 Forbidden.RAM: the
    task ends at once and fails, no instance is reported finished, and the invocation is not stopped."""
    sim.reset(command_storm_fleet(), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    sim.faults(dict(FORBIDDEN, action="DescribeInvocation*"))
    args = dict(region=R, instance_ids=ids, command="echo done", timeout=86400, api_retries=API_RETRIES,
                poll_interval=0.2, wait_timeout=FORBIDDEN_WAIT)
    started = time.monotonic()
    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_command", args, timeout=FORBIDDEN_WAIT + 30)
    elapsed = time.monotonic() - started

    assert elapsed < FORBIDDEN_WAIT / 4, "the task waited %.1fs after a permission error" % elapsed
    assert rc != 0 and result.get("failed") and "Forbidden.RAM" in result["msg"], result.get("msg")
    statuses = {i: result["instances"][i]["status"] for i in ids}
    assert set(statuses.values()) <= {"Pending", "Running"}, "outcomes reported without reading them: %s" % statuses
    (_invoke_id, invocation), = sim.state()["commands"]["invocations"].items()
    assert set(invocation["instances"].values()) <= {"Pending", "Running"}
    assert not sim.calls(action="StopInvocation")


# --- 4. throttled starts under a short deadline -------------------------------------------------------------------
WAIT = 5
SLACK = 8                  # module start-up, the reads before the wait and the report's reads
THROTTLED_INSTANCES = 8
THROTTLED_BATCH = 2


@pytest.mark.parametrize("module", list(OOS_MODULES))
def test_throttled_starts_end_at_the_deadline(sim, module):
    """After the first start, StartExecution is throttled with ``x-acs-retry-after: 20000``. With wait_timeout=5,
    one execution at a time and four batches, the task ends within wait_timeout + SLACK (it does not sleep 20 s
    past its deadline), says ``timed_out``, and reports the instances it never started ``cancelled`` with the
    ``not started: wait_timeout passed ...`` reason, never ``failed``. The simulator agrees: one execution."""
    sim.reset(fleet([R], THROTTLED_INSTANCES), time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    sim.faults({"action": "StartExecution", "code": "Throttling.User", "retry_after_ms": 20000, "skip": 1})
    args = dict(OOS_MODULES[module]["args"], region=R, instance_ids=ids, batch_size=THROTTLED_BATCH,
                max_concurrent_executions=1, wait_timeout=WAIT, poll_interval=0.5)
    started = time.monotonic()
    try:
        rc, result, _out, err = run_module(sim, module, args, timeout=WAIT + SLACK + 60)
    except subprocess.TimeoutExpired:
        pytest.fail("%s ran for more than %ss with wait_timeout=%s" % (module, WAIT + SLACK + 60, WAIT))
    elapsed = time.monotonic() - started

    assert elapsed <= WAIT + SLACK, "%s ended %.1fs after starting, wait_timeout=%s" % (module, elapsed, WAIT)
    assert rc != 0 and result.get("failed") and result["timed_out"] is True, (result.get("msg"), err[-1000:])
    starts = sim.calls(action="StartExecution")
    assert starts[0]["http_status"] == 200 and len(starts) > 1
    assert all(c["error_code"] == "Throttling.User" for c in starts[1:])
    state = sim.state()
    (execution_id, execution), = state["executions"].items()
    first_batch = [c["instance"] for c in execution["children"]]
    assert len(first_batch) == THROTTLED_BATCH
    version = result.get("extension", {}).get("version")
    for instance_id in ids:
        entry = result["instances"][instance_id]
        if instance_id in first_batch:
            assert entry["result"] == "succeeded", entry
            assert_outcome(module, state, instance_id, entry, version)
        else:
            assert entry["result"] == "cancelled", entry
            assert entry["message"].startswith("not started: wait_timeout passed before its batch could start") \
                or entry["message"].startswith("not started: still waiting for"), entry
            assert NODE not in state["instances"][instance_id]["packages"]
            assert instance_id not in state["patching"]["patch_states"]


# --- 5. busy: skip and busy: fail -----------------------------------------------------------------------------------
BUSY_INSTANCES = 6
BUSY = 3                   # the first BUSY instances have nginx, being uninstalled (for ever) by another execution


def busy_setup(sim):
    """nginx on the first BUSY instances, and an uninstall of it started with wait=false that never ends."""
    body = fleet([R], BUSY_INSTANCES, durations={"uninstall": HUNG})
    body["regions"][R]["instances"][0]["count"] = BUSY_INSTANCES - BUSY
    body["regions"][R]["instances"].insert(0, dict(body["regions"][R]["instances"][0], name="web", count=BUSY,
                                                   packages={NGINX: {"version": "v5", "parameters": {}}}))
    sim.reset(body, time_scale=TIME_SCALE)
    ids = instance_ids(sim, R)
    busy, free = ids[:BUSY], ids[BUSY:]
    rc, result, _out, err = run_module(sim, "oos_extension_install", dict(
        region=R, name="nginx", state="absent", instance_ids=busy, wait=False), timeout=60)
    assert rc == 0 and len(result["executions"]) == 1, (result.get("msg"), err[-500:])
    return ids, busy, free, result["executions"][0]["execution_id"]


def test_busy_skip_leaves_busy_instances_and_works_on_the_others(sim):
    """With busy=skip, the instances an uninstall of nginx works on are reported ``busy`` and left alone; node is
    installed on the others; the task does not fail. The simulator shows one node execution, on the free
    instances only, and the uninstall still running untouched."""
    ids, busy, free, uninstall = busy_setup(sim)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "oos_extension_install", dict(
        region=R, name="node", instance_ids=ids, busy="skip", poll_interval=0.5), timeout=60)

    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-500:])
    assert result["summary"]["busy"] == BUSY
    for instance_id in busy:
        entry = result["instances"][instance_id]
        assert entry["result"] == "busy" and uninstall in entry["message"], entry
    assert sorted(started_targets(sim.calls(mark, action="StartExecution"))) == sorted(free)
    state = sim.state()
    assert_no_overlap(state)
    for instance_id in free:
        assert result["instances"][instance_id]["result"] == "succeeded"
        assert NODE in state["instances"][instance_id]["packages"]
    for instance_id in busy:
        assert NODE not in state["instances"][instance_id]["packages"]
    assert state["executions"][uninstall]["status"] == "Running" and not sim.calls(action="CancelExecution")


def test_busy_fail_starts_nothing(sim):
    """With busy=fail, the task fails before starting anything: the busy instances are reported ``busy`` with the
    execution they are busy with, no StartExecution is sent, and nothing is installed."""
    ids, busy, _free, uninstall = busy_setup(sim)
    mark = sim.mark()
    rc, result, _out, err = run_module(sim, "oos_extension_install", dict(
        region=R, name="node", instance_ids=ids, busy="fail", poll_interval=0.5), timeout=60)

    assert rc != 0 and result.get("failed"), result
    assert "busy" in result["msg"] and uninstall in result["msg"], result["msg"]
    assert not sim.mutating_calls(mark), [c["action"] for c in sim.mutating_calls(mark)]
    for instance_id in busy:
        entry = result["instances"][instance_id]
        assert entry["result"] == "busy" and uninstall in entry["message"], entry
    state = sim.state()
    assert list(state["executions"]) == [uninstall]
    assert not any(NODE in state["instances"][i]["packages"] for i in ids)
