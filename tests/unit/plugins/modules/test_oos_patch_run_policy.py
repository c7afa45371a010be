"""oos_patch_run's round policy against the simulator, through the real SDK: the maintenance window (judged
against the real time: each test computes its window from the current UTC time), the failure budget across
batches, the disruption budget per zone and the reboot policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_patch_run as module
from unit_helpers import mutating, sim_args

PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important"),
           dict(kb_id="curl.x86_64", classification="Security", severity="Important", installed=True)]
REBOOT_PATCHES = PATCHES + [dict(kb_id="kernel.x86_64", classification="Security", severity="Critical",
                                 needs_reboot=True)]


def linux(name, count, zone="cn-hangzhou-g", patches=None):
    return {"name": name, "count": count, "os_type": "linux", "zone": zone, "patches": patches or PATCHES,
            "os_name": "Alibaba Cloud Linux 3.2104 LTS 64 bit"}


FLEET = {"regions": {"cn-hangzhou": {"instances": [
    linux("g", 4), linux("h", 4, "cn-hangzhou-h"), linux("i", 2, "cn-hangzhou-i"),
    linux("boot", 2, patches=REBOOT_PATCHES),
    {"name": "down", "os_type": "linux", "status": "Stopped"}]}}}


@pytest.fixture
def fleet(sim_server_factory):
    return sim_server_factory(fleet=FLEET, time_scale=0.01)


def args(server, **extra):
    return sim_args(server, **dict(dict(poll_interval=0.1, wait_timeout=120), **extra))


def ids(server, *prefixes):
    return [i.id for i in server.sim.instances("cn-hangzhou") if i.name.rstrip("-0123456789") in prefixes]


def last_seq(server):
    calls = server.calls()
    return calls[-1]["seq"] if calls else 0


def utc_window(opened_ago, closes_in):
    """A window (UTC, every day) that opened ``opened_ago`` seconds ago (at least; the start is a whole minute)
    and ends ``closes_in`` seconds from now, judged against the real current time."""
    now = datetime.now(timezone.utc)
    start = (now - timedelta(seconds=opened_ago)).replace(second=0, microsecond=0)
    duration = int((now - start).total_seconds() + closes_in)
    return dict(start=start.strftime("%H:%M"), duration="%ds" % duration, timezone="UTC")


def closed_window():
    """A window that opens in two hours and lasts one."""
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    return dict(start=start.strftime("%H:%M"), duration="1h", timezone="Etc/UTC")


def test_outside_the_window_nothing_starts_and_check_mode_says_what_the_window_would_do(fleet, run_module):
    targets = ids(fleet, "g") + ids(fleet, "down")
    task = args(fleet, action="install", instance_ids=targets, window=closed_window(), create_snapshot=True)

    rc, check = run_module(module.main, task, check_mode=True)
    assert rc == 0 and not check["changed"] and mutating(fleet) == [], check.get("msg")
    assert not check["window"]["open"] and check["summary"]["deferred"] == 4 and check["summary"]["unreachable"] == 1
    entry = check["instances"][targets[0]]
    assert entry["result"] == "deferred" and "outside the maintenance window" in entry["message"]
    assert "in that window: never scanned; would scan and install" in entry["message"]
    assert check["window"]["start"] in entry["message"]

    rc, result = run_module(module.main, task)
    assert rc == 0 and not result["changed"] and mutating(fleet) == [], result
    assert result["msg"].startswith("Nothing was started: outside the maintenance window; the next window opens at ")
    assert result["summary"]["deferred"] == 4 and result["execution_ids"] == []
    # Outside the window an unreachable instance is reported, not a failure: nothing would start anyway.
    assert result["instances"][targets[-1]]["result"] == "unreachable"


def test_inside_the_window_it_runs(fleet, run_module):
    targets = ids(fleet, "g")
    rc, result = run_module(module.main, args(fleet, action="scan", instance_ids=targets,
                                              window=utc_window(60, 3600)))
    assert rc == 0 and result["summary"]["succeeded"] == 4 and result["window"]["open"], result.get("msg")
    assert result["window"]["margin"] == "15m"


def test_the_window_closing_mid_run_defers_the_batches_not_started(sim_server_factory, run_module):
    """New batches may start only in the first seconds (the margin ends the window for them); the first batch
    runs for longer than that, so the next two are deferred. The same night, a re-run starts nothing."""
    fleet = sim_server_factory(fleet=FLEET, time_scale=0.1)   # an install: 60 s simulated = 6 s
    targets = ids(fleet, "g", "i")
    window = utc_window(60, 1800)
    task = args(fleet, action="install", instance_ids=targets, window=window, window_margin="1796s", batch_size=2,
                max_concurrent_executions=1)
    rc, result = run_module(module.main, task)
    assert rc == 0 and result["changed"], result.get("msg")
    assert result["summary"]["succeeded"] == 2 and result["summary"]["deferred"] == 4
    assert len(fleet.calls(product="oos", action="StartExecution")) == 1
    deferred = [e for e in result["instances"].values() if e["result"] == "deferred"]
    assert all(e["message"].startswith("not started: the maintenance window closes at ") for e in deferred)
    assert all("no batch starts in its last 29m56s" in e["message"] for e in deferred)

    seq = last_seq(fleet)
    rc, again = run_module(module.main, task)
    assert rc == 0 and not again["changed"] and mutating(fleet, seq) == []
    assert again["summary"]["unchanged"] == 2 and again["summary"]["deferred"] == 4
    assert "within window_margin (29m56s)" in again["msg"]


def test_a_canary_judged_after_the_last_start_time_is_cancelled_not_approved(sim_server_factory, run_module):
    fleet = sim_server_factory(fleet=FLEET, time_scale=0.1)   # the canary's first wave takes 6 s
    targets = ids(fleet, "g", "i")
    window = utc_window(60, 1800)
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, window=window,
                                              window_margin="1797s", canary=True, batch_size=4,
                                              rate_control={"concurrency": 2}))
    assert rc == 0, result.get("msg")
    assert fleet.calls(product="oos", action="NotifyExecution") == []
    assert len(fleet.calls(product="oos", action="CancelExecution")) == 1
    assert result["summary"]["succeeded"] == 2 and result["summary"]["deferred"] == 4
    unreached = [e for e in result["instances"].values() if e["result"] == "deferred" and e["execution_id"]]
    assert len(unreached) == 2 and all("before it reached this instance" in e["message"] for e in unreached)


def test_window_end_cancel_cancels_what_still_runs(sim_server_factory, run_module):
    fleet = sim_server_factory(fleet=FLEET, time_scale=1.0)    # an install takes a real minute
    targets = ids(fleet, "g", "i")
    task = args(fleet, action="install", instance_ids=targets, window=utc_window(60, 3), window_margin="0",
                window_end="cancel", batch_size=4, max_concurrent_executions=1, rate_control={"concurrency": 2})
    rc, result = run_module(module.main, task)
    assert rc == 1 and "Patch install failed on 2 instance(s)" in result["msg"], result["msg"]
    assert len(fleet.calls(product="oos", action="CancelExecution")) == 1
    by_result = {}
    for entry in result["instances"].values():
        by_result.setdefault(entry["result"], []).append(entry)
    assert sorted(by_result) == ["cancelled", "deferred"] and len(by_result["deferred"]) == 4
    assert all("may be partly installed" in e["message"] for e in by_result["cancelled"])
    assert sum("before it reached this instance" in e["message"] for e in by_result["deferred"]) == 2


def test_the_failure_budget_stops_new_batches(fleet, run_module):
    targets = ids(fleet, "g", "h", "i")
    for instance_id in targets[:2]:
        fleet.admin("POST", "instances/%s" % instance_id, {"fail": ["patch"]})
    task = args(fleet, action="install", instance_ids=targets, batch_size=2, max_concurrent_executions=1,
                rate_control={"max_errors": "100%"}, max_failure_percent=10)
    rc, result = run_module(module.main, task)
    assert rc == 1 and result["msg"].startswith(
        "Failure budget exceeded: 2 of 10 instance(s) failed, max_failure_percent=10 allows 1; 8 instance(s) were "
        "not started: "), result["msg"]
    assert len(fleet.calls(product="oos", action="StartExecution")) == 1
    assert result["summary"]["failed"] == 2 and result["summary"]["cancelled"] == 8
    held = result["instances"][targets[-1]]
    assert held["message"] == ("not started: 2 instance(s) failed, more than the failure budget allows "
                               "(1: max_failure_percent=10 of 10 instance(s))")


def test_failures_within_the_budget_are_tolerated(fleet, run_module):
    targets = ids(fleet, "g", "h", "i")
    fleet.admin("POST", "instances/%s" % targets[0], {"fail": ["patch"]})
    task = args(fleet, action="install", instance_ids=targets, batch_size=2, max_concurrent_executions=1,
                rate_control={"max_errors": "100%"}, max_failure_percent=10)
    rc, result = run_module(module.main, task)
    assert rc == 0 and result["summary"]["failed"] == 1 and result["summary"]["succeeded"] == 9, result.get("msg")
    assert len(fleet.calls(product="oos", action="StartExecution")) == 5
    # Without a budget the same failure fails the task, as before.
    fleet.admin("POST", "instances/%s" % targets[0], {"fail": ["patch"]})
    rc, plain = run_module(module.main, args(fleet, action="install", instance_ids=targets[:1]))
    assert rc == 1 and "Patch install failed on 1 instance(s)" in plain["msg"]


def overlaps_by_zone(server, zone_of):
    """{zone: most instances of it in executions that ran at the same time}, from the simulator's executions."""
    events = []
    for execution in server.sim.components["executions"].snapshot().values():
        for child in execution["children"]:
            zone = zone_of[child["instance"]]
            events.append((execution["created"], 1, zone))
            events.append((execution["end"], 0, zone))      # an end sorts before a start at the same instant
    peak, now = {}, {}
    for _time, delta, zone in sorted(events):
        now[zone] = now.get(zone, 0) + (1 if delta else -1)
        peak[zone] = max(peak.get(zone, 0), now[zone])
    return peak


