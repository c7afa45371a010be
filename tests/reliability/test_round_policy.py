"""R9 a patch round's guard rails hold when the API misbehaves: the maintenance window closes mid-run under
throttling and lost answers, and the failure and zone budgets hold under throttling.

The window is judged against the real time, so each test computes its window from the current UTC time: it
opened a minute ago and new batches may start only for the first few seconds of the run (``window_margin``
is the rest of it). Batches take longer than that, so the run must stop starting them while the first ones
run, under 30% throttling of every read and a lost answer to a start. Each test checks the module's result
against the simulator's record (which instances any execution touched, when each execution ran) and the call
log (no start after the last start time; the faults really fired).
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta, timezone

from harness import instance_ids, run_module

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]
INSTALL = 300            # simulated seconds per install: 3 s at the suite's time scale
LONG_INSTALL = 3000      # 30 s: longer than the time batches may start for
# Seconds after the task starts during which batches may start (reads are throttled; a loaded CI machine can take
# 10 s to read and start the first batches).
OPEN_FOR = 20


def linux(name, count, **extra):
    return dict(dict(name=name, count=count, os_type="linux", os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit",
                     patches=PATCHES), **extra)


def closing_window(open_for):
    """(window, window_margin): a UTC window that opened at least a minute ago and ends in 30 minutes, with a
    margin that leaves ``open_for`` seconds for new batches."""
    now = datetime.now(timezone.utc)
    start = (now - timedelta(seconds=60)).replace(second=0, microsecond=0)
    duration = int((now - start).total_seconds()) + 1800
    return dict(start=start.strftime("%H:%M"), duration="%ds" % duration), "%ds" % (1800 - open_for)


def throttled_reads(seed=7):
    return [dict(action="StartExecution", drop="after", count=1),
            dict(action="ListExecutions", code="Throttling.User", count=2),
            dict(action="ListExecutions", code="Throttling.User", rate=0.3, seed=seed),
            dict(action="ListInstancePatchStates", code="Throttling.User", rate=0.3, seed=seed + 1)]


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def touched(state):
    """{instance id: [execution ids]} of every parent execution in the simulator that reached or targets it."""
    found = {}
    for execution_id, execution in state["executions"].items():
        for child in execution["children"]:
            found.setdefault(child["instance"], []).append(execution_id)
    return found


def test_the_window_closes_mid_run_under_throttling(sim):
    sim.reset({"regions": {R: {"instances": [linux("node", 12, durations={"patch_install": LONG_INSTALL})]}}})
    sim.faults(*throttled_reads())
    ids = instance_ids(sim, R)
    window, margin = closing_window(OPEN_FOR)
    task = dict(region=R, action="install", instance_ids=ids, window=window, window_margin=margin, batch_size=3,
                max_concurrent_executions=2, poll_interval=0.3, wait_timeout=120)
    rc, result, _out, err = run_module(sim, "oos_patch_run", task)
    assert rc == 0, (result.get("msg"), err[-2000:])
    summary = result["summary"]
    assert summary["succeeded"] + summary["deferred"] == 12 and 0 < summary["succeeded"] < 12, summary
    assert result["window"]["open"]

    calls = sim.calls()
    assert any(c["error_code"] == "Throttling.User" for c in calls), "no throttling fired: the test proved nothing"
    assert any(c["action"] == "StartExecution" and c["dropped"] for c in calls), "no start answer was lost"
    last_start = epoch(result["window"]["stop_starting_at"]) + 1      # the ISO time has whole seconds
    late = [c for c in calls if c["action"] == "StartExecution" and c["time"] > last_start]
    assert late == [], "a batch started after the window's last start time"

    state = sim.state()
    reached = touched(state)
    for instance_id, entry in result["instances"].items():
        if entry["result"] == "deferred":
            assert instance_id not in reached, "%s is reported deferred but %s touched it" % (
                instance_id, reached[instance_id])
            assert entry["message"].startswith("not started: the maintenance window closes at ")
        else:
            assert entry["result"] == "succeeded" and len(reached[instance_id]) == 1, entry
    assert {e["status"] for e in state["executions"].values()} == {"Success"}     # window_end=finish

    # The same night (now inside the margin), a re-run starts nothing and changes nothing.
    mark = sim.mark()
    rc, again, _out, err = run_module(sim, "oos_patch_run", task)
    assert rc == 0 and not again["changed"], (again.get("msg"), err[-2000:])
    assert sim.mutating_calls(since=mark) == []
    assert again["summary"]["unchanged"] == summary["succeeded"] and again["summary"]["deferred"] == summary["deferred"]


def test_failure_and_zone_budgets_hold_under_throttling(sim):
    sim.reset({"regions": {R: {"instances": [
        linux("g", 6, zone="cn-hangzhou-g", durations={"patch_install": INSTALL}),
        linux("h", 6, zone="cn-hangzhou-h", durations={"patch_install": INSTALL})]}}})
    sim.faults(*throttled_reads(seed=19))
    state = sim.state()
    zone_of = {i["id"]: ("g" if i["name"].startswith("g") else "h") for i in state["instances"].values()}
    ids = instance_ids(sim, R)
    failing = [i for i in ids if zone_of[i] == "h"][:2]
    for instance_id in failing:
        sim.instance(instance_id, fail=["patch"])
    task = dict(region=R, action="install", instance_ids=ids, batch_size=2, max_concurrent_executions=4,
                zone_disruption_budget=2, max_failure_percent=10, rate_control={"max_errors": "100%"},
                poll_interval=0.3, wait_timeout=180)
    rc, result, _out, err = run_module(sim, "oos_patch_run", task)
    assert rc == 1 and result["msg"].startswith("Failure budget exceeded: 2 of 12 instance(s) failed"), (
        result.get("msg"), err[-2000:])
    assert any(c["error_code"] == "Throttling.User" for c in sim.calls())

    executions = sim.state()["executions"]
    events = []
    for execution in executions.values():
        for child in execution["children"]:
            events += [(execution["created"], 1, zone_of[child["instance"]]),
                       (execution["end"], 0, zone_of[child["instance"]])]
    running, peak = {}, {}
    for _t, start, zone in sorted(events):
        running[zone] = running.get(zone, 0) + (1 if start else -1)
        peak[zone] = max(peak.get(zone, 0), running[zone])
    assert max(peak.values()) <= 2, "a zone had %s instances in running executions, budget 2" % peak

    # Once the failures exceeded the budget nothing more started: every execution created after the failed one
    # ended was already running then, and the instances never reached are reported not started, not failed.
    failed_end = min(x["end"] for x in executions.values() if any(c["instance"] in failing for c in x["children"]))
    assert all(x["created"] <= failed_end for x in executions.values())
    reached = touched(sim.state())
    held = [i for i, e in result["instances"].items() if e["result"] == "cancelled"]
    assert held and all(i not in reached for i in held)
    assert all("more than the failure budget allows" in result["instances"][i]["message"] for i in held)
