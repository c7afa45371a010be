"""R1 faults: a fleet rollout and a command fan-out converge under throttling, 5xx, lost connections and latency.

The simulator is given the R1 fault profile (``r1_faults``) on every action: 20% ``Throttling.User``,
5% ``ServiceUnavailable``, 1% dropped connections (half before the handler ran, half after it ran, so
the change is made but the answer is lost) and 200 ms of latency on every call. At the fast size a run
makes only ~30-150 calls, so a few deterministic rules come first and make sure every kind of fault
hits the calls that matter on every run, not by chance: the first call of the mutating action
(``StartExecution`` resp. ``RunCommand``) is dropped before it is handled, the next two lose their
answer after the change was made (the case ClientToken idempotency exists for), and the first two
polls of the results (``ListExecutions`` resp. ``DescribeInvocationResults``) get ``ServiceUnavailable``
and ``Throttling.User``.

Each test then checks three independent sources against each other:

- the module's result (per instance: action, result/status, versions, output, execution/invocation);
- the simulator's state (packages per instance, one execution per batch with its counters, one
  invocation per instance set with each instance's status);
- the call log (the faults really fired; every retry of a mutating call reused its ClientToken; a batch
  whose answer was lost was adopted, never started twice).

Sizes: ~72 instances in 3 regions (fast), ~1,000 in 3 regions with ``RELIABILITY_FULL=1``.
"""

from __future__ import annotations

import collections
import json

from harness import FULL, fleet, instance_ids, run_module

NODE = "ACS-Extension-node-1853370294850618"
REGIONS = ["cn-hangzhou", "cn-shanghai", "cn-beijing"]
PER_REGION = 334 if FULL else 24          # 1,002 or 72 instances
POLL = 2.0 if FULL else 0.5
TIME_SCALE = 0.01
LOST_ANSWERS = 2                          # calls of the mutating action that always lose their answer


def r1_faults(mutating_action, result_read, latency_ms=200, throttling=0.2, unavailable=0.05, dropped=0.01,
              seed=11):
    """The R1 rules. Rules are tried in order and the first that fires applies, so each random rule's
    ``rate`` is conditional on the earlier ones not firing; the rates below give the overall shares asked
    for. Every rule carries the latency, and a last rule adds it to every call no other rule took."""
    rules = [dict(action=mutating_action, drop="before", count=1, latency_ms=latency_ms),
             dict(action=mutating_action, drop="after", count=LOST_ANSWERS, latency_ms=latency_ms),
             dict(action=result_read, code="ServiceUnavailable", count=1, latency_ms=latency_ms),
             dict(action=result_read, code="Throttling.User", count=1, latency_ms=latency_ms)]
    left = 1.0
    for share, spec in ((throttling, dict(code="Throttling.User")),
                        (unavailable, dict(code="ServiceUnavailable")),
                        (dropped / 2, dict(drop="before")),
                        (dropped / 2, dict(drop="after"))):
        rate = share / left
        rules.append(dict(spec, action="*", rate=rate, seed=seed + len(rules), latency_ms=latency_ms))
        left *= 1 - rate
    rules.append(dict(action="*", latency_ms=latency_ms))
    return rules


def rule_kinds(rules):
    """{fault rule id: "Throttling.User" | "ServiceUnavailable" | "drop-before" | "drop-after" | "latency"}."""
    return {r["id"]: ("drop-" + r["drop"]) if r["drop"] else (r["code"] or "latency") for r in rules}


def assert_faults_fired(calls, kinds, mutating_action):
    """The profile really applied: latency on every call the quotas let through, and every kind of fault at least
    once. (A call the simulator's API quota refuses is answered before any fault rule: at the full size the
    package-state reads spend the quota.)"""
    assert all(c["fault"] or c.get("throttled") for c in calls), "a call got no fault rule, so no latency: %s" % next(
        c["action"] for c in calls if not c["fault"] and not c.get("throttled"))
    fired = collections.Counter(kinds[c["fault"]] for c in calls if c["fault"])
    for kind in ("Throttling.User", "ServiceUnavailable", "drop-before", "drop-after"):
        assert fired[kind] > 0, "no %s fault fired (%s): the test proved nothing about it" % (kind, dict(fired))
    lost = [c for c in calls if c["action"] == mutating_action and c["dropped"] and kinds[c["fault"]] == "drop-after"]
    assert len(lost) >= LOST_ANSWERS, "the %s answers were not lost as planned" % mutating_action
    errors = [c for c in calls if c["error_code"] and c["fault"]
              and kinds[c["fault"]] in ("Throttling.User", "ServiceUnavailable")]
    assert len(errors) == fired["Throttling.User"] + fired["ServiceUnavailable"]
    return fired