def most_executions_at_once(server):
    events = sorted(e for x in server.sim.components["executions"].snapshot().values()
                    for e in ((x["created"], 1), (x["end"], 0)))
    running = peak = 0
    for _time, start in events:
        running += 1 if start else -1
        peak = max(peak, running)
    return peak


def test_the_zone_disruption_budget_holds(fleet, run_module):
    targets = ids(fleet, "g", "h", "i")
    zone_of = {i.id: i.zone for i in fleet.sim.instances("cn-hangzhou")}
    task = args(fleet, action="install", instance_ids=targets, batch_size=2, max_concurrent_executions=5,
                zone_disruption_budget="50%")
    rc, check = run_module(module.main, task, check_mode=True)
    assert rc == 0 and check["summary"]["planned"] == 10 and mutating(fleet) == []
    rc, result = run_module(module.main, task)
    assert rc == 0 and result["summary"]["succeeded"] == 10, result.get("msg")
    assert {e["zone"] for e in result["instances"].values()} == {"cn-hangzhou-g", "cn-hangzhou-h", "cn-hangzhou-i"}
    # 50% of 4, 4 and 2 instances: at most 2, 2 and 1 at once; and the zones did run side by side.
    assert overlaps_by_zone(fleet, zone_of) == {"cn-hangzhou-g": 2, "cn-hangzhou-h": 2, "cn-hangzhou-i": 1}
    assert most_executions_at_once(fleet) == 3


