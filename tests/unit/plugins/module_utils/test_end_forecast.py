"""Poll scheduling from predicted ends: ``_waiter.EndForecast`` on its own, then the OOS runner that uses it
(a free slot is refilled soon after the end that frees it; a region with nothing unfinished is not listed)."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import EndForecast
from test_runner import FakeOos, runner, work
from unit_helpers import FakeClock


def ended_job(forecast, key, start, running_at, ended_at, kind="k", usable=True):
    forecast.started(key, kind, start)
    forecast.seen(key, False, running_at, running_at + 0.1)
    forecast.seen(key, True, ended_at - 0.1, ended_at, usable=usable)


def test_nothing_is_predicted_before_a_job_of_the_kind_ended():
    forecast = EndForecast()
    forecast.started("a", "k", 0.0)
    forecast.seen("a", False, 10.0, 10.1)
    assert forecast.duration("k") is None and forecast.next_end(11.0) is None
    assert forecast.wait(11.0, default=7.5, floor=5, ceiling=20) == 7.5


def test_an_ended_job_bounds_the_duration_between_the_polls_that_saw_it_running_and_ended():
    forecast = EndForecast()
    ended_job(forecast, "a", start=2.0, running_at=58.0, ended_at=77.0)
    assert forecast.duration("k") == pytest.approx((56.0, 75.0))


def test_jobs_that_agree_narrow_the_bounds_and_jobs_that_do_not_give_the_medians():
    forecast = EndForecast()
    ended_job(forecast, "a", 0.0, 56.0, 75.0)
    ended_job(forecast, "b", 100.0, 170.0, 180.0)       # lasted 70-80 s: the overlap is 70-75 s
    assert forecast.duration("k") == pytest.approx((70.0, 75.0))
    ended_job(forecast, "c", 200.0, 290.0, 295.0)       # 90-95 s: no common span any more
    low, high = forecast.duration("k")
    assert (low, high) == pytest.approx((70.0, 80.0))   # the middle job's bounds


def test_failed_or_cancelled_jobs_and_other_kinds_do_not_predict():
    forecast = EndForecast()
    ended_job(forecast, "failed", 0.0, 1.0, 3.0, usable=False)
    ended_job(forecast, "small", 0.0, 10.0, 12.0, kind="other")
    assert forecast.duration("k") is None
    forecast.started("x", "k", 20.0)
    assert forecast.next_end(21.0) is None


def test_the_next_poll_looks_at_the_middle_of_a_wide_span_then_at_its_end_then_gives_up():
    forecast = EndForecast()
    ended_job(forecast, "a", 0.0, 56.0, 76.0)           # 56-76 s
    forecast.started("b", "k", 100.0)                   # ends between 156 and 176
    assert forecast.next_end(150.0, floor=5) == pytest.approx(166.0)
    assert forecast.next_end(166.0, floor=5) == pytest.approx(176.0)   # still running in the middle: the end
    assert forecast.next_end(176.5, floor=5) is None    # late: the caller's backoff takes over
    assert forecast.next_end(150.0, floor=20) == pytest.approx(176.0)  # a narrow span: straight to its end


def test_the_wait_lands_on_the_predicted_end_in_equal_steps_within_the_bounds():
    forecast = EndForecast()
    ended_job(forecast, "a", 0.0, 70.0, 75.0)
    forecast.started("b", "k", 100.0)                   # predicted end 175
    assert forecast.wait(100.0, default=5, floor=5, ceiling=20) == pytest.approx(75.0 / 4)
    assert forecast.wait(160.0, default=5, floor=5, ceiling=20) == pytest.approx(15.0)
    assert forecast.wait(173.0, default=5, floor=5, ceiling=20) == 5     # never shorter than the floor


def test_the_earliest_end_while_work_waits_the_latest_when_nothing_does():
    forecast = EndForecast()
    ended_job(forecast, "a", 0.0, 70.0, 75.0)
    forecast.started("b", "k", 100.0)
    forecast.started("c", "k", 110.0)
    assert forecast.next_end(120.0, floor=5) == pytest.approx(175.0)
    assert forecast.next_end(120.0, floor=5, last=True) == pytest.approx(185.0)
    forecast.started("d", "new kind", 110.0)            # unpredictable: waiting for the last end is not possible
    assert forecast.next_end(120.0, floor=5, last=True) is None
    assert forecast.next_end(120.0, floor=5) == pytest.approx(175.0)


# --- the runner ------------------------------------------------------------------------------------------
def gaps(api):
    """Seconds between each execution's end and the start of the next one (one slot: they follow each other)."""
    runs = sorted(api.executions.values(), key=lambda e: e["start"])
    return [round(b["start"] - (a["start"] + 1 + a["duration"]), 3) for a, b in zip(runs, runs[1:])]