def by_name(state):
    """{instance id: group name (the name without its -N suffix)}."""
    return {i: v["name"].rsplit("-", 1)[0] for i, v in state["instances"].items()}


def grouped_by_region(sim):
    return {region: instance_ids(sim, region) for region in REGIONS}


# --- the extension rollout ---------------------------------------------------------------------------------
OLD, CURRENT = (8, 8) if FULL else (2, 2)
BATCH = 50 if FULL else 10
WANTED_PARAMETERS = {"version": "v20.18.1"}
OLD_PACKAGE = {"version": "v20", "parameters": {"version": "v18.20.5"}}
CURRENT_PARAMETERS = {"version": "v22.13.1"}


def rollout_fleet(latest):
    """Per region: ``fresh`` (not installed: install), ``old`` (v20: update), ``current`` (latest: unchanged)."""
    body = fleet(REGIONS, PER_REGION - OLD - CURRENT, name="fresh")
    for region in REGIONS:
        body["regions"][region]["instances"] += [
            dict(name="old", count=OLD, os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit",
                 packages={NODE: OLD_PACKAGE}),
            dict(name="current", count=CURRENT, os_type="linux", os_name="Ubuntu 22.04 64 bit",
                 packages={NODE: {"version": latest, "parameters": CURRENT_PARAMETERS}}),
        ]
    return body