def test_without_a_zone_budget_zones_are_not_held(fleet, run_module):
    targets = ids(fleet, "g", "h", "i")
    zone_of = {i.id: i.zone for i in fleet.sim.instances("cn-hangzhou")}
    rc, result = run_module(module.main, args(fleet, action="install", instance_ids=targets, batch_size=5))
    assert rc == 0, result.get("msg")
    assert overlaps_by_zone(fleet, zone_of)["cn-hangzhou-g"] == 4    # the check above can fail


def test_reboot_later_then_if_required(fleet, run_module):
    targets = ids(fleet, "boot")
    rc, later = run_module(module.main, args(fleet, action="install", instance_ids=targets, reboot="later"))
    assert rc == 0 and later["reboot_pending"] == {"cn-hangzhou": sorted(targets)}, later.get("msg")
    assert '"rebootIfNeed":false' in fleet.calls(product="oos", action="StartExecution")[-1]["params"]["Parameters"]
    assert later["summary"]["reboot_required"] == 2

    seq = last_seq(fleet)
    rc, again = run_module(module.main, args(fleet, action="install", instance_ids=targets, reboot="later"))
    assert rc == 0 and not again["changed"] and mutating(fleet, seq) == [] and again["summary"]["unchanged"] == 2
    assert "reboot=if_required reboots it" in again["instances"][targets[0]]["message"]

    rc, boot = run_module(module.main, args(fleet, action="install", instance_ids=targets, reboot="if_required"))
    assert rc == 0 and boot["changed"] and boot["reboot_pending"] == {} and boot["summary"]["compliant"] == 2
    assert '"rebootIfNeed":true' in fleet.calls(product="oos", action="StartExecution")[-1]["params"]["Parameters"]


@pytest.mark.parametrize("bad,fragment", [
    ({"window": {"start": "25:00", "duration": "1h"}}, "window.start must be a local time HH:MM"),
    ({"window": {"start": "22:00", "duration": "240"}}, "window.duration must be a duration with a unit"),
    ({"window": {"start": "22:00", "duration": "4h", "timezone": "Asia/Shangai"}}, "is not a known time zone"),
    ({"window": {"start": "22:00", "duration": "4h", "days": ["mon", "someday"]}}, "'someday' is not a day"),
    ({"window": {"start": "22:00", "duration": "15m"}}, "window_margin (15m) must be shorter than window.duration"),
    ({"window_end": "cancel"}, "window_end=cancel needs a window"),
    ({"max_failure_percent": 101}, "max_failure_percent must be from 0 to 100"),
    ({"zone_disruption_budget": "0%"}, "zone_disruption_budget must be a number >= 1"),
    ({"zone_disruption_budget": 2, "wait": False}, "zone_disruption_budget needs wait=true"),
    ({"reboot": "later", "reboot_if_need": True}, "give reboot or the older reboot_if_need, not both"),
    ({"action": "scan", "reboot": "if_required"}, "reboot only applies to action=install"),
    ({"reboot": "sometimes"}, "value of reboot must be one of"),
    ({"reboot": "always", "wait": False}, "reboot=always needs wait=true"),
])
def test_bad_policy_input_fails_before_any_call(fleet, run_module, bad, fragment):
    rc, result = run_module(module.main, dict(args(fleet, action="install", instance_ids=["i-bp1aaaa"]), **bad))
    assert rc == 1 and fragment in result["msg"], result["msg"]
    assert [c for c in fleet.calls() if c["product"] in ("ecs", "oos")] == []
