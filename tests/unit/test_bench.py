"""The pure part of tools/bench.py: how the ideal wall time and the minimum number of API calls are computed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import bench  # noqa: E402

FLEET = {"cn-hangzhou": 334, "cn-shanghai": 333, "cn-beijing": 333}


def test_a_fleet_is_spread_over_the_regions_and_cut_into_batches_of_50():
    assert bench.spread(1000) == FLEET and bench.spread(2) == {"cn-hangzhou": 1, "cn-shanghai": 1}
    plan = bench.batch_plan(FLEET)
    assert len(plan) == 21 and plan[6] == ("cn-hangzhou", 34) and plan[-1] == ("cn-beijing", 33)


def test_batches_start_in_order_as_soon_as_a_slot_is_free():
    assert bench.schedule([300, 300, 240], 3) == [300, 300, 240]
    assert bench.schedule([300, 300, 240], 2) == [300, 300, 540]
    assert bench.schedule([60, 30, 30, 30], 2) == [60, 30, 60, 90]


def test_the_p1_rollout_ideal_and_minimum():
    ideal, minimum = bench.rollout_model(FLEET, slots=25, interval=20)
    assert ideal == 300
    # safety: three lookup listings per region, and one listing per region after its batches start (all at 0 s)
    assert minimum == dict(state_reads=4 + 12 + 21 + 1000, safety=3 * 3 + 3, starts=21, polls=3 * 15,
                           result_reads=21)
    assert bench.safety_reads([("r", 50), ("r", 50), ("s", 50)], [300, 600, 300], [300, 300, 300]) == 2 * 3 + 3
    assert bench.rollout_model(FLEET, slots=10, interval=20)[0] == 780      # the short batches fill gaps
    assert bench.seed_ideal(FLEET) == 18 * 300 + 3 * 240


def test_poll_rounds_notice_the_end_within_the_interval():
    assert bench.poll_rounds(300, 20) == 15 and bench.poll_rounds(301, 20) == 16 and bench.poll_rounds(21, 18) == 2


def test_the_cloud_assistant_interval_stays_at_poll_interval_for_the_first_minute():
    assert bench.command_interval(21) == bench.command_interval(60) == 3.0
    assert bench.command_interval(64) == 4.5 and bench.command_interval(600) == 18.0


def test_the_command_and_patch_models():
    ideal, minimum = bench.command_model(FLEET, interval=3)
    # 4 invocations a region: one DescribeInvocations page per region and round; 2+2+2+1 result pages each
    assert ideal == 21 and minimum == dict(state_reads=33, starts=12, polls=7 * 3, result_reads=3 * 7)
    assert bench.command_model(FLEET, interval=18)[1]["polls"] == 2 * 3
    assert bench.command_model({"r": 6000}, interval=3)[1]["polls"] == 7 * 2      # 60 invocations: 2 pages
    counts = bench.spread(500)
    scan, scan_minimum = bench.patch_model(counts, 20, 20, 15, canary=False)
    assert scan == 75 and scan_minimum["polls"] == 3 * 4 and scan_minimum["result_reads"] == 12 + 6
    install, install_minimum = bench.patch_model(counts, 20, 20, 60, canary=True)
    assert install == 360 and install_minimum["polls"] == 3 + 3 * 15 and install_minimum["canary"] == 2


def test_the_busiest_second():
    calls = [{"time": t} for t in (0.0, 0.5, 0.9, 1.2, 5.0)]
    assert bench.peak_rate(calls) == 3


def test_the_per_api_minimum_adds_up_to_the_minimum_by_kind():
    work, calls = bench.rollout_calls(FLEET, slots=25, interval=20)
    ideal, minimum = bench.rollout_model(FLEET, slots=25, interval=20)
    assert work == ideal and sum(calls.values()) == sum(minimum.values())
    assert calls[("cn-hangzhou", "oos", "ListInstancePackageStates")] == 334
    for interval in (3, 18):
        assert sum(bench.command_calls(FLEET, interval)[1].values()) == sum(
            bench.command_model(FLEET, interval)[1].values())
    counts = bench.spread(500)
    for duration, canary in ((15, False), (60, True)):
        work, calls = bench.patch_calls(counts, 20, 20, duration, canary)
        ideal, minimum = bench.patch_model(counts, 20, 20, duration, canary)
        assert work == ideal and sum(calls.values()) == sum(minimum.values())


def test_the_quota_bound_ideal_comes_from_the_published_quotas():
    assert bench.quota_rate("oos", "ListInstancePackageStates") == 5.0        # 300/60
    assert bench.quota_rate("oos", "ListInstancePatchStates") == 20.0         # 20/1
    assert bench.quota_rate("ecs", "RunCommand") == 500 / 60.0
    counts = bench.spread(10000, bench.QUOTA_REGIONS)
    work, calls = bench.rollout_calls(counts, bench.QUOTA_SLOTS, 20)
    assert work == 2 * 300                              # 200 executions of 5 waves, 100 at a time
    ideal, bound = bench.quota_ideal(work, calls)
    assert bound["api_s"] == 400 and bound["api_calls"] == 2000 and ideal == 600   # 2,000 reads a region at 5/s
    assert bench.quota_ideal(work, calls, bench.state_calls(counts))[1]["read_then_act_s"] == 400 + 600
    assert bench.quota_ideal(0.0, bench.state_calls(counts))[0] == 400             # the no-op re-run
    work, calls = bench.command_calls(counts, 3)
    assert bench.quota_ideal(work, calls)[0] == 21                                  # the command: its work
    # P7: 20 invocations a region, listed on one page a round for 7 rounds; 2 result pages each, once
    assert calls[("cn-hangzhou", "ecs", "DescribeInvocations")] == 7
    assert calls[("cn-hangzhou", "ecs", "DescribeInvocationResults")] == 40 and sum(calls.values()) == 635