def ceil_div(a, b):
    return -(-a // b)


def batch_key(region, action, ids):
    return region, action, tuple(ids)


def test_extension_rollout_converges_under_faults(sim, request):
    """~1,000 (fast: 72) instances, 3 regions, install + update + unchanged under the R1 faults: every
    instance ends at the latest version with the asked parameters, each batch ran exactly one execution
    and each instance was in exactly one; the module's per-instance results match the simulator; the lost
    StartExecution answers were adopted, not started again; a second run changes nothing and starts nothing."""
    latest = "v%d" % sim.state()["templates"][NODE]["versions"]
    sim.reset(rollout_fleet(latest), time_scale=TIME_SCALE)
    targets = grouped_by_region(sim)
    groups = by_name(sim.state())
    kinds = rule_kinds(sim.faults(*r1_faults("StartExecution", "ListExecutions"))["faults"])
    args = dict(name="node", state="latest", parameters=WANTED_PARAMETERS, instance_ids=targets,
                batch_size=BATCH, poll_interval=POLL, wait_timeout=1800)

    # Quotas per region and API, as Alibaba Cloud counts them (the suite's default is one bucket for all regions,
    # stricter than a real account: the task's pacers are per region), for both runs.
    sim.client.set_quotas(per_region=True)
    request.addfinalizer(lambda: sim.client.set_quotas(per_region=False))
    rc, result, _out, err = run_module(sim, "oos_extension_install", args, timeout=1500)
    assert rc == 0 and not result.get("failed"), "rollout failed: %s\n%s" % (result.get("msg"), err[-2000:])
    assert result["changed"] is True and result["timed_out"] is False
    calls = sim.calls()
    assert_faults_fired(calls, kinds, "StartExecution")

    # One execution per batch: the batches the plan implies, each started once, each instance in exactly one.
    expected_batches = len(REGIONS) * (ceil_div(PER_REGION - OLD - CURRENT, BATCH) + ceil_div(OLD, BATCH))
    state = sim.state()
    assert len(result["executions"]) == expected_batches
    assert set(state["executions"]) == {e["execution_id"] for e in result["executions"]}, \
        "the simulator ran executions the module does not report (a batch was started twice?)"
    batched = [i for e in result["executions"] for i in e["instance_ids"]]
    assert len(batched) == len(set(batched)) == len(REGIONS) * (PER_REGION - CURRENT)
    executions = {}
    for execution in result["executions"]:
        seen = state["executions"][execution["execution_id"]]
        counters = seen["counters"]
        assert (seen["status"], seen["region"], execution["status"]) == ("Success", execution["region"], "Success")
        assert counters["Total"] == counters["Success"] == len(execution["instance_ids"]), counters
        for instance_id in execution["instance_ids"]:
            executions[instance_id] = execution
    assert sum(e["counters"]["Total"] for e in state["executions"].values()) == len(batched)

    # The call log: every StartExecution retry of a batch reused its token; lost answers were adopted.
    tokens, lost = collections.defaultdict(set), set()
    for call in (c for c in calls if c["action"] == "StartExecution"):
        parameters = json.loads(call["params"]["Parameters"])
        key = batch_key(call["region"], parameters["action"], parameters["targets"]["ResourceIds"])
        tokens[key].add(call["params"]["ClientToken"])
        if call["dropped"] and kinds[call["fault"]] == "drop-after":
            lost.add(key)
    assert len(tokens) == expected_batches and all(len(t) == 1 for t in tokens.values()), \
        "a batch was sent with more than one ClientToken: %s" % [k[:2] for k, t in tokens.items() if len(t) > 1]
    adopted = {batch_key(e["region"], e["action"], e["instance_ids"]) for e in result["executions"] if e["adopted"]}
    assert lost and adopted == lost, "batches whose answer was lost must be adopted (and only those)"

    # Every instance: the module's result is what the simulator shows.
    expected = {"fresh": ("install", "succeeded", ""), "old": ("update", "succeeded", OLD_PACKAGE["version"]),
                "current": ("none", "unchanged", latest)}
    assert len(result["instances"]) == len(state["instances"]) == len(REGIONS) * PER_REGION
    for instance_id, instance in state["instances"].items():
        entry, group = result["instances"][instance_id], groups[instance_id]
        action, outcome, previous = expected[group]
        package = instance["packages"].get(NODE)
        assert package and package["version"] == latest, "%s (%s) has %s" % (instance_id, group, package)
        assert (entry["action"], entry["result"], entry["previous_version"], entry["new_version"]) == \
            (action, outcome, previous, latest), entry
        assert entry["region"] == instance["region"]
        if group == "current":
            assert package["parameters"] == CURRENT_PARAMETERS, "an unchanged instance was reinstalled"
            assert entry["execution_id"] == "" and instance_id not in executions
        else:
            assert package["parameters"] == WANTED_PARAMETERS
            execution = executions[instance_id]
            assert (entry["execution_id"], execution["action"]) == (execution["execution_id"], action)
            assert entry["child_execution_id"].startswith("exec-")
            assert "node" in entry["output"] and "success" in entry["output"], entry["output"]
    summary = result["summary"]
    assert (summary["succeeded"], summary["unchanged"], summary["failed"], summary["pending"]) == \
        (len(batched), len(REGIONS) * CURRENT, 0, 0)

    # A second run (still under the faults) finds everything right: no change, no mutating call.
    mark = sim.mark()
    rc, again, _out, err = run_module(sim, "oos_extension_install", args, timeout=1500)
    assert rc == 0 and not again.get("failed"), "second run failed: %s\n%s" % (again.get("msg"), err[-2000:])
    assert again["changed"] is False and again["executions"] == []
    assert {e["result"] for e in again["instances"].values()} == {"unchanged"}
    assert again["summary"]["unchanged"] == len(REGIONS) * PER_REGION
    assert not sim.mutating_calls(mark), "the second run made mutating calls"
    assert set(sim.state()["executions"]) == set(state["executions"])


# --- the command fan-out -----------------------------------------------------------------------------------
COMMAND = "echo ran on {{ACS::InstanceId}}"
WINDOWS, FAILING = (4, 2) if FULL else (2, 1)


def fanout_fleet():
    """Per region: Linux instances, a few Windows ones (another command type, so another invocation) and a
    few whose command exits 1, so the per-instance results differ. Scripts are simulated (fast at 1,000)."""
    body = fleet(REGIONS, PER_REGION - WINDOWS - FAILING, name="lin")
    body["run_scripts"] = False
    for region in REGIONS:
        body["regions"][region]["instances"] += [
            dict(name="win", count=WINDOWS, os_type="windows", os_name="Windows Server 2022 Datacenter 64bit"),
            dict(name="bad", count=FAILING, os_type="linux", fail=["command"]),
        ]
    return body


def fanout_args(targets, **extra):
    return dict(dict(command=COMMAND, parameters={}, instance_ids=targets, fail_on="none", poll_interval=POLL,
                     wait_timeout=1800), **extra)


def instance_list(params):
    """The InstanceId.N values of a logged RunCommand call, in order."""
    found = sorted((int(k.split(".")[1]), v) for k, v in params.items() if k.startswith("InstanceId."))
    return tuple(v for _n, v in found)


def check_fanout(sim, result, groups):
    """The module's per-instance results against the simulator's invocations; the invocation of each instance."""
    invocations = sim.state()["commands"]["invocations"]
    assert set(invocations) == set(result["invoke_ids"]), "the simulator has invocations the module does not report"
    expected_batches = len(REGIONS) * (ceil_div(PER_REGION - WINDOWS, 100) + ceil_div(WINDOWS, 100))
    assert len(result["invoke_ids"]) == expected_batches
    where = collections.defaultdict(list)
    for invoke_id, invocation in invocations.items():
        for instance_id in invocation["instances"]:
            where[instance_id].append(invoke_id)
    assert len(result["instances"]) == len(where) == len(REGIONS) * PER_REGION
    assert all(len(found) == 1 for found in where.values()), "an instance ran in two invocations"
    for instance_id, entry in result["instances"].items():
        invoke_id = where[instance_id][0]
        group = groups[instance_id]
        assert entry["invoke_id"] == invoke_id
        assert entry["status"] == invocations[invoke_id]["instances"][instance_id], (entry, invocations[invoke_id])
        assert entry["type"] == ("RunPowerShellScript" if group == "win" else "RunShellScript")
        if group == "bad":
            assert (entry["status"], entry["exit_code"], entry["error_code"]) == ("Failed", 1, "ExitCodeNonzero")
        else:
            assert (entry["status"], entry["exit_code"], entry["error_code"]) == ("Success", 0, "")
            assert entry["stdout_lines"] == ["ran on %s" % instance_id], entry["stdout"]
    failing = len(REGIONS) * FAILING
    summary = result["summary"]
    assert (summary["succeeded"], summary["failed"], summary["pending"]) == (len(where) - failing, failing, 0)
    return invocations


def test_command_fanout_converges_under_faults(sim):
    """~1,000 (fast: 72) instances, 3 regions, Linux and Windows, under the R1 faults: one invocation per
    batch (region x type, at most 100 instances), every instance in exactly one, each instance's status,
    exit code and output as the simulator ran it, and every RunCommand retry reused its ClientToken."""
    sim.reset(fanout_fleet(), time_scale=TIME_SCALE)
    groups = by_name(sim.state())
    kinds = rule_kinds(sim.faults(*r1_faults("RunCommand", "DescribeInvocationResults"))["faults"])

    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_command", fanout_args(grouped_by_region(sim)),
                                       timeout=1500)
    assert rc == 0 and not result.get("failed"), "fan-out failed: %s\n%s" % (result.get("msg"), err[-2000:])
    assert result["changed"] is True
    calls = sim.calls()
    assert_faults_fired(calls, kinds, "RunCommand")
    check_fanout(sim, result, groups)

    tokens, lost = collections.defaultdict(set), 0
    for call in (c for c in calls if c["action"] == "RunCommand"):
        tokens[(call["region"], call["params"]["Type"], instance_list(call["params"]))].add(call["params"]["ClientToken"])
        lost += bool(call["dropped"] and kinds[call["fault"]] == "drop-after")
    assert len(tokens) == len(result["invoke_ids"]) and all(len(t) == 1 for t in tokens.values()), \
        "a batch was sent with more than one ClientToken"
    assert lost >= LOST_ANSWERS