def test_a_freed_slot_is_refilled_just_after_the_predicted_end():
    clock = FakeClock(start=100.0)
    api = FakeOos(clock, duration=40.0)
    run = runner(api, clock, max_running=1, poll_interval=1.0).run(work(*("i-%d" % n for n in range(10))))
    assert not run.timed_out and len(api.executions) == 5
    late = gaps(api)
    # The backoff alone (1 s growing to 4 s) sees each end up to 4 s late; from the second batch on the polls
    # aim at the predicted end, so the slots stay idle for less than a poll interval.
    assert late[0] > 1.0
    assert all(g <= 1.0 for g in late[1:]), late
    listings = [p for a, p in api.calls if a == "ListExecutions" and not p.get("ParentExecutionId")]
    assert len(listings) < 5 * 41 / 4 + 15             # no more polls than the 4 s backoff would make


class RegionOos(FakeOos):
    """One region's OOS: its own execution ids."""

    def __init__(self, clock, region, duration):
        super().__init__(clock, duration)
        self.region = region

    def add(self, instance_ids, *args, **kwargs):
        kwargs.setdefault("execution_id", "%s-exec-%03d" % (self.region, len(self.executions) + 1))
        return super().add(instance_ids, *args, **kwargs)


def test_a_region_where_everything_ended_is_not_listed_again():
    clock = FakeClock(start=100.0)
    apis = {"a": RegionOos(clock, "a", duration=5.0), "b": RegionOos(clock, "b", duration=60.0)}
    rn = runner(None, clock, max_running=2, poll_interval=1.0)
    rn.api_for = apis.get
    rn.run({"i-a": ("a", "install"), "i-b": ("b", "install")})
    assert not rn.timed_out and rn._finished()

    def listings(api):
        return [p for a, p in api.calls if a == "ListExecutions" and not p.get("ParentExecutionId")]
    a_end = apis["a"].executions["a-exec-001"]["start"] + 6
    # Region a is listed until its execution is seen ended (a few polls), region b for its whole minute.
    assert len(listings(apis["a"])) <= 3 + 1 + 6 + 2
    assert len(listings(apis["b"])) >= 3 + 1 + 60 / 4
    assert clock.now > a_end + 50


def test_the_canary_and_adopted_executions_do_not_predict_the_others():
    clock = FakeClock(start=100.0)
    api = FakeOos(clock, duration=20.0)
    adopted = api.add(["i-9"], age=5)
    work_ = work("i-1", "i-2", "i-3", "i-4", "i-9")
    run = runner(api, clock, canary=True).run(work_)
    assert not run.timed_out and run.canary is not None
    assert set(run.forecast._jobs) == {b.execution_id for b in run.batches if b.mine and not b.canary}
    assert run.canary.execution_id not in run.forecast._jobs and adopted not in run.forecast._jobs


def test_a_predicted_end_past_the_deadline_does_not_stretch_the_wait():
    clock = FakeClock(start=100.0)
    api = FakeOos(clock, duration=40.0)
    run = runner(api, clock, max_running=1, poll_interval=5.0, timeout=100).run(work(*("i-%d" % n for n in range(6))))
    assert run.timed_out                                # the third batch's predicted end lies past the deadline
    assert clock.now <= 100.0 + 100 + 0.001
    assert [b.done for b in run.batches] == [True, True, False]
