"""The rollout guard rails (_oos.rollout) and the patch policy options (_patching.policy), pure."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.rollout import (
    budget_value,
    failure_allowance,
    in_flight_by_zone,
    plan_batches,
    zone_limits,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.policy import (
    budget_verdict,
    guards,
    policy_options,
    reboot_pending,
    window_cancelled_entry,
)

ZONES = {"i-a%d" % n: "cn-hangzhou-g" for n in range(6)}
ZONES.update({"i-b%d" % n: "cn-hangzhou-h" for n in range(4)})
ZONES.update({"i-c%d" % n: "cn-hangzhou-i" for n in range(2)})


@pytest.mark.parametrize("value, expected", [(2, ("count", 2)), ("3", ("count", 3)), ("25%", ("percent", 25)),
                                             (" 100 % ", ("percent", 100))])
def test_budget_values(value, expected):
    assert budget_value(value, "zone_disruption_budget") == (expected, None)


@pytest.mark.parametrize("value", [0, "0", "0%", "101%", True, "half", -1, 1.5])
def test_bad_budget_values(value):
    assert budget_value(value, "zone_disruption_budget")[1].startswith("zone_disruption_budget must be")


def test_zone_limits_count_and_percent_rounded_down_at_least_one():
    assert zone_limits(ZONES, ("count", 2)) == {"cn-hangzhou-g": 2, "cn-hangzhou-h": 2, "cn-hangzhou-i": 2}
    assert zone_limits(ZONES, ("percent", 50)) == {"cn-hangzhou-g": 3, "cn-hangzhou-h": 2, "cn-hangzhou-i": 1}
    assert zone_limits(ZONES, ("percent", 10)) == {"cn-hangzhou-g": 1, "cn-hangzhou-h": 1, "cn-hangzhou-i": 1}


def test_failure_allowance_rounds_down():
    assert [failure_allowance(20, p) for p in (0, 5, 10, 12.5, 100)] == [0, 1, 2, 2, 20]
    assert failure_allowance(3, 33.4) == 1


def test_without_limits_batches_are_plain_chunks():
    ids = ["i-%d" % n for n in range(7)]
    assert plan_batches([("r", ids)], 3, 10) == [("r", ids[0:3]), ("r", ids[3:6]), ("r", ids[6:7])]
    assert plan_batches([("r", ids)], 3, 2) == [("r", ids[0:3]), ("r", ids[3:6])]
    assert plan_batches([("r", ids[:2]), ("s", ids[2:4])], 5, 1) == [("r", ids[:2])]


def test_no_zone_exceeds_its_limit_counting_what_already_runs():
    ids = list(ZONES)
    limits = {"cn-hangzhou-g": 2, "cn-hangzhou-h": 2, "cn-hangzhou-i": 2}
    plan = plan_batches([("r", ids)], 4, 10, ZONES, limits, in_flight={"cn-hangzhou-g": 1})
    assert plan == [("r", ["i-a0", "i-b0", "i-b1", "i-c0"]), ("r", ["i-c1"])]
    started = [i for _key, batch in plan for i in batch]
    assert in_flight_by_zone(started, ZONES) == {"cn-hangzhou-g": 1, "cn-hangzhou-h": 2, "cn-hangzhou-i": 2}
    # A zone at its limit waits; instances of a zone without a limit are not held.
    assert plan_batches([("r", ["i-a1", "i-x"])], 4, 10, ZONES, {"cn-hangzhou-g": 1},
                        in_flight={"cn-hangzhou-g": 1}) == [("r", ["i-x"])]


def test_the_budget_holds_through_a_whole_simulated_rollout():
    """Start, finish the oldest batch, start again ...: at no moment does a zone have more than its limit."""
    limits = zone_limits(ZONES, ("percent", 50))
    queued, running, peak = list(ZONES), [], {}
    for _round in itertools.count():
        in_flight = in_flight_by_zone([i for batch in running for i in batch], ZONES)
        for key, batch in plan_batches([("r", queued)], 3, 2 - len(running), ZONES, limits, in_flight):
            running.append(batch)
            queued = [i for i in queued if i not in batch]
        now = in_flight_by_zone([i for batch in running for i in batch], ZONES)
        for zone, count in now.items():
            assert count <= limits[zone]
            peak[zone] = max(peak.get(zone, 0), count)
        if not running:
            break
        running.pop(0)
    assert queued == [] and peak == limits


def params(**extra):
    base = dict(action="install", reboot=None, reboot_if_need=None, window=None, window_margin="15m",
                window_end="finish", max_failure_percent=None, zone_disruption_budget=None, wait=True)
    return dict(base, **extra)


def test_policy_options_reboot():
    assert policy_options(params())[1]["reboot"] == "never"
    assert policy_options(params(reboot_if_need=True))[1]["reboot"] == "if_required"
    assert policy_options(params(reboot="later"))[1]["reboot"] == "later"
    problems = policy_options(params(reboot="later", reboot_if_need=False))[0]
    assert problems == ["give reboot or the older reboot_if_need, not both"]
    assert policy_options(params(action="scan", reboot="never"))[0] == ["reboot only applies to action=install"]
    assert policy_options(params(action="scan", reboot_if_need=True))[0] == [
        "reboot_if_need only applies to action=install"]


def test_policy_options_name_every_problem():
    problems, _normalised = policy_options(params(
        window_end="cancel", max_failure_percent=120, zone_disruption_budget="0%", wait=False))
    assert problems == [
        "window_end=cancel needs a window",
        "max_failure_percent must be from 0 to 100, got 120",
        "zone_disruption_budget must be a number >= 1 or a percentage from 1% to 100%, got '0%'",
        "max_failure_percent needs wait=true (it is applied while the task waits)",
        "window_end=cancel needs wait=true (it is applied while the task waits)"]
    window = dict(start="22:00", duration="2h", days=None, timezone="Asia/Shanghai")
    problems, normalised = policy_options(params(window=window, zone_disruption_budget="25%"))
    assert problems == [] and normalised["window"].duration == 7200 and normalised["window_margin"] == 900
    assert normalised["zone_disruption_budget"] == ("percent", 25)


def test_guards_from_a_window_state_and_budgets():
    p = params(window_end="cancel", max_failure_percent=10, zone_disruption_budget=("count", 1))
    state = dict(seconds_left=600.0, seconds_to_end=1500.0, end_local="2026-12-01 02:00 CST", margin="15m")
    made = guards(p, state, 1000.0, ZONES, 25)
    assert made.start_until == 1600.0 and made.cancel_at == 2500.0 and made.failure_allowance == 2
    assert made.start_note == "the maintenance window closes at 2026-12-01 02:00 CST (no batch starts in its last 15m)"
    assert made.zone_limits == {"cn-hangzhou-g": 1, "cn-hangzhou-h": 1, "cn-hangzhou-i": 1}
    plain = guards(params(), None, 1000.0, ZONES, 25)
    assert (plain.start_until, plain.cancel_at, plain.failure_allowance, plain.zone_limits) == (None, None, None, {})


def entry(instance_id, result, message="", region="cn-hangzhou", reboot=False, child=""):
    return dict(instance_id=instance_id, result=result, message=message, region=region, reboot_required=reboot,
                child_execution_id=child)


def test_budget_verdict():
    entries = [entry("i-1", "failed", "boom"), entry("i-2", "succeeded"), entry("i-3", "succeeded")]
    assert budget_verdict(entries, params(), 3, False) == ""
    assert budget_verdict(entries, params(max_failure_percent=34), 3, False) == ""
    held = entries + [entry("i-4", "cancelled", "not started: 2 instance(s) failed, more than the failure budget")]
    verdict = budget_verdict(held, params(max_failure_percent=0), 4, True)
    assert verdict == ("Failure budget exceeded: 1 of 4 instance(s) failed, max_failure_percent=0 allows 0; 1 "
                       "instance(s) were not started: i-1: boom")


def test_reboot_pending_and_window_cancelled_entries():
    entries = [entry("i-2", "succeeded", reboot=True), entry("i-1", "succeeded", reboot=True),
               entry("i-3", "succeeded"), entry("i-9", "succeeded", region="cn-shanghai", reboot=True),
               entry("i-8", "unreachable", reboot=True)]
    assert reboot_pending(entries) == {"cn-hangzhou": ["i-1", "i-2"], "cn-shanghai": ["i-9"]}
    reached = window_cancelled_entry(entry("i-1", "cancelled", child="exec-c1"), "exec-p")
    assert reached["result"] == "cancelled" and "may be partly installed" in reached["message"]
    unreached = window_cancelled_entry(entry("i-2", "cancelled"), "exec-p")
    assert unreached["result"] == "deferred" and "before it reached this instance" in unreached["message"]
    assert window_cancelled_entry(entry("i-3", "succeeded"), "exec-p")["result"] == "succeeded"