def test_command_retried_task_with_client_token_reuses_invocations(sim):
    """Under the R1 faults, a task retried with the same client_token (Ansible ``retries``/``until``, or a
    re-run) gets the invocations of the first attempt: no new invocation, no second run on any instance,
    the same per-instance results."""
    sim.reset(fanout_fleet(), time_scale=TIME_SCALE)
    groups = by_name(sim.state())
    sim.faults(*r1_faults("RunCommand", "DescribeInvocationResults"))
    args = fanout_args(grouped_by_region(sim), client_token="r1-retried-task")

    rc, first, _out, err = run_module(sim, "ecs_cloud_assistant_command", args, timeout=1500)
    assert rc == 0 and not first.get("failed"), "first attempt failed: %s\n%s" % (first.get("msg"), err[-2000:])
    before = check_fanout(sim, first, groups)

    mark = sim.mark()
    rc, second, _out, err = run_module(sim, "ecs_cloud_assistant_command", args, timeout=1500)
    assert rc == 0 and not second.get("failed"), "retried task failed: %s\n%s" % (second.get("msg"), err[-2000:])
    assert sorted(second["invoke_ids"]) == sorted(first["invoke_ids"])
    assert sim.state()["commands"]["invocations"] == before, "the retried task ran the command again"
    # The re-run found each invocation by its ecs-ops-client-token tag and started nothing.
    assert not [c for c in sim.calls(mark) if c["action"] == "RunCommand"]
    assert all(i["adopted"] for i in second["invocations"]) and not any(i["adopted"] for i in first["invocations"])
    check_fanout(sim, second, groups)
    assert {i: (e["status"], e["exit_code"], e["stdout"]) for i, e in second["instances"].items()} == \
        {i: (e["status"], e["exit_code"], e["stdout"]) for i, e in first["instances"].items()}
